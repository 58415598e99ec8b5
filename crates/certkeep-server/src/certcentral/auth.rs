//! `X-DC-DEVKEY` authentication, key roles and per-key rate limits.

use std::time::Instant;

use axum::{
    extract::{Request, State},
    http::Method,
    middleware::Next,
    response::{IntoResponse, Response},
};
use certkeep_core::credentials::hash_api_key;

use crate::AppState;
use crate::digicert::ApiError;

/// Resolves the key to a [`certkeep_core::Principal`] (added to the request's extensions),
/// refuses writes by view-only keys and enforces the rate limit.
pub async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    // Header names are case-insensitive; `http` normalises them.
    let Some(key) = request.headers().get("x-dc-devkey").and_then(|v| v.to_str().ok()).map(str::trim) else {
        return ApiError::invalid_key().into_response();
    };
    if key.is_empty() || key.len() > 256 {
        return ApiError::invalid_key().into_response();
    }
    let hash = hash_api_key(key);
    let principal = match state.store(move |s| s.authenticate(&hash)).await {
        Ok(Some(p)) => p,
        Ok(None) => return ApiError::invalid_key().into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !principal.role.can_write() && !matches!(*request.method(), Method::GET | Method::HEAD) {
        return ApiError::missing_permission().into_response();
    }
    if !state.rate_limiter.allow(&format!("certcentral:{}", principal.api_key_id), Instant::now()) {
        return ApiError::rate_limited().into_response();
    }
    let actor = super::body::actor(&principal, request.extensions());
    request.extensions_mut().insert(actor);
    request.extensions_mut().insert(principal);
    next.run(request).await
}
