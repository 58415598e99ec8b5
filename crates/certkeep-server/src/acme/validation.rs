//! Challenge validation that really validates (RFC 8555 §8.3, §8.4): http-01 fetches the key
//! authorization from the name's port 80 (configurable), dns-01 looks up the TXT record
//! `_acme-challenge.{name}`, tls-alpn-01 (RFC 8737, [`tls_alpn`]) checks the certificate the
//! name's port 443 (configurable) presents for ALPN `acme-tls/1`. Failures are problem documents stored on the challenge.

use std::net::SocketAddr;

use super::{AcmeSettings, jws::b64, problem::Problem, tls_alpn};
use crate::va::{self, VaError, VaFailure};

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

/// The problem a failed lookup or fetch is.
fn problem(e: VaError) -> Problem {
    match e.kind {
        VaFailure::Dns => Problem::validation("dns", e.detail),
        VaFailure::Connection => Problem::validation("connection", e.detail),
        VaFailure::Refused => Problem::validation("unauthorized", e.detail),
        VaFailure::Internal => Problem::internal(e.detail),
    }
}

/// The addresses of `name`: from the configured resolver, else the system's.
async fn resolve(settings: &AcmeSettings, name: &str, port: u16) -> Result<Vec<SocketAddr>, Problem> {
    va::resolve(settings.dns_resolver, name, port).await.map_err(problem)
}

async fn http01(
    settings: &AcmeSettings,
    name: &str,
    token: &str,
    key_authorization: &str,
) -> Result<(), Problem> {
    let path = format!("/.well-known/acme-challenge/{token}");
    let (url, body) =
        va::http_get(settings.dns_resolver, name, settings.http01_port, &path).await.map_err(problem)?;
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
    let found = va::txt(settings.dns_resolver, &record).await.map_err(problem)?;
    let expected =
        b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key_authorization.as_bytes()).as_ref());
    if found.contains(&expected) {
        Ok(())
    } else {
        Err(Problem::validation(
            "unauthorized",
            format!("No TXT record {record} holds {expected:?} (found {} record(s)).", found.len()),
        ))
    }
}
