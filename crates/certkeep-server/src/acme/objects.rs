//! The ACME objects as JSON (RFC 8555 §7.1): orders, authorizations and challenges with their
//! URLs, and the answers that carry them.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use certkeep_core::{
    Id,
    acme::{AcmeAuthz, AcmeChallenge, AcmeOrder, AcmeStatus},
};
use serde_json::{Value, json};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use super::url;
use crate::AppState;

/// How long clients should wait before polling an object that is `processing` (seconds).
pub const RETRY_AFTER: &str = "1";

/// RFC 3339 time as ACME objects carry it.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn order_url(state: &AppState, id: Id) -> String {
    url(state, &format!("/order/{id}"))
}

/// A problem document stored as JSON, as objects carry it.
fn stored_problem(error: Option<&str>) -> Option<Value> {
    error.and_then(|e| serde_json::from_str::<Value>(e).ok())
}

fn order_json(state: &AppState, o: &AcmeOrder) -> Value {
    let mut v = json!({
        "status": o.status.as_str(),
        "expires": rfc3339(o.expires),
        "identifiers": o.identifiers.iter().map(|n| json!({"type": "dns", "value": n})).collect::<Vec<_>>(),
        "authorizations": o.authz_ids.iter().map(|a| url(state, &format!("/authz/{a}"))).collect::<Vec<_>>(),
        "finalize": url(state, &format!("/order/{}/finalize", o.id)),
    });
    if o.certificate_id.is_some() {
        v["certificate"] = json!(url(state, &format!("/certificate/{}", o.id)));
    }
    if let Some(e) = stored_problem(o.error.as_deref()) {
        v["error"] = e;
    }
    v
}

/// An order with its `Location`, and `Retry-After` while it is `processing`.
pub fn order_response(state: &AppState, o: &AcmeOrder, status: StatusCode) -> Response {
    let mut res =
        (status, [(header::LOCATION, order_url(state, o.id))], Json(order_json(state, o))).into_response();
    if o.status == AcmeStatus::Processing {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
    }
    res
}

/// An authorization as JSON.
pub fn authz_json(state: &AppState, a: &AcmeAuthz) -> Value {
    let mut v = json!({
        "identifier": {"type": "dns", "value": a.identifier},
        "status": a.status.as_str(),
        "expires": rfc3339(a.expires),
        "challenges": a.challenges.iter().map(|c| challenge_json(state, c)).collect::<Vec<_>>(),
    });
    if a.wildcard {
        v["wildcard"] = json!(true);
    }
    v
}

/// A challenge as JSON.
pub fn challenge_json(state: &AppState, c: &AcmeChallenge) -> Value {
    let mut v = json!({
        "type": c.kind,
        "url": url(state, &format!("/challenge/{}", c.id)),
        "status": c.status.as_str(),
        "token": c.token,
    });
    if let Some(t) = c.validated {
        v["validated"] = json!(rfc3339(t));
    }
    if let Some(e) = stored_problem(c.error.as_deref()) {
        v["error"] = e;
    }
    v
}

/// A challenge with a `Link` up to its authorization, and `Retry-After` while it is
/// `processing`.
pub fn challenge_response(state: &AppState, c: &AcmeChallenge) -> Response {
    let up = format!("<{}>;rel=\"up\"", url(state, &format!("/authz/{}", c.authz_id)));
    let mut res = ([(header::LINK, up)], Json(challenge_json(state, c))).into_response();
    if c.status == AcmeStatus::Processing {
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
    }
    res
}
