//! An HTTPS webhook endpoint for the issuance suite's "webhooks on" rows: it serves a certificate
//! of the demo's own CA (which certkeep's deliveries trust), counts the `certificate_issued`
//! events it accepts and keeps the last challenge token, so that the suite can register, verify
//! and activate a webhook the way a CertCentral client does.

use std::{
    net::SocketAddr,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{Router, body::Bytes, extract::State, http::StatusCode, routing::post};
use certkeep_ca::CertificateAuthority;
use serde_json::{Value, json};

use crate::load;

/// What the endpoint has received.
#[derive(Default)]
struct Received {
    issued: AtomicU64,
    token: Mutex<Option<String>>,
}

/// A running endpoint; it stops with the benchmark.
pub struct Sink {
    url: String,
    received: Arc<Received>,
}

async fn receive(State(r): State<Arc<Received>>, body: Bytes) -> StatusCode {
    let Ok(event) = serde_json::from_slice::<Value>(&body) else { return StatusCode::BAD_REQUEST };
    match event["event"].as_str() {
        Some("certificate_issued") => {
            r.issued.fetch_add(1, Ordering::Relaxed);
        }
        Some("challenge_webhook_endpoint") => {
            *r.token.lock().unwrap_or_else(|e| e.into_inner()) =
                event["data"]["token"].as_str().map(str::to_owned);
        }
        _ => {}
    }
    StatusCode::OK
}

/// A TLS certificate for 127.0.0.1 from the CA in `ca_dir`, with its chain, and its key (PEM).
fn certificate(ca_dir: &Path) -> Result<(String, String), String> {
    let ca = CertificateAuthority::load(ca_dir).map_err(|e| e.to_string())?;
    ca.issue_local_tls("127.0.0.1").map_err(|e| e.to_string())
}

impl Sink {
    /// Starts an endpoint on 127.0.0.1 serving a certificate of the CA in `ca_dir`.
    pub async fn start(ca_dir: &Path) -> Result<Self, String> {
        let (chain, key) = certificate(ca_dir)?;
        let config =
            Arc::new(certkeep_server::ServerCertificate::from_pem(&chain, &key).map_err(|e| e.to_string())?)
                .server_config()
                .map_err(|e| e.to_string())?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let url = format!("https://{}/hook", listener.local_addr().map_err(|e| e.to_string())?);
        let received = Arc::new(Received::default());
        let app = Router::new().route("/hook", post(receive)).with_state(received.clone());
        // A thread of its own: on the load generator's thread, receiving ~1,000 TLS requests/s
        // would slow the load (and so the row) rather than the server.
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        std::thread::spawn(move || {
            runtime.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                let limits = certkeep_server::Limits::default();
                let _ =
                    certkeep_server::serve_tls(listener, config, app, limits, std::future::pending()).await;
            })
        });
        Ok(Self { url, received })
    }

    /// `certificate_issued` events accepted so far.
    pub fn issued(&self) -> u64 {
        self.received.issued.load(Ordering::Relaxed)
    }

    /// Registers a webhook for `certificate_issued` (instant issuances included) at this
    /// endpoint on the server at `addr`, passes its challenge and activates it.
    pub async fn activate(&self, addr: SocketAddr, key: &str) -> Result<(), String> {
        let call = |method: &'static str, path: String, body: Value| async move {
            let path = format!("/services/v2/webhook{path}");
            let (status, answer) =
                load::request(addr, method, &path, &[("x-dc-devkey", key)], Some(body.to_string())).await?;
            if !(200..300).contains(&status) {
                return Err(format!("{method} {path}: {status} {}", String::from_utf8_lossy(&answer)));
            }
            Ok(answer)
        };
        let body = json!({
            "endpoint": self.url,
            "secret": "a-benchmark-webhook-secret-of-forty-chars",
            "events": ["certificate_issued"],
            "webhook_settings": {"instant_issue_webhook_notification": "1"},
        });
        let created: Value =
            serde_json::from_slice(&call("POST", String::new(), body).await?).map_err(|e| e.to_string())?;
        let id = created["webhook_id"].as_i64().ok_or_else(|| format!("no webhook_id in {created}"))?;
        call("PUT", format!("/{id}/send-challenge"), json!({})).await?;
        let mut token = None;
        for _ in 0..100 {
            token = self.received.token.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if token.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let token = token.ok_or("no challenge reached the webhook endpoint within 5 s")?;
        call("PUT", format!("/{id}/check-challenge"), json!({"token": token})).await?;
        call("PUT", format!("/{id}/activate"), json!({})).await?;
        Ok(())
    }
}
