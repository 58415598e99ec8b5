//! `certkeep serve --demo` as a child process, and the clients the binary's tests drive it with.

#![allow(dead_code)]

use std::{collections::HashMap, path::Path, process::Stdio, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hyper_util::{client::legacy::Client as HyperClient, rt::TokioExecutor};
use instant_acme::{
    Account, AccountCredentials, ChallengeType, ExternalAccountKey, Identifier, NewAccount, NewOrder,
    OrderStatus, RetryPolicy,
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

pub const BIN: &str = env!("CARGO_BIN_EXE_certkeep");

/// Names the demo's ACME contract covers.
pub const ACME_NAMES: [&str; 4] = ["example.com", "www.example.com", "demo.test", "www.demo.test"];

/// Where a running `certkeep serve --demo` listens, and the banner's credentials.
#[derive(Clone)]
pub struct Replica {
    pub base: String,
    pub key: String,
    pub eab: (String, String),
}

/// Starts `certkeep serve --demo` over plain HTTP with always-valid ACME challenges (killed when
/// the returned child is dropped); `database` is a URL, or `None` for the data directory's SQLite.
pub async fn serve(data: &Path, database: Option<&str>, extra: &[&str]) -> (Child, Replica) {
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--demo", "--demo-orders", "20", "--acme-always-valid", "--plain-http"])
        .args(["--listen", "127.0.0.1:0"])
        // Certificates name one /pki base whatever port each start gets, as a deployment's
        // replicas do (the intermediate is re-certified when that base moves).
        .args(["--pki-url", "http://pki.certkeep.test"])
        .args(extra)
        .arg("--data-dir")
        .arg(data);
    if let Some(url) = database {
        command.args(["--database-url", url]);
    }
    let mut child =
        command.env("CERTKEEP_LOG", "warn").stdout(Stdio::piped()).kill_on_drop(true).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = HashMap::new();
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some((label, value)) = line.trim().split_once(": ") {
                banner.insert(label.trim().to_owned(), value.trim().to_owned());
            }
            if line.contains("data directory:") {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(180), read).await.expect("banner in time");
    // Keep draining stdout so the server never writes into a closed pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let get = |label: &str| banner.get(label).cloned().unwrap_or_else(|| panic!("{label} in the banner"));
    let replica = Replica {
        base: get("base URL"),
        key: get("X-DC-DEVKEY"),
        eab: (get("EAB key id"), get("EAB HMAC key")),
    };
    (child, replica)
}

/// A P-256 CSR (PEM) for `cn`, which is also its one SAN.
pub fn csr(cn: &str) -> String {
    certkeep_ca::generate_csr(certkeep_ca::KeyAlgorithm::EcdsaP256, cn, &[cn.to_owned()]).unwrap().1
}

/// Places a CertCentral order that issues at once; returns its id.
pub async fn try_certcentral_order(client: &reqwest::Client, r: &Replica, cn: &str) -> Option<i64> {
    let body = json!({"certificate": {"common_name": cn, "csr": csr(cn)}, "skip_approval": true});
    let resp = client
        .post(format!("{}/services/v2/order/certificate/ssl_dv_geotrust", r.base))
        .header("X-DC-DEVKEY", &r.key)
        .body(body.to_string())
        .send()
        .await
        .ok()?;
    if resp.status() != 201 {
        return None;
    }
    resp.json::<Value>().await.ok()?["id"].as_i64()
}

/// GET of `/services/v2/{path}` with the replica's key (200 expected).
pub async fn certcentral(client: &reqwest::Client, r: &Replica, path: &str) -> Value {
    let resp = client
        .get(format!("{}/services/v2/{path}", r.base))
        .header("X-DC-DEVKEY", &r.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{path} through {}", r.base);
    resp.json().await.unwrap()
}

/// GET of a CertCentral order (200 expected).
pub async fn order(client: &reqwest::Client, r: &Replica, id: i64) -> Value {
    certcentral(client, r, &format!("order/certificate/{id}")).await
}

/// A new ACME account bound to the demo's EAB credential, and its credentials (JSON).
pub async fn acme_account(r: &Replica) -> (Account, String) {
    let http = HyperClient::builder(TokioExecutor::new()).build_http();
    let (account, credentials) = Account::builder_with_http(Box::new(http))
        .create(
            &NewAccount { contact: &[], terms_of_service_agreed: true, only_return_existing: false },
            format!("{}/acme/directory", r.base),
            Some(&ExternalAccountKey::new(r.eab.0.clone(), &URL_SAFE_NO_PAD.decode(&r.eab.1).unwrap())),
        )
        .await
        .unwrap();
    (account, serde_json::to_string(&credentials).unwrap())
}

/// The account of `credentials` (made on the replica at `from`), used through `r`.
pub async fn acme_account_on(credentials: &str, from: &str, r: &Replica) -> Account {
    let moved = credentials.replace(from, &r.base);
    let credentials: AccountCredentials = serde_json::from_str(&moved).unwrap();
    let http = HyperClient::builder(TokioExecutor::new()).build_http();
    Account::builder_with_http(Box::new(http)).from_credentials(credentials).await.unwrap()
}

/// Issues a certificate for `name` over ACME; returns the order URL and the PEM chain.
pub async fn try_acme_order(account: &Account, name: &str) -> Result<(String, String), instant_acme::Error> {
    let retry = RetryPolicy::new().initial_delay(Duration::from_millis(50)).timeout(Duration::from_secs(60));
    let mut order = account.new_order(&NewOrder::new(&[Identifier::Dns(name.into())])).await?;
    let mut authzs = order.authorizations();
    while let Some(authz) = authzs.next().await {
        let mut authz = authz?;
        authz.challenge(ChallengeType::Http01).expect("http-01").set_ready().await?;
    }
    let ready = order.poll_ready(&retry).await?;
    assert_eq!(ready, OrderStatus::Ready);
    let pem = csr(name);
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    order.finalize_csr(&certkeep_ca::decode_base64(&body).unwrap()).await?;
    let chain = order.poll_certificate(&retry).await?;
    Ok((order.url().to_owned(), chain))
}
