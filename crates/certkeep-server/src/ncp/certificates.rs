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
    views::{PaidOrder, paid_products},
};
use crate::AppState;

/// `page`, `pageSize` and `certificateName`, as NCP's Java backend takes them: Integers.
#[derive(Debug, PartialEq, Eq)]
struct ListParams {
    page: u64,
    /// 0 = everything.
    page_size: u64,
    name: Option<String>,
}

fn integer(name: &str, value: &str, min: i64) -> Result<u64, NcpError> {
    let max = i64::from(i32::MAX);
    match value.trim().parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n as u64),
        _ => Err(NcpError::invalid_parameter(format!("{name} must be an integer from {min} to {max}."))),
    }
}

/// Parses the query; unknown parameters are ignored and the first of repeated ones counts.
fn parse(raw: &str) -> Result<ListParams, NcpError> {
    let mut params = ListParams { page: 1, page_size: 0, name: None };
    let (mut page, mut size, mut name) = (None, None, None);
    for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
        let slot = match &*key {
            "page" => &mut page,
            "pageSize" => &mut size,
            "certificateName" => &mut name,
            _ => continue,
        };
        slot.get_or_insert(value.into_owned());
    }
    if let Some(p) = page.filter(|p| !p.is_empty()) {
        params.page = integer("page", &p, 1)?;
    }
    if let Some(s) = size.filter(|s| !s.is_empty()) {
        params.page_size = integer("pageSize", &s, 0)?;
    }
    params.name = name.filter(|n| !n.trim().is_empty()).map(|n| n.trim().to_owned());
    Ok(params)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PaidCertificates<'a> {
    return_code: &'static str,
    return_message: &'static str,
    total_count: u64,
    orders: Vec<PaidOrder<'a>>,
}

/// Lists paid certificates. An empty selection answers `returnCode` 2200 ("No certificate was
/// found."), still with `totalCount` 0 and empty `orders`; a page past the end is a success.
pub async fn paid(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    RawQuery(raw): RawQuery,
) -> Result<Response, NcpError> {
    let params = parse(raw.as_deref().unwrap_or_default())?;
    let query = CertificateGroupQuery {
        product_name_ids: paid_products(),
        common_name: params.name,
        offset: params.page.saturating_sub(1).saturating_mul(params.page_size),
        limit: (params.page_size > 0).then_some(params.page_size),
    };
    let account_id = scope.account_id;
    let page = state.store(move |s| s.certificate_groups(&scope, &query)).await?;
    let now = state.clock.now();
    let orders =
        page.groups.iter().filter_map(|g| PaidOrder::new(g, account_id, now, state.ncp_time_zone)).collect();
    let (return_code, return_message) =
        if page.total == 0 { ("2200", "No certificate was found.") } else { ("0", "Success") };
    let body = PaidCertificates { return_code, return_message, total_count: page.total, orders };
    Ok(json_response(StatusCode::OK, Origin::Endpoint, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_default_and_validate() {
        assert_eq!(parse("").unwrap(), ListParams { page: 1, page_size: 0, name: None });
        assert_eq!(
            parse("page=2&pageSize=20&certificateName=my%20cert&x=1&page=9").unwrap(),
            ListParams { page: 2, page_size: 20, name: Some("my cert".into()) }
        );
        assert_eq!(parse("page=&pageSize=&certificateName=").unwrap().page, 1);
        for bad in ["page=0", "page=-1", "page=x", "pageSize=-1", "pageSize=2147483648", "page=1e3"] {
            let Err(NcpError::Service { status, code, message }) = parse(bad) else { panic!("{bad}") };
            assert_eq!((status, code), (StatusCode::BAD_REQUEST, "2000"), "{bad}");
            assert!(message.contains("must be an integer"), "{message}");
        }
        assert_eq!(parse("pageSize=2147483647").unwrap().page_size, 2_147_483_647);
    }
}
