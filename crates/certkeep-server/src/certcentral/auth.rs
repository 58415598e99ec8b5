//! `X-DC-DEVKEY` authentication, key roles and per-key rate limits.

use std::time::Instant;

use axum::{
    extract::{Request, State},
    http::Method,
    middleware::Next,
    response::{IntoResponse, Response},
};
use certkeep_core::{AccessRole, ApiKeyRole, Principal, credentials::hash_api_key};

use crate::AppState;
use crate::audit::{Caller, refused_write};
use crate::digicert::ApiError;

/// The audit action of writes refused here.
const REFUSED: &str = "certcentral.auth";

/// Resolves the key to a [`certkeep_core::Principal`] (added to the request's extensions),
/// refuses writes by view-only keys and enforces the rate limit.
pub async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    // Header names are case-insensitive; `http` normalises them.
    let key = request.headers().get("x-dc-devkey").and_then(|v| v.to_str().ok()).map(str::trim);
    let Some(key) = key.filter(|k| !k.is_empty() && k.len() <= 256) else {
        refused_write(&state, &request, Caller::default(), REFUSED, "no valid X-DC-DEVKEY").await;
        return ApiError::invalid_key().into_response();
    };
    let hash = hash_api_key(key);
    let now = Instant::now();
    let principal = match state.key_cache.get(&hash, now) {
        Some(p) => Ok(Some(p)),
        None => {
            let lookup = hash.clone();
            let found = state.store(move |s| s.authenticate(&lookup)).await;
            if let Ok(Some(p)) = &found {
                // Remembered from the store's answer only, so the TTL runs from the lookup.
                state.key_cache.put(hash, p.clone(), now);
            }
            found
        }
    };
    let principal = match principal {
        Ok(Some(p)) => p,
        Ok(None) => {
            refused_write(&state, &request, Caller::default(), REFUSED, "unknown or revoked X-DC-DEVKEY")
                .await;
            return ApiError::invalid_key().into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !principal.role.can_write() && !matches!(*request.method(), Method::GET | Method::HEAD) {
        let caller = Caller {
            account_id: Some(principal.scope.account_id),
            user_id: Some(principal.user_id),
            api_key_id: Some(principal.api_key_id),
        };
        refused_write(&state, &request, caller, REFUSED, "view-only key").await;
        return ApiError::missing_permission().into_response();
    }
    if !state.admit(&format!("certcentral:{}", principal.api_key_id), now) {
        return ApiError::rate_limited().into_response();
    }
    let actor = super::body::actor(&principal, request.extensions());
    request.extensions_mut().insert(actor);
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// Whether the key acts for an administrator with the user's own rights over the whole
/// account (what account settings such as the audit log and webhooks need).
pub fn account_administrator(principal: &Principal) -> bool {
    principal.access_role == AccessRole::Administrator
        && principal.role == ApiKeyRole::Inherit
        && principal.scope.containers.is_none()
}
