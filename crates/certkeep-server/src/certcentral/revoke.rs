//! Revocation: one certificate (by id or serial) or every certificate of an order.

use axum::{
    Extension,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use certkeep_ca::RevocationReason;
use certkeep_core::{
    Principal,
    lifecycle::{Actor, RevokeTarget},
};
use serde::Deserialize;

use super::{
    body::{self, flag},
    downloads::certificate_ref,
    requests::RequestView,
};
use crate::digicert::{Body, Path};
use crate::{
    AppState,
    digicert::{ApiError, json_response},
};

/// Both spellings clients send: `comments`/`comment`, `revocation_reason` (snake_case,
/// certmesh) / `reason` (camelCase, Venafi).
#[derive(Deserialize)]
struct RevokeBody {
    comments: Option<String>,
    comment: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    skip_approval: bool,
    revocation_reason: Option<String>,
    reason: Option<String>,
}

async fn revoke(
    state: AppState,
    principal: Principal,
    actor: Actor,
    target: RevokeTarget,
    bytes: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let b: RevokeBody = body::parse(&bytes)?;
    let reason = match b.revocation_reason.as_deref().or(b.reason.as_deref()) {
        None => RevocationReason::Unspecified,
        Some(r) => r.parse().map_err(|_| {
            ApiError::bad_request("invalid_revocation_reason", format!("{r:?} is not a revocation reason."))
        })?,
    };
    let comment = b.comments.or(b.comment);
    let scope = principal.scope.clone();
    let request = state
        .lifecycle(move |l| {
            l.revoke(&scope, &actor, &target, reason.as_str(), comment.as_deref(), b.skip_approval)
        })
        .await?;
    let Some(request_id) = request else { return Ok(StatusCode::NO_CONTENT.into_response()) };
    let scope = principal.scope;
    let detail = state
        .store(move |s| s.find_request(&scope, request_id))
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found|request", "Request not found."))?;
    Ok(json_response(StatusCode::CREATED, &RequestView::from(&detail)))
}

/// `PUT /certificate/{certificate_id or serial}/revoke`: 201 with the request, or 204 when
/// revoked at once (`skip_approval`).
pub async fn certificate(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(actor): Extension<Actor>,
    Path(certificate): Path<String>,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    let target = RevokeTarget::Certificate(certificate_ref(&certificate)?);
    revoke(state, principal, actor, target, bytes).await
}

/// `PUT /order/certificate/{order_id}/revoke`: every certificate of the order.
pub async fn order(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Extension(actor): Extension<Actor>,
    Path(order): Path<String>,
    Body(bytes): Body,
) -> Result<Response, ApiError> {
    let target = RevokeTarget::Order(super::orders::order_id(&order)?);
    revoke(state, principal, actor, target, bytes).await
}
