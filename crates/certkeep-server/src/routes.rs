//! The route table. Each front door lists its routes once, as (method, path, handler); its
//! router is built from that list and [`crate::routes`] publishes the same list, so tests that
//! walk every route cannot drift from what is served.

use axum::{
    Router,
    handler::Handler,
    http::Method,
    routing::{MethodFilter, MethodRouter, on},
};

/// The API a route belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrontDoor {
    /// DigiCert CertCentral Services API v2.
    CertCentral,
    /// DigiCert Partner Subscriptions ACME-contract API.
    Partner,
    /// ACME (RFC 8555).
    Acme,
    /// NAVER Cloud Certificate Manager.
    Ncp,
    /// CRL, OCSP and CA certificates (public by design).
    Pki,
    /// Health checks (public by design).
    Ops,
    /// The operator console: HTML pages behind a password sign-in and a session cookie.
    Console,
}

impl FrontDoor {
    /// The path prefix the front door is nested under ("" for absolute paths).
    pub fn prefix(self) -> &'static str {
        match self {
            Self::CertCentral => "/services/v2",
            Self::Partner => "/partner-subscription/api/v1",
            Self::Acme => "/acme",
            Self::Ncp => "/api",
            Self::Console => "/console",
            Self::Pki | Self::Ops => "",
        }
    }

    /// The door's name in metrics and request logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::CertCentral => "certcentral",
            Self::Partner => "partner",
            Self::Acme => "acme",
            Self::Ncp => "ncp",
            Self::Pki => "pki",
            Self::Ops => "ops",
            Self::Console => "console",
        }
    }

    /// The request headers that carry the door's credentials (lower case). Each may appear once:
    /// with two copies, certkeep and a proxy in front of it could each read another.
    pub fn credential_headers(self) -> &'static [&'static str] {
        match self {
            Self::CertCentral => &["x-dc-devkey"],
            Self::Partner => &["x-partner-apikey"],
            Self::Ncp => &[
                "x-ncp-iam-access-key",
                "x-ncp-apigw-timestamp",
                "x-ncp-apigw-signature-v2",
                "x-ncp-apigw-signature-v1",
            ],
            Self::Acme | Self::Pki | Self::Ops | Self::Console => &[],
        }
    }

    /// The front door serving `path`.
    pub fn of(path: &str) -> Self {
        let under =
            |prefix: &str| path.strip_prefix(prefix).is_some_and(|r| r.is_empty() || r.starts_with('/'));
        [Self::CertCentral, Self::Partner, Self::Acme, Self::Ncp, Self::Console]
            .into_iter()
            .find(|d| under(d.prefix()))
            .unwrap_or(if under("/pki") { Self::Pki } else { Self::Ops })
    }
}

/// One served route: its front door, method and full path template (`/acme/order/{id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The API it belongs to.
    pub door: FrontDoor,
    /// The method.
    pub method: Method,
    /// The path template, prefix included.
    pub path: String,
}

/// A route table row: method, path relative to the front door, handler.
pub(crate) struct Entry<S> {
    method: Method,
    path: &'static str,
    handler: MethodRouter<S>,
}

/// A table row serving `method path` with `handler`.
pub(crate) fn at<H, T, S>(method: Method, path: &'static str, handler: H) -> Entry<S>
where
    H: Handler<T, S>,
    T: 'static,
    S: Clone + Send + Sync + 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("route table methods are routable");
    Entry { method, path, handler: on(filter, handler) }
}

/// The router serving every row of `table`; each route tells the request log its template.
pub(crate) fn router<S: Clone + Send + Sync + 'static>(table: Vec<Entry<S>>) -> Router<S> {
    table
        .into_iter()
        .fold(Router::new(), |router, e| router.route(e.path, e.handler))
        .route_layer(axum::middleware::from_fn(crate::request_log::note_route))
}

/// The rows of `table` as published routes of `door`. A nested door's `/` is served at its
/// prefix alone (`/console`), as axum nests it.
pub(crate) fn describe<S>(door: FrontDoor, table: Vec<Entry<S>>) -> impl Iterator<Item = Route> {
    table.into_iter().map(move |e| Route {
        door,
        method: e.method,
        path: match (door.prefix(), e.path) {
            (prefix, "/") if !prefix.is_empty() => prefix.to_owned(),
            (prefix, path) => format!("{prefix}{path}"),
        },
    })
}
