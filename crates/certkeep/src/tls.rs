//! The HTTPS certificate: configured files, or one issued by certkeep's own CA for the
//! configured host names, kept in the data directory and renewed before it expires.

use std::{
    collections::BTreeSet,
    net::IpAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use certkeep_ca::{KeyAlgorithm, LeafRequest, Validation};
use certkeep_server::{Authority, ServerCertificate};
use time::{Duration, OffsetDateTime};
use x509_parser::{extensions::GeneralName, pem::parse_x509_pem, prelude::FromDer};

/// Validity of a certificate certkeep issues itself.
const VALIDITY: Duration = Duration::days(90);
/// A certificate with less than this left is renewed.
const RENEW_BEFORE: Duration = Duration::days(30);
/// How often a running server checks whether its own certificate needs renewal.
pub const RENEWAL_CHECK: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// The host names a certificate is issued for by default: loopback names and the host of the
/// public URL.
pub fn default_hosts(public_url: &str) -> Vec<String> {
    let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    // A wildcard listen address (0.0.0.0) is no name a client connects to.
    let reachable = |host: &String| host.parse::<IpAddr>().map_or(true, |ip| !ip.is_unspecified());
    hosts.extend(url_host(public_url).filter(reachable));
    hosts
}

/// The host of `scheme://host[:port]/...` (brackets of IPv6 literals removed).
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next()?.rsplit('@').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.split(':').next()?,
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Where certkeep keeps the certificate it issues itself.
pub struct OwnCertificate {
    chain: PathBuf,
    key: PathBuf,
    hosts: Vec<String>,
}

impl OwnCertificate {
    /// The certificate for `hosts` (normalised, deduplicated) kept in `dir`.
    pub fn new(dir: &Path, hosts: &[String]) -> Result<Self, String> {
        let mut unique = Vec::new();
        for host in hosts {
            let host = normalize_host(host)?;
            if !unique.contains(&host) {
                unique.push(host);
            }
        }
        if unique.is_empty() {
            return Err("no TLS host name given".into());
        }
        Ok(Self { chain: dir.join("server.crt.pem"), key: dir.join("server.key.pem"), hosts: unique })
    }

    /// The stored chain and key while they are fit (issued by this CA for exactly these hosts
    /// with more than 30 days left), else a fresh pair, written back. `true` when renewed.
    pub fn current(
        &self,
        authority: &Authority,
        now: OffsetDateTime,
    ) -> Result<(String, String, bool), String> {
        let fit =
            std::fs::read_to_string(&self.chain).ok().filter(|chain| self.is_fit(chain, authority, now));
        if let Some((chain, key)) = fit.zip(std::fs::read_to_string(&self.key).ok()) {
            return Ok((chain, key, false));
        }
        let (chain, key) = self.issue(authority, now)?;
        if let Some(dir) = self.chain.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        crate::setup::write_private(&self.key, &key)?;
        crate::setup::write_private(&self.chain, &chain)?;
        tracing::info!(hosts = ?self.hosts, path = %self.chain.display(), "issued the server's TLS certificate");
        Ok((chain, key, true))
    }

    fn issue(&self, authority: &Authority, now: OffsetDateTime) -> Result<(String, String), String> {
        let err = |e: certkeep_ca::CaError| format!("cannot issue the TLS certificate: {e}");
        let (key_pem, csr_pem) =
            certkeep_ca::generate_csr(KeyAlgorithm::EcdsaP256, &self.hosts[0], &self.hosts).map_err(err)?;
        let csr = certkeep_ca::parse_csr(&csr_pem).map_err(|e| e.to_string())?;
        let urls = authority.urls();
        let leaf = authority
            .ca()
            .issue(&LeafRequest {
                public_key: &csr.public_key,
                common_name: &self.hosts[0],
                dns_names: &self.hosts[1..],
                organization: None,
                validation: Validation::Dv,
                client_auth: false,
                not_before: now - Duration::minutes(5),
                not_after: now + VALIDITY,
                crl_url: Some(&urls.crl),
                ocsp_url: Some(&urls.ocsp),
                ca_issuers_url: Some(&urls.ca_issuers),
            })
            .map_err(err)?;
        Ok((format!("{}{}", leaf.pem(), authority.ca().intermediate_pem()), key_pem))
    }

    fn is_fit(&self, chain: &str, authority: &Authority, now: OffsetDateTime) -> bool {
        let Ok((_, pem)) = parse_x509_pem(chain.as_bytes()) else { return false };
        let Ok((_, leaf)) = x509_parser::certificate::X509Certificate::from_der(&pem.contents) else {
            return false;
        };
        let Ok((_, issuer)) =
            x509_parser::certificate::X509Certificate::from_der(authority.ca().intermediate_der())
        else {
            return false;
        };
        let left = leaf.validity().not_after.to_datetime() - now;
        let names: BTreeSet<String> = leaf
            .subject_alternative_name()
            .ok()
            .flatten()
            .map(|san| san.value.general_names.iter().filter_map(general_name).collect())
            .unwrap_or_default();
        leaf.verify_signature(Some(issuer.public_key())).is_ok()
            && left > RENEW_BEFORE
            && names == self.hosts.iter().cloned().collect()
    }
}

/// Keeps a running server's own certificate renewed: checks every [`RENEWAL_CHECK`] and
/// swaps in a fresh one when [`OwnCertificate::current`] issued it.
pub async fn renew_forever(own: OwnCertificate, authority: Arc<Authority>, serving: Arc<ServerCertificate>) {
    loop {
        tokio::time::sleep(RENEWAL_CHECK).await;
        let (own_ref, authority_ref) = (&own, &*authority);
        match tokio::task::block_in_place(|| own_ref.current(authority_ref, OffsetDateTime::now_utc())) {
            Ok((chain, key, true)) => {
                if let Err(e) = serving.replace(&chain, &key) {
                    tracing::error!(error = %e, "cannot serve the renewed TLS certificate");
                }
            }
            Ok((_, _, false)) => {}
            Err(e) => tracing::error!(error = %e, "TLS certificate renewal failed"),
        }
    }
}

fn general_name(name: &GeneralName<'_>) -> Option<String> {
    match name {
        GeneralName::DNSName(dns) => Some(dns.to_ascii_lowercase()),
        GeneralName::IPAddress(bytes) => match *bytes {
            [a, b, c, d] => Some(IpAddr::from([*a, *b, *c, *d]).to_string()),
            octets => <[u8; 16]>::try_from(octets).ok().map(|v6| IpAddr::from(v6).to_string()),
        },
        _ => None,
    }
}

fn normalize_host(host: &str) -> Result<String, String> {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ip.to_string());
    }
    let valid = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !valid {
        return Err(format!("{host:?} is not a host name or IP address"));
    }
    Ok(host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_urls() {
        assert_eq!(url_host("https://CA.example.com:8443/x").as_deref(), Some("ca.example.com"));
        assert_eq!(url_host("https://[::1]:8443").as_deref(), Some("::1"));
        assert_eq!(url_host("http://10.0.0.1").as_deref(), Some("10.0.0.1"));
        assert_eq!(url_host("https://"), None);
        assert_eq!(default_hosts("https://0.0.0.0:8443"), ["localhost", "127.0.0.1", "::1"]);
        assert_eq!(default_hosts("https://ca.test").last().unwrap(), "ca.test");
    }

    #[test]
    fn host_names_are_checked() {
        assert_eq!(normalize_host("[::1]").unwrap(), "::1");
        assert_eq!(normalize_host("Example.COM").unwrap(), "example.com");
        assert!(normalize_host("bad host").is_err());
        assert!(normalize_host("").is_err());
    }
}
