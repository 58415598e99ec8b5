//! `GET/POST /api/v2/domain/domains` and `DELETE /api/v2/domain/domains/{dmnId}`: the
//! inventory's domains (the same ones CertCentral's `/domain` shows), registered through the
//! shared lifecycle.

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::StatusCode,
    response::Response,
};
use certkeep_core::{Domain, Id, Scope, names};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    acting::{Body, acting, id_field, parse, required},
    error::{NcpError, Origin, json_response},
    inventory::NcpCaller,
    params::Query,
    views::Done,
};
use crate::{AppState, digicert::Path, wire::ymd_hms_zoned};

/// NCP's `dcvType` of a domain: `TXT` for a per-issuance DNS TXT token, `PTXT` (persistent)
/// for every method that keeps the domain validated.
fn dcv_type(d: &Domain) -> &'static str {
    if d.dcv_method == "dns-txt-token" { "TXT" } else { "PTXT" }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DomainView {
    dmn_id: Id,
    member_no: String,
    domain_address: String,
    dcv_type: &'static str,
    org_no: Option<Id>,
    valid_state: &'static str,
    regist_date: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Domains {
    return_code: &'static str,
    return_message: &'static str,
    total_rows: usize,
    domain_vld_list: Vec<DomainView>,
}

fn view(state: &AppState, account_id: Id, d: &Domain) -> DomainView {
    DomainView {
        dmn_id: d.id,
        member_no: account_id.to_string(),
        domain_address: d.name.clone(),
        dcv_type: dcv_type(d),
        org_no: d.organization_id,
        valid_state: if d.validated_at.is_some() { "VALID" } else { "PENDING" },
        regist_date: ymd_hms_zoned(d.date_created, state.ncp_time_zone),
    }
}

fn answer(total_rows: usize, domain_vld_list: Vec<DomainView>) -> Response {
    let body = Domains { return_code: "0", return_message: "Success", total_rows, domain_vld_list };
    json_response(StatusCode::OK, Origin::Endpoint, &body)
}

/// Lists domains: `page` (default 1), `pageSize` (default 10), `domainAddress`, `dcvType`,
/// `orgNo`, `validState` (exact matches).
pub async fn list(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    RawQuery(raw): RawQuery,
) -> Result<Response, NcpError> {
    let query = Query::parse(raw.as_deref());
    let paging = query.paging(10)?;
    let address = query.text("domainAddress").map(str::to_lowercase);
    let org = query.integer("orgNo", 1)?.map(|n| n as Id);
    let account_id = scope.account_id;
    let domains = state.store(move |s| s.list_domains(&scope)).await?;
    let views: Vec<DomainView> = domains
        .iter()
        .map(|d| view(&state, account_id, d))
        .filter(|v| address.as_ref().is_none_or(|a| *a == v.domain_address))
        .filter(|v| query.text("dcvType").is_none_or(|t| t == v.dcv_type))
        .filter(|v| query.text("validState").is_none_or(|s| s == v.valid_state))
        .filter(|v| org.is_none_or(|o| v.org_no == Some(o)))
        .collect();
    let total = views.len();
    Ok(answer(total, paging.window(views)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterBody {
    dmn_addr: Option<String>,
    dcv_type: Option<String>,
    org_no: Option<Value>,
}

/// Registers a domain as validated for the account (`dcvType` `TXT` or `PTXT`; `issueType` is
/// accepted and ignored: console and ACME issuance share the inventory's domains). A domain
/// the account already has is `2100`.
pub async fn register(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Extension(caller): Extension<NcpCaller>,
    Body(body): Body,
) -> Result<Response, NcpError> {
    let b: RegisterBody = parse(&body)?;
    let address = required(&b.dmn_addr, "dmnAddr")?.to_owned();
    let method = match b.dcv_type.as_deref().map(str::trim) {
        None | Some("" | "PTXT") => "pre-validated",
        Some("TXT") => "dns-txt-token",
        Some(other) => {
            return Err(NcpError::invalid_parameter(format!("dcvType must be PTXT or TXT, not {other:?}.")));
        }
    };
    let organization_id = id_field(&b.org_no, "orgNo")?;
    if names::normalize(&address).is_err() {
        return Err(NcpError::invalid_parameter(format!("{address:?} is not a domain name.")));
    }
    let acting = acting(&state, &scope, &caller).await?;
    let (lifecycle_scope, container) = (scope.clone(), acting.container_id);
    let id = state
        .lifecycle(move |l| {
            l.add_domain(&lifecycle_scope, &acting.actor, &address, container, organization_id, method)
        })
        .await?;
    let account_id = scope.account_id;
    let domains = state.store(move |s| s.list_domains(&scope)).await?;
    let views = domains.iter().filter(|d| d.id == id).map(|d| view(&state, account_id, d)).collect();
    Ok(answer(1, views))
}

/// Deletes a domain of the account; an unknown or foreign one is `2100`.
pub async fn delete(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Extension(caller): Extension<NcpCaller>,
    Path(domain): Path<String>,
) -> Result<Response, NcpError> {
    let not_found = || NcpError::refused("No domain of the account has this dmnId.");
    let id: Id = domain.trim().parse().map_err(|_| not_found())?;
    let acting = acting(&state, &scope, &caller).await?;
    state.lifecycle(move |l| l.remove_domain(&scope, &acting.actor, id)).await.map_err(|e| match e {
        certkeep_core::lifecycle::LifecycleError::NotFound(_) => not_found(),
        other => other.into(),
    })?;
    Ok(json_response(StatusCode::OK, Origin::Endpoint, &Done::default()))
}
