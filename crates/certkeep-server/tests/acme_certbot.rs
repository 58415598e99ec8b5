//! End to end with certbot (PyPI `certbot`): registers with EAB, obtains a certificate over
//! http-01 (certbot's standalone server answers, certkeep really fetches the token), renews it
//! and revokes it; the certificates then show in the contract's Partner API list and in
//! CertCentral's order list. Skipped, saying so, only when certbot is not installed; `.ci/run`
//! installs it so that CI always runs it.

mod acme_common;

use std::{path::Path, process::Command};

use acme_common::AcmeServer;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use certkeep_core::credentials::hash_api_key;

fn certbot_available() -> bool {
    Command::new("certbot").arg("--version").output().is_ok_and(|o| o.status.success())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn certbot(dir: &Path, args: &[&str]) -> String {
    let d = |sub: &str| dir.join(sub).to_str().unwrap().to_owned();
    let (config, work, logs) = (d("config"), d("work"), d("logs"));
    let out = tokio::process::Command::new("certbot")
        .args(args)
        .args(["--non-interactive", "--config-dir", &config, "--work-dir", &work, "--logs-dir", &logs])
        .output()
        .await
        .expect("run certbot");
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "certbot {args:?} failed:\n{log}");
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certbot_obtains_renews_and_revokes_with_eab_and_http01() {
    if !certbot_available() {
        assert!(std::env::var_os("CI").is_none(), "CI must run this test: `certbot` is missing");
        eprintln!("SKIPPED: `certbot` is not installed (pip install certbot); .ci/run installs it");
        return;
    }
    let port = free_port();
    let server = AcmeServer::start_with(false, Some(port)).await;
    let dir = tempfile::tempdir().unwrap();
    let hmac = URL_SAFE_NO_PAD.encode(&server.eab_hmac);
    let port_arg = port.to_string();

    certbot(
        dir.path(),
        &[
            "certonly",
            "--standalone",
            "--http-01-address",
            "127.0.0.1",
            "--http-01-port",
            &port_arg,
            "--server",
            &server.directory,
            "--eab-kid",
            &server.eab_kid,
            "--eab-hmac-key",
            &hmac,
            "--agree-tos",
            "-m",
            "ops@acme.test",
            "--key-type",
            "ecdsa",
            "-d",
            "acme.test",
            "-d",
            "www.acme.test",
        ],
    )
    .await;
    let live = dir.path().join("config/live/acme.test");
    let out = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(server.ca_dir.join("root.crt.pem"))
        .arg("-untrusted")
        .arg(live.join("chain.pem"))
        .arg(live.join("cert.pem"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    certbot(dir.path(), &["renew", "--force-renewal", "--no-random-sleep-on-renew"]).await;
    certbot(
        dir.path(),
        &["revoke", "--cert-name", "acme.test", "--no-delete-after-revoke", "--server", &server.directory],
    )
    .await;

    // CertCentral: two ACME orders, the renewed one revoked.
    let list = server.certcentral("/order/certificate").await;
    let orders = list["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 2, "{list}");
    assert!(orders.iter().all(|o| o["certificate"]["common_name"] == "acme.test"));
    let revoked = server.certcentral("/order/certificate?filters[status]=revoked").await;
    assert_eq!(revoked["page"]["total"], 1, "{revoked}");

    // Partner API: the contract's certificate list (seed 004) shows both.
    let (parent, _) = server.store.create_account("Partner parent", time::OffsetDateTime::now_utc()).unwrap();
    server.store.link_subaccount(parent, server.contract.account_id).unwrap();
    let key = "SUBACCOUNT-KEY-FOR-CERTBOT-TEST";
    server
        .store
        .create_partner_key(server.contract.account_id, &hash_api_key(key), time::OffsetDateTime::now_utc())
        .unwrap();
    let v: serde_json::Value = server
        .client
        .get(format!("{}/partner-subscription/api/v1/acme/{}/certificates", server.base, server.contract.id))
        .header("X-PARTNER-APIKEY", key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let certs = v["certificates"].as_array().unwrap();
    let mut statuses: Vec<&str> = certs.iter().map(|c| c["status"].as_str().unwrap()).collect();
    statuses.sort();
    assert_eq!(statuses, ["issued", "revoked"], "{v}");
    assert!(certs.iter().all(
        |c| c["domain"] == "acme.test" && c["sans"] == serde_json::json!(["acme.test", "www.acme.test"])
    ));
}
