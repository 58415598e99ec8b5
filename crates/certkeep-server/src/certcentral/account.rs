//! Account objects clients read before ordering: products, organizations, containers, users,
//! the account, and recent status changes (domains: `domains.rs`).

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::StatusCode,
    response::Response,
};
use certkeep_core::{Id, PRODUCTS, Principal, Product, UserRecord};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::views::Page;
use crate::digicert::Path;
use crate::{
    AppState,
    digicert::{ApiError, json_response},
    wire::iso8601,
};

#[derive(Serialize)]
struct HashType {
    id: &'static str,
    name: &'static str,
}

#[derive(Serialize)]
struct SignatureHashTypes {
    allowed_hash_types: [HashType; 1],
    default_hash_type_id: &'static str,
}

#[derive(Serialize)]
struct ProductView {
    group_name: &'static str,
    name_id: &'static str,
    name: &'static str,
    #[serde(rename = "type")]
    product_type: &'static str,
    validation_type: &'static str,
    validation_name: &'static str,
    validation_description: &'static str,
    allowed_validity_years: Vec<u32>,
    allowed_order_validity_years: Vec<u32>,
    allowed_wildcard: bool,
    additional_dns_names_allowed: u32,
    max_validity_days: u32,
    signature_hash_types: SignatureHashTypes,
    csr_required: bool,
}

impl ProductView {
    /// The product as listed at `now`: orders (Multi-year Plans) of 1 to 3 years, each
    /// certificate as long as the rules in force allow.
    fn of(p: &'static Product, now: OffsetDateTime) -> Self {
        let years: Vec<u32> = (1..=p.max_plan_days / 365).collect();
        let max_validity_days = if p.is_public() {
            certkeep_core::policy::max_certificate_days(now)
        } else {
            certkeep_core::policy::PRIVATE_CERTIFICATE_DAYS
        };
        Self {
            group_name: p.product_type.as_str(),
            name_id: p.name_id,
            name: p.name,
            product_type: p.product_type.as_str(),
            validation_type: p.validation.name(),
            validation_name: p.validation.name(),
            validation_description: p.validation.description(),
            allowed_validity_years: years.clone(),
            allowed_order_validity_years: years,
            allowed_wildcard: p.allows_wildcard,
            additional_dns_names_allowed: p.max_dns_names,
            max_validity_days,
            signature_hash_types: SignatureHashTypes {
                allowed_hash_types: [HashType { id: "sha256", name: "SHA-256" }],
                default_hash_type_id: "sha256",
            },
            csr_required: true,
        }
    }
}

#[derive(Serialize)]
struct Products {
    products: Vec<ProductView>,
}

/// `GET /product`.
pub async fn products(State(state): State<AppState>) -> Response {
    let now = state.clock.now();
    json_response(
        StatusCode::OK,
        &Products { products: PRODUCTS.iter().map(|p| ProductView::of(p, now)).collect() },
    )
}

/// `GET /product/{name_id}`.
pub async fn product(
    State(state): State<AppState>,
    Path(name_id): Path<String>,
) -> Result<Response, ApiError> {
    let p = Product::find(&name_id).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "not_found|product", format!("No product {name_id:?}."))
    })?;
    Ok(json_response(StatusCode::OK, &ProductView::of(p, state.clock.now())))
}

#[derive(Serialize)]
struct OrganizationView<'a> {
    id: Id,
    status: &'static str,
    name: &'a str,
    assumed_name: &'a str,
    display_name: String,
    is_active: bool,
    city: &'a str,
    state: &'a str,
    country: &'a str,
}

#[derive(Serialize)]
struct Organizations<'a> {
    organizations: Vec<OrganizationView<'a>>,
}

/// `GET /organization`.
pub async fn organizations(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Response, ApiError> {
    let scope = principal.scope;
    let orgs = state.store(move |s| s.list_organizations(&scope)).await?;
    let organizations = orgs
        .iter()
        .map(|o| OrganizationView {
            id: o.id,
            status: "active",
            name: &o.name,
            assumed_name: &o.assumed_name,
            display_name: o.display_name(),
            is_active: true,
            city: &o.city,
            state: &o.state,
            country: &o.country,
        })
        .collect();
    Ok(json_response(StatusCode::OK, &Organizations { organizations }))
}

#[derive(Serialize)]
struct ContainerView<'a> {
    id: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id: Option<Id>,
    name: &'a str,
    description: &'a str,
    is_active: bool,
}

#[derive(Serialize)]
struct Containers<'a> {
    containers: Vec<ContainerView<'a>>,
}

/// `GET /container`.
pub async fn containers(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Response, ApiError> {
    let scope = principal.scope;
    let nodes = state.store(move |s| s.list_containers(&scope)).await?;
    let containers = nodes
        .iter()
        .map(|n| ContainerView {
            id: n.container.id,
            parent_id: n.parent_id,
            name: &n.container.name,
            description: &n.description,
            is_active: n.container.is_active,
        })
        .collect();
    Ok(json_response(StatusCode::OK, &Containers { containers }))
}

#[derive(Serialize)]
struct AccessRoleView {
    id: i64,
    name: &'static str,
}

#[derive(Serialize)]
struct UserView<'a> {
    id: Id,
    username: &'a str,
    account_id: Id,
    first_name: &'a str,
    last_name: &'a str,
    email: &'a str,
    job_title: &'a str,
    telephone: &'a str,
    status: &'static str,
    container: ContainerView<'a>,
    access_roles: [AccessRoleView; 1],
    #[serde(rename = "type")]
    user_type: &'static str,
}

fn user_view(u: &UserRecord, account_id: Id) -> UserView<'_> {
    use certkeep_core::AccessRole::*;
    let role_name = match u.access_role {
        Administrator => "Administrator",
        LimitedUser => "Limited User",
        FinanceManager => "Finance Manager",
        Manager => "Manager",
        StandardUser => "Standard User",
    };
    UserView {
        id: u.user.id,
        username: &u.username,
        account_id,
        first_name: &u.user.first_name,
        last_name: &u.user.last_name,
        email: &u.user.email,
        job_title: &u.job_title,
        telephone: &u.telephone,
        status: "active",
        container: ContainerView {
            id: u.container.id,
            parent_id: None,
            name: &u.container.name,
            description: "",
            is_active: u.container.is_active,
        },
        access_roles: [AccessRoleView { id: u.access_role.code(), name: role_name }],
        user_type: "standard",
    }
}

#[derive(Serialize)]
struct Users<'a> {
    users: Vec<UserView<'a>>,
    page: Page,
}

/// `GET /user`.
pub async fn users(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Response, ApiError> {
    let scope = principal.scope;
    let account = scope.account_id;
    let users = state.store(move |s| s.list_users(&scope)).await?;
    let page = Page { total: users.len() as u64, limit: 0, offset: 0 };
    Ok(json_response(
        StatusCode::OK,
        &Users { users: users.iter().map(|u| user_view(u, account)).collect(), page },
    ))
}

/// `GET /user/me`: the key's user.
pub async fn me(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Response, ApiError> {
    let scope = principal.scope;
    let account = scope.account_id;
    let me = principal.user_id;
    let user = state
        .store(move |s| s.list_users(&scope))
        .await?
        .into_iter()
        .find(|u| u.user.id == me)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found|user", "User not found."))?;
    Ok(json_response(StatusCode::OK, &user_view(&user, account)))
}

#[derive(Serialize)]
struct AccountView<'a> {
    id: Id,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_organization_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_organization_name: Option<&'a str>,
    cert_central_type: &'static str,
    date_created: String,
}

/// `GET /account`.
pub async fn account(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Response, ApiError> {
    let scope = principal.scope;
    let (account, orgs) =
        state.store(move |s| Ok((s.account(scope.account_id)?, s.list_organizations(&scope)?))).await?;
    let account = account.ok_or_else(ApiError::invalid_key)?;
    let view = AccountView {
        id: account.id,
        name: &account.name,
        primary_organization_id: orgs.first().map(|o| o.id),
        primary_organization_name: orgs.first().map(|o| o.name.as_str()),
        cert_central_type: "enterprise",
        date_created: iso8601(account.created_at),
    };
    Ok(json_response(StatusCode::OK, &view))
}

#[derive(Serialize)]
struct StatusChange {
    order_id: Id,
    certificate_id: Id,
    status: &'static str,
}

#[derive(Serialize)]
struct StatusChanges {
    orders: Vec<StatusChange>,
}

/// The window of a status-changes request: `minutes=N`, `seconds=N` or
/// `filters[status_last_updated]=a...b`; at most seven days.
fn window(raw: &str, now: OffsetDateTime) -> Result<(OffsetDateTime, OffsetDateTime), ApiError> {
    let bad = |m: &str| ApiError::bad_request("invalid_time_frame", m.to_owned());
    let mut window = None;
    for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
        let span = |unit: i64| -> Result<_, ApiError> {
            let n: i64 =
                value.trim().parse().map_err(|_| bad("minutes and seconds must be whole numbers."))?;
            Ok((now - Duration::seconds(n.saturating_mul(unit).max(0)), now))
        };
        window = Some(match &*key {
            "minutes" => span(60)?,
            "seconds" => span(1)?,
            "filters[status_last_updated]" => {
                let range = super::params::parse_range(&value).ok_or_else(|| bad("Invalid date range."))?;
                let start = match range.start {
                    std::ops::Bound::Included(t) | std::ops::Bound::Excluded(t) => t,
                    std::ops::Bound::Unbounded => return Err(bad("The range needs a start.")),
                };
                let end = match range.end {
                    std::ops::Bound::Included(t) | std::ops::Bound::Excluded(t) => t,
                    std::ops::Bound::Unbounded => now,
                };
                (start, end)
            }
            _ => continue,
        });
    }
    let (from, to) = window.unwrap_or((now - Duration::minutes(10), now));
    if to - from > Duration::days(7) {
        return Err(ApiError::bad_request("time_frame_too_long", "The time frame may be at most 7 days."));
    }
    Ok((from, to))
}

/// `GET /order/certificate/status-changes`.
pub async fn status_changes(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let (from, to) = window(raw.as_deref().unwrap_or_default(), state.clock.now())?;
    let scope = principal.scope;
    let changes = state.store(move |s| s.status_changes(&scope, from, to)).await?;
    let orders = changes
        .into_iter()
        .map(|(order_id, certificate_id, status)| StatusChange {
            order_id,
            certificate_id,
            status: status.as_str(),
        })
        .collect();
    Ok(json_response(StatusCode::OK, &StatusChanges { orders }))
}
