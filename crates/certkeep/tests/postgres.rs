//! Several `certkeep serve` processes on one PostgreSQL database, and `certkeep db copy`.
//! These need a server: CERTKEEP_TEST_POSTGRES_URL (`.ci/run` starts one); without it they say
//! so and pass.

mod common;

use std::{collections::HashSet, path::Path, time::Duration};

use aws_lc_rs::{
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use common::{
    ACME_NAMES, BIN, Replica, acme_account, acme_account_on, certcentral, order, try_acme_order,
    try_certcentral_order,
};
use serde_json::{Value, json};

/// A new database on the test server, or `None` (saying so) without one.
fn database(dir: &Path) -> Option<String> {
    if std::env::var("CERTKEEP_TEST_POSTGRES_URL").is_err() {
        eprintln!("CERTKEEP_TEST_POSTGRES_URL is not set: skipped");
        return None;
    }
    Some(certkeep_store::scratch_database_url(dir).unwrap())
}

/// Starts `certkeep serve --demo` on `database`.
async fn serve(data: &Path, database: &str, extra: &[&str]) -> (tokio::process::Child, Replica) {
    common::serve(data, Some(database), extra).await
}

/// Places a CertCentral order that issues at once; returns (order id, serial number).
async fn certcentral_order(client: &reqwest::Client, r: &Replica, cn: &str) -> (i64, String) {
    let id = try_certcentral_order(client, r, cn).await.expect("order placed");
    let order = order(client, r, id).await;
    (id, order["certificate"]["serial_number"].as_str().expect("issued").to_owned())
}

/// Issues a certificate over ACME with `account`; returns the PEM chain.
async fn acme_order(account: &instant_acme::Account, name: &str) -> String {
    try_acme_order(account, name).await.unwrap().1
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// POSTs a JWS to `url` with `nonce`; returns the status and the problem type.
async fn post_with_nonce(client: &reqwest::Client, url: &str, nonce: &str) -> (u16, String) {
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let point = key.public_key().as_ref();
    let jwk = json!({"crv": "P-256", "kty": "EC", "x": b64(&point[1..33]), "y": b64(&point[33..65])});
    let protected =
        b64(json!({"alg": "ES256", "jwk": jwk, "nonce": nonce, "url": url}).to_string().as_bytes());
    let payload = b64(json!({"onlyReturnExisting": true}).to_string().as_bytes());
    let sig = key.sign(&SystemRandom::new(), format!("{protected}.{payload}").as_bytes()).unwrap();
    let jws = json!({"protected": protected, "payload": payload, "signature": b64(sig.as_ref())});
    let resp = client
        .post(url)
        .header("content-type", "application/jose+json")
        .body(jws.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let problem: Value = resp.json().await.unwrap_or_default();
    (status, problem["type"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_database_behave_as_one_service() {
    let dir = tempfile::tempdir().unwrap();
    let Some(database) = database(dir.path()) else { return };
    let (data_a, data_b) = (dir.path().join("a"), dir.path().join("b"));
    let (_a, a) = serve(&data_a, &database, &[]).await;
    // The second replica shares the CA key, the sealing key and the database.
    let copied = std::process::Command::new("cp").arg("-a").arg(&data_a).arg(&data_b).status().unwrap();
    assert!(copied.success());
    let (_b, b) = serve(&data_b, &database, &[]).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();

    // CertCentral orders through both replicas at once.
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let client = client.clone();
            let r = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { certcentral_order(&client, &r, &format!("n{i}.replicas.test")).await })
        })
        .collect();
    let mut placed = Vec::new();
    for t in tasks {
        placed.push(t.await.unwrap());
    }

    // ACME: one account, used through A and (the same account URL on B) through B, at once.
    let (account_a, credentials) = acme_account(&a).await;
    let account_b = acme_account_on(&credentials, &a.base, &b).await;
    let (chains_a, chains_b) = tokio::join!(
        async {
            let mut v = Vec::new();
            for name in &ACME_NAMES[..3] {
                v.push(acme_order(&account_a, name).await);
            }
            v
        },
        async {
            let mut v = Vec::new();
            for name in ACME_NAMES[1..].iter().rev() {
                v.push(acme_order(&account_b, name).await);
            }
            v
        }
    );
    let chains: HashSet<&String> = chains_a.iter().chain(&chains_b).collect();
    assert_eq!(chains.len(), 6, "six distinct certificates");

    // No duplicate ids or serials; every order visible through both replicas, alike.
    let ids: HashSet<i64> = placed.iter().map(|(id, _)| *id).collect();
    let serials: HashSet<&String> = placed.iter().map(|(_, s)| s).collect();
    assert_eq!((ids.len(), serials.len()), (placed.len(), placed.len()));
    for (id, serial) in &placed {
        let (through_a, through_b) = (order(&client, &a, *id).await, order(&client, &b, *id).await);
        assert_eq!(through_a, through_b);
        assert_eq!(through_a["certificate"]["serial_number"].as_str(), Some(serial.as_str()));
    }
    let list = "order/certificate?limit=1000";
    let (list_a, list_b) = (certcentral(&client, &a, list).await, certcentral(&client, &b, list).await);
    assert_eq!(list_a, list_b);
    let all: Vec<i64> =
        list_a["orders"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect();
    let unique: HashSet<&i64> = all.iter().collect();
    assert_eq!(unique.len(), all.len(), "duplicate order ids in the list");
    assert!(ids.iter().all(|id| all.contains(id)));
    // Serials are unique across the list too.
    let serials: Vec<&str> = list_a["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["certificate"]["serial_number"].as_str())
        .collect();
    assert_eq!(serials.iter().collect::<HashSet<_>>().len(), serials.len(), "duplicate serials");

    // A nonce from A is good once, on B.
    let nonce_of = |base: String| {
        let client = client.clone();
        async move {
            let resp = client.head(format!("{base}/acme/new-nonce")).send().await.unwrap();
            resp.headers()["replay-nonce"].to_str().unwrap().to_owned()
        }
    };
    let nonce = nonce_of(a.base.clone()).await;
    let url = format!("{}/acme/new-account", b.base);
    let first = post_with_nonce(&client, &url, &nonce).await;
    assert_eq!(first, (400, "urn:ietf:params:acme:error:accountDoesNotExist".to_owned()));
    let again = post_with_nonce(&client, &format!("{}/acme/new-account", a.base), &nonce).await;
    assert_eq!(again, (400, "urn:ietf:params:acme:error:badNonce".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_copy_moves_an_inventory_from_sqlite_to_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    let Some(database) = database(dir.path()) else { return };
    let data = dir.path().join("data");
    let generated = std::process::Command::new(BIN)
        .arg("generate")
        .arg("--data-dir")
        .arg(&data)
        .args(["--orders", "300"])
        .status()
        .unwrap();
    assert!(generated.success());
    let sqlite = format!("sqlite://{}", data.join("certkeep.db").display());
    let copy = |to: &str| {
        std::process::Command::new(BIN).args(["db", "copy", "--from", &sqlite, "--to", to]).output().unwrap()
    };
    let out = copy(&database);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("counts and checksums match"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("orders ") && !l.contains(" 0 rows")), "{stdout}");
    // A second copy into the now full database is refused.
    let again = copy(&database);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    // The same inventory, served from either database, answers alike.
    let (_s, on_sqlite) = serve(&data, &sqlite, &[]).await;
    let (_p, on_postgres) = serve(&data, &database, &[]).await;
    let client = reqwest::Client::new();
    for path in
        ["order/certificate?limit=50&sort=-valid_till", "order/certificate?filters[search]=%25exa", "request"]
    {
        let bodies =
            [certcentral(&client, &on_sqlite, path).await, certcentral(&client, &on_postgres, path).await];
        assert_eq!(bodies[0], bodies[1], "{path}");
    }
    // New orders on PostgreSQL get ids after the copied ones, and are counted again (the copy
    // turned the counting triggers off for itself only).
    let issued = "order/certificate?limit=1&filters[status]=issued";
    let total = async || certcentral(&client, &on_postgres, issued).await["page"]["total"].as_u64();
    let before = total().await.unwrap();
    let (id, _) = certcentral_order(&client, &on_postgres, "after.copy.test").await;
    assert!(id > 100_300, "{id}");
    assert_eq!(total().await, Some(before + 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_rate_limits() {
    let dir = tempfile::tempdir().unwrap();
    let Some(database) = database(dir.path()) else { return };
    let (data_a, data_b) = (dir.path().join("a"), dir.path().join("b"));
    let limit = ["--rate-limit", "4/60"];
    let (_a, a) = serve(&data_a, &database, &limit).await;
    let copied = std::process::Command::new("cp").arg("-a").arg(&data_a).arg(&data_b).status().unwrap();
    assert!(copied.success());
    let (_b, b) = serve(&data_b, &database, &limit).await;
    let client = reqwest::Client::new();
    let get = |r: &Replica| {
        let request = client
            .get(format!("{}/services/v2/order/certificate?limit=1", r.base))
            .header("X-DC-DEVKEY", &r.key);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    // Four requests in all, through either replica, then the key is limited on both.
    for r in [&a, &b, &a, &b] {
        assert_eq!(get(r).await, 200);
    }
    assert_eq!(get(&a).await, 429);
    assert_eq!(get(&b).await, 429);
}
