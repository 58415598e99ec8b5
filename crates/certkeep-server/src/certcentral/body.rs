//! Request bodies: JSON parsed into the endpoint's shape, with DigiCert's lenient flags
//! (`true`, `1`, `"1"`), and the caller as an audit actor.

use std::net::SocketAddr;

use axum::{body::Bytes, extract::ConnectInfo, http::Extensions};
use certkeep_core::{Principal, lifecycle::Actor};
use serde::{Deserialize, Deserializer, de::DeserializeOwned};
use serde_json::Value;

use crate::digicert::ApiError;

/// Parses a JSON body; an empty body reads as `{}`.
pub fn parse<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    serde_json::from_slice(bytes).map_err(ApiError::bad_body)
}

/// A boolean that clients send as `true`, `1`, `"1"` or `"true"`.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::Number(n) => n.as_i64().is_some_and(|n| n != 0),
        Value::String(s) => matches!(s.trim(), "1" | "true" | "TRUE" | "True"),
        _ => false,
    })
}

/// `{"id": 123}`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct IdRef {
    /// The id.
    pub id: certkeep_core::Id,
}

/// The caller as the audit log records it.
pub fn actor(principal: &Principal, extensions: &Extensions) -> Actor {
    let source = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |ConnectInfo(addr)| addr.ip().to_string());
    Actor {
        user_id: principal.user_id,
        api_key_id: Some(principal.api_key_id),
        api_key: Some((principal.api_key_name.clone(), "api_key".to_owned())),
        may_skip_approval: principal.may_skip_approval,
        source,
    }
}
