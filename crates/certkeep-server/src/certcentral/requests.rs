//! Requests: list, info, and the approve/reject decision that drives issuance.

use axum::{
    Extension,
    extract::{RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use certkeep_core::{
    Id, Principal, RequestDetail, RequestQuery, RequestStatus, RequestType, lifecycle::Actor,
};
use serde::{Deserialize, Serialize};

use super::{
    body,
    params::MAX_LIMIT,
    views::{IdName, MaybeOrganization, Page, ProductBrief, product_brief},
};
use crate::digicert::{Body, Path};
use crate::{
    AppState,
    digicert::{ApiError, json_response},
    wire::iso8601,
};

#[derive(Serialize)]
struct Requester<'a> {
    id: Id,
    first_name: &'a str,
    last_name: &'a str,
    email: &'a str,
}

#[derive(Serialize)]
struct RequestOrderCertificate<'a> {
    common_name: &'a str,
    dns_names: &'a [String],
}

#[derive(Serialize)]
struct RequestOrder<'a> {
    id: Id,
    certificate: RequestOrderCertificate<'a>,
    organization: MaybeOrganization<IdName<'a>>,
    container: IdName<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    product: Option<ProductBrief>,
}

/// A request as the request endpoints (and a pending revocation) show it.
#[derive(Serialize)]
pub struct RequestView<'a> {
    id: Id,
    date: String,
    #[serde(rename = "type")]
    request_type: &'static str,
    status: &'static str,
    requester: Requester<'a>,
    order: RequestOrder<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comments: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    processor_comment: Option<&'a str>,
}

impl<'a> From<&'a RequestDetail> for RequestView<'a> {
    fn from(d: &'a RequestDetail) -> Self {
        let o = &d.order;
        Self {
            id: d.request.id,
            date: iso8601(d.request.date),
            request_type: d.request.request_type.as_str(),
            status: d.request.status.as_str(),
            requester: Requester {
                id: d.requester.id,
                first_name: &d.requester.first_name,
                last_name: &d.requester.last_name,
                email: &d.requester.email,
            },
            order: RequestOrder {
                id: o.id,
                certificate: RequestOrderCertificate {
                    common_name: &o.certificate.common_name,
                    dns_names: &o.certificate.dns_names,
                },
                organization: o.organization.as_ref().map(|(id, name)| IdName { id: *id, name }).into(),
                container: IdName { id: o.container.id, name: &o.container.name },
                product: product_brief(&o.product_name_id),
            },
            comments: d.request.comments.as_deref(),
            processor_comment: d.processor_comment.as_deref(),
        }
    }
}

#[derive(Serialize)]
struct RequestList<'a> {
    requests: Vec<RequestView<'a>>,
    page: Page,
}

fn invalid(name: &str, value: &str) -> ApiError {
    ApiError::bad_request(
        format!("invalid_filter_value|{name}"),
        format!("The value {value:?} is not valid for filters[{name}]."),
    )
}

/// `GET /request` with `filters[status]`, `filters[type]`, `offset` and `limit`.
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut query = RequestQuery::default();
    let mut limit = 0;
    for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let name = key.strip_prefix("filters[").and_then(|k| k.split(']').next());
        match (name, &*key) {
            // Each value once: repeats are bounded by the few statuses and types before SQL.
            (Some("status"), _) => {
                let status = RequestStatus::parse(&value).ok_or_else(|| invalid("status", &value))?;
                if !query.status.contains(&status) {
                    query.status.push(status);
                }
            }
            (Some("type"), _) => {
                let kind = RequestType::parse(&value).ok_or_else(|| invalid("type", &value))?;
                if !query.request_type.contains(&kind) {
                    query.request_type.push(kind);
                }
            }
            (Some(other), _) => {
                return Err(ApiError::bad_request(
                    format!("invalid_filter|{other}"),
                    format!("filters[{other}] is not a supported filter."),
                ));
            }
            (None, "offset") => {
                query.offset = value.parse().map_err(|_| {
                    ApiError::bad_request("invalid_offset", "offset must be a non-negative integer.")
                })?
            }
            (None, "limit") => {
                limit = value.parse().ok().filter(|l| *l <= MAX_LIMIT).ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_limit",
                        format!("limit must be an integer from 0 to {MAX_LIMIT}."),
                    )
                })?
            }
            _ => {}
        }
    }
    query.limit = Some(if limit == 0 { MAX_LIMIT } else { limit });
    let offset = query.offset;
    let scope = principal.scope;
    let (total, requests) = state.store(move |s| s.list_requests(&scope, &query)).await?;
    let body = RequestList {
        requests: requests.iter().map(Into::into).collect(),
        page: Page { total, limit, offset },
    };
    Ok(json_response(StatusCode::OK, &body))
}

fn request_id(segment: &str) -> Result<Id, ApiError> {
    segment.parse().ok().filter(|id| *id > 0).ok_or_else(request_not_found)
}

fn request_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found|request", "Request not found.")
}

/// `GET /request/{request_id}`.
pub async fn info(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(segment): Path<String>,
) -> Result<Response, ApiError> {
    let id = request_id(&segment)?;
    let scope = principal.scope;
    let detail = state.store(move |s| s.find_request(&scope, id)).await?.ok_or_else(request_not_found)?;
    Ok(json_response(StatusCode::OK, &RequestView::from(&detail)))
}

#[derive(Deserialize)]
struct DecisionBody {
    status: Option<String>,
    processor_comment: Option<String>,
}

/// `PUT /request/{request_id}/status` with `approved` or `rejected`: 204.
pub async fn decide(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(actor): Extension<Actor>,
    Path(segment): Path<String>,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    let id = request_id(&segment)?;
    let b: DecisionBody = body::parse(&bytes)?;
    let approve = match b.status.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("approved") => true,
        Some("rejected") => false,
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid_status",
                format!("A request can be approved or rejected, not {other:?}."),
            ));
        }
        None => return Err(ApiError::missing("status")),
    };
    if !principal.may_skip_approval {
        return Err(ApiError::missing_permission());
    }
    let scope = principal.scope;
    state
        .lifecycle(move |l| l.decide_request(&scope, &actor, id, approve, b.processor_comment.as_deref()))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
