//! Challenge validation that really validates (RFC 8555 §8.3, §8.4): http-01 fetches the key
//! authorization from the name's port 80 (configurable), dns-01 looks up the TXT record
//! `_acme-challenge.{name}`, tls-alpn-01 (RFC 8737, [`tls_alpn`]) checks the certificate the
//! name's port 443 (configurable) presents for ALPN `acme-tls/1`. Failures are problem documents stored on the challenge.

use std::{net::SocketAddr, time::Duration};

use super::{AcmeSettings, dns, jws::b64, problem::Problem, tls_alpn};

/// Checks one challenge.
pub async fn check(
    settings: &AcmeSettings,
    kind: &str,
    name: &str,
    token: &str,
    key_authorization: &str,
) -> Result<(), Problem> {
    match kind {
        "http-01" => http01(settings, name, token, key_authorization).await,
        "dns-01" => dns01(settings, name, key_authorization).await,
        "tls-alpn-01" => {
            let addrs = resolve(settings, name, settings.tls_alpn01_port).await?;
            tls_alpn::check(&addrs, name, key_authorization).await
        }
        other => Err(Problem::malformed(format!("Challenge type {other} is not supported."))),
    }
}

/// The addresses of `name`: from the configured resolver, else the system's.
async fn resolve(settings: &AcmeSettings, name: &str, port: u16) -> Result<Vec<SocketAddr>, Problem> {
    let dns_error = |e: String| Problem::validation("dns", format!("Looking up {name}: {e}"));
    let addrs: Vec<SocketAddr> = match settings.dns_resolver {
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

async fn http01(
    settings: &AcmeSettings,
    name: &str,
    token: &str,
    key_authorization: &str,
) -> Result<(), Problem> {
    let port = settings.http01_port;
    let addrs = resolve(settings, name, port).await?;
    let url = format!("http://{name}:{port}/.well-known/acme-challenge/{token}");
    let client = reqwest::Client::builder()
        .resolve_to_addrs(name, &addrs)
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::limited(10))
        .build()
        .map_err(|e| Problem::internal(format!("HTTP client: {e}")))?;
    let res = client
        .get(&url)
        .send()
        .await
        .map_err(|e| Problem::validation("connection", format!("Fetching {url}: {e}")))?;
    let status = res.status();
    if !status.is_success() {
        return Err(Problem::validation("unauthorized", format!("Fetching {url}: HTTP {status}")));
    }
    let body =
        res.bytes().await.map_err(|e| Problem::validation("connection", format!("Reading {url}: {e}")))?;
    let body = String::from_utf8_lossy(&body[..body.len().min(8192)]).into_owned();
    if body.trim_end() != key_authorization {
        return Err(Problem::validation(
            "incorrectResponse",
            format!("The key authorization at {url} is {:?}, not {key_authorization:?}.", body.trim_end()),
        ));
    }
    Ok(())
}

async fn dns01(settings: &AcmeSettings, name: &str, key_authorization: &str) -> Result<(), Problem> {
    let record = format!("_acme-challenge.{name}");
    let server = settings
        .dns_resolver
        .or_else(dns::system_server)
        .ok_or_else(|| Problem::validation("dns", "No DNS server is configured."))?;
    let answers = dns::query(server, &record, dns::TXT)
        .await
        .map_err(|e| Problem::validation("dns", format!("Looking up TXT {record}: {e}")))?;
    let expected =
        b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key_authorization.as_bytes()).as_ref());
    let found = dns::txt_strings(&answers);
    if found.contains(&expected) {
        Ok(())
    } else {
        Err(Problem::validation(
            "unauthorized",
            format!("No TXT record {record} holds {expected:?} (found {} record(s)).", found.len()),
        ))
    }
}
