//! NAVER Cloud Platform Certificate Manager (`/api/v1`, `/api/v2`): API Gateway signature
//! authentication and Certificate Manager over the inventory. Writes go through the shared
//! lifecycle, acted by the account's administrator for the access key.

mod acting;
pub mod auth;
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
        at(M::GET, "/v2/certificate/certificates", lists::certificates),
        at(M::GET, "/v2/certificate/getCertificates", lists::cloud_certificates),
        at(M::GET, "/v2/certificate/certificateTypes", catalog::types),
        at(M::GET, "/v2/certificate/exportCertificate/{certificate}/chain", catalog::chain),
        at(M::POST, "/v2/certificate/exportCertificate/{certificate}", download::download),
        at(M::POST, "/v2/certificate/requestPaidCertificateIssuance", issuance::request),
        at(M::POST, "/v2/certificate/{certificate}/reissue", issuance::reissue),
        at(M::POST, "/v2/certificate/revoke", issuance::revoke),
        at(M::POST, "/v2/certificate/setCertificateRenewal", settings::renewal),
        at(M::POST, "/v2/certificate/registPrivateKey", settings::private_key),
        at(M::GET, "/v2/certificate/orders", orders::list),
        at(M::GET, "/v2/certificate/orders/{order}", orders::detail),
        at(M::GET, "/v2/certificate/recentChanges", changes::recent),
        at(M::POST, "/v2/certificate/withExternal", external::import),
        at(M::GET, "/v2/domain/domains", domains::list),
        at(M::POST, "/v2/domain/domains", domains::register),
        at(M::DELETE, "/v2/domain/domains/{domain}", domains::delete),
        at(M::GET, "/v2/acme/accounts", eab::list),
        at(M::POST, "/v2/acme/account", eab::create),
        at(M::POST, "/v2/acme/account/{account}/deactivate", eab::deactivate),
        at(M::GET, "/v1/certificates", lists::v1_certificates),
        at(M::POST, "/v1/certificate/withExternal", external::import),
        at(M::DELETE, "/v1/certificate/{certificate}", external::delete),
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
