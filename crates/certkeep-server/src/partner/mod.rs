//! DigiCert Partner Subscriptions API (`/partner-subscription/api/v1`): subaccounts and ACME
//! contracts, authenticated by `X-PARTNER-APIKEY`. Contract endpoints take subaccount keys
//! only; subaccount creation and reporting take parent keys only.

mod accounts;
mod contracts;

use std::time::Instant;

use axum::{
    Router,
    extract::{Request, State},
    http::Method,
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use certkeep_core::{credentials::hash_api_key, partner::PartnerPrincipal};

use crate::{
    AppState,
    audit::{Caller, Refusal, refused_write},
    digicert::ApiError,
    routes::{self, Entry, at},
};

/// The audit action of writes refused here.
const REFUSED: &str = "partner.auth";

/// Every Partner API route.
pub(crate) fn table() -> Vec<Entry<AppState>> {
    use Method as M;
    vec![
        at(M::POST, "/acme", contracts::create),
        at(M::GET, "/acme/{contract}", contracts::details),
        at(M::PUT, "/acme/{contract}", contracts::replace),
        at(M::PATCH, "/acme/{contract}", contracts::patch),
        at(M::DELETE, "/acme/{contract}", contracts::cancel),
        at(M::PUT, "/acme/{contract}/sans", contracts::add_sans),
        at(M::DELETE, "/acme/{contract}/sans", contracts::remove_sans),
        at(M::GET, "/acme/{contract}/certificates", contracts::certificates),
        at(M::GET, "/acme/{contract}/credentials", contracts::credentials),
        at(M::POST, "/acme/{contract}/credentials/regenerate", contracts::regenerate),
        at(M::POST, "/account/subaccount", accounts::create_subaccount),
        at(M::GET, "/account/reporting", accounts::reporting),
    ]
}

/// The `/partner-subscription/api/v1` router.
pub fn router(state: AppState) -> Router {
    routes::router(table())
        .fallback(route_not_found)
        .method_not_allowed_fallback(route_not_found)
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .with_state(state)
}

async fn route_not_found() -> ApiError {
    ApiError::route_not_found()
}

/// Resolves `X-PARTNER-APIKEY` to a [`PartnerPrincipal`] and enforces the rate limit.
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let key = request.headers().get("x-partner-apikey").and_then(|v| v.to_str().ok()).map(str::trim);
    let Some(key) = key.filter(|k| !k.is_empty() && k.len() <= 256) else {
        refused_write(&state, &request, Caller::default(), REFUSED, "no valid X-PARTNER-APIKEY").await;
        return ApiError::invalid_key().into_response();
    };
    let hash = hash_api_key(key);
    let principal = match state.store(move |s| s.authenticate_partner(&hash)).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            let reason = "unknown or revoked X-PARTNER-APIKEY";
            refused_write(&state, &request, Caller::default(), REFUSED, reason).await;
            return ApiError::invalid_key().into_response();
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    if !state.admit(&format!("partner:{}", principal.key_id), Instant::now()) {
        return ApiError::rate_limited().into_response();
    }
    let caller =
        Caller { account_id: Some(principal.account_id), user_id: None, api_key_id: Some(principal.key_id) };
    let refusal = Refusal::of(&state, &request, caller, REFUSED);
    request.extensions_mut().insert(principal);
    let response = next.run(request).await;
    // The handlers answer 403 only for a key of the wrong kind (parent or subaccount).
    if response.status() == axum::http::StatusCode::FORBIDDEN {
        refusal.record(&state, "key of the wrong kind for this route").await;
    }
    response
}

/// 403 unless the key is a subaccount key (ACME contract operations).
fn require_subaccount(p: &PartnerPrincipal) -> Result<(), ApiError> {
    if p.is_subaccount() {
        Ok(())
    } else {
        Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "access_denied|parent_key_not_allowed",
            "Parent account API keys are not accepted for ACME contract operations; use a subaccount key.",
        ))
    }
}

/// 403 unless the key is a parent key (subaccounts and reporting).
fn require_parent(p: &PartnerPrincipal) -> Result<(), ApiError> {
    if p.is_subaccount() {
        Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "access_denied|subaccount_key_not_allowed",
            "This operation needs the parent account's API key.",
        ))
    } else {
        Ok(())
    }
}
