//! External certificates (API 1.0 `withExternal`, also served under `/api/v2`): a certificate
//! issued elsewhere, with its private key and chain, kept as an inventory order of origin
//! `migrated` whose product is `ncp_external` (outside the catalog: nothing reissues or revokes
//! it), plus NCP's record flagging it external. `DELETE /api/v1/certificate/{no}` deletes one.

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::StatusCode,
    response::Response,
};
use certkeep_ca::ImportError;
use certkeep_core::{
    CertificateKind, CertificateStatus, IssuedFacts, NewCertificate, NewOrder, OrderStatus, Origin, Scope,
    Validity, credentials::generate_api_key, names, ncp::ExternalImport,
};
use serde::Deserialize;

use super::{
    acting::{Body, acting, certificate_name, parse, required},
    error::{NcpError, json_response},
    inventory::{NcpCaller, addressed, certificate_no},
    lists::v1_answer,
    params::{Path, Query},
    settings::{check_key, private_key_context},
    views::{Done, EXTERNAL_PRODUCT},
};
use crate::AppState;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImportBody {
    certificate_name: Option<String>,
    private_key: Option<String>,
    public_key_certificate: Option<String>,
    /// The name NCP's newer clients send for `publicKeyCertificate`.
    certificate_body: Option<String>,
    certificate_chain: Option<String>,
}

fn unreadable() -> NcpError {
    NcpError::service("1002", "Unable to load certificate. Expecting PEM format file.")
}

/// What tells the certificate's issuer apart: the SHA-256 of its issuer Name (DER), hex. A
/// serial is unique per tenant and issuer.
fn issuer_id(der: &[u8]) -> Option<String> {
    use x509_parser::prelude::FromDer;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).ok()?;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, cert.issuer().as_raw());
    Some(digest.as_ref().iter().map(|b| format!("{b:02X}")).collect())
}

/// `POST /api/v1/certificate/withExternal`: answers with the new certificate as API 1.0 lists it.
/// Importing a certificate that was deleted brings it back under its old number.
pub async fn import(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Extension(caller): Extension<NcpCaller>,
    Body(body): Body,
) -> Result<Response, NcpError> {
    let b: ImportBody = parse(&body)?;
    let name = certificate_name(&b.certificate_name)?
        .ok_or_else(|| NcpError::invalid_parameter("certificateName is required."))?;
    let key = format!("{}\n", required(&b.private_key, "privateKey")?);
    let pem = match (&b.public_key_certificate, &b.certificate_body) {
        (Some(p), _) | (None, Some(p)) if !p.trim().is_empty() => p.clone(),
        _ => return Err(NcpError::invalid_parameter("publicKeyCertificate is required.")),
    };
    let cert = certkeep_ca::parse_certificate_pem(&pem).map_err(|_| unreadable())?;
    let issuer = issuer_id(&cert.der).ok_or_else(unreadable)?;
    check_key(&key, &cert.der)?;
    let chain = b.certificate_chain.filter(|c| !c.trim().is_empty());
    if let Some(chain) = &chain {
        certkeep_ca::certificate_blocks(chain).map_err(|_: ImportError| unreadable())?;
    }
    let mut all_names =
        cert.common_name.iter().chain(&cert.dns_names).filter_map(|n| names::normalize(n).ok());
    let common_name =
        all_names.next().ok_or_else(|| NcpError::service("26034", "The certificate is invalid."))?;
    let dns_names: Vec<String> = all_names.filter(|n| *n != common_name).collect();

    let acting = acting(&state, &scope, &caller).await?;
    let now = state.clock.now();
    let name_shown = name.clone();
    let order = NewOrder {
        account_id: scope.account_id,
        container_id: acting.container_id,
        organization_id: None,
        user_id: acting.actor.user_id,
        product_name_id: EXTERNAL_PRODUCT.into(),
        status: OrderStatus::Issued,
        common_name: common_name.clone(),
        dns_names: dns_names.clone(),
        email: String::new(),
        signature_hash: "sha256".into(),
        validity: Validity::CustomExpiration(cert.not_after.date()),
        date_created: now,
        renewed_order_id: None,
        disable_renewal_notifications: true,
        auto_renew: false,
        auto_reissue: false,
        disable_issuance_email: true,
        disable_ct: false,
        payment_method: "none".into(),
        origin: Origin::Migrated,
        api_key: acting.actor.api_key.clone(),
        alternative_order_id: None,
        organization_units: vec![],
        purchased_dns_names: dns_names.len() as u32,
        custom_fields: vec![],
        public_id: generate_api_key()[..32].to_owned(),
        acme_contract_id: None,
        certificates: vec![NewCertificate {
            kind: CertificateKind::Primary,
            status: CertificateStatus::Issued,
            common_name,
            dns_names,
            csr: String::new(),
            server_platform_id: -1,
            signature_hash: "sha256".into(),
            key_size: cert.key_size,
            date_created: now,
            issued: Some(IssuedFacts {
                serial_number: cert.serial_number.clone(),
                thumbprint: cert.thumbprint.clone(),
                valid_from: cert.not_before,
                valid_till: cert.not_after,
                date_issued: now,
                der: cert.der.clone(),
            }),
            archived: false,
            user_id: acting.actor.user_id,
            client_auth: false,
        }],
        requests: vec![],
    };
    let (sealing_key, lookup) = (state.sealing_key.clone(), scope.clone());
    // The checks, the order and NCP's record with the sealed key: one transaction.
    let imported = state
        .store(move |s| {
            let seal = |id| sealing_key.seal(key.as_bytes(), &private_key_context(id));
            s.import_ncp_external_certificate(&lookup, &order, &issuer, &name, chain.as_deref(), &seal)
        })
        .await?;
    let certificate_id = match imported {
        ExternalImport::Imported(id) => id,
        ExternalImport::NameInUse => {
            return Err(NcpError::refused(format!("The certificate name {name_shown} is already in use.")));
        }
        ExternalImport::AlreadyRegistered => {
            return Err(NcpError::refused("This certificate is already registered."));
        }
    };
    v1_answer(&state, scope, &Query::parse(Some(&format!("certificateNo={certificate_id}")))).await
}

/// `DELETE /api/v1/certificate/{certificateNo}?certificateName=...`: deletes an imported
/// certificate (hidden from NCP, its key discarded; the inventory keeps the record). The name,
/// when given, must match (`1004`); certificates certkeep issued are revoked, not deleted (`1004`).
pub async fn delete(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Path(number): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, NcpError> {
    let found = addressed(&state, &scope, certificate_no(&number)?).await?;
    let Some(mut meta) = found.meta.filter(|m| m.external) else {
        return Err(NcpError::service(
            "1004",
            "Failed to delete the certificate. Certificates issued by certkeep are revoked, not deleted.",
        ));
    };
    let query = Query::parse(raw.as_deref());
    if query.text("certificateName").is_some_and(|n| Some(n) != meta.name.as_deref()) {
        return Err(NcpError::service(
            "1004",
            "Failed to delete the certificate. No certificate was found with a matching with requested \
             certificate name and certificate number.",
        ));
    }
    meta.deleted = true;
    meta.sealed_private_key = None;
    state.store(move |s| s.save_ncp_certificate_meta(&meta)).await?;
    Ok(json_response(StatusCode::OK, super::error::Origin::Endpoint, &Done::default()))
}
