//! What Certificate Manager keeps per certificate beside the inventory: the renewal setting
//! (`setCertificateRenewal`) and the registered private key (`registPrivateKey`, sealed at rest
//! under the server key).

use axum::{Extension, extract::State, http::StatusCode, response::Response};
use certkeep_ca::ImportError;
use certkeep_core::{Scope, ncp::NcpCertificateMeta};
use serde::Deserialize;
use serde_json::Value;

use super::{
    acting::{Body, id_field, parse, required},
    error::{NcpError, Origin, json_response},
    inventory::{Addressed, addressed},
    views::Done,
};
use crate::AppState;

/// The sealing context of a certificate's private key: a key sealed for one certificate does
/// not open as another's.
pub use certkeep_core::ncp::private_key_context;

/// The addressed certificate of a body's `certificateNo`.
async fn target(state: &AppState, scope: &Scope, no: &Option<Value>) -> Result<Addressed, NcpError> {
    let no = id_field(no, "certificateNo")?
        .ok_or_else(|| NcpError::invalid_parameter("certificateNo is required."))?;
    addressed(state, scope, no).await
}

/// Saves NCP's record of an addressed certificate after `change`.
async fn update(
    state: &AppState,
    scope: &Scope,
    found: Addressed,
    change: impl FnOnce(&mut NcpCertificateMeta),
) -> Result<Response, NcpError> {
    let mut meta = found.meta.unwrap_or_else(|| NcpCertificateMeta {
        certificate_id: found.record.id,
        account_id: scope.account_id,
        ..Default::default()
    });
    change(&mut meta);
    state.store(move |s| s.save_ncp_certificate_meta(&meta)).await?;
    Ok(json_response(StatusCode::OK, Origin::Endpoint, &Done::default()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RenewalBody {
    certificate_no: Option<Value>,
    renewal_yn: Option<String>,
}

/// `POST /api/v2/certificate/setCertificateRenewal`: `renewalYn` `Y` or `N`.
pub async fn renewal(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Body(body): Body,
) -> Result<Response, NcpError> {
    let b: RenewalBody = parse(&body)?;
    let renewal = match required(&b.renewal_yn, "renewalYn")? {
        "Y" => true,
        "N" => false,
        other => {
            return Err(NcpError::invalid_parameter(format!("renewalYn must be Y or N, not {other:?}.")));
        }
    };
    let found = target(&state, &scope, &b.certificate_no).await?;
    update(&state, &scope, found, |m| m.renewal = renewal).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PrivateKeyBody {
    certificate_no: Option<Value>,
    private_key: Option<String>,
}

/// Checks `pem` against the issued certificate `der`: unreadable is `1002`, another key `26040`.
pub fn check_key(pem: &str, der: &[u8]) -> Result<(), NcpError> {
    certkeep_ca::check_private_key(pem, der).map_err(|e| match e {
        ImportError::Unparseable => {
            NcpError::service("1002", "Unable to load private key. Expecting PEM format file (PKCS#8).")
        }
        ImportError::KeyMismatch => {
            NcpError::service("26040", "Public key in certificate does not match the private key.")
        }
    })
}

/// `POST /api/v2/certificate/registPrivateKey`: the private key (PKCS#8 PEM) of an issued
/// certificate, checked against the certificate's public key, then sealed.
pub async fn private_key(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Body(body): Body,
) -> Result<Response, NcpError> {
    let b: PrivateKeyBody = parse(&body)?;
    let pem = format!("{}\n", required(&b.private_key, "privateKey")?);
    let found = target(&state, &scope, &b.certificate_no).await?;
    let der = found.issued_der().ok_or_else(NcpError::no_certificate)?;
    check_key(&pem, der)?;
    let sealed = state.sealing_key.seal(pem.as_bytes(), &private_key_context(found.record.id));
    update(&state, &scope, found, |m| m.sealed_private_key = Some(sealed)).await
}
