//! The account's records beside its orders: domains with their validation state, and for
//! administrators who see the whole account (as in the CertCentral door) the audit log and the
//! webhook's deliveries (administrators who see the whole account only, as in the CertCentral door).

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::StatusCode,
    response::Response,
};
use certkeep_core::{
    Id,
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

/// The page number of an account-wide record `what`, or its refusal: a user who is not an
/// administrator seeing the whole account, or a bad `page`.
fn account_page(signed: &SignedIn, raw: Option<String>, what: &str) -> Result<u64, Box<Response>> {
    if !signed.sees_whole_account() {
        let message = format!("{what} is for administrators who see the whole account.");
        return Err(Box::new(view::refusal(StatusCode::FORBIDDEN, &message)));
    }
    view::page_number(view::query_params(raw).get("page").map(String::as_str))
        .ok_or_else(|| Box::new(view::bad_page()))
}

/// `GET /console/audit?page=`: the account's audit log, newest first.
pub async fn audit(
    State(state): State<AppState>,
    Extension(signed): Extension<SignedIn>,
    RawQuery(raw): RawQuery,
) -> Response {
    let page = match account_page(&signed, raw, "The audit log") {
        Ok(p) => p,
        Err(refused) => return *refused,
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

/// Deliveries per webhook page.
const DELIVERIES_PER_PAGE: u64 = 25;

#[derive(Serialize)]
struct WebhookFacts {
    id: Id,
    endpoint: String,
    status: &'static str,
    verified: bool,
    events: String,
    created: String,
    pending: u64,
    delivered: u64,
    last_delivered: Option<String>,
    last_error: Option<String>,
}

#[derive(Serialize)]
struct DeliveryRow {
    id: Id,
    event: &'static str,
    order: Id,
    state: &'static str,
    attempts: u32,
    last_error: String,
    queued: String,
    delivered: String,
    next_attempt: String,
}

#[derive(Serialize)]
struct WebhookPage {
    header: Header,
    current: &'static str,
    webhook: Option<WebhookFacts>,
    total: u64,
    deliveries: Vec<DeliveryRow>,
    #[serde(flatten)]
    pager: Pager,
}

/// `GET /console/webhook?page=`: the account's webhook, where its deliveries stand, and its
/// events, newest first. Read only: webhooks are registered through the CertCentral API.
pub async fn webhook(
    State(state): State<AppState>,
    Extension(signed): Extension<SignedIn>,
    RawQuery(raw): RawQuery,
) -> Response {
    let page = match account_page(&signed, raw, "The webhook") {
        Ok(p) => p,
        Err(refused) => return *refused,
    };
    let account = signed.session.scope.account_id;
    let offset = (page - 1) * DELIVERIES_PER_PAGE;
    let found = state
        .store(move |s| {
            Ok((s.webhooks(account)?, s.webhook_deliveries(account, offset, DELIVERIES_PER_PAGE)?))
        })
        .await;
    let (hooks, (total, deliveries)) = match found {
        Ok(found) => found,
        Err(e) => return view::failure(&e),
    };
    let webhook = hooks.into_iter().next().map(|(w, summary)| WebhookFacts {
        id: w.id,
        endpoint: w.endpoint,
        status: w.status.as_str(),
        verified: w.verified,
        events: w.events.join(", "),
        created: view::date(w.date_created),
        pending: summary.pending,
        delivered: summary.delivered,
        last_delivered: summary.last_delivered.map(view::instant),
        last_error: summary.last_error,
    });
    let deliveries = deliveries
        .into_iter()
        .map(|d| DeliveryRow {
            id: d.id,
            event: d.event.as_str(),
            order: d.order_id,
            state: d.state().as_str(),
            attempts: d.attempts,
            queued: view::instant(d.created_at),
            delivered: d.delivered_at.map(view::instant).unwrap_or_default(),
            next_attempt: d.next_attempt.map(view::instant).unwrap_or_default(),
            last_error: d.last_error.unwrap_or_default(),
        })
        .collect();
    let pager = Pager::new(page, total, DELIVERIES_PER_PAGE, |p| format!("/console/webhook?page={p}"));
    view::page(
        StatusCode::OK,
        "webhook.html",
        &WebhookPage { header: signed.header(), current: "webhook", webhook, total, deliveries, pager },
    )
}
