//! Revocation for relying parties: the CRL, the OCSP responder (RFC 6960, GET and POST) and
//! the CA certificates. These are public by nature (TLS clients fetch them without
//! credentials) and reflect a revocation as soon as it is committed.

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use certkeep_ca::{OcspStatus, RevocationReason, RevokedEntry};
use certkeep_core::{CertificateStatus, Revocation};
use time::Duration;

use crate::{
    AppState,
    routes::{self, Entry, at},
};

/// Path of the CRL (DER).
pub const CRL_PATH: &str = "/pki/crl";
/// Path of the OCSP responder.
pub const OCSP_PATH: &str = "/pki/ocsp";
/// Path of the issuing CA certificate (DER).
pub const INTERMEDIATE_PATH: &str = "/pki/intermediate.crt";
/// Path of the root certificate (DER).
pub const ROOT_PATH: &str = "/pki/root.crt";
/// Path of the root's CRL (DER), which the intermediate's CRL distribution point names.
pub const ROOT_CRL_PATH: &str = "/pki/root.crl";

/// Largest OCSP request accepted (a request for a handful of certificates is a few hundred bytes).
const MAX_OCSP_REQUEST: usize = 16 * 1024;

/// Every PKI route.
pub(crate) fn table() -> Vec<Entry<AppState>> {
    use Method as M;
    vec![
        at(M::GET, CRL_PATH, crl),
        at(M::POST, OCSP_PATH, ocsp_post),
        at(M::GET, "/pki/ocsp/{request}", ocsp_get),
        at(M::GET, INTERMEDIATE_PATH, intermediate),
        at(M::GET, ROOT_PATH, root),
        at(M::GET, ROOT_CRL_PATH, root_crl),
    ]
}

pub fn router(state: AppState) -> Router {
    routes::router(table()).with_state(state)
}

fn binary(content_type: &'static str, body: Vec<u8>) -> Response {
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "revocation data unavailable");
    (StatusCode::SERVICE_UNAVAILABLE, "revocation data temporarily unavailable\n").into_response()
}

fn reason(r: &Revocation) -> RevocationReason {
    r.reason.parse().unwrap_or(RevocationReason::Unspecified)
}

/// `GET /pki/crl`: every revoked certificate, signed now, valid for a day.
async fn crl(State(state): State<AppState>) -> Response {
    let revoked = match state.store(|s| s.revocations()).await {
        Ok(r) => r,
        Err(e) => return unavailable(e),
    };
    let now = state.clock.now();
    let entries: Vec<RevokedEntry> = revoked
        .iter()
        .map(|r| RevokedEntry {
            serial_number: r.serial_number.clone(),
            revoked_at: r.revoked_at,
            reason: reason(r),
        })
        .collect();
    // The CRL number only has to grow: the signing time does, across replicas too.
    let number = now.unix_timestamp().max(0) as u64;
    match state.authority.ca().crl(&entries, now, now + Duration::days(1), number) {
        Ok(der) => binary("application/pkix-crl", der),
        Err(e) => unavailable(e),
    }
}

/// `GET /pki/root.crl`: the root's CRL (it revoked no CA certificate), signed now, valid for
/// a week (BR 7.2: at most twelve months for CRLs of CA certificates).
async fn root_crl(State(state): State<AppState>) -> Response {
    let now = state.clock.now();
    let number = now.unix_timestamp().max(0) as u64;
    match state.authority.ca().root_crl(now, now + Duration::days(7), number) {
        Ok(der) => binary("application/pkix-crl", der),
        Err(e) => unavailable(e),
    }
}

/// Answers one DER OCSP request.
async fn answer(state: AppState, request: Vec<u8>) -> Response {
    let now = state.clock.now();
    let store = state.store.clone();
    let authority = state.authority.clone();
    let der = tokio::task::spawn_blocking(move || {
        authority.ca().ocsp_response(&request, now, &mut |serial| match store.certificate_status(serial) {
            Ok(Some((_, Some(r)))) => OcspStatus::Revoked { at: r.revoked_at, reason: reason(&r) },
            Ok(Some((CertificateStatus::Issued, None))) => OcspStatus::Good,
            Ok(_) => OcspStatus::Unknown,
            Err(e) => {
                tracing::error!(error = %e, "OCSP lookup failed");
                OcspStatus::Unknown
            }
        })
    })
    .await;
    match der {
        Ok(der) => binary("application/ocsp-response", der),
        Err(e) => unavailable(e),
    }
}

/// `POST /pki/ocsp` with an `application/ocsp-request` body.
async fn ocsp_post(State(state): State<AppState>, body: Bytes) -> Response {
    if body.len() > MAX_OCSP_REQUEST {
        return (StatusCode::PAYLOAD_TOO_LARGE, "OCSP request too large\n").into_response();
    }
    answer(state, body.to_vec()).await
}

/// `GET /pki/ocsp/{base64 request}` (RFC 6960 appendix A.1).
async fn ocsp_get(State(state): State<AppState>, Path(encoded): Path<String>) -> Response {
    if encoded.len() > MAX_OCSP_REQUEST {
        return (StatusCode::PAYLOAD_TOO_LARGE, "OCSP request too large\n").into_response();
    }
    // Malformed base64 still gets an OCSP answer (malformedRequest) from the responder.
    let der = certkeep_ca::decode_base64(&encoded).unwrap_or_default();
    answer(state, der).await
}

async fn intermediate(State(state): State<AppState>) -> Response {
    binary("application/pkix-cert", state.authority.ca().intermediate_der().to_vec())
}

async fn root(State(state): State<AppState>) -> Response {
    binary("application/pkix-cert", state.authority.ca().root_der().to_vec())
}
