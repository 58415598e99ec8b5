//! ACME errors: RFC 7807 problem documents (`application/problem+json`) with the error types of
//! RFC 8555 §6.7 and the status codes the RFC and Boulder use for them.

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use certkeep_core::StoreError;
use serde_json::{Value, json};

/// An ACME error.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The error type without the `urn:ietf:params:acme:error:` prefix.
    pub kind: &'static str,
    /// Human-readable detail.
    pub detail: String,
    /// HTTP status.
    pub status: StatusCode,
    /// Extra members (e.g. `algorithms` for `badSignatureAlgorithm`).
    pub extra: Option<Box<(&'static str, Value)>>,
}

impl Problem {
    pub(crate) fn new(kind: &'static str, status: StatusCode, detail: impl Into<String>) -> Self {
        Self { kind, detail: detail.into(), status, extra: None }
    }

    /// `malformed` (400).
    pub fn malformed(detail: impl Into<String>) -> Self {
        Self::new("malformed", StatusCode::BAD_REQUEST, detail)
    }

    /// `malformed` with 404: no such resource.
    pub fn not_found(what: &str) -> Self {
        Self::new("malformed", StatusCode::NOT_FOUND, format!("No such {what}."))
    }

    /// `unauthorized` (403).
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new("unauthorized", StatusCode::FORBIDDEN, detail)
    }

    /// `badNonce` (400); the client retries with the fresh nonce every response carries.
    pub fn bad_nonce(detail: impl Into<String>) -> Self {
        Self::new("badNonce", StatusCode::BAD_REQUEST, detail)
    }

    /// `badPublicKey` (400).
    pub fn bad_public_key(detail: impl Into<String>) -> Self {
        Self::new("badPublicKey", StatusCode::BAD_REQUEST, detail)
    }

    /// `accountDoesNotExist` (400).
    pub fn account_does_not_exist(detail: impl Into<String>) -> Self {
        Self::new("accountDoesNotExist", StatusCode::BAD_REQUEST, detail)
    }

    /// `externalAccountRequired` (400).
    pub fn external_account_required() -> Self {
        Self::new(
            "externalAccountRequired",
            StatusCode::BAD_REQUEST,
            "This server requires external account binding: use the EAB key id and HMAC key of your ACME contract.",
        )
    }

    /// `rejectedIdentifier` (400).
    pub fn rejected_identifier(detail: impl Into<String>) -> Self {
        Self::new("rejectedIdentifier", StatusCode::BAD_REQUEST, detail)
    }

    /// `unsupportedIdentifier` (400).
    pub fn unsupported_identifier(detail: impl Into<String>) -> Self {
        Self::new("unsupportedIdentifier", StatusCode::BAD_REQUEST, detail)
    }

    /// `badCSR` (400).
    pub fn bad_csr(detail: impl Into<String>) -> Self {
        Self::new("badCSR", StatusCode::BAD_REQUEST, detail)
    }

    /// `orderNotReady` (403).
    pub fn order_not_ready(detail: impl Into<String>) -> Self {
        Self::new("orderNotReady", StatusCode::FORBIDDEN, detail)
    }

    /// `alreadyRevoked` (400).
    pub fn already_revoked() -> Self {
        Self::new("alreadyRevoked", StatusCode::BAD_REQUEST, "The certificate is already revoked.")
    }

    /// `badRevocationReason` (400).
    pub fn bad_revocation_reason(detail: impl Into<String>) -> Self {
        Self::new("badRevocationReason", StatusCode::BAD_REQUEST, detail)
    }

    /// `invalidContact` (400).
    pub fn invalid_contact(detail: impl Into<String>) -> Self {
        Self::new("invalidContact", StatusCode::BAD_REQUEST, detail)
    }

    /// `unsupportedContact` (400).
    pub fn unsupported_contact(detail: impl Into<String>) -> Self {
        Self::new("unsupportedContact", StatusCode::BAD_REQUEST, detail)
    }

    /// A validation failure: `incorrectResponse`, `connection`, `dns`, `tls` (no HTTP status:
    /// these are stored on challenges, never returned alone).
    pub fn validation(kind: &'static str, detail: impl Into<String>) -> Self {
        Self::new(kind, StatusCode::BAD_REQUEST, detail)
    }

    /// `serverInternal` (500): the server failed (a broken stored value, the CA), never the
    /// client's input. A store failure answers 503 instead (see `From<StoreError>`).
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new("serverInternal", StatusCode::INTERNAL_SERVER_ERROR, detail)
    }

    /// The problem document.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "type": format!("urn:ietf:params:acme:error:{}", self.kind),
            "detail": self.detail,
            "status": self.status.as_u16(),
        });
        if let Some(extra) = &self.extra {
            v[extra.0] = extra.1.clone();
        }
        v
    }
}

impl From<StoreError> for Problem {
    /// `serverInternal` with 503 and `Retry-After`, as CertCentral answers a store failure: the
    /// database was unreachable or too busy to commit (serialization retries exhausted across
    /// replicas), and the same request may well succeed a moment later.
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "acme store failure");
        Self::new(
            "serverInternal",
            StatusCode::SERVICE_UNAVAILABLE,
            "The database is unavailable or busy; try again.",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            serde_json::to_vec(&self.to_json()).unwrap_or_default(),
        )
            .into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_failure_asks_the_client_to_retry() {
        let res = Problem::from(StoreError("40001: could not serialize access".into())).into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[header::RETRY_AFTER], "1");
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/problem+json");
    }
}
