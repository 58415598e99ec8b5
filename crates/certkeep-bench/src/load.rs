//! A closed-loop HTTP/1.1 load generator: `concurrency` keep-alive connections, each sending
//! its next request as soon as the previous answer is fully read.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use http_body_util::{BodyExt, Full};
use hyper::{Request, body::Bytes};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One request to send: a path with its query, whether to ask for CSV, and a JSON body to
/// POST (answered 201) instead of a GET (answered 200).
#[derive(Clone)]
pub struct Target {
    /// Path and query, e.g. `/services/v2/order/certificate?limit=100`.
    pub path: String,
    /// Send `Accept: text/csv`.
    pub csv: bool,
    /// POST this JSON.
    pub body: Option<String>,
}

impl Target {
    /// A GET of `path`.
    pub fn get(path: String) -> Self {
        Self { path, csv: false, body: None }
    }
}

/// What one run measured.
pub struct Measured {
    /// Latency of every request, sorted.
    pub latencies: Vec<Duration>,
    /// Requests that did not answer 200 (201 for a POST).
    pub errors: u64,
    /// Wall time of the measured part.
    pub elapsed: Duration,
    /// Response body bytes received.
    pub bytes: u64,
}

impl Measured {
    /// Requests per second.
    pub fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The latency below which `percent` of the requests fall.
    pub fn percentile(&self, percent: usize) -> Duration {
        let n = self.latencies.len();
        if n == 0 {
            return Duration::ZERO;
        }
        self.latencies[(n * percent / 100).min(n - 1)]
    }
}

/// How long and how hard to drive the server.
pub struct Load {
    /// Open connections, each with one request in flight.
    pub concurrency: usize,
    /// Measured run; connections finish their last request after it.
    pub duration: Duration,
    /// Stop after this many measured requests in all (for slow scenarios such as CSV).
    pub max_requests: Option<usize>,
}

/// Sends the targets round-robin (each connection starting at its own place) under `load`.
pub async fn run(addr: SocketAddr, key: &str, targets: &[Target], load: &Load) -> Result<Measured, String> {
    let targets = Arc::new(targets.to_vec());
    let key: Arc<str> = key.into();
    let start = Instant::now();
    let deadline = start + load.duration;
    let per_connection = load.max_requests.map(|m| m.div_ceil(load.concurrency.max(1)));
    let mut workers = Vec::new();
    for c in 0..load.concurrency.max(1) {
        let (targets, key) = (targets.clone(), key.clone());
        workers.push(tokio::spawn(async move {
            connection(addr, &key, &targets, c * 7919, start, deadline, per_connection).await
        }));
    }
    let mut measured = Measured { latencies: Vec::new(), errors: 0, elapsed: Duration::ZERO, bytes: 0 };
    for w in workers {
        let m = w.await.map_err(|e| e.to_string())??;
        measured.latencies.extend(m.latencies);
        measured.errors += m.errors;
        measured.bytes += m.bytes;
        measured.elapsed = measured.elapsed.max(m.elapsed);
    }
    measured.latencies.sort_unstable();
    Ok(measured)
}

async fn connection(
    addr: SocketAddr,
    key: &str,
    targets: &[Target],
    first: usize,
    start: Instant,
    deadline: Instant,
    max_requests: Option<usize>,
) -> Result<Measured, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| format!("connect {addr}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let host = addr.to_string();
    let mut m = Measured { latencies: Vec::new(), errors: 0, elapsed: Duration::ZERO, bytes: 0 };
    let mut i = first;
    loop {
        let sent = Instant::now();
        if sent >= deadline || max_requests.is_some_and(|max| m.latencies.len() >= max) {
            break;
        }
        let target = &targets[i % targets.len()];
        i += 1;
        let method = if target.body.is_some() { "POST" } else { "GET" };
        let mut request = Request::builder()
            .method(method)
            .uri(target.path.as_str())
            .header("host", host.as_str())
            .header("x-dc-devkey", key);
        if target.csv {
            request = request.header("accept", "text/csv");
        }
        let request = match &target.body {
            Some(json) => request
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(json.clone())))
                .map_err(|e| e.to_string())?,
            None => request.body(Full::new(Bytes::new())).map_err(|e| e.to_string())?,
        };
        sender.ready().await.map_err(|e| e.to_string())?;
        let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
        let expected = if target.body.is_some() { 201 } else { 200 };
        let ok = response.status() == expected;
        let mut body = response.into_body();
        let mut bytes = 0;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.map_err(|e| e.to_string())?.into_data() {
                bytes += data.len() as u64;
            }
        }
        m.latencies.push(sent.elapsed());
        m.errors += u64::from(!ok);
        m.bytes += bytes;
    }
    m.elapsed = Instant::now().saturating_duration_since(start);
    Ok(m)
}

/// One GET on a fresh connection; returns the status and the body.
pub async fn get(addr: SocketAddr, key: &str, path: &str) -> Result<(u16, Bytes), String> {
    request(addr, "GET", path, &[("x-dc-devkey", key)], None).await
}

/// One request on a fresh connection, with a JSON body if any; returns the status and the body.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    json: Option<String>,
) -> Result<(u16, Bytes), String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| format!("connect {addr}: {e}"))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut request = Request::builder().method(method).uri(path).header("host", addr.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if json.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request =
        request.body(Full::new(Bytes::from(json.unwrap_or_default()))).map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok((status, body))
}
