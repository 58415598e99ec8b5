//! Full ACME issuances per second: each client has its own account and issues for fresh names
//! (so that no authorization is reused) in a closed loop: newOrder, the authorization, its
//! http-01 challenge, polling the order until ready, finalize, polling and downloading the
//! certificate. The same instant-acme code drives certkeep (`--acme-always-valid`) and Pebble
//! (`PEBBLE_VA_ALWAYS_VALID=1`).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use hyper::body::Bytes;
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use instant_acme::{
    Account, AccountBuilder, AuthorizationStatus, BodyWrapper, ChallengeType, ExternalAccountKey, HttpClient,
    Identifier, NewAccount, NewOrder, OrderStatus, RetryPolicy,
};
use rcgen::{CertificateParams, CertificateSigningRequest, DistinguishedName, DnType, KeyPair};
use rustls::{crypto::aws_lc_rs::default_provider, pki_types::CertificateDer};

use crate::load::Measured;

/// An ACME server to drive.
pub struct Directory {
    /// The directory URL.
    pub url: String,
    /// External Account Binding credential (key id, HMAC key) when the server requires one.
    pub eab: Option<(String, Vec<u8>)>,
    /// The root (DER) to trust for an `https` directory.
    pub root: Option<Vec<u8>>,
    /// Names are `i<N>.<domain>`.
    pub domain: String,
}

impl Directory {
    /// An HTTP/1.1 client with keep-alive and TCP_NODELAY (without it, requests written in more
    /// than one segment wait for the peer's delayed ACK), over TLS when a root is given.
    fn builder(&self) -> Result<AccountBuilder, String> {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.enforce_http(false);
        let client: Box<dyn HttpClient> = match &self.root {
            None => Box::new(Client::builder(TokioExecutor::new()).build::<_, BodyWrapper<Bytes>>(http)),
            Some(root) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(CertificateDer::from(root.clone())).map_err(|e| e.to_string())?;
                let tls = rustls::ClientConfig::builder_with_provider(Arc::new(default_provider()))
                    .with_safe_default_protocol_versions()
                    .map_err(|e| e.to_string())?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                let https = HttpsConnectorBuilder::new()
                    .with_tls_config(tls)
                    .https_only()
                    .enable_http1()
                    .wrap_connector(http);
                Box::new(Client::builder(TokioExecutor::new()).build::<_, BodyWrapper<Bytes>>(https))
            }
        };
        Ok(Account::builder_with_http(client))
    }

    async fn account(&self) -> Result<Account, String> {
        let eab = self.eab.as_ref().map(|(kid, hmac)| ExternalAccountKey::new(kid.clone(), hmac));
        let new = NewAccount { contact: &[], terms_of_service_agreed: true, only_return_existing: false };
        let (account, _) = self
            .builder()?
            .create(&new, self.url.clone(), eab.as_ref())
            .await
            .map_err(|e| format!("new account at {}: {e}", self.url))?;
        Ok(account)
    }
}

/// How long one issuance may take before it counts as an error (a server that stops answering
/// must not hang the run).
const ISSUANCE_TIMEOUT: Duration = Duration::from_secs(30);

/// Polls every 2 ms (then 1.5x longer), for 30 s at most: the same for every server.
fn retry() -> RetryPolicy {
    RetryPolicy::new().initial_delay(Duration::from_millis(2)).backoff(1.5).timeout(Duration::from_secs(30))
}

/// A CSR for `name` (common name and only SAN) with `key`.
pub fn csr(name: &str, key: &KeyPair) -> Result<CertificateSigningRequest, String> {
    let mut params = CertificateParams::new(vec![name.to_owned()]).map_err(|e| e.to_string())?;
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.serialize_request(key).map_err(|e| e.to_string())
}

/// One full issuance for `name`.
async fn issue(account: &Account, key: &KeyPair, name: String) -> Result<(), String> {
    let e = |e: instant_acme::Error| e.to_string();
    let mut order = account.new_order(&NewOrder::new(&[Identifier::Dns(name.clone())])).await.map_err(e)?;
    let mut authzs = order.authorizations();
    while let Some(authz) = authzs.next().await {
        let mut authz = authz.map_err(e)?;
        if authz.status == AuthorizationStatus::Pending {
            let mut challenge = authz.challenge(ChallengeType::Http01).ok_or("no http-01 challenge")?;
            challenge.set_ready().await.map_err(e)?;
        }
    }
    let status = order.poll_ready(&retry()).await.map_err(e)?;
    if status != OrderStatus::Ready {
        return Err(format!("order for {name} is {status:?}"));
    }
    let csr = csr(&name, key)?;
    order.finalize_csr(csr.der()).await.map_err(e)?;
    let chain = order.poll_certificate(&retry()).await.map_err(e)?;
    if !chain.contains("BEGIN CERTIFICATE") {
        return Err("the certificate download holds no certificate".into());
    }
    Ok(())
}

/// Runs `clients` clients, each with its own account (created before the clock starts),
/// issuing until `duration` has passed.
pub async fn run(
    directory: &Directory,
    clients: usize,
    duration: Duration,
    names: &Arc<AtomicU64>,
) -> Result<Measured, String> {
    let mut accounts = Vec::new();
    for _ in 0..clients {
        let account = tokio::time::timeout(ISSUANCE_TIMEOUT, directory.account()).await;
        accounts.push(account.map_err(|_| format!("no new account within {ISSUANCE_TIMEOUT:?}"))??);
    }
    let start = Instant::now();
    let deadline = start + duration;
    let mut workers = Vec::new();
    for account in accounts {
        let (names, domain) = (names.clone(), directory.domain.clone());
        workers.push(tokio::spawn(async move {
            let key = KeyPair::generate().map_err(|e| e.to_string())?;
            let mut m = Measured { latencies: Vec::new(), errors: 0, elapsed: Duration::ZERO, bytes: 0 };
            while Instant::now() < deadline {
                let name = format!("i{}.{domain}", names.fetch_add(1, Ordering::Relaxed));
                let started = Instant::now();
                let outcome = tokio::time::timeout(ISSUANCE_TIMEOUT, issue(&account, &key, name)).await;
                match outcome.unwrap_or_else(|_| Err(format!("no answer within {ISSUANCE_TIMEOUT:?}"))) {
                    Ok(()) => m.latencies.push(started.elapsed()),
                    Err(err) => {
                        if m.errors == 0 {
                            eprintln!("  ACME issuance failed: {err}");
                        }
                        m.errors += 1;
                    }
                }
            }
            m.elapsed = start.elapsed();
            Ok::<_, String>(m)
        }));
    }
    let mut total = Measured { latencies: Vec::new(), errors: 0, elapsed: Duration::ZERO, bytes: 0 };
    for w in workers {
        let m = w.await.map_err(|e| e.to_string())??;
        total.latencies.extend(m.latencies);
        total.errors += m.errors;
        total.elapsed = total.elapsed.max(m.elapsed);
    }
    total.latencies.sort_unstable();
    Ok(total)
}
