//! `POST /api/v2/certificate/exportCertificate/{certificateNo}`: the certificate, its chain
//! and (only when one was registered) its private key, as a ZIP of PEM files.

use axum::{
    Extension,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use certkeep_core::Scope;
use serde::Deserialize;
use serde_json::Value;

use super::{
    acting::{Body, id_field, parse},
    catalog::chain_of,
    error::{NcpError, Origin},
    inventory::{addressed, certificate_no},
    params::Path,
    settings::private_key_context,
};
use crate::{AppState, wire::zip_files};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DownloadBody {
    certificate_no: Option<Value>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Answers `application/zip` with `certificate.pem`, `chain.pem` (sub-CA then root) and, if
/// registered, `privateKey.pem`. Only `type` `PEM` exists; a `certificateNo` in the body must
/// be the one in the path.
pub async fn download(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Path(number): Path<String>,
    Body(body): Body,
) -> Result<Response, NcpError> {
    let b: DownloadBody = parse(&body)?;
    let no = certificate_no(&number)?;
    if id_field(&b.certificate_no, "certificateNo")?.is_some_and(|n| n != no) {
        return Err(NcpError::invalid_parameter("certificateNo in the body differs from the path."));
    }
    match b.kind.as_deref().map(str::trim) {
        None | Some("" | "PEM") => {}
        Some(other) => return Err(NcpError::invalid_parameter(format!("type must be PEM, not {other:?}."))),
    }
    let found = addressed(&state, &scope, no).await?;
    let der = found.issued_der().ok_or_else(NcpError::no_certificate)?;
    let (sub, root) = chain_of(&state, found.meta.as_ref());
    let mut files = vec![
        ("certificate.pem".to_owned(), certkeep_ca::certificate_pem(der).into_bytes()),
        ("chain.pem".to_owned(), format!("{sub}{root}").into_bytes()),
    ];
    if let Some(sealed) = found.meta.as_ref().and_then(|m| m.sealed_private_key.as_deref()) {
        let key = state.sealing_key.open(sealed, &private_key_context(no)).ok_or_else(|| {
            tracing::error!(certificate = no, "a private key does not unseal: is this its server key?");
            NcpError::unexpected()
        })?;
        files.push(("privateKey.pem".to_owned(), key));
    }
    let zip = zip_files(&files).map_err(|e| {
        tracing::error!(error = %e, "zip failed");
        NcpError::unexpected()
    })?;
    let mut response = (StatusCode::OK, zip).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=certificate-{no}.zip")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert("x-ncp-apigw-response-origin", HeaderValue::from_static(Origin::Endpoint.header_value()));
    Ok(response)
}
