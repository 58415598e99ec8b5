//! Operations endpoints (`/healthz`, `/metrics`) and the connection and request limits.

use std::{sync::Arc, time::Duration};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use futures_util::StreamExt;
use http_body_util::BodyExt;
use serde_json::json;
use tokio::sync::Semaphore;

use crate::{
    AppState, FrontDoor,
    acme::problem::Problem,
    digicert::ApiError,
    ncp::error::NcpError,
    routes::{self, Entry, at},
};

/// Every operations route.
pub(crate) fn table() -> Vec<Entry<AppState>> {
    use Method as M;
    vec![at(M::GET, "/healthz", healthz), at(M::GET, METRICS_PATH, metrics_with_token)]
}

/// Where the metrics are served, on either listener.
const METRICS_PATH: &str = "/metrics";

pub fn router(state: AppState) -> Router {
    routes::router(table()).with_state(state)
}

/// The operator listener's router: `GET /metrics`, open to whoever reaches the address.
pub fn metrics_router(state: AppState) -> Router {
    routes::router(vec![at(Method::GET, METRICS_PATH, metrics)]).with_state(state)
}

/// `GET /metrics` on the main listener: behind `Authorization: Bearer <metrics_token>`, and
/// not served (404) without a token configured.
async fn metrics_with_token(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let Some(token) = state.metrics_token.as_deref() else {
        return (StatusCode::NOT_FOUND, "Not Found\n").into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let matches = presented.is_some_and(|p| {
        aws_lc_rs::constant_time::verify_slices_are_equal(p.as_bytes(), token.as_bytes()).is_ok()
    });
    if !matches {
        let mut denied =
            (StatusCode::UNAUTHORIZED, "A valid metrics bearer token is required.\n").into_response();
        denied.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return denied;
    }
    metrics(State(state)).await
}

/// The metrics exposition, with the certificate gauges read at this moment.
async fn metrics(State(state): State<AppState>) -> Response {
    let (metrics, now) = (state.metrics.clone(), state.clock.now());
    match state.store(move |s| metrics.render(s, now)).await {
        Ok(text) => ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "metrics scrape failed");
            (StatusCode::SERVICE_UNAVAILABLE, "The store did not answer.\n").into_response()
        }
    }
}

/// 200 when the database answers, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> Response {
    match state.store(|s| s.ping()).await {
        Ok(()) => Json(json!({"status": "ok"})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable"}))).into_response()
        }
    }
}

/// Refuses a request that carries one of its door's credential headers more than once, with the
/// door's own denial (never resolved to one of the copies).
pub async fn single_credentials(request: Request, next: Next) -> Response {
    let door = FrontDoor::of(request.uri().path());
    let headers = request.headers();
    if !door.credential_headers().iter().any(|h| headers.get_all(*h).iter().nth(1).is_some()) {
        return next.run(request).await;
    }
    match door {
        FrontDoor::Ncp => NcpError::credentials_invalid().into_response(),
        _ => ApiError::invalid_key().into_response(),
    }
}

/// Limits that keep slow or numerous clients from tying up the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time a client has to send a request's line and headers; the connection is closed after.
    pub header_read_timeout: Duration,
    /// Time a client has to send a request's whole body (408 after).
    pub body_read_timeout: Duration,
    /// Largest request body (413 above).
    pub max_body_bytes: usize,
    /// Requests handled at once; more are refused at once with 503.
    pub max_concurrent_requests: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_body_bytes: 2 * 1024 * 1024,
            max_concurrent_requests: 512,
        }
    }
}

/// After a body is refused as too large, at most this much more of it is read and thrown away
/// (within the body timeout), so that a client that sends its whole body before it reads gets
/// the 413 rather than a connection reset.
const DISCARD_AFTER_REFUSAL: u64 = 64 * 1024 * 1024;

/// Longest request URI taken (414 above, in the door's dialect). hyper itself answers a bare
/// 414 beyond 65,534 bytes.
const MAX_URI_BYTES: usize = 32 * 1024;

/// Most bytes of header names and values taken (431 above, in the door's dialect). hyper itself
/// answers a bare 431 for a head beyond its read buffer (about 400 kB) or with over 100 headers,
/// and a bare 400 for bytes HTTP does not allow in a head (a NUL): those never reach a handler.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The refusal of a head that hyper took but certkeep does not.
fn head_refusal(request: &Request) -> Option<StatusCode> {
    if request.uri().path_and_query().map_or(0, |pq| pq.as_str().len()) > MAX_URI_BYTES {
        return Some(StatusCode::URI_TOO_LONG);
    }
    let header_bytes: usize = request.headers().iter().map(|(n, v)| n.as_str().len() + v.len()).sum();
    (header_bytes > MAX_HEADER_BYTES).then_some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
}

/// `app` with the head size, body timeout, body size and concurrency limits applied.
pub fn limit(app: Router, limits: Limits) -> Router {
    let permits = Arc::new(Semaphore::new(limits.max_concurrent_requests));
    app.layer(middleware::from_fn(move |request: Request, next: Next| {
        let permits = permits.clone();
        async move {
            if let Some(status) = head_refusal(&request) {
                return refuse(request.uri().path(), status);
            }
            let Ok(_permit) = permits.try_acquire_owned() else {
                let mut busy = refuse(request.uri().path(), StatusCode::SERVICE_UNAVAILABLE);
                busy.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return busy;
            };
            let path = request.uri().path().to_owned();
            let (parts, mut body) = request.into_parts();
            let declared = parts
                .headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            if let Some(declared) = declared.filter(|n| *n > limits.max_body_bytes as u64) {
                // Refused from the headers, before any of the body is read: a client that asked
                // `Expect: 100-continue` is never told to send it, and a body too large to take
                // in is not waited for.
                let continues = parts
                    .headers
                    .get(header::EXPECT)
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
                let sent_anyway = !continues && declared <= DISCARD_AFTER_REFUSAL;
                return too_large(&path, sent_anyway.then_some(body), limits);
            }
            match tokio::time::timeout(limits.body_read_timeout, read(&mut body, limits.max_body_bytes)).await
            {
                Ok(Ok(Some(bytes))) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
                Ok(Ok(None)) => too_large(&path, Some(body), limits),
                Ok(Err(_)) => refuse(&path, StatusCode::BAD_REQUEST),
                Err(_) => refuse(&path, StatusCode::REQUEST_TIMEOUT),
            }
        }
    }))
}

/// The whole body, or `None` once it is longer than `max` (the rest left unread).
async fn read(body: &mut Body, max: usize) -> Result<Option<Bytes>, axum::Error> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            if out.len() + data.len() > max {
                return Ok(None);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Some(Bytes::from(out)))
}

/// 413 in the dialect, and the connection closed after it. When the client sends the rest of
/// `unread` anyway, the answer goes out first and then up to [`DISCARD_AFTER_REFUSAL`] bytes of
/// it are read and dropped within the body timeout, so that the close does not reset the
/// connection under an answer the client has not read yet.
fn too_large(path: &str, unread: Option<Body>, limits: Limits) -> Response {
    let mut response = refuse(path, StatusCode::PAYLOAD_TOO_LARGE);
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    let Some(mut unread) = unread else { return response };
    let discard = async move {
        let mut left = DISCARD_AFTER_REFUSAL;
        let drain = async {
            while let Some(Ok(frame)) = unread.frame().await {
                let n = frame.data_ref().map_or(0, |d| d.len() as u64);
                match left.checked_sub(n) {
                    Some(rest) => left = rest,
                    None => return,
                }
            }
        };
        let _ = tokio::time::timeout(limits.body_read_timeout, drain).await;
        None::<Result<Bytes, axum::Error>>
    };
    let (parts, answer) = response.into_parts();
    let body =
        answer.into_data_stream().chain(futures_util::stream::once(discard).filter_map(std::future::ready));
    Response::from_parts(parts, Body::from_stream(body))
}

/// A refusal by the limits, in the dialect of the front door serving `path`.
fn refuse(path: &str, status: StatusCode) -> Response {
    let (code, message, ncp_code) = match status {
        StatusCode::SERVICE_UNAVAILABLE => ("server_busy", "The server is busy; retry shortly.", "500"),
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "The request body was not sent in time.", "510"),
        StatusCode::PAYLOAD_TOO_LARGE => ("request_too_large", "The request body is too large.", "400"),
        StatusCode::URI_TOO_LONG => ("request_uri_too_long", "The request URI is too long.", "400"),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            ("request_headers_too_large", "The request headers are too large.", "400")
        }
        _ => ("bad_request_format", "The request body could not be read.", "400"),
    };
    match FrontDoor::of(path) {
        FrontDoor::CertCentral | FrontDoor::Partner => ApiError::new(status, code, message).into_response(),
        FrontDoor::Ncp if status == StatusCode::PAYLOAD_TOO_LARGE => NcpError::too_large().into_response(),
        FrontDoor::Ncp => NcpError::gateway(status, ncp_code, "Request Refused", message).into_response(),
        FrontDoor::Acme if status == StatusCode::SERVICE_UNAVAILABLE => {
            Problem::new("serverInternal", status, message).into_response()
        }
        FrontDoor::Acme => Problem::new("malformed", status, message).into_response(),
        FrontDoor::Console => crate::console::refusal(status, message),
        FrontDoor::Pki | FrontDoor::Ops => (status, format!("{message}\n")).into_response(),
    }
}
