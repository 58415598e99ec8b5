//! `GET /audit-log`: the account's audit log, for administrators, paged as CertCentral lists
//! are (`limit`, `offset`, a `page` object), newest first.

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::StatusCode,
    response::Response,
};
use certkeep_core::{Id, Principal, audit::AuditQuery};
use serde::Serialize;

use super::{
    params::{MAX_LIMIT, parse_instant},
    views::Page,
};
use crate::{
    AppState,
    digicert::{ApiError, json_response},
    wire::iso8601,
};

#[derive(Serialize)]
struct IdOnly {
    id: Id,
}

#[derive(Serialize)]
struct Entry {
    id: Id,
    date: String,
    action: String,
    object: String,
    detail: String,
    /// `success`, or `refused` for writes that changed nothing.
    outcome: &'static str,
    ip_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<IdOnly>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key: Option<IdOnly>,
}

#[derive(Serialize)]
struct AuditLog {
    audit_logs: Vec<Entry>,
    page: Page,
}

/// `GET /audit-log?since=...&limit=...&offset=...`: administrators whose key inherits their
/// rights over the whole account only.
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    if !super::auth::account_administrator(&principal) {
        return Err(ApiError::missing_permission());
    }
    let mut query = AuditQuery { limit: MAX_LIMIT, ..AuditQuery::default() };
    let mut limit = 0;
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match &*key {
            "limit" => {
                limit = value.trim().parse().ok().filter(|l| *l <= MAX_LIMIT).ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_limit",
                        format!("limit must be an integer from 0 to {MAX_LIMIT}."),
                    )
                })?
            }
            "offset" => {
                query.offset = value.trim().parse().map_err(|_| {
                    ApiError::bad_request("invalid_offset", "offset must be a non-negative integer.")
                })?
            }
            "since" => {
                query.since = Some(parse_instant(&value).map(|(t, _)| t).ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_since",
                        "since must be a date, a date and time or RFC 3339.",
                    )
                })?)
            }
            _ => {}
        }
    }
    if limit > 0 {
        query.limit = limit;
    }
    let offset = query.offset;
    let account = principal.scope.account_id;
    let found = state.store(move |s| s.audit_events(Some(account), &query)).await?;
    let audit_logs = found
        .records
        .into_iter()
        .map(|r| Entry {
            id: r.id,
            date: iso8601(r.event.at),
            action: r.event.action,
            object: r.event.object,
            detail: r.event.detail,
            outcome: if r.event.refused { "refused" } else { "success" },
            ip_address: r.event.source,
            user: r.event.user_id.map(|id| IdOnly { id }),
            api_key: r.event.api_key_id.map(|id| IdOnly { id }),
        })
        .collect();
    let body = AuditLog { audit_logs, page: Page { total: found.total, limit, offset } };
    Ok(json_response(StatusCode::OK, &body))
}
