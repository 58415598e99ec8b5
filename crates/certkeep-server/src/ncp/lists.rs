//! Flat certificate lists: `GET /api/v2/certificate/certificates` (every certificate NCP
//! shows: paid and imported), `getCertificates` (Cloud Basic and Global Edge certificates, which
//! certkeep does not issue) and API 1.0's `GET /api/v1/certificates`. Paged by certificate.

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::StatusCode,
    response::Response,
};
use certkeep_core::{CertificateGroup, CertificateGroupQuery, CertificateRecord, Id, Scope};
use serde::Serialize;

use super::{
    error::{NcpError, Origin, json_response},
    inventory::render,
    params::Query,
    views::{CertificateView, EXTERNAL_PRODUCT, Render, paid_products},
};
use crate::AppState;

/// Which certificates a list holds.
#[derive(Clone, Copy)]
enum Set {
    /// Paid and imported.
    All,
    /// Cloud Basic and Global Edge: none in certkeep.
    Cloud,
}

/// The certificates of `set` that NCP shows (imported ones not deleted), with their order,
/// filtered by `certificateName` (name or common name, case-insensitive) and `certificateNo`.
async fn select(
    state: &AppState,
    scope: Scope,
    set: Set,
    query: &Query,
) -> Result<(Render, Vec<CertificateGroup>), NcpError> {
    let render = render(state, scope.account_id).await?;
    let products = match set {
        Set::All => paid_products().into_iter().chain([EXTERNAL_PRODUCT.to_owned()]).collect(),
        Set::Cloud => vec![],
    };
    let all = CertificateGroupQuery { product_name_ids: products, common_name: None, offset: 0, limit: None };
    let mut groups = state.store(move |s| s.certificate_groups(&scope, &all)).await?.groups;
    let name = query.text("certificateName").map(str::to_lowercase);
    let number: Option<Id> = match query.text("certificateNo") {
        Some(n) => {
            Some(n.parse().map_err(|_| NcpError::invalid_parameter("certificateNo must be a number."))?)
        }
        None => None,
    };
    let instance = query.text("instanceNo").is_some();
    for g in &mut groups {
        let external = g.product_name_id == EXTERNAL_PRODUCT;
        g.certificates.retain(|c| {
            let meta = render.meta(c.id);
            let shown = if external { meta.is_some_and(|m| m.external && !m.deleted) } else { true };
            shown
                && !instance
                && number.is_none_or(|n| n == c.id)
                && name.as_ref().is_none_or(|n| *n == render.name(c).to_lowercase() || *n == c.common_name)
        });
    }
    groups.retain(|g| !g.certificates.is_empty());
    Ok((render, groups))
}

fn flatten(groups: &[CertificateGroup]) -> Vec<(&CertificateGroup, &CertificateRecord)> {
    groups.iter().flat_map(|g| g.certificates.iter().map(move |c| (g, c))).collect()
}

fn outcome(total: usize) -> (&'static str, &'static str) {
    if total == 0 { ("2200", "No certificate was found.") } else { ("0", "Success") }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Listed<'a> {
    #[serde(flatten)]
    certificate: CertificateView<'a>,
    external_yn: &'static str,
    renewal_yn: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CertificateList<'a> {
    return_code: &'static str,
    return_message: &'static str,
    total_count: usize,
    ssl_certificate_list: Vec<Listed<'a>>,
}

async fn v2_list(state: AppState, scope: Scope, raw: Option<String>, set: Set) -> Result<Response, NcpError> {
    let query = Query::parse(raw.as_deref());
    let paging = query.paging(0)?;
    let (render, groups) = select(&state, scope, set, &query).await?;
    let all = flatten(&groups);
    let total = all.len();
    let ssl_certificate_list = paging
        .window(all)
        .into_iter()
        .map(|(g, c)| {
            let meta = render.meta(c.id);
            let yn = |b: bool| if b { "Y" } else { "N" };
            Listed {
                certificate: render.certificate(g, c),
                external_yn: yn(meta.is_some_and(|m| m.external)),
                renewal_yn: yn(meta.is_some_and(|m| m.renewal)),
            }
        })
        .collect();
    let (return_code, return_message) = outcome(total);
    let body = CertificateList { return_code, return_message, total_count: total, ssl_certificate_list };
    Ok(json_response(StatusCode::OK, Origin::Endpoint, &body))
}

/// `GET /api/v2/certificate/certificates`: `page`, `pageSize` (default 0 = all),
/// `certificateName`.
pub async fn certificates(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    RawQuery(raw): RawQuery,
) -> Result<Response, NcpError> {
    v2_list(state, scope, raw, Set::All).await
}

/// `GET /api/v2/certificate/getCertificates`: Cloud Basic and Global Edge certificates.
/// certkeep sells neither, so the list is always empty (`2200`); parameters are still checked.
pub async fn cloud_certificates(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    RawQuery(raw): RawQuery,
) -> Result<Response, NcpError> {
    v2_list(state, scope, raw, Set::Cloud).await
}

/// One certificate of API 1.0's list.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1Certificate<'a> {
    certificate_no: Id,
    certificate_name: &'a str,
    certificate_type: Option<&'static str>,
    member_no: String,
    dn_info: String,
    domain_address: &'a str,
    sub_domain_address: String,
    reg_date: String,
    update_date: String,
    issue_date: Option<String>,
    valid_start_date: Option<String>,
    valid_end_date: Option<String>,
    status_code: &'static str,
    status_name: &'static str,
    external_yn: &'static str,
    domain_code: &'static str,
    cert_serial_number: Option<&'a str>,
}

impl<'a> V1Certificate<'a> {
    /// API 1.0's names for the fields of the one certificate view (`view` of `c`); only
    /// `subDomainAddress` differs: every DNS name as stored, the common name included.
    fn new(view: CertificateView<'a>, c: &'a CertificateRecord, external: bool) -> Self {
        V1Certificate {
            certificate_no: view.certificate_no,
            certificate_name: view.certificate_name,
            certificate_type: view.certificate_type,
            member_no: view.member_no,
            dn_info: view.subject_dn,
            domain_address: view.common_name,
            sub_domain_address: c.dns_names.join(","),
            reg_date: view.regist_date,
            update_date: view.update_date,
            issue_date: view.issue_date,
            valid_start_date: view.not_before,
            valid_end_date: view.not_after,
            status_code: view.status_code,
            status_name: view.status_name,
            external_yn: if external { "Y" } else { "N" },
            domain_code: view.domain_code,
            cert_serial_number: view.serial_number,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1List<'a> {
    return_code: &'static str,
    return_message: &'static str,
    total_rows: usize,
    ssl_certificate_list: Vec<V1Certificate<'a>>,
}

/// `GET /api/v1/certificates`: every certificate NCP shows, filtered by `certificateName`,
/// `certificateNo` and `instanceNo` (certkeep runs no NCP instances: it matches nothing).
pub async fn v1_certificates(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    RawQuery(raw): RawQuery,
) -> Result<Response, NcpError> {
    v1_answer(&state, scope, &Query::parse(raw.as_deref())).await
}

/// API 1.0's list of the certificates `query` selects.
pub async fn v1_answer(state: &AppState, scope: Scope, query: &Query) -> Result<Response, NcpError> {
    let (render, groups) = select(state, scope, Set::All, query).await?;
    let list: Vec<V1Certificate> = flatten(&groups)
        .into_iter()
        .map(|(g, c)| {
            let external = render.meta(c.id).is_some_and(|m| m.external);
            V1Certificate::new(render.certificate(g, c), c, external)
        })
        .collect();
    let (return_code, return_message) = outcome(list.len());
    let body = V1List { return_code, return_message, total_rows: list.len(), ssl_certificate_list: list };
    Ok(json_response(StatusCode::OK, Origin::Endpoint, &body))
}
