//! ACME contracts: create, read, update, cancel, SANs, certificates (seed 004) and EAB
//! credentials. Subaccount keys only; a contract of another account is 404.

use std::collections::HashSet;

use axum::{
    Extension,
    extract::State,
    http::{Extensions, StatusCode},
    response::{IntoResponse, Response},
};
use certkeep_core::{
    Id, NewOrganization, OrderStatus, OrderSummary, Product, Registration,
    partner::{AcmeContract, PartnerPrincipal, normalize_sans},
    policy::NameRefusal,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, format_description::well_known::Rfc3339};

use super::require_subaccount;
use crate::digicert::{Body, Path};
use crate::{
    AppState,
    audit::{Caller, client_address},
    contracts::{self, Acting, Issued, NamesRefusal},
    digicert::{ApiError, flag, json_response, parse},
    wire::ymd_hms,
};

/// RFC 3339 with `Z`, as the Partner API writes contract and certificate times.
fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(t).format(&Rfc3339).unwrap_or_default()
}

/// A contract as the Partner API shows it.
#[derive(Serialize)]
pub struct ContractView {
    acme_contract_id: Id,
    account_id: Id,
    product_name_id: String,
    created_at: String,
    sans: Vec<String>,
    valid_till: String,
    organization: Option<OrganizationRef>,
    is_organization_validated: bool,
    auto_renew: bool,
    date_canceled: Option<String>,
}

#[derive(Serialize)]
struct OrganizationRef {
    id: Id,
}

impl From<&AcmeContract> for ContractView {
    fn from(c: &AcmeContract) -> Self {
        Self {
            acme_contract_id: c.id,
            account_id: c.account_id,
            product_name_id: c.product_name_id.clone(),
            created_at: rfc3339(c.created_at),
            sans: c.sans.clone(),
            valid_till: rfc3339(c.valid_till),
            organization: c.organization_id.map(|id| OrganizationRef { id }),
            is_organization_validated: c.organization_id.is_some(),
            auto_renew: c.auto_renew,
            date_canceled: c.date_canceled.map(rfc3339),
        }
    }
}

/// A new EAB credential, shown once.
#[derive(Serialize)]
struct EabSet {
    credential_id: Id,
    key_id: String,
    hmac_key: String,
}

#[derive(Serialize)]
struct Created {
    #[serde(flatten)]
    contract: ContractView,
    acme_directory_url: String,
    eab_set: EabSet,
}

#[derive(Deserialize)]
struct OrganizationBody {
    name: Option<String>,
    assumed_name: Option<String>,
    address: Option<String>,
    city: Option<String>,
    state: Option<String>,
    zip: Option<String>,
    country: Option<String>,
    telephone: Option<String>,
    /// certkeep's choice (DigiCert collects these during EV validation): what EV subjects name.
    registration_number: Option<String>,
    business_category: Option<String>,
    jurisdiction_country: Option<String>,
}

#[derive(Deserialize)]
struct CreateBody {
    product_name_id: Option<String>,
    #[serde(default)]
    sans: Vec<String>,
    organization: Option<OrganizationBody>,
    #[serde(default, deserialize_with = "flag")]
    auto_renew: bool,
    validity_years: Option<u32>,
}

fn contract_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found|acme_contract", "ACME contract not found.")
}

fn contract_id(segment: &str) -> Result<Id, ApiError> {
    segment.parse().ok().filter(|id: &Id| *id > 0).ok_or_else(contract_not_found)
}

/// A contract's SANs checked against its product's rules ([`contracts::names`]), refused in
/// the Partner API's codes.
fn sans(state: &AppState, product: &Product, list: &[String]) -> Result<Vec<String>, ApiError> {
    contracts::names(state, product, list).map_err(|refusal| match refusal {
        NamesRefusal::None => ApiError::missing("sans"),
        NamesRefusal::Name(refusal) => {
            let code = match refusal {
                NameRefusal::WildcardNotAllowed(_) => "invalid_sans|wildcard_not_allowed",
                NameRefusal::TooMany { .. } => "invalid_sans|too_many",
                _ => "invalid_sans",
            };
            ApiError::bad_request(code, format!("{refusal}."))
        }
    })
}

/// The product of an existing contract.
fn product_of(contract: &AcmeContract) -> Result<&'static Product, ApiError> {
    Product::find(&contract.product_name_id).ok_or_else(contract_not_found)
}

/// Who acts through the Partner API: the key, from the client's address.
fn acting(principal: &PartnerPrincipal, extensions: &Extensions) -> Acting {
    Acting {
        caller: Caller {
            account_id: Some(principal.account_id),
            user_id: None,
            api_key_id: Some(principal.key_id),
        },
        source: client_address(extensions),
    }
}

impl From<Issued> for EabSet {
    fn from(i: Issued) -> Self {
        Self { credential_id: i.credential_id, key_id: i.key_id, hmac_key: i.hmac_key }
    }
}

/// `POST /acme`: creates a contract for the subaccount; 201 with its directory URL and EAB set.
pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<PartnerPrincipal>,
    extensions: Extensions,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    require_subaccount(&principal)?;
    let b: CreateBody = parse(&bytes)?;
    let name_id = b.product_name_id.ok_or_else(|| ApiError::missing("product_name_id"))?;
    let product = Product::find(&name_id).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "not_found|product", format!("No product {name_id:?}."))
    })?;
    let sans = sans(&state, product, &b.sans)?;
    let years = b.validity_years.unwrap_or(1);
    if !contracts::VALIDITY_YEARS.contains(&years) {
        return Err(ApiError::bad_request("invalid_validity", "validity_years must be from 1 to 6."));
    }
    let org = match (product.validation.needs_organization(), b.organization) {
        (false, _) => None,
        (true, None) => return Err(ApiError::missing("organization")),
        (true, Some(o)) => Some(o),
    };
    let account_id = principal.account_id;
    let now = state.clock.now();
    let (acting, sealing_key) = (acting(&principal, &extensions), state.sealing_key.clone());
    let (contract, issued) = state
        .store(move |s| {
            let Some((container_id, admin_id)) = crate::tenant::root_and_admin(s, account_id)? else {
                return Ok(None);
            };
            let organization_id = match org {
                Some(o) => Some(s.create_organization(&NewOrganization {
                    account_id,
                    container_id,
                    name: o.name.unwrap_or_default(),
                    assumed_name: o.assumed_name.unwrap_or_default(),
                    address: o.address.unwrap_or_default(),
                    city: o.city.unwrap_or_default(),
                    state: o.state.unwrap_or_default(),
                    zip: o.zip.unwrap_or_default(),
                    country: o.country.unwrap_or_default().to_lowercase(),
                    telephone: o.telephone.unwrap_or_default(),
                    contact: certkeep_core::Contact::default(),
                    registration: Registration {
                        number: o.registration_number.unwrap_or_default(),
                        business_category: o.business_category.unwrap_or_default(),
                        jurisdiction_country: o.jurisdiction_country.unwrap_or_default().to_lowercase(),
                    },
                })?),
                None => None,
            };
            let draft = contracts::Draft {
                account_id,
                container_id,
                user_id: admin_id,
                product,
                sans,
                organization_id,
                auto_renew: b.auto_renew,
                years,
            };
            contracts::open(s, &sealing_key, draft, &acting, now).map(Some)
        })
        .await?
        .ok_or_else(|| ApiError::bad_request("account_not_ready", "The subaccount has no administrator."))?;
    let body = Created {
        contract: ContractView::from(&contract),
        acme_directory_url: crate::acme::directory_url(&state),
        eab_set: issued.into(),
    };
    Ok(json_response(StatusCode::CREATED, &body))
}

async fn load(
    state: &AppState,
    principal: &PartnerPrincipal,
    segment: &str,
) -> Result<AcmeContract, ApiError> {
    require_subaccount(principal)?;
    let id = contract_id(segment)?;
    let account = principal.account_id;
    state.store(move |s| s.contract(Some(account), id)).await?.ok_or_else(contract_not_found)
}

async fn save(state: &AppState, contract: AcmeContract) -> Result<Response, ApiError> {
    let view = ContractView::from(&contract);
    state.store(move |s| s.update_contract(&contract)).await?;
    Ok(json_response(StatusCode::OK, &view))
}

/// `GET /acme/{id}`.
pub async fn details(
    State(state): State<AppState>,
    Extension(principal): Extension<PartnerPrincipal>,
    Path(segment): Path<String>,
) -> Result<Response, ApiError> {
    let contract = load(&state, &principal, &segment).await?;
    Ok(json_response(StatusCode::OK, &ContractView::from(&contract)))
}

#[derive(Deserialize)]
struct UpdateBody {
    sans: Option<Vec<String>>,
    #[serde(default, deserialize_with = "optional_flag")]
    auto_renew: Option<bool>,
    product_name_id: Option<String>,
}

fn optional_flag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    flag(d).map(Some)
}

fn apply(state: &AppState, contract: &mut AcmeContract, b: UpdateBody, full: bool) -> Result<(), ApiError> {
    if b.product_name_id.as_ref().is_some_and(|p| *p != contract.product_name_id) {
        return Err(ApiError::bad_request(
            "product_change_not_allowed",
            "A contract's product cannot change.",
        ));
    }
    match (b.sans, full) {
        (Some(list), _) => contract.sans = sans(state, product_of(contract)?, &list)?,
        (None, true) => return Err(ApiError::missing("sans")),
        (None, false) => {}
    }
    match (b.auto_renew, full) {
        (Some(a), _) => contract.auto_renew = a,
        (None, true) => return Err(ApiError::missing("auto_renew")),
        (None, false) => {}
    }
    Ok(())
}

/// A contract of the caller that is not canceled: a canceled one takes no changes.
async fn active(
    state: &AppState,
    principal: &PartnerPrincipal,
    segment: &str,
) -> Result<AcmeContract, ApiError> {
    let contract = load(state, principal, segment).await?;
    if contract.date_canceled.is_some() {
        return Err(ApiError::bad_request("contract_canceled", "The contract is canceled."));
    }
    Ok(contract)
}

async fn update(
    state: AppState,
    principal: PartnerPrincipal,
    segment: String,
    bytes: axum::body::Bytes,
    full: bool,
) -> Result<Response, ApiError> {
    let mut contract = active(&state, &principal, &segment).await?;
    apply(&state, &mut contract, parse(&bytes)?, full)?;
    save(&state, contract).await
}

/// `PUT /acme/{id}`: replaces SANs and renewal setting.
pub async fn replace(
    State(state): State<AppState>,
    Extension(principal): Extension<PartnerPrincipal>,
    Path(segment): Path<String>,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    update(state, principal, segment, bytes, true).await
}

/// `PATCH /acme/{id}`: changes only what the body names (e.g. `{"auto_renew": false}`).
pub async fn patch(
    State(state): State<AppState>,
    Extension(principal): Extension<PartnerPrincipal>,
    Path(segment): Path<String>,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    update(state, principal, segment, bytes, false).await
}

/// `DELETE /acme/{id}`: cancels the contract (only within 30 days of its creation) and
/// revokes its EAB credentials; 204.
pub async fn cancel(
    State(state): State<AppState>,
    Extension(principal): Extension<PartnerPrincipal>,
    Path(segment): Path<String>,
) -> Result<Response, ApiError> {
    let mut contract = load(&state, &principal, &segment).await?;
    let now = state.clock.now();
    if contract.date_canceled.is_some() {
        return Err(ApiError::bad_request("contract_canceled", "The contract is already canceled."));
    }
    if now - contract.created_at > Duration::days(30) {
        return Err(ApiError::bad_request(
            "cancellation_period_expired",
            "A contract can only be canceled within 30 days of its creation.",
        ));
    }
    contract.date_canceled = Some(now);
    let id = contract.id;
    state
        .store(move |s| {
            s.update_contract(&contract)?;
            s.revoke_eab_credentials(id, None)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct SansBody {
    #[serde(default)]
    sans: Vec<String>,
}

/// `PUT /acme/{id}/sans`: adds SANs.
pub async fn add_sans(
    State(state): State<AppState>,
    Extension(principal): Extension<PartnerPrincipal>,
    Path(segment): Path<String>,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    let mut contract = active(&state, &principal, &segment).await?;
    let b: SansBody = parse(&bytes)?;
    if b.sans.is_empty() {
        return Err(ApiError::missing("sans"));
    }
    let mut all = contract.sans.clone();
    all.extend(b.sans);
    contract.sans = sans(&state, product_of(&contract)?, &all)?;
    save(&state, contract).await
}

/// `DELETE /acme/{id}/sans`: removes SANs (at least one must remain).
pub async fn remove_sans(
    State(state): State<AppState>,
    Extension(principal): Extension<PartnerPrincipal>,
    Path(segment): Path<String>,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    let mut contract = active(&state, &principal, &segment).await?;
    let b: SansBody = parse(&bytes)?;
    if b.sans.is_empty() {
        return Err(ApiError::missing("sans"));
    }
    let remove: HashSet<String> = normalize_sans(&b.sans)
        .map_err(|bad| ApiError::bad_request("invalid_sans", format!("{bad:?} is not a valid DNS name.")))?
        .into_iter()
        .collect();
    let listed: HashSet<&String> = contract.sans.iter().collect();
    if let Some(missing) = remove.iter().find(|r| !listed.contains(r)) {
        return Err(ApiError::bad_request("invalid_sans", format!("{missing} is not on the contract.")));
    }
    contract.sans.retain(|s| !remove.contains(s));
    if contract.sans.is_empty() {
        return Err(ApiError::bad_request("invalid_sans", "A contract needs at least one SAN."));
    }
    save(&state, contract).await
}

/// A contract certificate as seed 004 lists it.
#[derive(Serialize)]
struct ContractCertificate<'a> {
    domain: &'a str,
    status: &'static str,
    expiration_date: Option<String>,
    serial_number: Option<&'a str>,
    sans: Vec<&'a str>,
}

/// Seed 004's status of an order under a contract (see the README for the mapping), or `None`
/// for orders that never produced a certificate (rejected, canceled).
fn contract_status(o: &OrderSummary, contract: &AcmeContract, now: OffsetDateTime) -> Option<&'static str> {
    Some(match o.status.effective(o.certificate.valid_till, now) {
        OrderStatus::Revoked => "revoked",
        _ if o.is_renewed => "renewed",
        OrderStatus::Expired if !contract.auto_renew => "not_renewed",
        OrderStatus::Expired => "expired",
        OrderStatus::Issued | OrderStatus::ReissuePending | OrderStatus::WaitingPickup => "issued",
        OrderStatus::NeedsApproval | OrderStatus::Pending | OrderStatus::Processing => "pending",
        OrderStatus::Rejected | OrderStatus::Canceled => return None,
    })
}

#[derive(Serialize)]
struct Certificates<'a> {
    certificates: Vec<ContractCertificate<'a>>,
}

/// `GET /acme/{id}/certificates` (seed 004): the certificates issued under the contract.
pub async fn certificates(
    State(state): State<AppState>,
    Extension(principal): Extension<PartnerPrincipal>,
    Path(segment): Path<String>,
) -> Result<Response, ApiError> {
    let contract = load(&state, &principal, &segment).await?;
    let id = contract.id;
    let orders = state.store(move |s| s.contract_orders(id)).await?;
    let now = state.clock.now();
    let certificates = orders
        .iter()
        .filter_map(|o| {
            let status = contract_status(o, &contract, now)?;
            let c = &o.certificate;
            Some(ContractCertificate {
                domain: &c.common_name,
                status,
                expiration_date: c.valid_till.map(rfc3339),
                serial_number: c.serial_number.as_deref(),
                sans: std::iter::once(c.common_name.as_str())
                    .chain(c.dns_names.iter().map(String::as_str))
                    .collect(),
            })
        })
        .collect();
    Ok(json_response(StatusCode::OK, &Certificates { certificates }))
}

#[derive(Serialize)]
struct CredentialView {
    credential_id: Id,
    kid_hint: String,
    status: &'static str,
    created_at: String,
}

#[derive(Serialize)]
struct Credentials {
    credentials: Vec<CredentialView>,
}

/// `GET /acme/{id}/credentials`: the contract's EAB credentials (never their secrets).
pub async fn credentials(
    State(state): State<AppState>,
    Extension(principal): Extension<PartnerPrincipal>,
    Path(segment): Path<String>,
) -> Result<Response, ApiError> {
    let contract = load(&state, &principal, &segment).await?;
    let id = contract.id;
    let list = state.store(move |s| s.eab_credentials(id)).await?;
    let credentials = list
        .into_iter()
        .map(|c| CredentialView {
            credential_id: c.id,
            kid_hint: c.kid.chars().take(4).collect(),
            status: if c.active { "active" } else { "revoked" },
            created_at: ymd_hms(c.created_at),
        })
        .collect();
    Ok(json_response(StatusCode::OK, &Credentials { credentials }))
}

#[derive(Deserialize)]
struct RegenerateBody {
    #[serde(default = "yes", deserialize_with = "flag")]
    revoke_existing: bool,
}

fn yes() -> bool {
    true
}

#[derive(Serialize)]
struct Regenerated {
    acme_directory_url: String,
    eab_set: EabSet,
}

/// `POST /acme/{id}/credentials/regenerate`: a new EAB set; the old ones are revoked unless
/// `revoke_existing` is false (zero-downtime rotation). Certificates stay valid.
pub async fn regenerate(
    State(state): State<AppState>,
    Extension(principal): Extension<PartnerPrincipal>,
    extensions: Extensions,
    Path(segment): Path<String>,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    let contract = load(&state, &principal, &segment).await?;
    if contract.date_canceled.is_some() {
        return Err(ApiError::bad_request("contract_canceled", "The contract is canceled."));
    }
    let b: RegenerateBody = parse(&bytes)?;
    let (acting, sealing_key, now) =
        (acting(&principal, &extensions), state.sealing_key.clone(), state.clock.now());
    let issued = state
        .store(move |s| contracts::regenerate(s, &sealing_key, &contract, !b.revoke_existing, &acting, now))
        .await?;
    Ok(json_response(
        StatusCode::CREATED,
        &Regenerated { acme_directory_url: crate::acme::directory_url(&state), eab_set: issued.into() },
    ))
}
