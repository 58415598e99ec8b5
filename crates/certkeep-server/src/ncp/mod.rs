//! NAVER Cloud Platform Certificate Manager (`/api/v1`, `/api/v2`): API Gateway signature
//! authentication and Certificate Manager over the inventory. Writes go through the shared
//! lifecycle, acted by the account's administrator for the access key.

mod acting;
mod auth;
mod catalog;
mod certificates;
mod changes;
mod domains;
mod download;
mod eab;
pub mod error;
mod external;
mod inventory;
mod issuance;
mod lists;
mod orders;
mod params;
mod settings;
mod views;

use axum::{
    Router, middleware,
    routing::{delete, get, post},
};

use crate::AppState;
use error::NcpError;

/// The router nested at `/api`. Like NCP's gateway, it matches the route before it checks
/// the signature: unknown routes are 404 `300` with or without credentials.
pub fn router(state: AppState) -> Router {
    const CERTIFICATE: &str = "/v2/certificate";
    let v2 = |path: &str| format!("{CERTIFICATE}{path}");
    Router::new()
        .route(&v2("/getPaidCertificates"), get(certificates::paid))
        .route(&v2("/certificates"), get(lists::certificates))
        .route(&v2("/getCertificates"), get(lists::cloud_certificates))
        .route(&v2("/certificateTypes"), get(catalog::types))
        .route(&v2("/exportCertificate/{certificate}/chain"), get(catalog::chain))
        .route(&v2("/exportCertificate/{certificate}"), post(download::download))
        .route(&v2("/requestPaidCertificateIssuance"), post(issuance::request))
        .route(&v2("/{certificate}/reissue"), post(issuance::reissue))
        .route(&v2("/revoke"), post(issuance::revoke))
        .route(&v2("/setCertificateRenewal"), post(settings::renewal))
        .route(&v2("/registPrivateKey"), post(settings::private_key))
        .route(&v2("/orders"), get(orders::list))
        .route(&v2("/orders/{order}"), get(orders::detail))
        .route(&v2("/recentChanges"), get(changes::recent))
        .route(&v2("/withExternal"), post(external::import))
        .route("/v2/domain/domains", get(domains::list).post(domains::register))
        .route("/v2/domain/domains/{domain}", delete(domains::delete))
        .route("/v2/acme/accounts", get(eab::list))
        .route("/v2/acme/account", post(eab::create))
        .route("/v2/acme/account/{account}/deactivate", post(eab::deactivate))
        .route("/v1/certificates", get(lists::v1_certificates))
        .route("/v1/certificate/withExternal", post(external::import))
        .route("/v1/certificate/{certificate}", delete(external::delete))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .fallback(route_not_found)
        .method_not_allowed_fallback(route_not_found)
        .with_state(state)
}

async fn route_not_found() -> NcpError {
    NcpError::route_not_found()
}
