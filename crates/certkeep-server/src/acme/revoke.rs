//! revokeCert (RFC 8555 §7.6): by the account that ordered the certificate (`kid`) or by the
//! certificate's own key (`jwk`), with an RFC 5280 reason code.

use axum::{extract::State, http::StatusCode};
use certkeep_ca::RevocationReason;
use certkeep_core::{
    CertificateStatus,
    lifecycle::{CertificateRef, RevokeTarget},
};
use serde::Deserialize;

use super::{
    jws::unb64,
    order::{actor, scope},
    problem::Problem,
    request::{Post, Signer, verify},
};
use crate::AppState;

#[derive(Debug, Deserialize)]
struct RevokeCert {
    certificate: String,
    reason: Option<u8>,
}

/// The reasons a subscriber may give (certificateHold is not one: ACME revocation is final).
fn reason(code: Option<u8>) -> Result<RevocationReason, Problem> {
    Ok(match code.unwrap_or(0) {
        0 => RevocationReason::Unspecified,
        1 => RevocationReason::KeyCompromise,
        3 => RevocationReason::AffiliationChanged,
        4 => RevocationReason::Superseded,
        5 => RevocationReason::CessationOfOperation,
        9 => RevocationReason::PrivilegeWithdrawn,
        other => return Err(Problem::bad_revocation_reason(format!("Reason code {other} is not accepted."))),
    })
}

/// `POST /acme/revoke-cert`.
pub async fn revoke_cert(State(state): State<AppState>, post: Post) -> Result<StatusCode, Problem> {
    let signed = verify(&state, post, Signer::Either).await?;
    let req: RevokeCert = signed.json()?;
    let reason = reason(req.reason)?;
    let der = unb64(&req.certificate, "certificate")?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|_| Problem::malformed("The certificate is not DER X.509."))?;
    let serial: String = cert.tbs_certificate.raw_serial().iter().map(|b| format!("{b:02X}")).collect();
    let lookup = serial.clone();
    let order = state
        .store(move |s| s.acme().acme_order_by_serial(&lookup))
        .await?
        .ok_or_else(|| Problem::not_found("certificate issued over ACME"))?;
    match &signed.account {
        Some(account) if account.id != order.account_id => {
            return Err(Problem::unauthorized("The certificate was ordered by another account."));
        }
        Some(_) => {}
        None if !signed.jwk.matches_spki(cert.public_key()) => {
            return Err(Problem::unauthorized("The JWS key is not the certificate's key."));
        }
        None => {}
    }
    let (contract, record, stored) = super::order::issued_by(&state, &order).await?;
    let cert_id = record.id;
    if stored.as_deref() != Some(der.as_slice()) {
        return Err(Problem::not_found("certificate issued over ACME"));
    }
    if record.status == CertificateStatus::Revoked {
        return Err(Problem::already_revoked());
    }
    let (scope, actor) = (scope(&contract), actor(&state, &contract, &signed.source));
    state
        .lifecycle(move |l| {
            l.revoke(
                &scope,
                &actor,
                &RevokeTarget::Certificate(CertificateRef::Id(cert_id)),
                reason.as_str(),
                Some("revoked over ACME"),
                true,
            )
        })
        .await
        .map_err(|e| Problem::malformed(format!("The certificate could not be revoked: {e}.")))?;
    Ok(StatusCode::OK)
}
