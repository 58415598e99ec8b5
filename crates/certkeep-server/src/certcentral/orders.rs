//! Order endpoints: list (seed 001), order info (seed 002), duplicates (seed 003), reissues.

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::{HeaderMap, StatusCode, header},
    response::Response,
};
use certkeep_core::{CertificateKind, Id, OrderRef, Principal};
use serde::Serialize;

use super::{
    csv,
    params::{self, MAX_LIMIT},
    views::{DuplicateItem, OrderInfo, OrderListItem, Page, PathRef, ReissueItem},
};
use crate::digicert::Path;
use crate::{
    AppState,
    digicert::{ApiError, json_response},
};

fn wants_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().starts_with("text/csv")))
}

#[derive(Serialize)]
struct OrderList<'a> {
    orders: Vec<OrderListItem<'a>>,
    page: Page,
}

/// `GET /order/certificate`: JSON pages of at most 1000, or the whole selection as CSV.
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let raw = raw.unwrap_or_default();
    if wants_csv(&headers) {
        let params = params::parse_list(&raw, None)?;
        return Ok(csv::stream(state, principal.scope, params.query).await?);
    }
    let params = params::parse_list(&raw, Some(MAX_LIMIT))?;
    let now = state.clock.now();
    let query = params.query.clone();
    let page = state.store(move |s| s.list_orders(&principal.scope, &query, now)).await?;
    let body = OrderList {
        orders: page.orders.iter().map(|o| OrderListItem::new(o, now)).collect(),
        page: Page { total: page.total, limit: params.requested_limit, offset: params.query.offset },
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// How the path names an order: an id, or the current certificate's thumbprint or serial.
fn order_ref(segment: &str) -> Result<OrderRef, ApiError> {
    match PathRef::parse(segment) {
        Some(PathRef::Id(id)) => Ok(OrderRef::Id(id)),
        Some(PathRef::Hex(hex)) => Ok(OrderRef::Fingerprint(hex)),
        None => Err(ApiError::order_not_found()),
    }
}

/// The order id in a path (ids only, no thumbprints).
pub fn order_id(segment: &str) -> Result<Id, ApiError> {
    match order_ref(segment)? {
        OrderRef::Id(id) => Ok(id),
        OrderRef::Fingerprint(_) => Err(ApiError::order_not_found()),
    }
}

/// `GET /order/certificate/{order_id|thumbprint|serial}`.
pub async fn info(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(segment): Path<String>,
) -> Result<Response, ApiError> {
    let reference = order_ref(&segment)?;
    let scope = principal.scope;
    let detail = state
        .store(move |s| s.find_order(&scope, &reference))
        .await?
        .ok_or_else(ApiError::order_not_found)?;
    let now = state.clock.now();
    Ok(json_response(StatusCode::OK, &OrderInfo::new(&detail, &state.authority, now)))
}

fn show_archived(raw: Option<&str>) -> bool {
    form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .any(|(k, v)| k == "show_archived" && matches!(&*v, "true" | "1"))
}

#[derive(Serialize)]
struct CertificateList<T> {
    certificates: Vec<T>,
}

/// `GET /order/certificate/{order_id}/duplicate[?show_archived=true]`.
pub async fn duplicates(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(segment): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let id = order_id(&segment)?;
    let archived = show_archived(raw.as_deref());
    let scope = principal.scope;
    let found = state
        .store(move |s| s.order_certificates(&scope, id, CertificateKind::Duplicate, true))
        .await?
        .ok_or_else(ApiError::order_not_found)?;
    let now = state.clock.now();
    // Sub ids number every duplicate, archived or not, so that they stay stable.
    let certificates = found
        .certificates
        .iter()
        .enumerate()
        .filter(|(_, c)| archived || !c.archived)
        .map(|(i, c)| DuplicateItem::new(c, i + 1, &found.public_id, &state.authority, now))
        .collect();
    Ok(json_response(StatusCode::OK, &CertificateList { certificates }))
}

/// `GET /order/certificate/{order_id}/reissue[?show_archived=true]`.
pub async fn reissues(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(segment): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let id = order_id(&segment)?;
    let archived = show_archived(raw.as_deref());
    let scope = principal.scope;
    let found = state
        .store(move |s| s.order_certificates(&scope, id, CertificateKind::Reissue, archived))
        .await?
        .ok_or_else(ApiError::order_not_found)?;
    let now = state.clock.now();
    let certificates = found.certificates.iter().map(|c| ReissueItem::new(c, now)).collect();
    Ok(json_response(StatusCode::OK, &CertificateList { certificates }))
}
