//! ACME Renewal Information (RFC 9773): when a certificate should be renewed.

use axum::{
    Json,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use certkeep_core::CertificateStatus;
use serde_json::json;
use time::Duration;
use x509_parser::extensions::ParsedExtension;

use super::request::Path;
use super::{jws::unb64, objects::rfc3339, problem::Problem};
use crate::AppState;

/// The subject key identifier of the issuing CA (what a CertID's AKI must be).
fn issuer_key_id(state: &AppState) -> Option<Vec<u8>> {
    let (_, cert) = x509_parser::parse_x509_certificate(state.authority.ca().intermediate_der()).ok()?;
    cert.extensions().iter().find_map(|e| match e.parsed_extension() {
        ParsedExtension::SubjectKeyIdentifier(k) => Some(k.0.to_vec()),
        _ => None,
    })
}

/// `GET /acme/renewal-info/{certID}` with certID = base64url(AKI keyIdentifier) "."
/// base64url(serial DER content). The suggested window is the last third of the validity,
/// renewing in its first half; a revoked certificate should be renewed now.
pub async fn renewal_info(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let (aki, serial) = id.split_once('.').ok_or_else(|| Problem::malformed("A certID is AKI.serial."))?;
    let (aki, serial) = (unb64(aki, "The certID key identifier")?, unb64(serial, "The certID serial")?);
    if issuer_key_id(&state).as_deref() != Some(aki.as_slice()) {
        return Err(Problem::not_found("certificate of this CA"));
    }
    let serial: String = serial.iter().skip_while(|b| **b == 0).map(|b| format!("{b:02X}")).collect();
    let order = state
        .store(move |s| s.acme().acme_order_by_serial(&serial))
        .await?
        .ok_or_else(|| Problem::not_found("certificate issued over ACME"))?;
    let (_, record, _) = super::order::issued_by(&state, &order).await?;
    let (Some(from), Some(till)) = (record.valid_from, record.valid_till) else {
        return Err(Problem::not_found("issued certificate"));
    };
    let (start, end) = if record.status == CertificateStatus::Revoked {
        let now = state.clock.now();
        (now - Duration::hours(1), now)
    } else {
        let third = (till - from) / 3;
        (till - third, till - third / 2)
    };
    let body = json!({"suggestedWindow": {"start": rfc3339(start), "end": rfc3339(end)}});
    Ok(([(header::RETRY_AFTER, "21600")], Json(body)).into_response())
}
