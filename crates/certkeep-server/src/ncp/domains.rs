//! `GET/POST /api/v2/domain/domains` and `DELETE /api/v2/domain/domains/{dmnId}`: the
//! inventory's domains (the same ones CertCentral's `/domain` shows), registered through the
//! shared lifecycle. A registered domain is `PENDING` until its control is shown (its random
//! value, `txtId`, in a DNS TXT record; checked with CertCentral's
//! `PUT /domain/{id}/dcv/validate-token`), `VALID` while the validation counts, then `INVALID`.

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::StatusCode,
    response::Response,
};
use certkeep_core::{
    Domain, Id, Scope,
    dcv::{DcvMethod, DomainStatus},
    names,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::{
    acting::{Body, acting, id_field, parse, required},
    error::{NcpError, Origin, json_response},
    inventory::NcpCaller,
    params::{Path, Query},
    views::Done,
};
use crate::{AppState, wire::ymd_hms_zoned};

/// NCP's `dcvType` of a domain: `PTXT` (persistent) for a domain the operator vouched for,
/// `TXT` for every domain whose control is shown by a random value (certkeep does not
/// implement NCP's persistent TXT record: RegisterDomain's `PTXT` registers a `TXT` domain).
fn dcv_type(d: &Domain) -> &'static str {
    if d.dcv_method == DcvMethod::Operator { "PTXT" } else { "TXT" }
}

/// NCP's `validState`.
fn valid_state(d: &Domain, now: OffsetDateTime) -> &'static str {
    match d.status(now) {
        DomainStatus::Pending => "PENDING",
        DomainStatus::Validated => "VALID",
        DomainStatus::Expired => "INVALID",
    }
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
    /// The random value to publish while the domain is not valid (NCP's DCV status calls
    /// name theirs `txtId`).
    #[serde(skip_serializing_if = "Option::is_none")]
    txt_id: Option<String>,
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
    let now = state.clock.now();
    DomainView {
        dmn_id: d.id,
        member_no: account_id.to_string(),
        domain_address: d.name.clone(),
        dcv_type: dcv_type(d),
        org_no: d.organization_id,
        valid_state: valid_state(d, now),
        txt_id: d
            .dcv_token
            .as_ref()
            .filter(|_| d.status(now) != DomainStatus::Validated)
            .map(|t| t.value.clone()),
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

/// Registers a domain for the account, pending until its DNS TXT random value is found
/// (`dcvType` `TXT` or `PTXT`, both a TXT record; `issueType` is accepted and ignored: console
/// and ACME issuance share the inventory's domains). A domain the account already has is
/// `2100`.
pub async fn register(
    State(state): State<AppState>,
    Extension(scope): Extension<Scope>,
    Extension(caller): Extension<NcpCaller>,
    Body(body): Body,
) -> Result<Response, NcpError> {
    let b: RegisterBody = parse(&body)?;
    let address = required(&b.dmn_addr, "dmnAddr")?.to_owned();
    let method = match b.dcv_type.as_deref().map(str::trim) {
        None | Some("" | "PTXT" | "TXT") => DcvMethod::DnsTxtToken,
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
    let domain = state
        .lifecycle(move |l| {
            l.add_domain(&lifecycle_scope, &acting.actor, &address, container, organization_id, method)
        })
        .await?;
    Ok(answer(1, vec![view(&state, scope.account_id, &domain)]))
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
