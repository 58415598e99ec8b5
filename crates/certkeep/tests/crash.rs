//! Crash safety: SIGKILL the server while clients order concurrently, restart it, and check
//! that every acknowledged order survived whole and the database is consistent.

use std::{collections::HashSet, process::Stdio, sync::Arc, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::Mutex,
};

const BIN: &str = env!("CARGO_BIN_EXE_certkeep");

async fn start(data: &str) -> (Child, String, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--demo", "--demo-orders", "20", "--listen", "127.0.0.1:0", "--data-dir", data])
        .arg("--plain-http")
        .env("CERTKEEP_LOG", "error")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (mut base, mut key) = (String::new(), String::new());
    while let Some(line) = lines.next_line().await.unwrap() {
        let line = line.trim().to_owned();
        if let Some(v) = line.strip_prefix("base URL:") {
            base = v.trim().to_owned();
        }
        if let Some(v) = line.strip_prefix("X-DC-DEVKEY:") {
            key = v.trim().to_owned();
        }
        if line.starts_with("data directory:") {
            break;
        }
    }
    // Keep draining stdout so the server never writes into a closed pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base, key)
}

fn csr(cn: &str) -> String {
    certkeep_ca::generate_csr(certkeep_ca::KeyAlgorithm::EcdsaP256, cn, &[]).unwrap().1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_orders_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap().to_owned();
    let acknowledged: Arc<Mutex<Vec<i64>>> = Arc::default();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();

    for round in 0..3u64 {
        let (mut child, base, key) = start(&data).await;
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let (client, base, key, acknowledged) =
                    (client.clone(), base.clone(), key.clone(), acknowledged.clone());
                tokio::spawn(async move {
                    for i in 0.. {
                        let cn = format!("r{round}w{w}n{i}.crash.test");
                        let body = serde_json::json!({
                            "certificate": {"common_name": cn, "csr": csr(&cn)},
                            "skip_approval": true
                        });
                        let resp = client
                            .post(format!("{base}/services/v2/order/certificate/ssl_dv_geotrust"))
                            .header("X-DC-DEVKEY", &key)
                            .body(body.to_string())
                            .send()
                            .await;
                        let Ok(resp) = resp else { return };
                        if resp.status() != 201 {
                            return;
                        }
                        let Ok(v) = resp.json::<serde_json::Value>().await else { return };
                        acknowledged.lock().await.push(v["id"].as_i64().unwrap());
                    }
                })
            })
            .collect();
        // Kill at a different moment each round, mid-traffic.
        tokio::time::sleep(Duration::from_millis(300 + 250 * round)).await;
        let pid = child.id().unwrap().to_string();
        assert!(std::process::Command::new("kill").args(["-KILL", &pid]).status().unwrap().success());
        child.wait().await.unwrap();
        for w in workers {
            w.await.unwrap();
        }
    }

    let acknowledged = acknowledged.lock().await.clone();
    assert!(
        acknowledged.len() > 10,
        "the test placed too few orders to mean anything: {}",
        acknowledged.len()
    );

    // Every acknowledged order is there, issued, with its certificate.
    let (_child, base, key) = start(&data).await;
    for id in &acknowledged {
        let v: serde_json::Value = client
            .get(format!("{base}/services/v2/order/certificate/{id}"))
            .header("X-DC-DEVKEY", &key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["status"], "issued", "order {id}: {v}");
        assert_eq!(v["certificate"]["serial_number"].as_str().map(str::len), Some(32), "order {id}");
    }

    // The database is consistent: no broken references, no duplicate serials, no order
    // without its current certificate, no half-written request.
    let db = rusqlite::Connection::open(std::path::Path::new(&data).join("certkeep.db")).unwrap();
    let integrity: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let broken: i64 =
        db.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
    assert_eq!(broken, 0);
    let dup_serials: i64 = db
        .query_row(
            "SELECT count(*) FROM (SELECT serial_number FROM certificates WHERE serial_number IS NOT NULL \
             GROUP BY serial_number HAVING count(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(dup_serials, 0);
    let orphans: i64 = db
        .query_row(
            "SELECT count(*) FROM orders o WHERE o.certificate_id IS NULL \
             OR NOT EXISTS (SELECT 1 FROM certificates c WHERE c.id = o.certificate_id AND c.order_id = o.id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
    let unfinished: i64 = db
        .query_row(
            "SELECT count(*) FROM orders o WHERE o.status = 'issued' AND o.serial_number IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unfinished, 0);
    let unique: HashSet<&i64> = acknowledged.iter().collect();
    assert_eq!(unique.len(), acknowledged.len(), "ids are never reused");
}
