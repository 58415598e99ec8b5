//! Crash safety: SIGKILL the server while clients order concurrently through CertCentral and
//! ACME, restart it, and check that every acknowledged order survived whole, that no order is
//! left half-finished, and that the database is consistent.

mod common;

use std::{collections::HashSet, sync::Arc, time::Duration};

use common::{
    ACME_NAMES, Replica, acme_account, acme_account_on, serve, try_acme_order, try_certcentral_order,
};
use instant_acme::OrderStatus;
use tokio::sync::Mutex;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_orders_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let acknowledged: Arc<Mutex<Vec<i64>>> = Arc::default();
    // ACME issuances acknowledged with a certificate: (order URL path, PEM chain).
    let acknowledged_acme: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let mut account: Option<(String, String)> = None;

    for round in 0..5u64 {
        let (mut child, server) = serve(&data, None, &[]).await;
        // One ACME account throughout, made in the first round and used through each restart.
        let (credentials, made_on) = match &account {
            Some(a) => a.clone(),
            None => {
                let credentials = acme_account(&server).await.1;
                account.insert((credentials, server.base.clone())).clone()
            }
        };
        let mut workers: Vec<_> = (0..3)
            .map(|w| {
                let (client, server, acknowledged) = (client.clone(), server.clone(), acknowledged.clone());
                tokio::spawn(async move {
                    for i in 0.. {
                        let cn = format!("r{round}w{w}n{i}.crash.test");
                        let Some(id) = try_certcentral_order(&client, &server, &cn).await else { return };
                        acknowledged.lock().await.push(id);
                    }
                })
            })
            .collect();
        for w in 0..4 {
            let acme = acme_account_on(&credentials, &made_on, &server).await;
            let (server, acknowledged) = (server.clone(), acknowledged_acme.clone());
            workers.push(tokio::spawn(async move {
                for i in 0.. {
                    let Ok((url, chain)) =
                        try_acme_order(&acme, ACME_NAMES[(w + i) % ACME_NAMES.len()]).await
                    else {
                        return;
                    };
                    let path = url.strip_prefix(&server.base).expect("an order URL of this server");
                    acknowledged.lock().await.push((path.to_owned(), chain));
                }
            }));
        }
        // Kill at a different moment each round, mid-traffic.
        tokio::time::sleep(Duration::from_millis(300 + 200 * round)).await;
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

    let acknowledged_acme = acknowledged_acme.lock().await.clone();
    assert!(!acknowledged_acme.is_empty(), "no ACME issuance was acknowledged");

    // Every acknowledged order is there, issued, with its certificate.
    let (_child, server) = serve(&data, None, &[]).await;
    let Replica { base, key, .. } = server.clone();
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
    let db = rusqlite::Connection::open(data.join("certkeep.db")).unwrap();
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

    // ACME: every acknowledged issuance is a valid order serving the same chain.
    let (credentials, made_on) = account.unwrap();
    let acme = acme_account_on(&credentials, &made_on, &server).await;
    for (path, chain) in &acknowledged_acme {
        let mut order = acme.order(format!("{base}{path}")).await.unwrap();
        assert_eq!(order.state().status, OrderStatus::Valid, "{path}");
        assert_eq!(order.certificate().await.unwrap().as_ref(), Some(chain), "{path}");
    }
    // No ACME order is stuck mid-finalization, each valid one names its issued certificate,
    // and every certificate issued over ACME belongs to a valid ACME order.
    let count = |sql: &str| db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(count("SELECT count(*) FROM acme_orders WHERE status = 'processing'"), 0);
    assert_eq!(
        count(
            "SELECT count(*) FROM acme_orders a WHERE a.status = 'valid' AND NOT EXISTS (SELECT 1 FROM \
             certificates c WHERE c.id = a.certificate_id AND c.order_id = a.inventory_order_id \
             AND c.serial_number = a.certificate_serial)"
        ),
        0
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM orders o WHERE o.acme_contract_id IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM acme_orders a WHERE a.inventory_order_id = o.id AND a.status = 'valid')"
        ),
        0
    );
    // An order left ready by the crash finalizes now, and new issuances go through.
    let ready: Option<(i64, String)> = db
        .query_row("SELECT id, identifiers FROM acme_orders WHERE status = 'ready' LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .ok();
    if let Some((id, name)) = ready {
        let mut order = acme.order(format!("{base}/acme/order/{id}")).await.unwrap();
        let pem = common::csr(&name);
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        order.finalize_csr(&certkeep_ca::decode_base64(&body).unwrap()).await.unwrap();
        assert_eq!(order.state().status, OrderStatus::Valid, "order {id}");
    }
    for name in ACME_NAMES {
        try_acme_order(&acme, name).await.unwrap();
    }
}
