//! Settings, resolved in one place: a flag beats its `CERTKEEP_*` environment variable (clap
//! merges those two), which beats the TOML file (`--config`), which beats the default.
//! [`ServeSettings::merge`] (building on [`CommonSettings::merge`]) is where the sources meet
//! and where values are checked; commands only consume the result.

use std::{
    net::{Ipv4Addr, SocketAddr, SocketAddrV4},
    path::{Path, PathBuf},
    time::Duration,
};

use certkeep_ca::KeyAlgorithm;
use certkeep_core::{
    lifecycle::DomainPolicy,
    policy::{self, IssuanceSettings, TestNames},
};
use certkeep_server::{
    Limits, Pace, RateLimit,
    acme::AcmeSettings,
    email_notice::{self, EmailSettings},
    expiry_notice::NoticeSettings,
    webhook::{DeliverySettings, EndpointPolicy},
};
use clap::Args;
use serde::Deserialize;
use time::{OffsetDateTime, UtcOffset, format_description::well_known::Rfc3339, macros::format_description};

use crate::setup::Layout;

/// Where `serve` listens unless told otherwise.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080));

/// Flags of every command that opens a data directory (each also read from its variable).
#[derive(Args)]
pub struct CommonFlags {
    /// TOML configuration file.
    #[arg(long, env = "CERTKEEP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory holding the database and the CA.
    #[arg(long, env = "CERTKEEP_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `sqlite:///path/certkeep.db` (default: certkeep.db in the data directory)
    /// or `postgres://user@host/database`.
    #[arg(long, env = "CERTKEEP_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Log format.
    #[arg(long, env = "CERTKEEP_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// CA key algorithm: ecdsa-p256 (default), ecdsa-p384, rsa-2048, rsa-3072, rsa-4096.
    #[arg(long, env = "CERTKEEP_CA_KEY_ALGORITHM")]
    pub ca_key_algorithm: Option<String>,
    /// File holding the passphrase that protects the CA key files (encrypted PKCS#8): `init`
    /// encrypts them with it, `serve` decrypts them.
    #[arg(long, env = "CERTKEEP_CA_PASSPHRASE_FILE", visible_alias = "passphrase-file")]
    pub ca_passphrase_file: Option<PathBuf>,
}

/// Flags of `serve` that are settings (each also read from its variable).
#[derive(Args)]
pub struct ServeFlags {
    #[command(flatten)]
    pub common: CommonFlags,
    /// Address to listen on.
    #[arg(long, env = "CERTKEEP_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Per-key rate limits, REQUESTS/SECONDS, comma-separated (e.g. DigiCert's `100/5,1000/180`).
    #[arg(long, env = "CERTKEEP_RATE_LIMIT", value_delimiter = ',')]
    pub rate_limit: Vec<String>,
    /// Freeze the clock at this RFC 3339 instant (days remaining and expiry follow it).
    #[arg(long, env = "CERTKEEP_FIXED_TIME")]
    pub fixed_time: Option<String>,
    /// Domain control: `validated` (names must be under a domain registered with POST /domain)
    /// or `trust-all` (any name; test setups). Default: trust-all with --demo, else validated.
    #[arg(long, env = "CERTKEEP_DOMAIN_VALIDATION", value_enum)]
    pub domain_validation: Option<DomainValidation>,
    /// Base URL clients and relying parties reach this server at (placed in certificates for
    /// the CRL, OCSP and the issuer certificate). Default: https://<listen address> (http://
    /// with --plain-http).
    #[arg(long, env = "CERTKEEP_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Also serve /pki (CRL, OCSP, CA certificates) over plain HTTP on this address, as the
    /// Baseline Requirements want revocation URLs (default with --demo: the listen port + 1).
    #[arg(long, env = "CERTKEEP_PKI_LISTEN")]
    pub pki_listen: Option<SocketAddr>,
    /// Base URL placed in certificates for the CRL, OCSP and the issuer certificate (default:
    /// http://<pki listen address>, else the public URL).
    #[arg(long, env = "CERTKEEP_PKI_URL")]
    pub pki_url: Option<String>,
    /// Address of a plain-HTTP operator listener serving only `/metrics`, without a token.
    #[arg(long, env = "CERTKEEP_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Bearer token that opens `/metrics` on the main listener (without it, 404 there).
    #[arg(long, env = "CERTKEEP_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Public products also accept names under the RFC 2606 test TLDs .test and .example (CI
    /// stand-ins; default on with --demo).
    #[arg(long, env = "CERTKEEP_ALLOW_TEST_TLDS")]
    pub allow_test_tlds: Option<bool>,
    /// Longest certificate of a private product, in days (default 1096).
    #[arg(long, env = "CERTKEEP_PRIVATE_CERTIFICATE_DAYS")]
    pub private_certificate_days: Option<u32>,
    /// Zone of the dates in NCP answers (default +09:00, as NCP shows them).
    #[arg(long, env = "CERTKEEP_NCP_TIME_ZONE")]
    pub ncp_time_zone: Option<String>,
    /// Port ACME http-01 validation fetches tokens from (default 80).
    #[arg(long, env = "CERTKEEP_ACME_HTTP01_PORT")]
    pub acme_http01_port: Option<u16>,
    /// DNS server (ip:port, UDP) ACME validation queries for dns-01 TXT records and http-01
    /// addresses (default: the system resolver).
    #[arg(long, env = "CERTKEEP_ACME_DNS_RESOLVER")]
    pub acme_dns_resolver: Option<SocketAddr>,
    /// Every ACME challenge succeeds without being checked (CI setups only, like Pebble's
    /// PEBBLE_VA_ALWAYS_VALID).
    #[arg(long, env = "CERTKEEP_ACME_ALWAYS_VALID")]
    pub acme_always_valid: bool,
    /// Port ACME tls-alpn-01 validation connects to (default 443).
    #[arg(long, env = "CERTKEEP_ACME_TLS_ALPN01_PORT")]
    pub acme_tls_alpn01_port: Option<u16>,
    /// Certificate chain (PEM, leaf first) to serve HTTPS with, together with --tls-key.
    /// Default: a certificate issued by certkeep's own CA for --tls-host, kept in
    /// <data dir>/tls and renewed before it expires.
    #[arg(long, env = "CERTKEEP_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, env = "CERTKEEP_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Host names and IP addresses of the certificate certkeep issues itself, comma-separated
    /// (default: localhost, 127.0.0.1, ::1 and the public URL's host).
    #[arg(long, env = "CERTKEEP_TLS_HOSTS", value_delimiter = ',')]
    pub tls_host: Vec<String>,
    /// Serve plain HTTP instead of HTTPS (behind a TLS-terminating proxy, or in tests).
    #[arg(long, env = "CERTKEEP_PLAIN_HTTP", conflicts_with_all = ["tls_cert", "tls_key", "tls_host"])]
    pub plain_http: bool,
    /// Seconds a client has to send a request's headers (default 10).
    #[arg(long, env = "CERTKEEP_HEADER_READ_TIMEOUT")]
    pub header_read_timeout: Option<u64>,
    /// Seconds a client has to send a request's body (default 30).
    #[arg(long, env = "CERTKEEP_BODY_READ_TIMEOUT")]
    pub body_read_timeout: Option<u64>,
    /// Largest request body in bytes (default 2 MiB).
    #[arg(long, env = "CERTKEEP_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Requests handled at once; more are refused with 503 (default 512).
    #[arg(long, env = "CERTKEEP_MAX_CONCURRENT_REQUESTS")]
    pub max_concurrent_requests: Option<usize>,
    /// Webhooks may post to loopback, private, shared and link-local addresses (an internal
    /// receiver; default: off, and loopback only with --demo).
    #[arg(long, env = "CERTKEEP_WEBHOOK_ALLOW_PRIVATE_ENDPOINTS")]
    pub webhook_allow_private_endpoints: Option<bool>,
    /// Seconds before a failed webhook delivery is tried again; each further failure doubles
    /// the wait, up to an hour (default 30).
    #[arg(long, env = "CERTKEEP_WEBHOOK_FIRST_RETRY_SECONDS")]
    pub webhook_first_retry_seconds: Option<u64>,
    /// Seconds between two looks for certificates that reached an expiry notice window
    /// (default 3600).
    #[arg(long, env = "CERTKEEP_EXPIRY_NOTICE_INTERVAL_SECONDS")]
    pub expiry_notice_interval_seconds: Option<u64>,
    /// SMTP relay (HOST:PORT, plain SMTP without authentication, such as a local MTA) that
    /// e-mail expiry notices go through (default: none, and no e-mail notices).
    #[arg(long, env = "CERTKEEP_SMTP_RELAY")]
    pub smtp_relay: Option<String>,
    /// From address of the e-mail notices, e.g. `certkeep <certkeep@example.com>` (needed
    /// with --smtp-relay).
    #[arg(long, env = "CERTKEEP_NOTICE_FROM")]
    pub notice_from: Option<String>,
    /// Days to expiry at which e-mail notices go out, comma-separated (default DigiCert's
    /// 90,60,30,7,0,-7). Webhooks keep their account's webhook_notification_frequency.
    #[arg(long, env = "CERTKEEP_EXPIRY_NOTICE_DAYS", value_delimiter = ',', allow_hyphen_values = true)]
    pub expiry_notice_days: Vec<String>,
    /// Seconds before an e-mail notice the relay did not take is tried again; each further
    /// failure doubles the wait, up to an hour (default 30).
    #[arg(long, env = "CERTKEEP_EMAIL_FIRST_RETRY_SECONDS")]
    pub email_first_retry_seconds: Option<u64>,
}

/// The `[...]` tables and keys of the configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The file these were read from (empty without one), for error messages.
    #[serde(skip)]
    pub path: PathBuf,
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
    /// Address of a plain-HTTP listener serving only `/metrics`.
    pub metrics_listen: Option<SocketAddr>,
    /// Bearer token that opens `/metrics` on the main listener.
    pub metrics_token: Option<String>,
    /// Public products also accept names under the RFC 2606 test TLDs `.test` and `.example`.
    pub allow_test_tlds: Option<bool>,
    /// Longest certificate of a private product, in days.
    pub private_certificate_days: Option<u32>,
    /// ACME challenge validation.
    #[serde(default)]
    pub acme: AcmeSection,
    /// Webhook deliveries.
    #[serde(default)]
    pub webhooks: WebhooksSection,
    /// Expiry notices.
    #[serde(default)]
    pub notices: NoticesSection,
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

/// `[webhooks]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksSection {
    /// Endpoints may be loopback, private, shared or link-local addresses.
    pub allow_private_endpoints: Option<bool>,
    /// Seconds before a failed delivery is tried again (doubling up to an hour).
    pub first_retry_seconds: Option<u64>,
}

/// `[notices]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticesSection {
    /// Seconds between two looks for certificates that reached a notice window.
    pub interval_seconds: Option<u64>,
    /// `host:port` of the SMTP relay e-mail notices go through.
    pub smtp_relay: Option<String>,
    /// The e-mail notices' From address.
    pub from: Option<String>,
    /// Days to expiry at which e-mail notices go out, e.g. `[90, 60, 30, 7, 0, -7]`.
    pub email_days: Option<Vec<i64>>,
    /// Seconds before a notice the relay did not take is tried again (doubling up to an hour).
    pub first_retry_seconds: Option<u64>,
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

/// Settings every command that opens a data directory uses.
pub struct CommonSettings {
    /// `None` when no source names one (`serve --demo` then makes a temporary one).
    pub data_dir: Option<PathBuf>,
    /// `None`: `certkeep.db` in the data directory.
    pub database_url: Option<String>,
    pub log_format: LogFormat,
    /// What `init` puts in the CA subjects and key files, and what `serve` decrypts them with.
    pub ca: CaSettings,
    /// Base of the /pki URLs `init` writes into the intermediate: the file's `pki_url` only
    /// (`--pki-url` is a flag of `serve`).
    pub init_pki_url: Option<String>,
    /// Whether `domain vouch` accepts the test TLDs: the file's `allow_test_tlds` only
    /// (`--allow-test-tlds` is a flag of `serve`).
    pub vouch_test_names: TestNames,
}

/// The CA's settings.
pub struct CaSettings {
    pub key_algorithm: KeyAlgorithm,
    /// Name used in the CA subjects.
    pub name: String,
    /// Country (two letters) in the CA subjects.
    pub country: String,
    /// File holding the passphrase of the CA key files.
    pub passphrase_file: Option<PathBuf>,
}

/// Settings of `serve`.
pub struct ServeSettings {
    pub common: CommonSettings,
    pub listen: SocketAddr,
    pub rate_limits: Vec<RateLimit>,
    /// The instant the clock is frozen at (`None`: the system clock).
    pub fixed_time: Option<OffsetDateTime>,
    pub ncp_time_zone: UtcOffset,
    pub domains: DomainPolicy,
    /// `None`: `<scheme>://<the bound listen address>`.
    pub public_url: Option<String>,
    /// Address of the plain-HTTP listener serving only /pki, if any.
    pub pki_listen: Option<SocketAddr>,
    /// `None`: `http://<the bound pki_listen address>`, else the public URL.
    pub pki_url: Option<String>,
    /// The operator listener serving only `/metrics`, if any.
    pub metrics_listen: Option<SocketAddr>,
    /// The bearer token of `/metrics` on the main listener, if any.
    pub metrics_token: Option<String>,
    pub issuance: IssuanceSettings,
    pub acme: AcmeSettings,
    pub tls: Tls,
    pub limits: Limits,
    pub webhooks: DeliverySettings,
    pub notices: NoticeSettings,
    /// E-mail notices, with an SMTP relay.
    pub email: Option<EmailSettings>,
}

/// How `serve` speaks to clients.
#[derive(Debug, PartialEq, Eq)]
pub enum Tls {
    /// Plain HTTP.
    Off,
    /// HTTPS with this certificate chain and its key (PEM files).
    Files { cert: PathBuf, key: PathBuf },
    /// HTTPS with a certificate of certkeep's own CA naming these hosts (`None`: the defaults
    /// for the public URL).
    Own { hosts: Option<Vec<String>> },
}

impl CommonFlags {
    /// The configuration file the flags name, or an empty one.
    pub fn read_file(&self) -> Result<FileConfig, String> {
        self.config.as_deref().map(read_file).transpose().map(Option::unwrap_or_default)
    }
}

impl CommonSettings {
    /// Reads the configuration file `flags` name and merges it with them.
    pub fn load(flags: &CommonFlags) -> Result<Self, String> {
        Self::merge(flags, &flags.read_file()?)
    }

    /// Lays `flags` over `file` over the defaults.
    pub fn merge(flags: &CommonFlags, file: &FileConfig) -> Result<Self, String> {
        let key_algorithm = parse_first(
            Names { key: "[ca] key_algorithm", flag: "--ca-key-algorithm", env: "CERTKEEP_CA_KEY_ALGORITHM" },
            flags.ca_key_algorithm.as_deref(),
            file.ca.key_algorithm.as_deref(),
            file,
            key_algorithm,
        )?;
        Ok(Self {
            data_dir: flags.data_dir.clone().or(file.data_dir.clone()),
            database_url: flags.database_url.clone().or(file.database_url.clone()),
            log_format: flags.log_format.or(file.log_format).unwrap_or_default(),
            ca: CaSettings {
                key_algorithm: key_algorithm.unwrap_or_default(),
                name: file.ca.name.clone().unwrap_or_else(|| "certkeep".into()),
                country: file.ca.country.clone().unwrap_or_else(|| "US".into()),
                passphrase_file: flags.ca_passphrase_file.clone().or(file.ca.passphrase_file.clone()),
            },
            init_pki_url: file.pki_url.clone(),
            vouch_test_names: test_names(file.allow_test_tlds.unwrap_or(false)),
        })
    }

    /// Where the data directory and the database are; an error without a data directory.
    pub fn layout(&self) -> Result<Layout, String> {
        let data_dir = self
            .data_dir
            .clone()
            .ok_or("no data directory: give --data-dir (or CERTKEEP_DATA_DIR, or data_dir in the config)")?;
        let database_url = match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", data_dir.join("certkeep.db").display()),
        };
        Ok(Layout { data_dir, database_url })
    }
}

impl ServeSettings {
    /// Reads the configuration file `flags` name and merges it with them.
    pub fn load(flags: &ServeFlags, demo: bool) -> Result<Self, String> {
        Self::merge(flags, &flags.common.read_file()?, demo)
    }

    /// Lays `flags` over `file` over the defaults (some of which differ with `demo`), one line
    /// a setting, and checks the values.
    pub fn merge(flags: &ServeFlags, file: &FileConfig, demo: bool) -> Result<Self, String> {
        let f = flags;
        let listen = f.listen.or(file.listen).unwrap_or(DEFAULT_LISTEN);
        let defaults = Limits::default();
        Ok(Self {
            common: CommonSettings::merge(&f.common, file)?,
            listen,
            rate_limits: parse_first(
                Names { key: "rate_limits", flag: "--rate-limit", env: "CERTKEEP_RATE_LIMIT" },
                (!f.rate_limit.is_empty()).then_some(&f.rate_limit[..]),
                Some(&file.rate_limits[..]),
                file,
                rate_limits,
            )?
            .unwrap_or_default(),
            fixed_time: parse_first(
                Names { key: "fixed_time", flag: "--fixed-time", env: "CERTKEEP_FIXED_TIME" },
                f.fixed_time.as_deref(),
                file.fixed_time.as_deref(),
                file,
                instant,
            )?,
            ncp_time_zone: parse_first(
                Names { key: "ncp_time_zone", flag: "--ncp-time-zone", env: "CERTKEEP_NCP_TIME_ZONE" },
                f.ncp_time_zone.as_deref(),
                file.ncp_time_zone.as_deref(),
                file,
                utc_offset,
            )?
            .unwrap_or(NCP_TIME_ZONE),
            domains: match f.domain_validation.or(file.domain_validation) {
                Some(DomainValidation::Validated) => DomainPolicy::Validated,
                Some(DomainValidation::TrustAll) => DomainPolicy::TrustAll,
                None if demo => DomainPolicy::TrustAll,
                None => DomainPolicy::Validated,
            },
            public_url: f.public_url.clone().or(file.public_url.clone()),
            pki_listen: f.pki_listen.or(file.pki_listen).or_else(|| demo.then(|| next_port(listen))),
            pki_url: f.pki_url.clone().or(file.pki_url.clone()),
            metrics_listen: f.metrics_listen.or(file.metrics_listen),
            metrics_token: f.metrics_token.clone().or(file.metrics_token.clone()).filter(|t| !t.is_empty()),
            issuance: IssuanceSettings {
                test_names: test_names(f.allow_test_tlds.or(file.allow_test_tlds).unwrap_or(demo)),
                private_certificate_days: f
                    .private_certificate_days
                    .or(file.private_certificate_days)
                    .unwrap_or(policy::PRIVATE_CERTIFICATE_DAYS),
            },
            acme: AcmeSettings {
                http01_port: f.acme_http01_port.or(file.acme.http01_port).unwrap_or(80),
                dns_resolver: f.acme_dns_resolver.or(file.acme.dns_resolver),
                always_valid: f.acme_always_valid || file.acme.always_valid.unwrap_or(false),
                tls_alpn01_port: f.acme_tls_alpn01_port.or(file.acme.tls_alpn01_port).unwrap_or(443),
            },
            tls: tls(f, file)?,
            webhooks: DeliverySettings {
                endpoints: EndpointPolicy {
                    allow_loopback: demo,
                    allow_private: f
                        .webhook_allow_private_endpoints
                        .or(file.webhooks.allow_private_endpoints)
                        .unwrap_or(false),
                },
                pace: Pace {
                    first_retry: seconds(
                        f.webhook_first_retry_seconds,
                        file.webhooks.first_retry_seconds,
                        Pace::default().first_retry,
                    ),
                    ..Pace::default()
                },
            },
            notices: NoticeSettings {
                interval: seconds(
                    f.expiry_notice_interval_seconds,
                    file.notices.interval_seconds,
                    NoticeSettings::default().interval,
                ),
            },
            email: email(f, file)?,
            limits: Limits {
                header_read_timeout: seconds(
                    f.header_read_timeout,
                    file.limits.header_read_timeout,
                    defaults.header_read_timeout,
                ),
                body_read_timeout: seconds(
                    f.body_read_timeout,
                    file.limits.body_read_timeout,
                    defaults.body_read_timeout,
                ),
                max_body_bytes: f
                    .max_body_bytes
                    .or(file.limits.max_body_bytes)
                    .unwrap_or(defaults.max_body_bytes),
                max_concurrent_requests: f
                    .max_concurrent_requests
                    .or(file.limits.max_concurrent_requests)
                    .unwrap_or(defaults.max_concurrent_requests)
                    .max(1),
            },
        })
    }
}

/// The zone NCP shows its dates in.
const NCP_TIME_ZONE: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(offset) => offset,
    Err(_) => panic!("+09:00 is a UTC offset"),
};

/// The address after `listen`'s (the demo's /pki listener); port 0 (any) stays 0.
pub fn next_port(listen: SocketAddr) -> SocketAddr {
    SocketAddr::new(listen.ip(), if listen.port() == 0 { 0 } else { listen.port() + 1 })
}

fn test_names(allowed: bool) -> TestNames {
    if allowed { TestNames::Allowed } else { TestNames::Refused }
}

/// HTTPS or not, and with which certificate: plain HTTP wins; a certificate needs its key.
fn tls(f: &ServeFlags, file: &FileConfig) -> Result<Tls, String> {
    if f.plain_http || file.tls.plain_http.unwrap_or(false) {
        return Ok(Tls::Off);
    }
    match (f.tls_cert.clone().or(file.tls.cert.clone()), f.tls_key.clone().or(file.tls.key.clone())) {
        (Some(cert), Some(key)) => Ok(Tls::Files { cert, key }),
        (None, None) => Ok(Tls::Own {
            hosts: if f.tls_host.is_empty() { file.tls.hosts.clone() } else { Some(f.tls_host.clone()) },
        }),
        _ => Err("a TLS certificate needs its key and a key its certificate (tls_cert and tls_key)".into()),
    }
}

/// E-mail notices when a relay is named: it needs a sender; the windows default to DigiCert's.
fn email(f: &ServeFlags, file: &FileConfig) -> Result<Option<EmailSettings>, String> {
    let relay = parse_first(
        Names { key: "[notices] smtp_relay", flag: "--smtp-relay", env: "CERTKEEP_SMTP_RELAY" },
        f.smtp_relay.as_deref(),
        file.notices.smtp_relay.as_deref(),
        file,
        host_port,
    )?;
    let from = parse_first(
        Names { key: "[notices] from", flag: "--notice-from", env: "CERTKEEP_NOTICE_FROM" },
        f.notice_from.as_deref(),
        file.notices.from.as_deref(),
        file,
        email_notice::mailbox,
    )?;
    let file_days: Option<Vec<String>> =
        file.notices.email_days.as_ref().map(|days| days.iter().map(i64::to_string).collect());
    let windows = parse_first(
        Names {
            key: "[notices] email_days",
            flag: "--expiry-notice-days",
            env: "CERTKEEP_EXPIRY_NOTICE_DAYS",
        },
        (!f.expiry_notice_days.is_empty()).then_some(&f.expiry_notice_days[..]),
        file_days.as_deref(),
        file,
        notice_days,
    )?;
    let Some((host, port)) = relay else { return Ok(None) };
    let from = from.ok_or(
        "an SMTP relay (smtp_relay) needs the notices' From address: give --notice-from (or \
         CERTKEEP_NOTICE_FROM, or from in [notices])",
    )?;
    let mut settings = EmailSettings::new(host, port, from);
    if let Some(windows) = windows {
        settings.windows = windows;
    }
    settings.pace.first_retry =
        seconds(f.email_first_retry_seconds, file.notices.first_retry_seconds, settings.pace.first_retry);
    Ok(Some(settings))
}

/// Seconds from the flag, else the file, else `default`.
fn seconds(flag: Option<u64>, file: Option<u64>, default: Duration) -> Duration {
    flag.or(file).map_or(default, Duration::from_secs)
}

/// Parses `host:port` (an IPv6 address in brackets: `[::1]:25`).
fn host_port(s: &str) -> Result<(String, u16), String> {
    let bad = || format!("{s:?} is not HOST:PORT");
    let (host, port) = s.trim().rsplit_once(':').ok_or_else(bad)?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let port: u16 = port.parse().ok().filter(|&p| p != 0).ok_or_else(bad)?;
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

/// Parses notice windows: whole days to expiry from -365 to 3650, at least one.
fn notice_days<S: AsRef<str>>(items: &[S]) -> Result<Vec<i64>, String> {
    let mut days = Vec::new();
    for item in items.iter().map(|s| s.as_ref().trim()).filter(|s| !s.is_empty()) {
        let d: i64 = item
            .parse()
            .ok()
            .filter(|d| (-365..=3650).contains(d))
            .ok_or_else(|| format!("{item:?} is not a number of days from -365 to 3650"))?;
        if !days.contains(&d) {
            days.push(d);
        }
    }
    if days.is_empty() {
        return Err("give at least one number of days".into());
    }
    Ok(days)
}

/// A setting's names in each source, for error messages.
struct Names {
    key: &'static str,
    flag: &'static str,
    env: &'static str,
}

/// Parses the flag's (or its variable's) value if given, else the file's; an error names the
/// setting and the source the bad value came from.
fn parse_first<R: Copy, T>(
    names: Names,
    flag: Option<R>,
    from_file: Option<R>,
    file: &FileConfig,
    parse: impl FnOnce(R) -> Result<T, String>,
) -> Result<Option<T>, String> {
    let (raw, source) = match (flag, from_file) {
        (Some(raw), _) => (raw, format!("{} (or {})", names.flag, names.env)),
        (None, Some(raw)) => (raw, format!("{} in {}", names.key, file.path.display())),
        (None, None) => return Ok(None),
    };
    parse(raw).map(Some).map_err(|e| format!("{source}: {e}"))
}

/// Reads a configuration file.
fn read_file(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let config: FileConfig =
        toml::from_str(&text).map_err(|e| format!("invalid configuration {}: {e}", path.display()))?;
    Ok(FileConfig { path: path.to_owned(), ..config })
}

/// Parses a CA key algorithm name.
fn key_algorithm(s: &str) -> Result<KeyAlgorithm, String> {
    s.parse().map_err(|e: certkeep_ca::UnknownKeyAlgorithm| e.to_string())
}

/// Parses a comma-separated list of `REQUESTS/SECONDS` limits.
fn rate_limits<S: AsRef<str>>(items: &[S]) -> Result<Vec<RateLimit>, String> {
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
fn utc_offset(s: &str) -> Result<UtcOffset, String> {
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

    /// Serve settings from these flags (and no `CERTKEEP_*` variable) over this file.
    fn merge(flags: &[&str], file: &str, demo: bool) -> Result<ServeSettings, String> {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            flags: ServeFlags,
        }
        let cli =
            <Cli as clap::Parser>::try_parse_from(std::iter::once("certkeep").chain(flags.iter().copied()))
                .map_err(|e| e.to_string())?;
        let file = FileConfig { path: "/etc/certkeep.toml".into(), ..toml::from_str(file).unwrap() };
        ServeSettings::merge(&cli.flags, &file, demo)
    }

    #[test]
    fn a_flag_beats_the_file() {
        let file =
            "listen = \"127.0.0.1:2\"\nrate_limits = [\"1/1\", \"2/2\"]\n[limits]\nmax_body_bytes = 10\n";
        let s =
            merge(&["--listen", "127.0.0.1:1", "--rate-limit", "5/5", "--max-body-bytes", "20"], file, false)
                .unwrap();
        assert_eq!(s.listen.port(), 1);
        assert_eq!(s.rate_limits.len(), 1, "the flag's list replaces the file's");
        assert_eq!(s.limits.max_body_bytes, 20);
    }

    #[test]
    fn the_expiry_notice_interval_comes_from_the_flag_the_file_or_an_hour() {
        let file = "[notices]\ninterval_seconds = 60\n";
        assert_eq!(merge(&[], "", false).unwrap().notices.interval, Duration::from_secs(3600));
        assert_eq!(merge(&[], file, false).unwrap().notices.interval, Duration::from_secs(60));
        let flag = merge(&["--expiry-notice-interval-seconds", "5"], file, false).unwrap();
        assert_eq!(flag.notices.interval, Duration::from_secs(5));
    }

    #[test]
    fn the_file_beats_the_default() {
        let file = "listen = \"127.0.0.1:2\"\nncp_time_zone = \"+01:00\"\n[ca]\nkey_algorithm = \"rsa-2048\"\n[acme]\nhttp01_port = 5002\n";
        let s = merge(&[], file, false).unwrap();
        assert_eq!(s.listen.port(), 2);
        assert_eq!(s.ncp_time_zone, UtcOffset::from_hms(1, 0, 0).unwrap());
        assert_eq!(s.common.ca.key_algorithm, KeyAlgorithm::Rsa2048);
        assert_eq!(s.acme.http01_port, 5002);
        let d = merge(&[], "", false).unwrap();
        assert_eq!(d.listen, DEFAULT_LISTEN);
        assert_eq!(d.ncp_time_zone, NCP_TIME_ZONE);
        assert_eq!(d.common.ca.key_algorithm, KeyAlgorithm::EcdsaP256);
        assert_eq!((d.acme.http01_port, d.acme.tls_alpn01_port), (80, 443));
        assert_eq!(d.limits, Limits::default());
        assert_eq!(d.tls, Tls::Own { hosts: None });
    }

    #[test]
    fn webhooks_reach_inner_addresses_only_when_allowed() {
        let production = merge(&[], "", false).unwrap().webhooks;
        assert_eq!(production.endpoints, EndpointPolicy::default());
        assert_eq!(production.pace.first_retry, Duration::from_secs(30));
        let demo = merge(&[], "", true).unwrap().webhooks.endpoints;
        assert_eq!(demo, EndpointPolicy { allow_loopback: true, allow_private: false });
        let file = "[webhooks]\nallow_private_endpoints = true\nfirst_retry_seconds = 2\n";
        let allowed = merge(&[], file, false).unwrap().webhooks;
        assert!(allowed.endpoints.allow_private);
        assert_eq!(allowed.pace.first_retry, Duration::from_secs(2));
        let flag = merge(&["--webhook-allow-private-endpoints", "false"], file, false).unwrap();
        assert!(!flag.webhooks.endpoints.allow_private, "the flag beats the file");
    }

    #[test]
    fn e_mail_notices_need_a_relay_and_a_sender() {
        assert_eq!(merge(&[], "[notices]\nfrom = \"n@certkeep.test\"\n", false).unwrap().email, None);
        let file = "[notices]\nsmtp_relay = \"mail.internal:2525\"\nfrom = \"certkeep <n@certkeep.test>\"\n";
        let e = merge(&[], file, false).unwrap().email.unwrap();
        assert_eq!((e.relay_host.as_str(), e.relay_port), ("mail.internal", 2525));
        assert_eq!(e.from.to_string(), "certkeep <n@certkeep.test>");
        assert_eq!(e.windows, [90, 60, 30, 7, 0, -7], "DigiCert's windows by default");
        let flags = ["--smtp-relay", "[::1]:25", "--expiry-notice-days", "30,7,-7,7"];
        let e = merge(&flags, &format!("{file}email_days = [60]\n"), false).unwrap().email.unwrap();
        assert_eq!((e.relay_host.as_str(), e.relay_port, e.windows), ("::1", 25, vec![30, 7, -7]));
        let e = merge(&["--expiry-notice-days", "-7"], &format!("{file}email_days = [60]\n"), false);
        assert_eq!(e.unwrap().email.unwrap().windows, [-7]);
        let e = merge(&[], &format!("{file}email_days = [60, 14]\n"), false).unwrap().email.unwrap();
        assert_eq!(e.windows, [60, 14]);
        assert_eq!(e.pace.first_retry, Duration::from_secs(30), "retried from 30 s by default");
        let e =
            merge(&["--email-first-retry-seconds", "1"], &format!("{file}first_retry_seconds = 5\n"), false);
        assert_eq!(
            e.unwrap().email.unwrap().pace.first_retry,
            Duration::from_secs(1),
            "the flag beats the file"
        );
    }

    #[test]
    fn a_bad_e_mail_setting_names_its_key_and_source() {
        let lonely = merge(&["--smtp-relay", "127.0.0.1:25"], "", false).err().unwrap();
        assert!(lonely.contains("needs the notices' From address: give --notice-from"), "{lonely}");
        let relay =
            merge(&["--smtp-relay", "localhost", "--notice-from", "n@c.test"], "", false).err().unwrap();
        assert!(
            relay.starts_with("--smtp-relay (or CERTKEEP_SMTP_RELAY): \"localhost\" is not HOST:PORT"),
            "{relay}"
        );
        let from =
            merge(&[], "[notices]\nsmtp_relay = \"127.0.0.1:25\"\nfrom = \"nobody\"\n", false).err().unwrap();
        assert!(
            from.starts_with("[notices] from in /etc/certkeep.toml: \"nobody\" is not an e-mail address"),
            "{from}"
        );
        let days = merge(&[], "[notices]\nemail_days = [30, 4000]\n", false).err().unwrap();
        assert!(days.starts_with("[notices] email_days in /etc/certkeep.toml: \"4000\" is not"), "{days}");
        let days = merge(&["--expiry-notice-days", "30,soon"], "", false).err().unwrap();
        assert!(
            days.starts_with("--expiry-notice-days (or CERTKEEP_EXPIRY_NOTICE_DAYS): \"soon\""),
            "{days}"
        );
        for bad in ["", ":25", "host:0", "host:port", "a b:25"] {
            assert!(host_port(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn demo_changes_only_defaults() {
        let demo = merge(&["--listen", "127.0.0.1:9000"], "", true).unwrap();
        assert_eq!(demo.domains, DomainPolicy::TrustAll);
        assert_eq!(demo.issuance.test_names, TestNames::Allowed);
        assert_eq!(demo.pki_listen.map(|a| a.port()), Some(9001));
        let told =
            merge(&["--domain-validation", "validated", "--allow-test-tlds", "false"], "", true).unwrap();
        assert_eq!(told.domains, DomainPolicy::Validated);
        assert_eq!(told.issuance.test_names, TestNames::Refused);
        let plain = merge(&[], "", false).unwrap();
        assert_eq!((plain.domains, plain.pki_listen), (DomainPolicy::Validated, None));
    }

    #[test]
    fn a_bad_value_names_its_key_and_source() {
        let from_file = merge(&[], "fixed_time = \"yesterday\"", false).err().unwrap();
        assert!(from_file.starts_with("fixed_time in /etc/certkeep.toml: "), "{from_file}");
        let from_flag = merge(&["--ncp-time-zone", "KST"], "", false).err().unwrap();
        assert!(from_flag.starts_with("--ncp-time-zone (or CERTKEEP_NCP_TIME_ZONE): "), "{from_flag}");
        let algorithm = merge(&[], "[ca]\nkey_algorithm = \"dsa\"", false).err().unwrap();
        assert!(algorithm.starts_with("[ca] key_algorithm in /etc/certkeep.toml: "), "{algorithm}");
        let limits = merge(&[], "rate_limits = [\"often\"]", false).err().unwrap();
        assert!(limits.starts_with("rate_limits in /etc/certkeep.toml: "), "{limits}");
    }

    #[test]
    fn tls_needs_a_pair_unless_plain() {
        let half = merge(&[], "[tls]\ncert = \"/c.pem\"", false).err().unwrap();
        assert!(half.contains("tls_key"), "{half}");
        let files = merge(&["--tls-key", "/k.pem", "--tls-cert", "/c.pem"], "", false).unwrap();
        assert_eq!(files.tls, Tls::Files { cert: "/c.pem".into(), key: "/k.pem".into() });
        assert_eq!(merge(&[], "[tls]\ncert = \"/c.pem\"\nplain_http = true", false).unwrap().tls, Tls::Off);
        let hosts = merge(&["--tls-host", "a.test,b.test"], "[tls]\nhosts = [\"c.test\"]", false).unwrap();
        assert_eq!(hosts.tls, Tls::Own { hosts: Some(vec!["a.test".into(), "b.test".into()]) });
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
