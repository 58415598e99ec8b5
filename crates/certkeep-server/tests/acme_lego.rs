//! End to end with a real third-party ACME client: lego (Debian package `lego`) registers with
//! EAB, obtains a certificate over http-01 (lego serves the token, certkeep really fetches it),
//! renews it and revokes it; and obtains one over tls-alpn-01 (lego answers the TLS handshake,
//! certkeep really checks its certificate). Skipped, saying so, only when `lego` is not installed; `.ci/run`
//! installs it so that CI always runs it.

mod acme_common;

use std::{path::Path, process::Command};

use acme_common::AcmeServer;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

const NAMES: [&str; 2] = ["acme.test", "www.acme.test"];

/// Whether lego is installed; says SKIPPED when not (and fails under CI, which installs it).
fn lego_available() -> bool {
    let found = Command::new("lego").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "CI must run this test: `lego` is missing");
        eprintln!("SKIPPED: `lego` is not installed (apt-get install lego); .ci/run installs it");
    }
    found
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs lego for `domains` (the first is the certificate's name), serving http-01 on `port`.
async fn lego(server: &AcmeServer, dir: &Path, port: u16, domains: &[&str], action: &[&str]) -> String {
    let http_port = format!("127.0.0.1:{port}");
    lego_with(server, dir, &["--http", "--http.port", &http_port], domains, action).await
}

/// Runs lego with the `challenge` options.
async fn lego_with(
    server: &AcmeServer,
    dir: &Path,
    challenge: &[&str],
    domains: &[&str],
    action: &[&str],
) -> String {
    let hmac = URL_SAFE_NO_PAD.encode(&server.eab_hmac);
    let mut args = vec![
        "--server",
        &server.directory,
        "--accept-tos",
        "--email",
        "ops@acme.test",
        "--eab",
        "--kid",
        &server.eab_kid,
        "--hmac",
        &hmac,
        "--key-type",
        "ec256",
    ];
    args.extend_from_slice(challenge);
    for domain in domains {
        args.extend_from_slice(&["--domains", domain]);
    }
    args.push("--path");
    let path = dir.to_str().unwrap().to_owned();
    args.push(&path);
    args.extend_from_slice(action);
    let started = std::time::Instant::now();
    let out = tokio::process::Command::new("lego").args(&args).output().await.expect("run lego");
    eprintln!("lego {action:?}: {:?}", started.elapsed());
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "lego {action:?} failed:\n{log}");
    log
}

fn openssl_verify(server: &AcmeServer, dir: &Path) {
    let certs = dir.join("certificates");
    let out = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(server.ca_dir.join("root.crt.pem"))
        .arg("-untrusted")
        .arg(certs.join("acme.test.issuer.crt"))
        .arg(certs.join("acme.test.crt"))
        .output()
        .expect("openssl");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lego_obtains_renews_and_revokes_with_eab_and_http01() {
    if !lego_available() {
        return;
    }
    let port = free_port();
    let server = AcmeServer::start_with(false, Some(port)).await;
    let dir = tempfile::tempdir().unwrap();

    lego(&server, dir.path(), port, &NAMES, &["run"]).await;
    openssl_verify(&server, dir.path());
    let list = server.certcentral("/order/certificate").await;
    let orders = list["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1, "{list}");
    let first = orders[0]["id"].as_i64().unwrap();
    let info = server.certcentral(&format!("/order/certificate/{first}")).await;
    assert_eq!(info["status"], "issued");
    assert_eq!(info["api_key"]["key_type"], "acme_url");
    assert_eq!(info["api_key"]["name"], server.directory);
    assert_eq!(info["certificate"]["common_name"], "acme.test");

    // Renewal (forced: the certificate is far from expiry) is a second order.
    lego(&server, dir.path(), port, &NAMES, &["renew", "--days", "9999", "--no-random-sleep"]).await;
    openssl_verify(&server, dir.path());
    let list = server.certcentral("/order/certificate").await;
    assert_eq!(list["orders"].as_array().unwrap().len(), 2, "{list}");

    // Revocation by the account key revokes the renewed certificate.
    lego(&server, dir.path(), port, &NAMES[..1], &["revoke"]).await;
    let list = server.certcentral("/order/certificate?filters[status]=revoked").await;
    let revoked = list["orders"].as_array().unwrap();
    assert_eq!(revoked.len(), 1, "{list}");
    assert_ne!(revoked[0]["id"].as_i64().unwrap(), first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lego_obtains_with_tls_alpn01() {
    if !lego_available() {
        return;
    }
    let port = free_port();
    let server = AcmeServer::start_with_ports(false, None, port).await;
    let dir = tempfile::tempdir().unwrap();
    let tls_port = format!("127.0.0.1:{port}");
    let log = lego_with(&server, dir.path(), &["--tls", "--tls.port", &tls_port], &NAMES, &["run"]).await;
    assert!(log.contains("tls-alpn-01"), "{log}");
    openssl_verify(&server, dir.path());
    let list = server.certcentral("/order/certificate").await;
    assert_eq!(list["orders"].as_array().unwrap().len(), 1, "{list}");
}
