//! The HTTP front doors of certkeep, one module per upstream API dialect, over one inventory.
//!
//! Each front door parses its wire format, authenticates the caller to a
//! [`certkeep_core::Principal`], calls the store and renders the answer in its own dialect.

pub mod acme;
pub mod audit;
mod authority;
pub mod certcentral;
pub mod digicert;
pub mod ncp;
mod ops;
pub mod partner;
mod pki;
pub mod rate_limit;
mod tenant;
pub mod tls;
mod wire;

use std::{future::Future, net::SocketAddr, sync::Arc};

use axum::Router;
use certkeep_core::{
    Clock, Store, StoreError,
    lifecycle::{DomainPolicy, Lifecycle},
    seal::SealingKey,
};
use tokio::net::TcpListener;

pub use authority::{Authority, PkiUrls};
pub use rate_limit::{RateLimit, RateLimiter};
pub use tls::ServerCertificate;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The inventory.
    pub store: Arc<dyn Store>,
    /// The clock for everything derived from "now".
    pub clock: Arc<dyn Clock>,
    /// The issuing CA.
    pub authority: Arc<Authority>,
    /// Per-key request limits.
    pub rate_limiter: Arc<RateLimiter>,
    /// Domain-control policy for new names.
    pub domains: DomainPolicy,
    /// The base URL clients reach this server at (ACME directory, links).
    pub public_url: String,
    /// The server key that seals secrets at rest (NCP secret keys).
    pub sealing_key: Arc<SealingKey>,
    /// The zone NCP dates are shown in (`2026-03-01 10:15:30(UTC+09:00)`).
    pub ncp_time_zone: time::UtcOffset,
    /// How the ACME front door validates challenges.
    pub acme: acme::AcmeSettings,
}

impl AppState {
    /// Runs a blocking store call off the async workers.
    pub async fn store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&*store))
            .await
            .map_err(|e| StoreError(format!("store task failed: {e}")))?
    }

    /// Runs a lifecycle operation (which writes and may sign) off the async workers.
    pub async fn lifecycle<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Lifecycle) -> Result<T, certkeep_core::lifecycle::LifecycleError> + Send + 'static,
    ) -> Result<T, certkeep_core::lifecycle::LifecycleError> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let lifecycle = Lifecycle {
                store: &*state.store,
                issuer: &*state.authority,
                now: state.clock.now(),
                domains: state.domains,
            };
            f(&lifecycle)
        })
        .await
        .map_err(|e| StoreError(format!("lifecycle task failed: {e}")))?
    }
}

/// The whole application: every front door and the operations endpoints.
pub fn app(state: AppState) -> Router {
    Router::new()
        .nest("/services/v2", certcentral::router(state.clone()))
        .nest("/partner-subscription/api/v1", partner::router(state.clone()))
        .nest("/acme", acme::router(state.clone()))
        .merge(pki::router(state.clone()))
        .nest("/api", ncp::router(state.clone()))
        .merge(ops::router(state))
        .layer(axum::middleware::from_fn(ops::log_request))
}

/// Serves `app` on `listener` until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Serves `app` over TLS with `config` on `listener`, like [`serve`].
pub async fn serve_tls(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // The no-op tap makes axum hand handlers the client address (`ConnectInfo<SocketAddr>`)
    // as it does for plain TCP: it knows how to do that for any tapped listener.
    let listener = tls::TlsListener::new(listener, config)?.tap_io(|_| {});
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
