//! `GET /api/v2/certificate/getPaidCertificates` (seed 000): the account's Advanced (paid)
//! DV and OV certificates, grouped by order, paged by order.

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::StatusCode,
    response::Response,
};
use certkeep_core::{CertificateGroupQuery, Scope};
use serde::Serialize;

use super::{
    error::{NcpError, Origin, json_response},
    inventory::render,
    params::Query,
    views::{PaidOrder, paid_products},
};
use crate::AppState;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PaidCertificates<'a> {
    return_code: &'static str,
    return_message: &'static str,
    total_count: u64,
    orders: Vec<PaidOrder<'a>>,
}

/// Lists paid certificates (`page`, `pageSize` default 0 = all, `certificateName` = common
/// name). An empty selection answers `returnCode` 2200 ("No certificate was found."), still
/// with `totalCount` 0 and empty `orders`; a page past the end is a success.
pub async fn paid(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    RawQuery(raw): RawQuery,
) -> Result<Response, NcpError> {
    let params = Query::parse(raw.as_deref());
    let paging = params.paging(0)?;
    let query = CertificateGroupQuery {
        product_name_ids: paid_products(),
        common_name: params.text("certificateName").map(str::to_owned),
        offset: paging.offset(),
        limit: paging.limit(),
    };
    let render = render(&state, scope.account_id).await?;
    let page = state.store(move |s| s.certificate_groups(&scope, &query)).await?;
    let orders = page.groups.iter().filter_map(|g| render.paid_order(g)).collect();
    let (return_code, return_message) =
        if page.total == 0 { ("2200", "No certificate was found.") } else { ("0", "Success") };
    let body = PaidCertificates { return_code, return_message, total_count: page.total, orders };
    Ok(json_response(StatusCode::OK, Origin::Endpoint, &body))
}
