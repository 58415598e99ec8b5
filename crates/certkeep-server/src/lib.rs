//! The HTTP front doors of certkeep, one module per upstream API dialect, over one inventory.
//!
//! Each front door parses its wire format, authenticates the caller to a
//! [`certkeep_core::Principal`], calls the store and renders the answer in its own dialect.

pub mod certcentral;
pub mod ncp;
mod ops;
pub mod rate_limit;
mod wire;

use std::{future::Future, sync::Arc};

use axum::Router;
use certkeep_core::{Clock, Store, StoreError, seal::SealingKey};
use tokio::net::TcpListener;

pub use rate_limit::{RateLimit, RateLimiter};

/// The issuing CA as order views name it.
#[derive(Debug, Clone)]
pub struct CaInfo {
    /// Identifier of the issuing CA certificate (CertCentral's `ca_cert.id`).
    pub id: String,
    /// Common name of the issuing CA certificate.
    pub name: String,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The inventory.
    pub store: Arc<dyn Store>,
    /// The clock for everything derived from "now".
    pub clock: Arc<dyn Clock>,
    /// The issuing CA.
    pub ca: CaInfo,
    /// Per-key request limits.
    pub rate_limiter: Arc<RateLimiter>,
    /// The server key that seals secrets at rest (NCP secret keys).
    pub sealing_key: Arc<SealingKey>,
    /// The zone NCP dates are shown in (`2026-03-01 10:15:30(UTC+09:00)`).
    pub ncp_time_zone: time::UtcOffset,
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
}

/// The whole application: every front door and the operations endpoints.
pub fn app(state: AppState) -> Router {
    Router::new()
        .nest("/services/v2", certcentral::router(state.clone()))
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
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
