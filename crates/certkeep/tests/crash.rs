//! Crash safety: SIGKILL the server while clients order concurrently through CertCentral and
//! ACME, restart it, and check that every acknowledged order survived whole, that no order is
//! left half-finished, and that the database is consistent. On SQLite, or on PostgreSQL when
//! CERTKEEP_TEST_POSTGRES_URL names a server.

mod common;

use std::{collections::HashSet, sync::Arc, time::Duration};

use common::{ACME_NAMES, acme_account, acme_account_on, serve, try_acme_order, try_certcentral_order};
use instant_acme::OrderStatus;
use tokio::sync::Mutex;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_orders_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let database = certkeep_store::scratch_database_url(dir.path()).unwrap();
    let acknowledged: Arc<Mutex<Vec<i64>>> = Arc::default();
    // ACME issuances acknowledged with a certificate: (order URL path, PEM chain).
    let acknowledged_acme: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let mut account: Option<(String, String)> = None;

    for round in 0..5u64 {
        let (mut child, server) = serve(&data, Some(&database), &[]).await;
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
    let (_child, server) = serve(&data, Some(&database), &[]).await;
    let base = server.base.clone();
    for id in &acknowledged {
        let v = common::order(&client, &server, *id).await;
        assert_eq!(v["status"], "issued", "order {id}: {v}");
        assert_eq!(v["certificate"]["serial_number"].as_str().map(str::len), Some(32), "order {id}");
    }

    // The database is consistent: no broken references, no duplicate serials, no order
    // without its current certificate, no half-written request.
    let db = Database::open(&database).await;
    if let Database::Sqlite(db) = &db {
        let integrity: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(integrity, "ok");
    }
    assert_eq!(db.count("SELECT count(*) FROM pragma_foreign_key_check").await, 0);
    let dup_serials = "SELECT count(*) FROM (SELECT serial_number FROM certificates \
                       WHERE serial_number IS NOT NULL GROUP BY serial_number HAVING count(*) > 1) d";
    assert_eq!(db.count(dup_serials).await, 0);
    let orphans = "SELECT count(*) FROM orders o WHERE o.certificate_id IS NULL OR NOT EXISTS \
                   (SELECT 1 FROM certificates c WHERE c.id = o.certificate_id AND c.order_id = o.id)";
    assert_eq!(db.count(orphans).await, 0);
    let unfinished = "SELECT count(*) FROM orders o WHERE o.status = 'issued' AND o.serial_number IS NULL";
    assert_eq!(db.count(unfinished).await, 0);
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
    assert_eq!(db.count("SELECT count(*) FROM acme_orders WHERE status = 'processing'").await, 0);
    assert_eq!(
        db.count(
            "SELECT count(*) FROM acme_orders a WHERE a.status = 'valid' AND NOT EXISTS (SELECT 1 FROM \
             certificates c WHERE c.id = a.certificate_id AND c.order_id = a.inventory_order_id \
             AND c.serial_number = a.certificate_serial)"
        )
        .await,
        0
    );
    assert_eq!(
        db.count(
            "SELECT count(*) FROM orders o WHERE o.acme_contract_id IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM acme_orders a WHERE a.inventory_order_id = o.id AND a.status = 'valid')"
        )
        .await,
        0
    );
    // An order left ready by the crash finalizes now, and new issuances go through.
    let ready = db.ready_acme_order().await;
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

/// The test's database, for the invariant queries.
enum Database {
    Sqlite(rusqlite::Connection),
    Postgres(tokio_postgres::Client),
}

impl Database {
    async fn open(url: &str) -> Self {
        match url.strip_prefix("sqlite://") {
            Some(path) => Database::Sqlite(rusqlite::Connection::open(path).unwrap()),
            None => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(connection);
                Database::Postgres(client)
            }
        }
    }

    /// The one number `sql` selects. `pragma_foreign_key_check` counts as 0 on PostgreSQL,
    /// which enforces foreign keys on every write.
    async fn count(&self, sql: &str) -> i64 {
        match self {
            Database::Sqlite(db) => db.query_row(sql, [], |r| r.get(0)).unwrap(),
            Database::Postgres(_) if sql.contains("pragma_") => 0,
            Database::Postgres(db) => db.query_one(sql, &[]).await.unwrap().get(0),
        }
    }

    /// An ACME order left `ready`, if any: its id and name.
    async fn ready_acme_order(&self) -> Option<(i64, String)> {
        let sql = "SELECT id, identifiers FROM acme_orders WHERE status = 'ready' LIMIT 1";
        match self {
            Database::Sqlite(db) => db.query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?))).ok(),
            Database::Postgres(db) => db.query_opt(sql, &[]).await.unwrap().map(|r| (r.get(0), r.get(1))),
        }
    }
}
