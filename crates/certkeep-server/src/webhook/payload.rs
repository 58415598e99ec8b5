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
/// `certificate_chain` (leaf, intermediate, root; PEM with CRLF line ends), read now; a
/// `certificate_expiring` event adds its window (`days_to_expiry`) and the certificate's
/// `common_name` and `valid_till` (`YYYY-MM-DD`).
pub async fn lifecycle_event(state: &AppState, d: &Delivery) -> Result<Value, StoreError> {
    let mut data = json!({ "order_id": d.order_id, "certificate_id": d.certificate_id });
    let Some(id) = d.certificate_id.filter(|_| d.send_chain || d.notice_days.is_some()) else {
        return Ok(json!({ "event": d.event.as_str(), "data": data }));
    };
    let scope = Scope { account_id: d.account_id, containers: None };
    let found = state.store(move |s| s.find_certificate(&scope, &CertificateRef::Id(id))).await?;
    if let Some((cert, der)) = found {
        if let Some(days) = d.notice_days {
            data["days_to_expiry"] = json!(days);
            data["common_name"] = json!(cert.common_name);
            data["valid_till"] = json!(cert.valid_till.map(|t| t.date().to_string()));
        }
        if let (true, Some(der)) = (d.send_chain, der) {
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
