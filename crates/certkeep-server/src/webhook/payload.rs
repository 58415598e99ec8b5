//! The bodies webhooks post, in CertCentral's shape: `{"event": NAME, "data": {...}}`.

use certkeep_core::{Id, Scope, StoreError, lifecycle::CertificateRef, store::Delivery};
use serde_json::{Value, json};

use crate::{AppState, certcentral::downloads::chain_items};

/// `test_webhook_endpoint`, sent by `POST /webhook/test-endpoint`.
pub fn test_event() -> Value {
    json!({ "event": "test_webhook_endpoint" })
}

/// `challenge_webhook_endpoint` with the token the client sends back.
pub fn challenge_event(webhook_id: Id, token: &str) -> Value {
    json!({ "event": "challenge_webhook_endpoint", "data": { "token": token, "webhook_id": webhook_id } })
}

/// A lifecycle event: `order_id`, `certificate_id` and, when the webhook asks for it, the
/// `certificate_chain` (leaf, intermediate, root; PEM with CRLF line ends), read now.
pub async fn lifecycle_event(state: &AppState, d: &Delivery) -> Result<Value, StoreError> {
    let mut data = json!({ "order_id": d.order_id, "certificate_id": d.certificate_id });
    if let (true, Some(id)) = (d.send_chain, d.certificate_id) {
        let scope = Scope { account_id: d.account_id, containers: None };
        let found = state.store(move |s| s.find_certificate(&scope, &CertificateRef::Id(id))).await?;
        if let Some((cert, Some(der))) = found {
            let chain: Vec<Value> = chain_items(state, &cert.common_name, &der)
                .into_iter()
                .map(|c| json!({ "subject_common_name": c.subject_common_name, "pem": crlf(&c.pem) }))
                .collect();
            data["certificate_chain"] = Value::Array(chain);
        }
    }
    Ok(json!({ "event": d.event.as_str(), "data": data }))
}

fn crlf(pem: &str) -> String {
    pem.lines().map(|l| format!("{l}\r\n")).collect()
}
