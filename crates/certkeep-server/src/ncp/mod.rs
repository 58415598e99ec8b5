//! NAVER Cloud Platform Certificate Manager (`/api/v1`, `/api/v2`): API Gateway signature
//! authentication and the read endpoints over the inventory.

pub mod auth;
mod catalog;
mod certificates;
pub mod error;
mod views;

use axum::{Router, http::Method, middleware};

use crate::{
    AppState,
    routes::{self, Entry, at},
};
use error::NcpError;

/// Every NCP route.
pub(crate) fn table() -> Vec<Entry<AppState>> {
    use Method as M;
    vec![
        at(M::GET, "/v2/certificate/getPaidCertificates", certificates::paid),
        at(M::GET, "/v2/certificate/certificateTypes", catalog::types),
        at(M::GET, "/v2/certificate/exportCertificate/{certificate}/chain", catalog::chain),
    ]
}

/// The router nested at `/api`. Like NCP's gateway, it matches the route before it checks
/// the signature: unknown routes are 404 `300` with or without credentials.
pub fn router(state: AppState) -> Router {
    routes::router(table())
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .fallback(route_not_found)
        .method_not_allowed_fallback(route_not_found)
        .with_state(state)
}

async fn route_not_found() -> NcpError {
    NcpError::route_not_found()
}
