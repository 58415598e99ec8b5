//! NAVER Cloud Platform Certificate Manager (`/api/v1`, `/api/v2`): API Gateway signature
//! authentication and the read endpoints over the inventory.

mod auth;
mod catalog;
mod certificates;
pub mod error;
mod views;

use axum::{Router, middleware, routing::get};

use crate::AppState;
use error::NcpError;

/// The router nested at `/api`. Like NCP's gateway, it matches the route before it checks
/// the signature: unknown routes are 404 `300` with or without credentials.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v2/certificate/getPaidCertificates", get(certificates::paid))
        .route("/v2/certificate/certificateTypes", get(catalog::types))
        .route("/v2/certificate/exportCertificate/{certificate}/chain", get(catalog::chain))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .fallback(route_not_found)
        .method_not_allowed_fallback(route_not_found)
        .with_state(state)
}

async fn route_not_found() -> NcpError {
    NcpError::route_not_found()
}
