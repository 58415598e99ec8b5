//! Issuance through CertCentral: `POST /services/v2/order/certificate/ssl_basic` with
//! `skip_approval` (placed, issued and stored in one request) against a fresh demo whose CA has
//! the given key algorithm, next to the raw signing rate of that CA's key on this machine.

use std::{path::Path, time::Duration};

use rcgen::{KeyPair, SigningKey};
use serde_json::json;

use crate::{
    credential, json,
    load::{self, Load, Measured, Target},
    server::{self, Server},
    webhook_sink::Sink,
};

/// One issuance measurement.
pub struct Issuance {
    /// The HTTP load.
    pub measured: Measured,
    /// Signatures per second of the CA key on one thread, and on every core.
    pub signs_one_thread: f64,
    /// Signatures per second on `threads` threads.
    pub signs_all_threads: f64,
    /// Threads of the second signing figure.
    pub threads: usize,
    /// Share of the run the server spent on CPU (1.0 = one core busy).
    pub server_cores: f64,
    /// With a webhook active: `certificate_issued` events its endpoint accepted within 10 s of
    /// the end of the run, and certificates issued (warm-up included).
    pub events: Option<(u64, u64)>,
}

/// CSRs (P-256 keys, one name each) that the orders cycle through.
fn order_bodies(organization: i64, n: usize) -> Result<Vec<String>, String> {
    (0..n)
        .map(|i| {
            let name = format!("host{i}.example.com");
            let key = KeyPair::generate().map_err(|e| e.to_string())?;
            let csr = crate::acme::csr(&name, &key)?.pem().map_err(|e| e.to_string())?;
            Ok(json!({
                "certificate": {"common_name": name, "csr": csr, "signature_hash": "sha256",
                                "server_platform": {"id": -1}},
                "organization": {"id": organization},
                "order_validity": {"years": 1},
                "skip_approval": true,
            })
            .to_string())
        })
        .collect()
}

/// Signs a certificate-sized message with the CA's intermediate key in a loop on `threads`
/// threads for `duration`; returns signatures per second.
fn signing_rate(key_pem: &str, threads: usize, duration: Duration) -> Result<f64, String> {
    let key = KeyPair::from_pem(key_pem).map_err(|e| e.to_string())?;
    let message = [0x5a_u8; 700];
    let started = std::time::Instant::now();
    let total: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut n = 0;
                    while started.elapsed() < duration {
                        if key.sign(&message).is_ok() {
                            n += 1;
                        }
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    });
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Runs the issuance scenario with a CA of `algorithm` (`ecdsa-p256`, `rsa-2048`), on a new
/// database of the PostgreSQL server `database` (SQLite without); with `webhook`, an active
/// webhook of the account hears of every issuance (each one then also writes an outbox row).
pub async fn run(
    bin: &Path,
    database: Option<&str>,
    algorithm: &str,
    webhook: bool,
    concurrency: usize,
    duration: Duration,
    warmup: Duration,
) -> Result<Issuance, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let data = dir.path().join("data");
    let database = server::Database::create(database, "issuance")?;
    let options = ["--demo-orders", "0", "--ca-key-algorithm", algorithm];
    let server =
        Server::start(bin, &data, database.options.iter().map(String::as_str).chain(options)).await?;
    let key = credential(&data, "certcentral_api_key")?;
    let sink = match webhook {
        true => {
            let sink = Sink::start(&data.join("ca")).await?;
            sink.activate(server.addr, &key).await?;
            Some(sink)
        }
        false => None,
    };
    let orgs = json(&server, &key, "/services/v2/organization").await?;
    let organization =
        orgs["organizations"][0]["id"].as_i64().ok_or_else(|| format!("no organization in {orgs}"))?;
    let targets: Vec<Target> = order_bodies(organization, 64)?
        .into_iter()
        .map(|body| Target {
            path: "/services/v2/order/certificate/ssl_basic".into(),
            csv: false,
            body: Some(body),
        })
        .collect();
    let load = Load { concurrency, duration, max_requests: None };
    let issued = |m: &Measured| (m.latencies.len() as u64).saturating_sub(m.errors);
    let mut warmed = 0;
    if !warmup.is_zero() {
        warmed = issued(&load::run(server.addr, &key, &targets, &Load { duration: warmup, ..load }).await?);
    }
    let cpu_before = server.cpu_seconds()?;
    let measured = load::run(server.addr, &key, &targets, &load).await?;
    let server_cores = (server.cpu_seconds()? - cpu_before) / measured.elapsed.as_secs_f64();
    let events = match &sink {
        Some(sink) => {
            let issued = warmed + issued(&measured);
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while sink.issued() < issued && std::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Some((sink.issued(), issued))
        }
        None => None,
    };
    drop(server);
    drop(database);

    let key_path = data.join("ca").join("intermediate.key.pem");
    let key_pem = std::fs::read_to_string(&key_path).map_err(|e| format!("{}: {e}", key_path.display()))?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let signs_one_thread = signing_rate(&key_pem, 1, duration)?;
    let signs_all_threads = signing_rate(&key_pem, threads, duration)?;
    Ok(Issuance { measured, signs_one_thread, signs_all_threads, threads, server_cores, events })
}
