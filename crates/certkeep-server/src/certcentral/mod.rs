//! CertCentral Services API v2 (`/services/v2`): `X-DC-DEVKEY` authentication and the order
//! endpoints of seeds 001-003.

mod auth;
mod csv;
pub mod error;
mod orders;
mod params;
mod platforms;
mod views;

use axum::{Router, middleware, routing::get};

use crate::AppState;
use error::ApiError;

/// The `/services/v2` router. Every request, known route or not, is authenticated first.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/order/certificate", get(orders::list))
        .route("/order/certificate/{order}", get(orders::info))
        .route("/order/certificate/{order}/duplicate", get(orders::duplicates))
        .route("/order/certificate/{order}/reissue", get(orders::reissues))
        .fallback(route_not_found)
        .method_not_allowed_fallback(route_not_found)
        .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .with_state(state)
}

async fn route_not_found() -> ApiError {
    ApiError::route_not_found()
}
