//! The account's records beside its orders: domains with their validation state, ACME
//! contracts, and the audit log (administrators who see the whole account only, as in the CertCentral door).

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::StatusCode,
    response::Response,
};
use certkeep_core::{
    audit::AuditQuery,
    dcv::{DcvMethod, DomainStatus},
};
use serde::Serialize;

use super::session::SignedIn;
use super::view::{self, Header, Pager};
use crate::AppState;

/// Events per audit-log page.
const PER_PAGE: u64 = 50;

#[derive(Serialize)]
struct DomainRow {
    name: String,
    status: &'static str,
    method: &'static str,
    validated: String,
    created: String,
}

#[derive(Serialize)]
struct DomainsPage {
    header: Header,
    current: &'static str,
    domains: Vec<DomainRow>,
}

/// How a domain's control is shown, in words.
fn method_words(m: DcvMethod) -> &'static str {
    match m {
        DcvMethod::DnsTxtToken => "DNS TXT record",
        DcvMethod::DnsCnameToken => "DNS CNAME record",
        DcvMethod::HttpToken => "file over HTTP",
        DcvMethod::Email => "e-mail (not sent by certkeep)",
        DcvMethod::Operator => "vouched for by the operator",
    }
}

/// `GET /console/domains`.
pub async fn domains(State(state): State<AppState>, Extension(signed): Extension<SignedIn>) -> Response {
    let scope = signed.session.scope.clone();
    let domains = match state.store(move |s| s.list_domains(&scope)).await {
        Ok(d) => d,
        Err(e) => return view::failure(&e),
    };
    let now = state.clock.now();
    let rows = domains
        .iter()
        .map(|d| DomainRow {
            name: d.name.clone(),
            status: match d.status(now) {
                DomainStatus::Pending => "pending",
                DomainStatus::Validated => "validated",
                DomainStatus::Expired => "expired",
            },
            method: method_words(d.dcv_method),
            validated: d.validated_at.map(view::instant).unwrap_or_else(|| "never".into()),
            created: view::date(d.date_created),
        })
        .collect();
    view::page(
        StatusCode::OK,
        "domains.html",
        &DomainsPage { header: signed.header(), current: "domains", domains: rows },
    )
}

#[derive(Serialize)]
struct EventRow {
    at: String,
    action: String,
    object: String,
    outcome: &'static str,
    user: String,
    source: String,
    detail: String,
}

#[derive(Serialize)]
struct AuditPage {
    header: Header,
    current: &'static str,
    total: u64,
    events: Vec<EventRow>,
    #[serde(flatten)]
    pager: Pager,
}

/// `GET /console/audit?page=`: the account's audit log, newest first.
pub async fn audit(
    State(state): State<AppState>,
    Extension(signed): Extension<SignedIn>,
    RawQuery(raw): RawQuery,
) -> Response {
    if !signed.sees_whole_account() {
        return view::refusal(
            StatusCode::FORBIDDEN,
            "The audit log is for administrators who see the whole account.",
        );
    }
    let page = match view::page_number(view::query_params(raw).get("page").map(String::as_str)) {
        Some(p) => p,
        None => return view::bad_page(),
    };
    let account = signed.session.scope.account_id;
    let query = AuditQuery { since: None, offset: (page - 1) * PER_PAGE, limit: PER_PAGE };
    let found = match state.store(move |s| s.audit_events(Some(account), &query)).await {
        Ok(found) => found,
        Err(e) => return view::failure(&e),
    };
    let events = found
        .records
        .iter()
        .map(|r| {
            let e = &r.event;
            EventRow {
                at: view::instant(e.at),
                action: e.action.clone(),
                object: e.object.clone(),
                outcome: if e.refused { "refused" } else { "success" },
                user: e.user_id.map(|u| format!("user {u}")).unwrap_or_default(),
                source: e.source.clone(),
                detail: e.detail.clone(),
            }
        })
        .collect();
    let pager = Pager::new(page, found.total, PER_PAGE, |p| format!("/console/audit?page={p}"));
    view::page(
        StatusCode::OK,
        "audit.html",
        &AuditPage { header: signed.header(), current: "audit", total: found.total, events, pager },
    )
}

#[derive(Serialize)]
struct ContractRow {
    id: certkeep_core::Id,
    product: &'static str,
    names: String,
    auto_renew: bool,
    created: String,
    valid_till: String,
    state: &'static str,
}

#[derive(Serialize)]
struct ContractsPage {
    header: Header,
    current: &'static str,
    contracts: Vec<ContractRow>,
}

/// `GET /console/contracts`: the ACME contracts in the user's containers, with the names
/// each may order (their EAB credentials are never shown here).
pub async fn contracts(State(state): State<AppState>, Extension(signed): Extension<SignedIn>) -> Response {
    let scope = signed.session.scope.clone();
    let found = state
        .store(move |s| {
            let all = s.contracts(scope.account_id)?;
            Ok(all.into_iter().filter(|c| scope.allows_container(c.container_id)).collect::<Vec<_>>())
        })
        .await;
    let contracts = match found {
        Ok(c) => c,
        Err(e) => return view::failure(&e),
    };
    let now = state.clock.now();
    let rows = contracts
        .iter()
        .map(|c| ContractRow {
            id: c.id,
            product: certkeep_core::Product::find(&c.product_name_id).map_or("unknown", |p| p.name),
            names: c.sans.join(", "),
            auto_renew: c.auto_renew,
            created: view::date(c.created_at),
            valid_till: view::date(c.valid_till),
            state: match c.date_canceled {
                Some(_) => "canceled",
                None if c.valid_till <= now => "expired",
                None => "active",
            },
        })
        .collect();
    view::page(
        StatusCode::OK,
        "contracts.html",
        &ContractsPage { header: signed.header(), current: "contracts", contracts: rows },
    )
}
