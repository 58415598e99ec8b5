//! `orders` and `orders/{orderId}`: the account's paid orders as subscriptions with their
//! certificates. Issuance and reissue answer with the same view of the order they changed.

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::StatusCode,
    response::Response,
};
use certkeep_core::{CertificateGroupQuery, Id, Scope};
use serde::Serialize;

use super::{
    error::{NcpError, Origin, json_response},
    inventory::{group, render},
    params::{Path, Query},
    views::{OrderView, paid_products},
};
use crate::AppState;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Orders<'a> {
    return_code: &'static str,
    return_message: &'static str,
    total_count: u64,
    orders: Vec<OrderView<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OneOrder<'a> {
    return_code: &'static str,
    return_message: &'static str,
    total_count: u64,
    #[serde(flatten)]
    order: OrderView<'a>,
}

/// `GET /api/v2/certificate/orders`: `page` (default 1), `pageSize` (default 0 = all).
pub async fn list(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    RawQuery(raw): RawQuery,
) -> Result<Response, NcpError> {
    let paging = Query::parse(raw.as_deref()).paging(0)?;
    let query = CertificateGroupQuery {
        product_name_ids: paid_products(),
        common_name: None,
        offset: paging.offset(),
        limit: paging.limit(),
    };
    let render = render(&state, scope.account_id).await?;
    let page = state.store(move |s| s.certificate_groups(&scope, &query)).await?;
    let orders = page.groups.iter().filter_map(|g| render.order(g)).collect();
    let (return_code, return_message) =
        if page.total == 0 { ("2200", "No certificate was found.") } else { ("0", "Success") };
    let body = Orders { return_code, return_message, total_count: page.total, orders };
    Ok(json_response(StatusCode::OK, Origin::Endpoint, &body))
}

/// `GET /api/v2/certificate/orders/{orderId}`; an order that is not a paid order of the
/// account is `2200`.
pub async fn detail(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Path(order): Path<String>,
) -> Result<Response, NcpError> {
    let id = order.trim().parse().map_err(|_| NcpError::no_certificate())?;
    respond(&state, &scope, id).await
}

/// Answers with one paid order of the scope.
pub async fn respond(state: &AppState, scope: &Scope, order_id: Id) -> Result<Response, NcpError> {
    let render = render(state, scope.account_id).await?;
    let lookup = scope.clone();
    let g = state.store(move |s| group(s, &lookup, order_id)).await?.ok_or_else(NcpError::no_certificate)?;
    let order = render.order(&g).ok_or_else(NcpError::no_certificate)?;
    let body = OneOrder { return_code: "0", return_message: "Success", total_count: 1, order };
    Ok(json_response(StatusCode::OK, Origin::Endpoint, &body))
}
