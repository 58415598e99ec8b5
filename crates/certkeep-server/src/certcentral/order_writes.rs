//! Placing orders and changing them: order, cancel, duplicate, reissue.

use axum::{
    Extension,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use certkeep_core::{
    CertificateKind, Id, Principal, Product, RequestStatus, Validity,
    credentials::generate_api_key,
    lifecycle::{Actor, CertificateRequest, OrderRequest},
};
use serde::{Deserialize, Serialize};
use time::{Date, macros::format_description};

use super::{
    body::{self, IdRef, flag},
    csr,
};
use crate::digicert::{Body, Path};
use crate::{
    AppState,
    digicert::{ApiError, json_response},
};

#[derive(Debug, Default, Deserialize)]
struct ValidityBody {
    years: Option<u32>,
    days: Option<u32>,
    custom_expiration_date: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct CertificateBody {
    common_name: Option<String>,
    dns_names: Option<Vec<String>>,
    csr: Option<String>,
    signature_hash: Option<String>,
    server_platform: Option<IdRef>,
    organization_units: Option<Vec<String>>,
    cert_validity: Option<ValidityBody>,
    /// DigiCert's certificate profile option: `server_auth_only_eku` (the default since
    /// 2025-10-01) or `server_client_auth_eku` (clientAuth too, until 2027-03-01).
    profile_option: Option<String>,
}

impl CertificateBody {
    /// Whether the profile option asks for id-kp-clientAuth.
    fn client_auth(&self) -> Result<bool, ApiError> {
        match self.profile_option.as_deref().map(str::trim) {
            None | Some("") | Some("server_auth_only_eku") => Ok(false),
            Some("server_client_auth_eku") => Ok(true),
            Some(other) => Err(ApiError::bad_request(
                "invalid_profile_option",
                format!(
                    "{other:?} is not a certificate profile option (server_auth_only_eku, server_client_auth_eku)."
                ),
            )),
        }
    }
}

#[derive(Debug, Deserialize)]
struct CustomFieldBody {
    metadata_id: Id,
    value: String,
}

#[derive(Debug, Deserialize)]
struct OrderBody {
    #[serde(default)]
    certificate: CertificateBody,
    organization: Option<IdRef>,
    container: Option<IdRef>,
    validity_years: Option<u32>,
    validity_days: Option<u32>,
    order_validity: Option<ValidityBody>,
    custom_expiration_date: Option<String>,
    comments: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    disable_renewal_notifications: bool,
    #[serde(default, deserialize_with = "flag")]
    skip_approval: bool,
    #[serde(default, deserialize_with = "flag")]
    auto_renew: bool,
    payment_method: Option<String>,
    #[serde(default)]
    custom_fields: Vec<CustomFieldBody>,
    alternative_order_id: Option<String>,
    renewal_of_order_id: Option<Id>,
}

fn date(s: &str) -> Result<Date, ApiError> {
    Date::parse(s.trim(), format_description!("[year]-[month]-[day]")).map_err(|_| {
        ApiError::bad_request("invalid_custom_expiration_date", format!("{s:?} is not a date (YYYY-MM-DD)."))
    })
}

fn validity(v: &ValidityBody) -> Result<Option<Validity>, ApiError> {
    Ok(match (v.years, v.days, &v.custom_expiration_date) {
        (Some(y), _, _) => Some(Validity::Years(y)),
        (_, Some(d), _) => Some(Validity::Days(d)),
        (_, _, Some(c)) => Some(Validity::CustomExpiration(date(c)?)),
        _ => None,
    })
}

/// The order's validity from whichever form the client used (Multi-year Plan `order_validity`,
/// legacy `validity_years`/`validity_days`, `custom_expiration_date`, or the first certificate's
/// `cert_validity`); one year when none.
fn order_validity(b: &OrderBody) -> Result<Validity, ApiError> {
    let from_plan = b.order_validity.as_ref().map(validity).transpose()?.flatten();
    let legacy = b.validity_years.map(Validity::Years).or(b.validity_days.map(Validity::Days));
    let custom = b.custom_expiration_date.as_deref().map(date).transpose()?.map(Validity::CustomExpiration);
    let first = b.certificate.cert_validity.as_ref().map(validity).transpose()?.flatten();
    let v = from_plan.or(legacy).or(custom).or(first).unwrap_or(Validity::Years(1));
    if matches!(v, Validity::Years(0) | Validity::Days(0)) {
        return Err(ApiError::bad_request("invalid_validity", "The validity period must not be empty."));
    }
    Ok(v)
}

fn check_signature_hash(hash: Option<&str>) -> Result<(), ApiError> {
    match hash.map(str::trim) {
        None | Some("sha256" | "sha384" | "sha512") => Ok(()),
        Some(other) => Err(ApiError::bad_request(
            "invalid_signature_hash",
            format!("{other:?} is not a signature hash (sha256, sha384, sha512)."),
        )),
    }
}

#[derive(Serialize)]
struct RequestRef {
    id: Id,
    status: &'static str,
}

#[derive(Serialize)]
struct ChainEntry<'a> {
    subject_common_name: &'a str,
    pem: String,
}

#[derive(Serialize)]
struct Created<'a> {
    id: Id,
    requests: [RequestRef; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    certificate_chain: Option<Vec<ChainEntry<'a>>>,
}

/// 201 with the order and request ids, and the chain (leaf first) when issued at once.
fn created(
    state: &AppState,
    order_id: Id,
    request: (Id, RequestStatus),
    issued: Option<(Id, &str, Vec<u8>)>,
) -> Response {
    let chain = issued.as_ref().map(|(_, cn, der)| {
        let mut chain = vec![ChainEntry { subject_common_name: cn, pem: super::downloads::pem(der) }];
        chain.extend(
            state
                .authority
                .chain()
                .into_iter()
                .map(|(cn, pem)| ChainEntry { subject_common_name: cn, pem: pem.to_owned() }),
        );
        chain
    });
    let body = Created {
        id: order_id,
        requests: [RequestRef { id: request.0, status: request.1.as_str() }],
        certificate_id: issued.as_ref().map(|(id, ..)| *id),
        certificate_chain: chain,
    };
    json_response(StatusCode::CREATED, &body)
}

/// `POST /order/certificate/{product_name_id}`.
pub async fn place(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(actor): Extension<Actor>,
    Path(product): Path<String>,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    let product = Product::find(&product).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "not_found|product", format!("No product {product:?}."))
    })?;
    let b: OrderBody = body::parse(&bytes)?;
    let common_name =
        b.certificate.common_name.clone().ok_or_else(|| ApiError::missing("certificate.common_name"))?;
    let dns_names = b.certificate.dns_names.clone().unwrap_or_default();
    check_signature_hash(b.certificate.signature_hash.as_deref())?;
    let csr = csr::check(b.certificate.csr.as_deref(), &common_name, &dns_names, product.is_public())?;
    let request = OrderRequest {
        product,
        container_id: b.container.map_or(principal.container_id, |c| c.id),
        organization_id: b.organization.map(|o| o.id),
        common_name: common_name.clone(),
        dns_names,
        csr,
        server_platform_id: b.certificate.server_platform.map_or(-1, |p| p.id),
        validity: order_validity(&b)?,
        comments: b.comments.clone(),
        skip_approval: b.skip_approval,
        disable_renewal_notifications: b.disable_renewal_notifications,
        auto_renew: b.auto_renew,
        custom_fields: b.custom_fields.iter().map(|f| (f.metadata_id, f.value.clone())).collect(),
        payment_method: b.payment_method.clone().unwrap_or_else(|| "balance".into()),
        alternative_order_id: b.alternative_order_id.clone(),
        organization_units: b.certificate.organization_units.clone().unwrap_or_default(),
        renewed_order_id: b.renewal_of_order_id,
        email: String::new(),
        public_id: generate_api_key()[..32].to_owned(),
        acme_contract_id: None,
        acme_order_id: None,
        client_auth: b.certificate.client_auth()?,
    };
    let scope = principal.scope.clone();
    let placed = state.lifecycle(move |l| l.place_order(&scope, &actor, &request)).await?;
    let cn = common_name.trim().to_lowercase();
    let issued = placed.issued.map(|der| (placed.certificate_id, cn.as_str(), der));
    Ok(created(&state, placed.order_id, (placed.request_id, placed.request_status), issued))
}

#[derive(Debug, Deserialize)]
struct StatusBody {
    status: Option<String>,
    note: Option<String>,
}

/// `PUT /order/certificate/{order_id}/status`: `canceled` (any case) cancels the order.
pub async fn update_status(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(actor): Extension<Actor>,
    Path(order): Path<String>,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    let order_id = super::orders::order_id(&order)?;
    let b: StatusBody = body::parse(&bytes)?;
    match b.status.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("canceled" | "cancelled") => {}
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_status",
                format!("Orders cannot be set to {other:?}."),
            ));
        }
        None => return Err(ApiError::missing("status")),
    }
    let scope = principal.scope;
    state.lifecycle(move |l| l.cancel(&scope, &actor, order_id, b.note.as_deref())).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
struct AddCertificateBody {
    #[serde(default)]
    certificate: CertificateBody,
    #[serde(default, deserialize_with = "flag")]
    skip_approval: bool,
    comments: Option<String>,
}

async fn add_certificate(
    state: AppState,
    principal: Principal,
    actor: Actor,
    order: String,
    bytes: axum::body::Bytes,
    kind: CertificateKind,
) -> Result<Response, ApiError> {
    let order_id = super::orders::order_id(&order)?;
    let b: AddCertificateBody = body::parse(&bytes)?;
    check_signature_hash(b.certificate.signature_hash.as_deref())?;
    let scope = principal.scope.clone();
    // Names default to the order's current ones.
    let current = state
        .store(move |s| s.find_order(&scope, &certkeep_core::OrderRef::Id(order_id)))
        .await?
        .ok_or_else(ApiError::order_not_found)?;
    let common_name = b.certificate.common_name.clone().unwrap_or(current.certificate.common_name.clone());
    let dns_names = b.certificate.dns_names.clone().unwrap_or(current.certificate.dns_names.clone());
    let product = Product::find(&current.summary.product_name_id);
    let public = product.is_none_or(Product::is_public);
    let csr = csr::check(b.certificate.csr.as_deref(), &common_name, &dns_names, public)?;
    let request = CertificateRequest {
        common_name: Some(common_name.clone()),
        dns_names: Some(dns_names),
        csr,
        server_platform_id: b.certificate.server_platform.map(|p| p.id),
        skip_approval: b.skip_approval,
        comments: b.comments,
        client_auth: b.certificate.client_auth()?,
    };
    let scope = principal.scope;
    let (request_id, cert_id, der) =
        state.lifecycle(move |l| l.add_certificate(&scope, &actor, order_id, kind, &request)).await?;
    let status = if der.is_some() { RequestStatus::Approved } else { RequestStatus::Pending };
    let cn = common_name.trim().to_lowercase();
    Ok(created(&state, order_id, (request_id, status), der.map(|d| (cert_id, cn.as_str(), d))))
}

/// `POST /order/certificate/{order_id}/duplicate`.
pub async fn duplicate(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(actor): Extension<Actor>,
    Path(order): Path<String>,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    add_certificate(state, principal, actor, order, bytes, CertificateKind::Duplicate).await
}

/// `POST /order/certificate/{order_id}/reissue`.
pub async fn reissue(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(actor): Extension<Actor>,
    Path(order): Path<String>,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    add_certificate(state, principal, actor, order, bytes, CertificateKind::Reissue).await
}
