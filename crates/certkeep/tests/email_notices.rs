//! E-mail expiry notices survive a SIGKILL: notices the relay could not take before the process
//! was killed are sent, once each, by the restarted server through a real SMTP relay (aiosmtpd).

mod common;
#[path = "../../certkeep-server/tests/common/smtp_relay.rs"]
mod smtp_relay;

use std::{collections::HashSet, time::Duration};

use common::serve;
use smtp_relay::{Relay, aiosmtpd_available, free_port};

/// The value of the sample `series` (name and labels as exposed) at the operator listener.
async fn sample(metrics: &str, series: &str) -> f64 {
    let text = reqwest::get(metrics).await.unwrap().text().await.unwrap();
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0.0)
}

/// Waits until `metrics` shows `series` at `wanted` or more, for at most `seconds`.
async fn wait_for_sample(metrics: &str, series: &str, wanted: f64, seconds: u64) {
    for _ in 0..seconds * 10 {
        if sample(metrics, series).await >= wanted {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{series} never reached {wanted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_the_relay_missed_before_a_sigkill_are_sent_once_after_the_restart() {
    if !aiosmtpd_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let database = certkeep_store::scratch_database_url(dir.path()).unwrap();
    let (relay_port, metrics_port) = (free_port(), free_port());
    let relay = format!("127.0.0.1:{relay_port}");
    let listen = format!("127.0.0.1:{metrics_port}");
    let metrics = format!("http://{listen}/metrics");
    let args = [
        "--smtp-relay",
        &relay,
        "--notice-from",
        "certkeep <notices@certkeep.test>",
        "--expiry-notice-days",
        "90,60,30,7,0,-7",
        "--email-first-retry-seconds",
        "1",
        "--metrics-listen",
        &listen,
    ];

    // Nothing listens on the relay's port: the demo inventory's notices are queued, every one
    // attempted and refused, and the process is killed with them all unsent.
    let (mut child, _) = serve(&data, Some(&database), &args).await;
    wait_for_sample(&metrics, "certkeep_email_backlog", 1.0, 30).await;
    let queued = sample(&metrics, "certkeep_email_backlog").await;
    wait_for_sample(&metrics, r#"certkeep_email_notices_total{outcome="failed"}"#, queued, 30).await;
    // The round's outcomes are recorded after its last attempt: give that a moment, so that the
    // restart need not wait out the killed process's 120 s leases (it would still send them).
    tokio::time::sleep(Duration::from_millis(500)).await;
    child.kill().await.unwrap();

    let relay = Relay::start(relay_port).await;
    let (_child, _) = serve(&data, Some(&database), &args).await;
    for _ in 0..1800 {
        if relay.all().len() >= queued as usize && sample(&metrics, "certkeep_email_backlog").await == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mail = relay.all();
    // A certificate is in one window at a time: its id (the body's "Certificate:" line) names
    // its notice.
    let distinct: HashSet<&str> =
        mail.iter().map(|m| m.body.lines().find(|l| l.starts_with("Certificate: ")).unwrap()).collect();
    assert_eq!(mail.len(), queued as usize, "every queued notice, none lost: {:#?}", mail);
    assert_eq!(distinct.len(), mail.len(), "none sent twice");
    assert_eq!(sample(&metrics, "certkeep_email_backlog").await, 0.0);
}
