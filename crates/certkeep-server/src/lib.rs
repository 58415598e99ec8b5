//! The HTTP front doors of certkeep, one module per upstream API dialect, over one inventory.
//!
//! Each front door parses its wire format, authenticates the caller to a
//! [`certkeep_core::Principal`], calls the store and renders the answer in its own dialect.

pub mod acme;
pub mod audit;
mod authority;
pub mod certcentral;
pub mod console;
mod contracts;
pub mod dcv;
pub mod digicert;
pub mod email_notice;
pub mod expiry_notice;
mod key_cache;
pub mod metrics;
pub mod ncp;
mod ops;
mod outbox;
pub mod partner;
mod pki;
pub mod rate_limit;
mod request_log;
mod routes;
mod tenant;
pub mod tls;
pub mod va;
pub mod webhook;
mod wire;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Instant};

use axum::Router;
use certkeep_core::{
    Clock, Store, StoreError,
    lifecycle::{DomainPolicy, Lifecycle},
    seal::SealingKey,
};
use tokio::net::TcpListener;

pub use authority::{Authority, PkiUrls, ca_validation, subject_organization};
pub use key_cache::KeyCache;
pub use ops::Limits;
pub use outbox::Pace;
pub use rate_limit::{RateLimit, RateLimiter};
pub use routes::{FrontDoor, Route};
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
    /// The deployment's choices within the issuance rules (test TLDs, private lifetimes).
    pub issuance: certkeep_core::policy::IssuanceSettings,
    /// The base URL clients reach this server at (ACME directory, links).
    pub public_url: String,
    /// The server key that seals secrets at rest (NCP secret keys).
    pub sealing_key: Arc<SealingKey>,
    /// The zone NCP dates are shown in (`2026-03-01 10:15:30(UTC+09:00)`).
    pub ncp_time_zone: time::UtcOffset,
    /// How the ACME front door validates challenges.
    pub acme: acme::AcmeSettings,
    /// How many refused writes without a credential the audit log takes per client address.
    pub refusal_budget: Arc<audit::RefusalBudget>,
    /// CertCentral keys authenticated within the last second.
    pub key_cache: Arc<KeyCache>,
    /// What the server counts about itself.
    pub metrics: Arc<metrics::Metrics>,
    /// The bearer token that opens `GET /metrics` on the main listener; `None` keeps it closed
    /// there (an operator listener of its own serves [`metrics_app`]).
    pub metrics_token: Option<String>,
    /// The webhook delivery client and its settings.
    pub webhooks: Arc<webhook::Webhooks>,
    /// The SMTP relay e-mail notices go through; `None` sends (and queues) none.
    pub email: Option<Arc<email_notice::EmailNotices>>,
}

impl AppState {
    /// Runs a blocking store call off the async workers.
    pub async fn store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (store, metrics) = (self.store.clone(), self.metrics.clone());
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let answer = f(&*store);
            metrics.store_call("query", started.elapsed());
            answer
        })
        .await
        .map_err(|e| StoreError(format!("store task failed: {e}")))?
    }

    /// Admits a request by an authenticated `caller` (`door:key id`) within the rate limits;
    /// the caller is named in the request's log line, a refusal counted.
    pub fn admit(&self, caller: &str, now: Instant) -> bool {
        request_log::note_caller(caller);
        let allowed = self.rate_limiter.allow(caller, now);
        if !allowed {
            self.metrics.rate_limited(request_log::current_door().unwrap_or(FrontDoor::Ops).name());
        }
        allowed
    }

    /// Runs a lifecycle operation (which writes and may sign) off the async workers; the
    /// certificates it signed are counted once it has succeeded.
    pub async fn lifecycle<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Lifecycle) -> Result<T, certkeep_core::lifecycle::LifecycleError> + Send + 'static,
    ) -> Result<T, certkeep_core::lifecycle::LifecycleError> {
        let state = self.clone();
        let door = request_log::current_door().unwrap_or(FrontDoor::Ops).name();
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let issuer = authority::NotingIssuer::new(&state.authority);
            let lifecycle = Lifecycle {
                store: &*state.store,
                issuer: &issuer,
                now: state.clock.now(),
                domains: state.domains,
                issuance: state.issuance,
            };
            let answer = f(&lifecycle);
            state.metrics.store_call("transaction", started.elapsed());
            if answer.is_ok() {
                for signed in issuer.signed() {
                    state.metrics.issued(door, signed.product, &signed.key_algorithm);
                }
            }
            answer
        })
        .await
        .map_err(|e| StoreError(format!("lifecycle task failed: {e}")))?
    }
}

/// The whole application: every front door, the console and the operations endpoints.
pub fn app(state: AppState) -> Router {
    Router::new()
        .nest(FrontDoor::CertCentral.prefix(), certcentral::router(state.clone()))
        .nest(FrontDoor::Partner.prefix(), partner::router(state.clone()))
        .nest(FrontDoor::Acme.prefix(), acme::router(state.clone()))
        .merge(pki::router(state.clone()))
        .nest(FrontDoor::Ncp.prefix(), ncp::router(state.clone()))
        .nest(FrontDoor::Console.prefix(), console::router(state.clone()))
        .merge(ops::router(state.clone()))
        .layer(axum::middleware::from_fn(ops::single_credentials))
        .layer(axum::middleware::from_fn_with_state(state.metrics, request_log::observe))
}

/// The revocation service alone (CRL, OCSP, CA certificates), for a plain-HTTP listener of its
/// own: the Baseline Requirements (7.1.2.7.7) want `http://` revocation URLs.
pub fn pki_app(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    pki::router(state).layer(axum::middleware::from_fn_with_state(metrics, request_log::observe))
}

/// `GET /metrics` alone, unauthenticated, for an operator listener of its own (plain HTTP on
/// an address only operators reach).
pub fn metrics_app(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    ops::metrics_router(state).layer(axum::middleware::from_fn_with_state(metrics, request_log::observe))
}

/// Every route [`app`] serves, from the same tables it is built from.
pub fn routes() -> Vec<Route> {
    use FrontDoor as D;
    routes::describe(D::CertCentral, certcentral::table())
        .chain(routes::describe(D::Partner, partner::table()))
        .chain(routes::describe(D::Acme, acme::table()))
        .chain(routes::describe(D::Pki, pki::table()))
        .chain(routes::describe(D::Ncp, ncp::table()))
        .chain(routes::describe(D::Ops, ops::table()))
        .chain(routes::describe(D::Console, console::table()))
        .collect()
}

/// Serves `app` on `listener` with the default [`Limits`] until `shutdown` resolves, then
/// finishes in-flight requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, app, Limits::default(), shutdown).await
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves, then finishes
/// in-flight requests. Each request sees the client's address as `ConnectInfo<SocketAddr>`.
pub async fn serve_with<L>(
    mut listener: L,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener<Addr = SocketAddr>,
{
    use hyper_util::{
        rt::{TokioIo, TokioTimer},
        server::graceful::GracefulShutdown,
        service::TowerToHyperService,
    };
    use tower::ServiceExt;

    let app = ops::limit(app, limits);
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        // The listener retries failed accepts itself (after a pause: out of file descriptors).
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let service = app.clone().map_request(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(axum::extract::ConnectInfo(remote));
            request
        });
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Serves `app` over TLS with `config` on `listener` within `limits`, like [`serve_with`]; the
/// handshake has its own deadline (`tls::HANDSHAKE_TIMEOUT`) before the header timeout starts.
pub async fn serve_tls(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(tls::TlsListener::new(listener, config)?, app, limits, shutdown).await
}
