//! CertCentral Services API v2 (`/services/v2`): `X-DC-DEVKEY` authentication and the order
//! endpoints of seeds 001-003.

mod account;
mod audit_log;
mod auth;
mod body;
pub(crate) mod csr;
mod csv;
mod downloads;
mod order_writes;
mod orders;
mod params;
mod platforms;
mod requests;
mod revoke;
mod views;

use axum::{
    Router, middleware,
    routing::{get, put},
};

use crate::{AppState, digicert::ApiError};

/// The `/services/v2` router. Every request, known route or not, is authenticated first.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/order/certificate", get(orders::list))
        .route("/order/certificate/status-changes", get(account::status_changes))
        .route("/order/certificate/{order}", get(orders::info).post(order_writes::place))
        .route("/order/certificate/{order}/status", put(order_writes::update_status))
        .route("/order/certificate/{order}/duplicate", get(orders::duplicates).post(order_writes::duplicate))
        .route("/order/certificate/{order}/reissue", get(orders::reissues).post(order_writes::reissue))
        .route("/order/certificate/{order}/revoke", put(revoke::order))
        .route("/certificate/{certificate}/revoke", put(revoke::certificate))
        .route("/request", get(requests::list))
        .route("/request/{request}", get(requests::info))
        .route("/request/{request}/status", put(requests::decide))
        .route("/certificate/{certificate}", get(downloads::describe))
        .route("/certificate/{certificate}/chain", get(downloads::chain))
        .route("/certificate/{certificate}/download/format/{format}", get(downloads::by_format))
        .route("/certificate/{certificate}/download/platform", get(downloads::by_own_platform))
        .route("/certificate/{certificate}/download/platform/{platform}", get(downloads::by_platform))
        .route("/certificate/download/order/{order}", get(downloads::by_order))
        .route("/certificate/download/order/{order}/format/{format}", get(downloads::by_order_format))
        .route("/product", get(account::products))
        .route("/product/{product}", get(account::product))
        .route("/organization", get(account::organizations))
        .route("/container", get(account::containers))
        .route("/user", get(account::users))
        .route("/user/me", get(account::me))
        .route("/account", get(account::account))
        .route("/domain", get(account::domains).post(account::add_domain))
        .route("/audit-log", get(audit_log::list))
        .fallback(route_not_found)
        .method_not_allowed_fallback(route_not_found)
        .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .with_state(state)
}

async fn route_not_found() -> ApiError {
    ApiError::route_not_found()
}
