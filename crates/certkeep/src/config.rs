//! Configuration: defaults, then a TOML file, then environment variables, then flags.
//! (Environment and flags are merged by clap: a flag wins over its `CERTKEEP_*` variable.)

use std::{net::SocketAddr, path::PathBuf};

use certkeep_ca::KeyAlgorithm;
use certkeep_server::RateLimit;
use serde::Deserialize;
use time::{OffsetDateTime, UtcOffset, format_description::well_known::Rfc3339, macros::format_description};

/// The `[...]` tables and keys of the configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Address to listen on.
    pub listen: Option<SocketAddr>,
    /// Directory for the database and the CA.
    pub data_dir: Option<PathBuf>,
    /// `sqlite:///path/to/db` (default: `certkeep.db` in the data directory) or `postgres://...`.
    pub database_url: Option<String>,
    /// `human` or `json`.
    pub log_format: Option<LogFormat>,
    /// Freeze the clock at this RFC 3339 instant (for reproducible test setups).
    pub fixed_time: Option<String>,
    /// CA settings.
    #[serde(default)]
    pub ca: CaSection,
    /// Per-key rate limits, e.g. `["100/5", "1000/180"]`.
    #[serde(default)]
    pub rate_limits: Vec<String>,
    /// Zone of the dates in NCP answers, e.g. `+09:00`.
    pub ncp_time_zone: Option<String>,
    /// Domain-control policy.
    pub domain_validation: Option<DomainValidation>,
    /// Base URL clients reach the API at (and, without `pki_url`, certificates' CRL/OCSP URLs).
    pub public_url: Option<String>,
    /// Address of a plain-HTTP listener serving only `/pki` (CRL, OCSP, CA certificates).
    pub pki_listen: Option<SocketAddr>,
    /// Base URL (`http://...`) placed in certificates for the CRL, OCSP and the issuer certificate.
    pub pki_url: Option<String>,
    /// Public products also accept names under the RFC 2606 test TLDs `.test` and `.example`.
    pub allow_test_tlds: Option<bool>,
    /// Longest certificate of a private product, in days.
    pub private_certificate_days: Option<u32>,
    /// ACME challenge validation.
    #[serde(default)]
    pub acme: AcmeSection,
    /// HTTPS.
    #[serde(default)]
    pub tls: TlsSection,
    /// Connection and request limits.
    #[serde(default)]
    pub limits: LimitsSection,
}

/// `[tls]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// Certificate chain (PEM, leaf first); with `key`.
    pub cert: Option<PathBuf>,
    /// Its private key (PEM).
    pub key: Option<PathBuf>,
    /// Names of the certificate certkeep issues itself when no `cert` is given.
    pub hosts: Option<Vec<String>>,
    /// Serve plain HTTP.
    pub plain_http: Option<bool>,
}

/// `[limits]`: what slow or numerous clients may take (defaults: [`certkeep_server::Limits`]).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    /// Seconds a client has to send a request's headers.
    pub header_read_timeout: Option<u64>,
    /// Seconds a client has to send a request's body.
    pub body_read_timeout: Option<u64>,
    /// Largest request body in bytes.
    pub max_body_bytes: Option<usize>,
    /// Requests handled at once (more get 503).
    pub max_concurrent_requests: Option<usize>,
}

/// `[acme]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeSection {
    /// Port http-01 fetches tokens from (default 80).
    pub http01_port: Option<u16>,
    /// DNS server (`ip:port`, UDP) for dns-01 and for http-01 addresses (default: the system's).
    pub dns_resolver: Option<SocketAddr>,
    /// Every challenge succeeds unchecked (CI setups only).
    pub always_valid: Option<bool>,
    /// Port tls-alpn-01 connects to (default 443).
    pub tls_alpn01_port: Option<u16>,
}

/// How new names are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DomainValidation {
    /// Names must be under a domain the account registered.
    Validated,
    /// Every name is accepted.
    TrustAll,
}

/// `[ca]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaSection {
    /// `ecdsa-p256` (default), `ecdsa-p384`, `rsa-2048`, `rsa-3072`, `rsa-4096`.
    pub key_algorithm: Option<String>,
    /// Name used in the CA subjects.
    pub name: Option<String>,
    /// Country (two letters) in the CA subjects `init` writes (default `US`).
    pub country: Option<String>,
    /// File holding the passphrase of the CA key files.
    pub passphrase_file: Option<PathBuf>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Readable lines.
    #[default]
    Human,
    /// One JSON object per line.
    Json,
}

/// Reads a configuration file.
pub fn read_file(path: &std::path::Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("invalid configuration {}: {e}", path.display()))
}

/// Parses a CA key algorithm name.
pub fn key_algorithm(s: &str) -> Result<KeyAlgorithm, String> {
    s.parse().map_err(|e: certkeep_ca::UnknownKeyAlgorithm| e.to_string())
}

/// Parses a comma-separated list of `REQUESTS/SECONDS` limits.
pub fn rate_limits<S: AsRef<str>>(items: &[S]) -> Result<Vec<RateLimit>, String> {
    items
        .iter()
        .flat_map(|s| s.as_ref().split(','))
        .filter(|s| !s.trim().is_empty())
        .map(str::parse)
        .collect()
}

/// Parses an RFC 3339 instant.
pub fn instant(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| format!("{s:?} is not an RFC 3339 time: {e}"))
}

/// Parses a UTC offset from -18:00 to +18:00: `+09:00`, `-03:30`, `+00:00` (or `Z`).
pub fn utc_offset(s: &str) -> Result<UtcOffset, String> {
    let format = format_description!("[offset_hour sign:mandatory]:[offset_minute]");
    match s.trim() {
        "Z" | "z" => Ok(UtcOffset::UTC),
        t => UtcOffset::parse(t, format)
            .ok()
            .filter(|o| o.whole_seconds().abs() <= 18 * 3600)
            .ok_or_else(|| format!("{s:?} is not a UTC offset like +09:00")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_file() {
        let c: FileConfig = toml::from_str(
            r#"
            listen = "127.0.0.1:9000"
            data_dir = "/var/lib/certkeep"
            log_format = "json"
            rate_limits = ["100/5", "1000/180"]
            [ca]
            key_algorithm = "rsa-2048"
            "#,
        )
        .unwrap();
        assert_eq!(c.listen.unwrap().port(), 9000);
        assert_eq!(c.log_format, Some(LogFormat::Json));
        assert_eq!(rate_limits(&c.rate_limits).unwrap().len(), 2);
        assert_eq!(key_algorithm(c.ca.key_algorithm.as_deref().unwrap()).unwrap(), KeyAlgorithm::Rsa2048);
        assert!(toml::from_str::<FileConfig>("lisen = 1").is_err());
    }

    #[test]
    fn utc_offsets() {
        assert_eq!(utc_offset("+09:00").unwrap(), UtcOffset::from_hms(9, 0, 0).unwrap());
        assert_eq!(utc_offset("-03:30").unwrap(), UtcOffset::from_hms(-3, -30, 0).unwrap());
        assert_eq!(utc_offset("Z").unwrap(), UtcOffset::UTC);
        for bad in ["9", "+9:00", "+19:00", "KST", ""] {
            assert!(utc_offset(bad).is_err(), "{bad}");
        }
    }
}
