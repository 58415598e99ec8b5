//! Webhook events survive a SIGKILL: events queued while the endpoint refused them are
//! delivered, once each, by the restarted server.

mod common;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{Router, body::Bytes, extract::State, http::StatusCode, routing::post};
use certkeep_ca::CertificateAuthority;
use common::{Replica, serve, try_certcentral_order};
use serde_json::{Value, json};

const SECRET: &str = "a-webhook-secret-long-enough-for-digicert";

/// An HTTPS endpoint recording every body it gets, accepting them only while `open`.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<(Value, bool)>>>,
    open: Arc<AtomicBool>,
}

async fn receive(State(r): State<Receiver>, body: Bytes) -> StatusCode {
    let open = r.open.load(Ordering::SeqCst);
    r.seen.lock().unwrap().push((serde_json::from_slice(&body).unwrap_or(Value::Null), open));
    if open { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }
}

impl Receiver {
    /// Serves on 127.0.0.1 with a certificate of the data directory's CA; returns its URL.
    async fn start(&self, ca_dir: &std::path::Path) -> String {
        let ca = CertificateAuthority::load(ca_dir).unwrap();
        let (chain, key) = ca.issue_local_tls("127.0.0.1").unwrap();
        let certificate = Arc::new(certkeep_server::ServerCertificate::from_pem(&chain, &key).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}/hook", listener.local_addr().unwrap());
        let app = Router::new().route("/hook", post(receive)).with_state(self.clone());
        let config = certificate.server_config().unwrap();
        let limits = certkeep_server::Limits::default();
        tokio::spawn(certkeep_server::serve_tls(listener, config, app, limits, std::future::pending()));
        url
    }

    fn events(&self, accepted: bool) -> Vec<Value> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|(b, a)| *a == accepted && b["event"] == "certificate_issued")
            .map(|(b, _)| b.clone())
            .collect()
    }
}

async fn call(
    client: &reqwest::Client,
    r: &Replica,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let resp = client
        .request(method, format!("{}/services/v2{path}", r.base))
        .header("X-DC-DEVKEY", &r.key)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

/// Waits until `done` holds, for at most `seconds`.
async fn wait_for(what: &str, seconds: u64, done: impl Fn() -> bool) {
    for _ in 0..seconds * 20 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_queued_before_a_sigkill_are_delivered_once_after_the_restart() {
    use reqwest::Method;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let database = certkeep_store::scratch_database_url(dir.path()).unwrap();
    let fast_retries = ["--webhook-first-retry-seconds", "1"];
    let (mut child, server) = serve(&data, Some(&database), &fast_retries).await;
    let client = reqwest::Client::new();
    let receiver = Receiver::default();
    receiver.open.store(true, Ordering::SeqCst);
    let url = receiver.start(&data.join("ca")).await;
    let body = json!({"endpoint": url, "secret": SECRET, "events": ["certificate_issued"],
                      "webhook_settings": {"instant_issue_webhook_notification": "1"}});
    let (status, created) = call(&client, &server, Method::POST, "/webhook", body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["webhook_id"].as_i64().unwrap();
    assert_eq!(
        call(&client, &server, Method::PUT, &format!("/webhook/{id}/send-challenge"), json!({})).await.0,
        204
    );
    let token = receiver.seen.lock().unwrap()[0].0["data"]["token"].clone();
    let path = format!("/webhook/{id}/check-challenge");
    assert_eq!(call(&client, &server, Method::PUT, &path, json!({"token": token})).await.0, 204);
    assert_eq!(
        call(&client, &server, Method::PUT, &format!("/webhook/{id}/activate"), json!({})).await.0,
        204
    );

    // The endpoint refuses while three orders are issued: their events wait in the outbox.
    receiver.open.store(false, Ordering::SeqCst);
    let mut orders = Vec::new();
    for i in 0..3 {
        orders.push(try_certcentral_order(&client, &server, &format!("k{i}.demo.test")).await.unwrap());
    }
    wait_for("refused attempts", 30, || receiver.events(false).len() >= 3).await;
    child.kill().await.unwrap();
    assert!(receiver.events(true).is_empty());

    receiver.open.store(true, Ordering::SeqCst);
    let (_child, _server) = serve(&data, Some(&database), &fast_retries).await;
    // An event the killed process held stays leased for the lease's 60 s, then is taken again.
    wait_for("three events", 100, || receiver.events(true).len() >= 3).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut delivered: Vec<i64> =
        receiver.events(true).iter().map(|b| b["data"]["order_id"].as_i64().unwrap()).collect();
    delivered.sort_unstable();
    orders.sort_unstable();
    assert_eq!(delivered, orders, "each order's event once, none lost");
}
