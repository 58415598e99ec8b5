//! CertCentral Services API v2 (`/services/v2`): `X-DC-DEVKEY` authentication and the order
//! endpoints of seeds 001-003.

mod account;
mod audit_log;
mod auth;
mod body;
pub mod csr;
pub(crate) mod csv;
mod domains;
pub mod downloads;
mod order_writes;
mod orders;
pub mod params;
mod platforms;
mod report;
mod requests;
mod revoke;
mod views;
mod webhook;

use axum::{Router, http::Method, middleware};

use crate::{
    AppState,
    digicert::ApiError,
    routes::{self, Entry, at},
};

/// Every CertCentral route.
pub(crate) fn table() -> Vec<Entry<AppState>> {
    use Method as M;
    vec![
        at(M::GET, "/order/certificate", orders::list),
        at(M::GET, "/order/certificate/status-changes", account::status_changes),
        at(M::GET, "/order/certificate/{order}", orders::info),
        at(M::POST, "/order/certificate/{order}", order_writes::place),
        at(M::PUT, "/order/certificate/{order}/status", order_writes::update_status),
        at(M::GET, "/order/certificate/{order}/duplicate", orders::duplicates),
        at(M::POST, "/order/certificate/{order}/duplicate", order_writes::duplicate),
        at(M::GET, "/order/certificate/{order}/reissue", orders::reissues),
        at(M::POST, "/order/certificate/{order}/reissue", order_writes::reissue),
        at(M::PUT, "/order/certificate/{order}/revoke", revoke::order),
        at(M::PUT, "/certificate/{certificate}/revoke", revoke::certificate),
        at(M::GET, "/request", requests::list),
        at(M::GET, "/request/{request}", requests::info),
        at(M::PUT, "/request/{request}/status", requests::decide),
        at(M::GET, "/certificate/{certificate}", downloads::describe),
        at(M::GET, "/certificate/{certificate}/chain", downloads::chain),
        at(M::GET, "/certificate/{certificate}/download/format/{format}", downloads::by_format),
        at(M::GET, "/certificate/{certificate}/download/platform", downloads::by_own_platform),
        at(M::GET, "/certificate/{certificate}/download/platform/{platform}", downloads::by_platform),
        at(M::GET, "/certificate/download/order/{order}", downloads::by_order),
        at(M::GET, "/certificate/download/order/{order}/format/{format}", downloads::by_order_format),
        at(M::GET, "/product", account::products),
        at(M::GET, "/product/{product}", account::product),
        at(M::GET, "/organization", account::organizations),
        at(M::GET, "/container", account::containers),
        at(M::GET, "/user", account::users),
        at(M::GET, "/user/me", account::me),
        at(M::GET, "/account", account::account),
        at(M::GET, "/domain", domains::list),
        at(M::POST, "/domain", domains::add),
        at(M::GET, "/domain/{domain}", domains::info),
        at(M::PUT, "/domain/{domain}/dcv/method", domains::change_method),
        at(M::POST, "/domain/{domain}/dcv/token", domains::new_token),
        at(M::PUT, "/domain/{domain}/dcv/validate-token", domains::validate_token),
        at(M::GET, "/audit-log", audit_log::list),
        at(M::GET, "/report/order/expiring", report::expiring),
        at(M::POST, "/webhook", webhook::create),
        at(M::GET, "/webhook", webhook::list),
        at(M::POST, "/webhook/test-endpoint", webhook::test_endpoint),
        at(M::PUT, "/webhook/{webhook}", webhook::update),
        at(M::DELETE, "/webhook/{webhook}", webhook::delete),
        at(M::PUT, "/webhook/{webhook}/send-challenge", webhook::send_challenge),
        at(M::PUT, "/webhook/{webhook}/check-challenge", webhook::check_challenge),
        at(M::PUT, "/webhook/{webhook}/activate", webhook::activate),
        at(M::PUT, "/webhook/{webhook}/deactivate", webhook::deactivate),
    ]
}

/// The `/services/v2` router. Every request, known route or not, is authenticated first.
pub fn router(state: AppState) -> Router {
    routes::router(table())
        .fallback(route_not_found)
        .method_not_allowed_fallback(route_not_found)
        .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .with_state(state)
}

async fn route_not_found() -> ApiError {
    ApiError::route_not_found()
}
