//! NCP API Gateway signature v2: `x-ncp-apigw-timestamp`, `x-ncp-iam-access-key` and
//! `x-ncp-apigw-signature-v2` (or `-v1`, which NCP's Go, Python and JS SDKs send with the same
//! value) = Base64(HMAC-SHA256(secret key, "METHOD URI\ntimestamp\naccess key")), URI being the
//! raw path and query exactly as received.

use std::time::Instant;

use aws_lc_rs::hmac;
use axum::{
    extract::{OriginalUri, Request, State},
    http::HeaderMap,
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use certkeep_core::Scope;

use super::{error::NcpError, inventory::NcpCaller};
use crate::AppState;

/// A request is refused when its timestamp is this far or farther from the server clock.
const MAX_SKEW_MS: i128 = 5 * 60 * 1000;

/// Access keys longer than this are not looked up.
const MAX_ACCESS_KEY_LEN: usize = 128;

/// The string NCP clients sign.
pub fn string_to_sign(method: &str, uri: &str, timestamp: &str, access_key: &str) -> String {
    format!("{method} {uri}\n{timestamp}\n{access_key}")
}

/// Whether `signature` (Base64) is HMAC-SHA256 of `message` under `secret`; the MACs are
/// compared in constant time.
pub fn signature_matches(secret: &[u8], message: &str, signature: &str) -> bool {
    let Ok(presented) = STANDARD.decode(signature) else { return false };
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, secret), message.as_bytes(), &presented).is_ok()
}

/// A header's value; `None` when absent or blank.
fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, NcpError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => match v.to_str() {
            Ok(s) if s.trim().is_empty() => Ok(None),
            Ok(s) => Ok(Some(s.trim())),
            Err(_) => Err(NcpError::credentials_invalid()),
        },
    }
}

/// Why a request was refused, for the debug log only (the caller sees NCP's fixed texts).
fn refuse(reason: &'static str, error: NcpError) -> Response {
    tracing::debug!(reason, "NCP authentication failed");
    error.into_response()
}

/// The signature headers of a request whose timestamp is within the allowed skew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `x-ncp-apigw-timestamp`, milliseconds since the epoch.
    pub timestamp: String,
    /// `x-ncp-iam-access-key`.
    pub access_key: String,
    /// `x-ncp-apigw-signature-v2` (or `-v1`), Base64.
    pub signature: String,
}

impl SignedHeaders {
    /// Reads the signature headers and checks the timestamp against `now_ms`; the error says
    /// why (for the debug log) and what the caller sees.
    pub fn read(headers: &HeaderMap, now_ms: i128) -> Result<Self, (&'static str, NcpError)> {
        let found = (|| {
            Ok::<_, NcpError>((
                header(headers, "x-ncp-apigw-timestamp")?,
                header(headers, "x-ncp-iam-access-key")?,
                match header(headers, "x-ncp-apigw-signature-v2")? {
                    Some(s) => Some(s),
                    None => header(headers, "x-ncp-apigw-signature-v1")?,
                },
            ))
        })();
        let (timestamp, access_key, signature) = match found {
            Ok((Some(t), Some(a), Some(s))) => (t.to_owned(), a.to_owned(), s.to_owned()),
            Ok(_) => return Err(("missing header", NcpError::credentials_missing())),
            Err(e) => return Err(("header is not visible ASCII", e)),
        };
        let sent_ms = match timestamp.parse::<i64>() {
            Ok(ms) if timestamp.bytes().all(|b| b.is_ascii_digit()) => i128::from(ms),
            _ => return Err(("timestamp is not milliseconds", NcpError::credentials_invalid())),
        };
        if (now_ms - sent_ms).abs() >= MAX_SKEW_MS {
            return Err(("timestamp too far from the server clock", NcpError::credentials_invalid()));
        }
        if access_key.len() > MAX_ACCESS_KEY_LEN {
            return Err(("access key too long", NcpError::credentials_invalid()));
        }
        Ok(Self { timestamp, access_key, signature })
    }

    /// Whether the signature is the access key's `secret` over `method` and the request
    /// `target` (path and query as received).
    pub fn signed_by(&self, secret: &[u8], method: &str, target: &str) -> bool {
        let message = string_to_sign(method, target, &self.timestamp, &self.access_key);
        signature_matches(secret, &message, &self.signature)
    }
}

/// Checks the signature headers, then adds the key's [`Scope`] (its whole account) to the
/// request and enforces the rate limit.
pub async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let now_ms = state.clock.now().unix_timestamp_nanos() / 1_000_000;
    let signed = match SignedHeaders::read(request.headers(), now_ms) {
        Ok(signed) => signed,
        Err((reason, error)) => return refuse(reason, error),
    };
    let lookup = signed.access_key.clone();
    let key = match state.store(move |s| s.find_ncp_key(&lookup)).await {
        Ok(Some(key)) => key,
        Ok(None) => return refuse("unknown or revoked access key", NcpError::credentials_invalid()),
        Err(e) => return NcpError::from(e).into_response(),
    };
    let Some(secret) = state.sealing_key.open(&key.sealed_secret, key.access_key.as_bytes()) else {
        tracing::error!(
            key_id = key.id,
            "an NCP secret key does not unseal: is this the server key it was sealed with?"
        );
        return NcpError::unexpected().into_response();
    };

    // The request-target as received: nesting strips the `/api` prefix from `request.uri()`.
    let uri = request.extensions().get::<OriginalUri>().map_or_else(|| request.uri(), |o| &o.0);
    let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
    if !signed.signed_by(&secret, request.method().as_str(), target) {
        return refuse("signature mismatch", NcpError::credentials_invalid());
    }

    if !state.admit(&format!("ncp:{}", key.id), Instant::now()) {
        return NcpError::rate_limited().into_response();
    }
    request.extensions_mut().insert(Scope { account_id: key.account_id, containers: None });
    request.extensions_mut().insert(NcpCaller { access_key: signed.access_key });
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published algorithm, written out independently of the verifier.
    fn sign(secret: &str, method: &str, uri: &str, timestamp: &str, access_key: &str) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        STANDARD.encode(hmac::sign(&key, string_to_sign(method, uri, timestamp, access_key).as_bytes()))
    }

    #[test]
    fn string_to_sign_is_exactly_the_published_layout() {
        assert_eq!(
            string_to_sign("GET", "/api/v2/certificate/getPaidCertificates?page=1", "1700000000000", "AK"),
            "GET /api/v2/certificate/getPaidCertificates?page=1\n1700000000000\nAK"
        );
    }

    #[test]
    fn published_test_vectors() {
        // spec/ncp-certificate-manager-api.md, section 1.2.
        let (access, secret, ts) = ("AKIAEXAMPLEACCESS", "SECRETEXAMPLEKEY", "1700000000000");
        for (uri, expected) in [
            ("/api/v2/certificate/getPaidCertificates", "OKwK3L8iw+KfvkVr1zdizlEG8DxGSVDsQ3Nvrt6TRpU="),
            (
                "/api/v2/certificate/getPaidCertificates?page=1&pageSize=20",
                "sdYh8EHjLb2fEHtHlAG8F+iA9OjIx/MvEsjbsMTtoNU=",
            ),
            (
                "/api/v1/certificates?certificateName=my%20cert",
                "q7jBltTV/qw3YmAuHwBdO+BXCws4OpXfoRFD4p5VwGw=",
            ),
        ] {
            assert_eq!(sign(secret, "GET", uri, ts, access), expected, "{uri}");
            let message = string_to_sign("GET", uri, ts, access);
            assert!(signature_matches(secret.as_bytes(), &message, expected), "{uri}");
            assert!(!signature_matches(b"SECRETEXAMPLEKEx", &message, expected));
            assert!(!signature_matches(secret.as_bytes(), &message.replace("GET", "PUT"), expected));
        }
    }

    #[test]
    fn malformed_signatures_never_match() {
        let message = string_to_sign("GET", "/", "1", "AK");
        let good = sign("s", "GET", "/", "1", "AK");
        assert!(signature_matches(b"s", &message, &good));
        for bad in ["", "not base64!", &good[..good.len() - 1], &good.to_lowercase(), "AAAA"] {
            assert!(!signature_matches(b"s", &message, bad), "{bad}");
        }
    }
}
