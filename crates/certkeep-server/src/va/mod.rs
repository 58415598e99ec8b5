//! The validation authority every front door shares: DNS lookups through the configured
//! resolver (`acme.dns_resolver`, else the system's) and HTTP fetches from a name's validation
//! port (`acme.http01_port`). ACME's challenges ([`crate::acme`]) and CertCentral's and NCP's
//! domain control validation ([`crate::dcv`]) both look through these, so a deployment points
//! one resolver and one port at what it trusts.

pub(crate) mod dns;

use std::{net::SocketAddr, time::Duration};

/// Why a lookup or fetch did not give an answer to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaError {
    /// What failed.
    pub kind: VaFailure,
    /// A sentence for the client.
    pub detail: String,
}

/// The kind of a [`VaError`] (RFC 8555's `dns`, `connection`, `unauthorized`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VaFailure {
    /// The DNS lookup failed.
    Dns,
    /// The connection or the read failed.
    Connection,
    /// The server answered, with an error status.
    Refused,
    /// This process could not build a client.
    Internal,
}

impl VaError {
    fn new(kind: VaFailure, detail: impl Into<String>) -> Self {
        Self { kind, detail: detail.into() }
    }
}

/// The DNS server lookups go to: the configured one, else the system's first.
fn server(resolver: Option<SocketAddr>) -> Result<SocketAddr, VaError> {
    resolver
        .or_else(dns::system_server)
        .ok_or_else(|| VaError::new(VaFailure::Dns, "No DNS server is configured."))
}

/// The addresses of `name` on `port`: from the configured resolver, else the system's.
pub async fn resolve(
    resolver: Option<SocketAddr>,
    name: &str,
    port: u16,
) -> Result<Vec<SocketAddr>, VaError> {
    let dns_error = |e: String| VaError::new(VaFailure::Dns, format!("Looking up {name}: {e}"));
    let addrs: Vec<SocketAddr> = match resolver {
        Some(server) => {
            let a = dns::query(server, name, dns::A).await.map_err(dns_error)?;
            let aaaa = dns::query(server, name, dns::AAAA).await.map_err(dns_error)?;
            dns::addresses(&a, &aaaa).into_iter().map(|ip| SocketAddr::new(ip, port)).collect()
        }
        None => tokio::net::lookup_host((name, port)).await.map_err(|e| dns_error(e.to_string()))?.collect(),
    };
    if addrs.is_empty() {
        return Err(dns_error("no A or AAAA record".into()));
    }
    Ok(addrs)
}

/// The strings of the TXT records at `record`.
pub async fn txt(resolver: Option<SocketAddr>, record: &str) -> Result<Vec<String>, VaError> {
    let answers = dns::query(server(resolver)?, record, dns::TXT)
        .await
        .map_err(|e| VaError::new(VaFailure::Dns, format!("Looking up TXT {record}: {e}")))?;
    Ok(dns::txt_strings(&answers))
}

/// The targets (lower case, no final dot) of the CNAME records at `record`.
pub async fn cname(resolver: Option<SocketAddr>, record: &str) -> Result<Vec<String>, VaError> {
    let answers = dns::query(server(resolver)?, record, dns::CNAME)
        .await
        .map_err(|e| VaError::new(VaFailure::Dns, format!("Looking up CNAME {record}: {e}")))?;
    Ok(answers.into_iter().map(|a| String::from_utf8_lossy(&a).trim_end_matches('.').to_owned()).collect())
}

/// GETs `http://{name}:{port}{path}` (addresses from the resolver, no proxy, 10 s, at most 10
/// redirects); returns the URL and the first 8 KiB of a 2xx body.
pub async fn http_get(
    resolver: Option<SocketAddr>,
    name: &str,
    port: u16,
    path: &str,
) -> Result<(String, String), VaError> {
    let addrs = resolve(resolver, name, port).await?;
    let url = format!("http://{name}:{port}{path}");
    let client = reqwest::Client::builder()
        .resolve_to_addrs(name, &addrs)
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::limited(10))
        .build()
        .map_err(|e| VaError::new(VaFailure::Internal, format!("HTTP client: {e}")))?;
    let res = client
        .get(&url)
        .send()
        .await
        .map_err(|e| VaError::new(VaFailure::Connection, format!("Fetching {url}: {e}")))?;
    let status = res.status();
    if !status.is_success() {
        return Err(VaError::new(VaFailure::Refused, format!("Fetching {url}: HTTP {status}")));
    }
    let body =
        res.bytes().await.map_err(|e| VaError::new(VaFailure::Connection, format!("Reading {url}: {e}")))?;
    Ok((url, String::from_utf8_lossy(&body[..body.len().min(8192)]).into_owned()))
}
