//! One structured line and one metrics sample per request: front door, method, route template
//! (never the raw path, query or headers), status, latency, the authenticated caller's key id
//! and the client's address.
//!
//! The facts a request gathers on its way in (which route matched, which key authenticated) are
//! kept in a task-local slot while it is served, so that no front door passes them back up.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Instant,
};

use axum::{
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::Method,
    middleware::Next,
    response::Response,
};

use crate::{FrontDoor, metrics::Metrics};

/// What the request being served has told about itself so far.
struct RequestFacts {
    door: FrontDoor,
    route: Mutex<Option<String>>,
    caller: Mutex<Option<String>>,
}

tokio::task_local! {
    static REQUEST: Arc<RequestFacts>;
}

/// The front door of the request this task serves, if it serves one.
pub(crate) fn current_door() -> Option<FrontDoor> {
    REQUEST.try_with(|r| r.door).ok()
}

/// Records the authenticated caller (`door:key id`, never a credential) of the request this
/// task serves.
pub(crate) fn note_caller(caller: &str) {
    let _ =
        REQUEST.try_with(|r| *r.caller.lock().unwrap_or_else(|e| e.into_inner()) = Some(caller.to_owned()));
}

/// Route-layer middleware: records which route template matched.
pub(crate) async fn note_route(path: MatchedPath, request: Request, next: Next) -> Response {
    let _ = REQUEST
        .try_with(|r| *r.route.lock().unwrap_or_else(|e| e.into_inner()) = Some(path.as_str().to_owned()));
    next.run(request).await
}

/// The method as a metrics label: the standard ones by name, any other as `other`, so that
/// clients cannot grow the label set.
fn method_label(method: &Method) -> &'static str {
    [Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::DELETE, Method::PATCH, Method::OPTIONS]
        .iter()
        .find(|m| *m == method)
        .map_or("other", |m| m.as_str())
}

/// Logs the request at the default level (errors for 5xx) and counts it in `metrics`.
pub async fn observe(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let door = FrontDoor::of(request.uri().path());
    let method = request.method().clone();
    let client = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let facts = Arc::new(RequestFacts { door, route: Mutex::new(None), caller: Mutex::new(None) });
    let started = Instant::now();
    let response = REQUEST.scope(facts.clone(), next.run(request)).await;
    let took = started.elapsed();
    let status = response.status().as_u16();
    let route = facts.route.lock().unwrap_or_else(|e| e.into_inner()).take();
    let route = route.as_deref().unwrap_or("unmatched");
    let caller = facts.caller.lock().unwrap_or_else(|e| e.into_inner()).take();
    metrics.request(door.name(), method_label(&method), route, status, took);
    let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
    let (door, client) = (door.name(), client.map(|a| a.ip().to_string()));
    if status >= 500 {
        tracing::error!(door, %method, route, status, micros, key = caller, client, "request");
    } else {
        tracing::info!(door, %method, route, status, micros, key = caller, client, "request");
    }
    response
}
