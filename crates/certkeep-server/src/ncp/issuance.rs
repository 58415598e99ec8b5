//! Paid certificates through the shared lifecycle: `requestPaidCertificateIssuance` places an
//! inventory order (signed at once: the account's administrator acts for the key and skips
//! approval; the domain policy still applies), `{certificateNo}/reissue` adds a reissue and
//! `revoke` revokes a certificate or a whole order.

use axum::{Extension, extract::State, http::StatusCode, response::Response};
use certkeep_core::{
    CertificateKind, Id, Product, Scope, Validity,
    lifecycle::{CertificateRef, CertificateRequest, OrderRequest, RevokeTarget, VerifiedCsr},
    ncp::NcpCertificateMeta,
};
use serde::Deserialize;
use serde_json::Value;

use super::{
    acting::{Body, acting, certificate_name, id_field, names_field, parse, required},
    error::{NcpError, Origin, json_response},
    inventory::{NcpCaller, addressed, certificate_no, group},
    orders::respond,
    params::Path,
    views::paid_type,
};
use crate::{AppState, certcentral::csr::verify};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IssuanceBody {
    csr: Option<String>,
    certificate_type: Option<String>,
    certificate_name: Option<String>,
    common_name: Option<String>,
    dns_name: Option<Value>,
    organization_no: Option<Value>,
    subscription_period: Option<String>,
}

/// certkeep's product for an Advanced type and the names ordered: DV is GeoTrust Standard DV
/// (GeoTrust Wildcard DV with a wildcard name), OV is Basic OV (which allows wildcards).
fn product_for(certificate_type: &str, names: &[&str]) -> Result<&'static Product, NcpError> {
    let wildcard = names.iter().any(|n| n.starts_with("*."));
    let name_id = match certificate_type {
        "NCP_PAID_DV_01" if wildcard => "wildcard_dv_geotrust",
        "NCP_PAID_DV_01" => "ssl_dv_geotrust",
        "NCP_PAID_OV_01" => "ssl_basic",
        other => {
            return Err(NcpError::invalid_parameter(format!(
                "certificateType must be NCP_PAID_DV_01 or NCP_PAID_OV_01, not {other:?}."
            )));
        }
    };
    Product::find(name_id).ok_or_else(NcpError::unexpected)
}

/// The CSR, verified and checked against the names; a bad one is 400 `2000`.
fn checked_csr(
    csr: &Option<String>,
    common_name: &str,
    dns_names: &[String],
) -> Result<VerifiedCsr, NcpError> {
    let csr = required(csr, "csr")?;
    // NCP sells publicly trusted certificates only.
    verify(csr, common_name, dns_names, true).map_err(|r| NcpError::invalid_parameter(r.message))
}

/// Records the `certificateName` given for a new certificate.
async fn name_certificate(
    state: &AppState,
    account_id: Id,
    certificate_id: Id,
    name: Option<String>,
) -> Result<(), NcpError> {
    if name.is_none() {
        return Ok(());
    }
    let meta = NcpCertificateMeta { certificate_id, account_id, name, ..Default::default() };
    state.store(move |s| s.save_ncp_certificate_meta(&meta)).await?;
    Ok(())
}

/// `POST /api/v2/certificate/requestPaidCertificateIssuance`: answers with the new order.
pub async fn request(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Extension(caller): Extension<NcpCaller>,
    Body(body): Body,
) -> Result<Response, NcpError> {
    let b: IssuanceBody = parse(&body)?;
    let certificate_type = required(&b.certificate_type, "certificateType")?.to_owned();
    let common_name = required(&b.common_name, "commonName")?.to_owned();
    let dns_names = names_field(&b.dns_name)?.unwrap_or_default();
    let name = certificate_name(&b.certificate_name)?;
    match b.subscription_period.as_deref().map(str::trim) {
        None | Some("" | "1Y") => {}
        Some("2Y" | "3Y") => return Err(NcpError::refused("certkeep subscriptions run one year (1Y).")),
        Some(other) => {
            return Err(NcpError::invalid_parameter(format!(
                "subscriptionPeriod must be 1Y, 2Y or 3Y, not {other:?}."
            )));
        }
    }
    let all: Vec<&str> =
        std::iter::once(common_name.as_str()).chain(dns_names.iter().map(String::as_str)).collect();
    let product = product_for(&certificate_type, &all)?;
    let organization_id = id_field(&b.organization_no, "organizationNo")?;
    if product.validation.needs_organization() && organization_id.is_none() {
        return Err(NcpError::invalid_parameter("organizationNo is required for NCP_PAID_OV_01."));
    }
    let csr = checked_csr(&b.csr, &common_name, &dns_names)?;
    let acting = acting(&state, &scope, &caller).await?;
    let request = OrderRequest {
        organization_id,
        validity: Validity::Years(1),
        comments: Some("NCP requestPaidCertificateIssuance".into()),
        ..OrderRequest::automated(product, acting.container_id, (common_name, dns_names), csr)
    };
    let lifecycle_scope = scope.clone();
    let placed = state.lifecycle(move |l| l.place_order(&lifecycle_scope, &acting.actor, &request)).await?;
    name_certificate(&state, scope.account_id, placed.certificate_id, name).await?;
    respond(&state, &scope, placed.order_id).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReissueBody {
    csr: Option<String>,
    certificate_name: Option<String>,
    common_name: Option<String>,
    dns_name: Option<Value>,
}

/// `POST /api/v2/certificate/{certificateNo}/reissue`: a new key (CSR) and optionally new
/// names for an issued paid certificate; answers with its order. The reissue keeps the
/// certificate's name unless a new one is given.
pub async fn reissue(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Extension(caller): Extension<NcpCaller>,
    Path(number): Path<String>,
    Body(body): Body,
) -> Result<Response, NcpError> {
    let b: ReissueBody = parse(&body)?;
    let found = addressed(&state, &scope, certificate_no(&number)?).await?;
    let name = certificate_name(&b.certificate_name)?.or_else(|| found.meta.and_then(|m| m.name));
    let common_name = match b.common_name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => n.to_owned(),
        None => found.record.common_name.clone(),
    };
    let dns_names = names_field(&b.dns_name)?.unwrap_or_else(|| found.record.dns_names.clone());
    let csr = checked_csr(&b.csr, &common_name, &dns_names)?;
    let acting = acting(&state, &scope, &caller).await?;
    let request = CertificateRequest {
        common_name: Some(common_name),
        dns_names: Some(dns_names),
        csr,
        server_platform_id: None,
        skip_approval: true,
        comments: Some("NCP ReissueCertificate".into()),
        client_auth: false,
    };
    let (order_id, lifecycle_scope) = (found.record.order_id, scope.clone());
    let (_, certificate_id, _) = state
        .lifecycle(move |l| {
            l.add_certificate(&lifecycle_scope, &acting.actor, order_id, CertificateKind::Reissue, &request)
        })
        .await?;
    name_certificate(&state, scope.account_id, certificate_id, name).await?;
    respond(&state, &scope, order_id).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RevokeBody {
    order_id: Option<Value>,
    certificate_no: Option<Value>,
    revoke_type: Option<String>,
}

/// NCP's `revokeType` as certkeep's (RFC 5280) reason.
fn reason(revoke_type: Option<&str>) -> Result<&'static str, NcpError> {
    Ok(match revoke_type.map(str::trim).unwrap_or("unspecified") {
        "" | "unspecified" => "unspecified",
        "affiliationChanged" => "affiliation_changed",
        "superseded" => "superseded",
        "cessationOfOperation" => "cessation_of_operation",
        other => {
            return Err(NcpError::invalid_parameter(format!(
                "revokeType must be affiliationChanged, superseded, cessationOfOperation or unspecified, \
                 not {other:?}."
            )));
        }
    })
}

/// `POST /api/v2/certificate/revoke`: `certificateNo` 0 (or absent) revokes every certificate
/// of `orderId`; otherwise the one certificate (which must be on `orderId` when both are given).
pub async fn revoke(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Extension(caller): Extension<NcpCaller>,
    Body(body): Body,
) -> Result<Response, NcpError> {
    let b: RevokeBody = parse(&body)?;
    let reason = reason(b.revoke_type.as_deref())?;
    let order_id = id_field(&b.order_id, "orderId")?;
    let target = match id_field(&b.certificate_no, "certificateNo")?.filter(|n| *n > 0) {
        Some(no) => {
            let found = addressed(&state, &scope, no).await?;
            if order_id.is_some_and(|o| o != found.record.order_id) {
                return Err(NcpError::no_certificate());
            }
            RevokeTarget::Certificate(CertificateRef::Id(no))
        }
        None => {
            let order_id = order_id.ok_or_else(|| NcpError::invalid_parameter("orderId is required."))?;
            let lookup = scope.clone();
            let g = state.store(move |s| group(s, &lookup, order_id)).await?;
            if g.is_none_or(|g| Product::find(&g.product_name_id).and_then(paid_type).is_none()) {
                return Err(NcpError::no_certificate());
            }
            RevokeTarget::Order(order_id)
        }
    };
    let acting = acting(&state, &scope, &caller).await?;
    state
        .lifecycle(move |l| {
            l.revoke(&scope, &acting.actor, &target, reason, Some("NCP RevokeCertificate"), true)
        })
        .await?;
    Ok(json_response(StatusCode::OK, Origin::Endpoint, &super::views::Done::default()))
}
