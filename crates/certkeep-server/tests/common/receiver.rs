//! An HTTPS webhook endpoint for tests (with a certificate of the test server's own CA) and
//! registering a webhook at it through the CertCentral API.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Router, body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post};
use certkeep_ca::{CertificateAuthority, KeyAlgorithm};
use certkeep_server::Limits;
use reqwest::Method;
use serde_json::{Value, json};

use super::TestServer;

/// One request the receiver got: its `X-WEBHOOK-KEY`, its body, whether it was accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub key: String,
    pub body: Value,
    pub accepted: bool,
}

/// An HTTPS webhook endpoint that records what it gets and refuses the first `failures`.
#[derive(Clone, Default)]
pub struct Receiver {
    pub seen: Arc<Mutex<Vec<Received>>>,
    pub failures: Arc<AtomicUsize>,
    pub url: String,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let key = headers.get("x-webhook-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let accepted = r.failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_err();
    r.seen.lock().unwrap().push(Received { key, body, accepted });
    if accepted { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }
}

impl Receiver {
    /// Starts a receiver on 127.0.0.1 serving a certificate of `s`'s CA.
    pub async fn start(s: &TestServer) -> Self {
        let ca = CertificateAuthority::load(&s.ca_dir).unwrap();
        let (chain, key) = super::server_certificate(&ca);
        let config = Arc::new(certkeep_server::ServerCertificate::from_pem(&chain, &key).unwrap())
            .server_config()
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let r = Receiver {
            url: format!("https://{}/hook", listener.local_addr().unwrap()),
            ..Default::default()
        };
        let app = Router::new().route("/hook", post(receive)).with_state(r.clone());
        tokio::spawn(certkeep_server::serve_tls(
            listener,
            config,
            app,
            Limits::default(),
            std::future::pending(),
        ));
        r
    }

    pub fn all(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    /// The accepted requests whose event is `event`.
    pub fn accepted(&self, event: &str) -> Vec<Received> {
        self.all().into_iter().filter(|r| r.accepted && r.body["event"] == event).collect()
    }

    /// Waits until `done` holds of what was received (at most 20 s).
    pub async fn wait_for(&self, what: &str, done: impl Fn(&Self) -> bool) {
        for _ in 0..400 {
            if done(self) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what}: the receiver got {:#?}", self.all());
    }
}

/// The secret test webhooks are registered with.
pub const SECRET: &str = "a-webhook-secret-of-forty-characters-ok";

impl TestServer {
    /// A CertCentral call with the administrator's key: status and JSON body (`Null` if none).
    pub async fn call(&self, method: Method, path: &str, body: Value) -> (u16, Value) {
        let (status, text) = self.send(method, &self.fx.admin_key.clone(), path, body).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Registers a webhook for `events` at the receiver, passes the challenge and activates it.
    pub async fn active_webhook(&self, r: &Receiver, events: &[&str], settings: Value) -> i64 {
        let body =
            json!({"endpoint": r.url, "secret": SECRET, "events": events, "webhook_settings": settings});
        let (status, created) = self.call(Method::POST, "/webhook", body).await;
        assert_eq!(status, 201, "{created}");
        let id = created["webhook_id"].as_i64().unwrap();
        let (status, _) = self.call(Method::PUT, &format!("/webhook/{id}/send-challenge"), json!({})).await;
        assert_eq!(status, 204);
        let token = r.accepted("challenge_webhook_endpoint").last().unwrap().body["data"]["token"].clone();
        let (status, body) =
            self.call(Method::PUT, &format!("/webhook/{id}/check-challenge"), json!({"token": token})).await;
        assert_eq!(status, 204, "{body}");
        let (status, _) = self.call(Method::PUT, &format!("/webhook/{id}/activate"), json!({})).await;
        assert_eq!(status, 204);
        id
    }

    /// Places an `ssl_plus` order for `cn` (a vouched domain): issued at once with `skip`.
    pub async fn order(&self, cn: &str, skip: bool) -> Value {
        let csr = certkeep_ca::generate_csr(KeyAlgorithm::EcdsaP256, cn, &[]).unwrap().1;
        let body = json!({
            "certificate": {"common_name": cn, "csr": csr, "signature_hash": "sha256", "server_platform": {"id": 45}},
            "organization": {"id": self.fx.org_epigyne},
            "order_validity": {"years": 1},
            "skip_approval": skip,
        });
        let (status, created) = self.call(Method::POST, "/order/certificate/ssl_plus", body).await;
        assert_eq!(status, 201, "{created}");
        created
    }
}
