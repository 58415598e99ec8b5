//! ACME (RFC 8555) at `/acme`, for the certificates of ACME contracts: every account is bound
//! to a contract by one of its External Account Binding credentials (RFC 8555 §7.3.4), every
//! order must stay within the contract's names, and finalization places an ordinary inventory
//! order (visible through CertCentral with `api_key.key_type == "acme_url"`).
//!
//! URLs are absolute under the server's public base URL, the one its certificates already name
//! for CRL, OCSP and CA issuers (`serve --public-url`, default `http://<listen address>`): the
//! directory is `{base}/acme/directory`.
//!
//! The protocol (objects' states, expiry, what finalize and a challenge response may do) is
//! [`certkeep_core::acme`]'s; this module is the wire and the validation. Modules: [`problem`]
//! (errors), [`jws`] (keys and signatures), `nonce`, `request` (the checks every POST passes,
//! with what it reads in one store call), `objects` (the objects as JSON), `account`, `order`,
//! `authz`, `challenge` with `validation` (what really proves control of a name, through the
//! shared [`crate::va`]), `tls_alpn` (tls-alpn-01, RFC 8737), `revoke` and `renewal` (ARI, RFC
//! 9773).

mod account;
mod authz;
mod challenge;
pub mod jws;
mod nonce;
mod objects;
mod order;
pub mod problem;
mod renewal;
mod request;
mod revoke;
mod tls_alpn;
mod validation;

pub use challenge::{resume_cut_off_validations, resume_once};

use std::net::SocketAddr;

use axum::{
    Json, Router,
    extract::{Request, State},
    http::{HeaderValue, Method, header},
    middleware::{self, Next},
    response::Response,
};
use serde_json::json;

use crate::{
    AppState,
    routes::{self, Entry, at},
};
use problem::Problem;

/// How the ACME server validates challenges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeSettings {
    /// Port http-01 fetches the token from (RFC 8555: 80; Pebble's tests use 5002).
    pub http01_port: u16,
    /// DNS server (UDP) for dns-01 TXT lookups and for the addresses http-01 connects to, like Pebble's `-dnsserver`; `None`: the system resolver, and the first
    /// `nameserver` of `/etc/resolv.conf` for TXT.
    pub dns_resolver: Option<SocketAddr>,
    /// Every challenge succeeds without being checked, like Pebble's `PEBBLE_VA_ALWAYS_VALID`.
    /// For CI setups only: it issues certificates for names nobody proved control of (still
    /// limited to the contract's names).
    pub always_valid: bool,
    /// Port tls-alpn-01 connects to (RFC 8737: 443; Pebble's tests use 5001).
    pub tls_alpn01_port: u16,
}

impl Default for AcmeSettings {
    fn default() -> Self {
        Self { http01_port: 80, dns_resolver: None, always_valid: false, tls_alpn01_port: 443 }
    }
}

/// The public base URL (`https://ca.example.com`): where the certificates' CRL URL points.
/// The absolute URL of an ACME path (`/new-order`, `/order/5`, ...).
pub(crate) fn url(state: &AppState, path: &str) -> String {
    format!("{}/acme{path}", state.public_url.trim_end_matches('/'))
}

/// The directory URL ACME clients are given (also the `name` of the `acme_url` API key that
/// CertCentral shows on orders placed over ACME).
pub fn directory_url(state: &AppState) -> String {
    url(state, "/directory")
}

/// Every ACME route.
pub(crate) fn table() -> Vec<Entry<AppState>> {
    use Method as M;
    vec![
        at(M::GET, "/directory", directory),
        at(M::GET, "/directory/", directory),
        at(M::GET, "/new-nonce", nonce::get),
        at(M::HEAD, "/new-nonce", nonce::head),
        at(M::POST, "/new-account", account::new_account),
        at(M::POST, "/account/{id}", account::account),
        at(M::POST, "/account/{id}/orders", account::orders),
        at(M::POST, "/key-change", account::key_change),
        at(M::POST, "/new-order", order::new_order),
        at(M::POST, "/order/{id}", order::order),
        at(M::POST, "/order/{id}/finalize", order::finalize),
        at(M::POST, "/certificate/{id}", order::certificate),
        at(M::POST, "/authz/{id}", authz::authorization),
        at(M::POST, "/challenge/{id}", challenge::challenge),
        at(M::POST, "/revoke-cert", revoke::revoke_cert),
        at(M::GET, "/renewal-info/{id}", renewal::renewal_info),
    ]
}

/// The `/acme` router.
pub fn router(state: AppState) -> Router {
    routes::router(table())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), headers))
        .with_state(state)
}

async fn not_found() -> Problem {
    Problem::not_found("ACME resource")
}

async fn method_not_allowed() -> Problem {
    let mut p = Problem::malformed("Method not allowed for this ACME resource.");
    p.status = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    p
}

/// Every response carries a fresh nonce (RFC 8555 §7.2), `Cache-Control: no-store` and a link
/// to the directory (§7.1).
async fn headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(link) = HeaderValue::from_str(&format!("<{}>;rel=\"index\"", directory_url(&state))) {
        h.append(header::LINK, link);
    }
    if let Ok(v) = HeaderValue::from_str(&nonce::issue(&state)) {
        h.insert(nonce::REPLAY_NONCE, v);
    }
    res
}

async fn directory(State(state): State<AppState>) -> Json<serde_json::Value> {
    let u = |p: &str| url(&state, p);
    Json(json!({
        "newNonce": u("/new-nonce"),
        "newAccount": u("/new-account"),
        "newOrder": u("/new-order"),
        "revokeCert": u("/revoke-cert"),
        "keyChange": u("/key-change"),
        "renewalInfo": u("/renewal-info"),
        "meta": {
            "externalAccountRequired": true,
            "website": state.public_url.trim_end_matches('/'),
        }
    }))
}
