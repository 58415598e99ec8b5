//! A certkeep server with an ACME contract (subaccount, user, CertCentral key, contract, EAB
//! credential made through the store API), a tiny HTTP server answering http-01 tokens and a
//! tiny UDP DNS server answering TXT (dns-01, dns-txt-token), CNAME (dns-cname-token) and A
//! (127.0.0.1 for every name), plus a raw JWS client for the error paths no ACME library
//! produces. The HTTP server also answers `/.well-known/pki-validation/fileauth.txt` per host
//! (http-token).

#![allow(dead_code)]

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration as StdDuration,
};

use aws_lc_rs::{
    rand::SystemRandom,
    signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use certkeep_ca::{CertificateAuthority, KeyAlgorithm};
use certkeep_core::{
    AccessRole, ApiKeyRole, Contact, Id, NewApiKey, NewUser, Store, SystemClock,
    credentials::{generate_api_key, hash_api_key},
    lifecycle::DomainPolicy,
    partner::{AcmeContract, seal_hmac_key},
    seal::SealingKey,
};
use certkeep_server::{AppState, Authority, PkiUrls, RateLimiter, acme::AcmeSettings};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

/// Names the test contract allows.
pub const SANS: [&str; 3] = ["acme.test", "*.acme.test", "acme.example.org"];

/// Tokens the http-01 server answers, `fileauth.txt` bodies by host, and the TXT and CNAME
/// records the DNS server answers.
#[derive(Default, Clone)]
pub struct Responder {
    pub http: Arc<Mutex<HashMap<String, String>>>,
    pub files: Arc<Mutex<HashMap<String, String>>>,
    pub txt: Arc<Mutex<HashMap<String, Vec<String>>>>,
    pub cname: Arc<Mutex<HashMap<String, String>>>,
}

/// A started server.
pub struct AcmeServer {
    pub base: String,
    pub state: AppState,
    pub directory: String,
    pub store: Arc<dyn Store>,
    pub ca_dir: std::path::PathBuf,
    pub contract: AcmeContract,
    pub eab_kid: String,
    pub eab_hmac: Vec<u8>,
    /// A CertCentral key of the contract's subaccount.
    pub certcentral_key: String,
    pub responder: Responder,
    /// Port of the in-test http-01 server.
    pub http01_port: u16,
    /// Address of the in-test DNS server.
    pub dns: SocketAddr,
    pub client: reqwest::Client,
    /// The server key EAB HMAC keys are sealed under.
    pub sealing_key: Arc<SealingKey>,
    _dir: tempfile::TempDir,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl AcmeServer {
    /// Starts a server whose challenges are really validated against the in-test servers.
    pub async fn start() -> Self {
        Self::start_with(false, None).await
    }

    /// Starts a server; `http01_port` overrides the in-test http-01 server's port (for clients
    /// that serve the token themselves).
    pub async fn start_with(always_valid: bool, http01_port: Option<u16>) -> Self {
        Self::start_with_ports(always_valid, http01_port, 443).await
    }

    /// Like [`Self::start_with`], with the port tls-alpn-01 connects to.
    pub async fn start_with_ports(
        always_valid: bool,
        http01_port: Option<u16>,
        tls_alpn01_port: u16,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let ca_dir = dir.path().join("ca");
        CertificateAuthority::create(&ca_dir, KeyAlgorithm::EcdsaP256, "ACME Test", now - Duration::days(1))
            .unwrap();
        let store = certkeep_store::open(&certkeep_store::scratch_database_url(dir.path()).unwrap()).unwrap();
        let (account_id, root) = store.create_account("ACME subaccount", now).unwrap();
        let user_id = store
            .create_user(
                &NewUser {
                    account_id,
                    container_id: root,
                    username: "acme-admin".into(),
                    contact: Contact {
                        first_name: "Ada".into(),
                        last_name: "Acme".into(),
                        email: "ada@acme.test".into(),
                        job_title: String::new(),
                        telephone: String::new(),
                        telephone_extension: String::new(),
                    },
                    access_role: AccessRole::Administrator,
                },
                now,
            )
            .unwrap();
        let certcentral_key = generate_api_key();
        store
            .create_api_key(
                &NewApiKey {
                    user_id,
                    name: "tests".into(),
                    key_hash: hash_api_key(&certcentral_key),
                    role: ApiKeyRole::Inherit,
                },
                now,
            )
            .unwrap();
        let mut contract = AcmeContract {
            id: 0,
            account_id,
            container_id: root,
            user_id,
            product_name_id: "wildcard_dv_geotrust".into(),
            sans: SANS.iter().map(|s| s.to_string()).collect(),
            organization_id: None,
            auto_renew: false,
            created_at: now,
            valid_till: now + Duration::days(365),
            date_canceled: None,
        };
        let eab_kid = b64(&generate_api_key().as_bytes()[..32]);
        let eab_hmac = generate_api_key().into_bytes();
        let sealing_key = Arc::new(SealingKey::generate());
        let sealed = seal_hmac_key(&sealing_key, &eab_kid, &eab_hmac);
        contract.id = store.create_contract(&contract, &eab_kid, &sealed, now).unwrap().0;

        let responder = Responder::default();
        let (own_http_port, dns) =
            (serve_http01(responder.clone()).await, serve_dns(responder.clone()).await);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        // Certificates name revocation data under a public name, as a deployment's do (pkilint
        // refuses IP addresses there); the tests fetch it from `base`.
        let urls = PkiUrls::under("http://pki.example.org");
        CertificateAuthority::refresh_intermediate(&ca_dir, None, urls.root(), now).unwrap();
        let authority = Arc::new(Authority::new(CertificateAuthority::load(&ca_dir).unwrap(), urls));
        let http01_port = http01_port.unwrap_or(own_http_port);
        let webhooks = Arc::new(
            certkeep_server::webhook::Webhooks::new(Default::default(), authority.ca().root_pem()).unwrap(),
        );
        let state = AppState {
            store: store.clone(),
            clock: Arc::new(SystemClock),
            authority,
            rate_limiter: Arc::new(RateLimiter::new(vec![])),
            domains: DomainPolicy::Validated,
            issuance: certkeep_core::policy::IssuanceSettings {
                test_names: certkeep_core::policy::TestNames::Allowed,
                ..Default::default()
            },
            public_url: base.clone(),
            sealing_key: sealing_key.clone(),
            ncp_time_zone: time::macros::offset!(+9),
            acme: AcmeSettings { http01_port, dns_resolver: Some(dns), always_valid, tls_alpn01_port },
            refusal_budget: Default::default(),
            key_cache: Default::default(),
            metrics: Default::default(),
            metrics_token: None,
            webhooks,
            email: None,
        };
        tokio::spawn(certkeep_server::serve(
            listener,
            certkeep_server::app(state.clone()),
            std::future::pending(),
        ));
        let client = reqwest::Client::builder().timeout(StdDuration::from_secs(30)).build().unwrap();
        Self {
            state,
            directory: format!("{base}/acme/directory"),
            base,
            store,
            ca_dir,
            contract,
            eab_kid,
            eab_hmac,
            certcentral_key,
            responder,
            http01_port,
            sealing_key,
            dns,
            client,
            _dir: dir,
        }
    }

    /// An ACME URL.
    pub fn url(&self, path: &str) -> String {
        format!("{}/acme{path}", self.base)
    }

    /// A fresh nonce.
    pub async fn nonce(&self) -> String {
        let res = self.client.head(self.url("/new-nonce")).send().await.unwrap();
        res.headers()["replay-nonce"].to_str().unwrap().to_owned()
    }

    /// POSTs a JWS body; returns status, headers and the body parsed as JSON (Null if not).
    pub async fn post(&self, url: &str, body: &Value) -> (u16, reqwest::header::HeaderMap, Value) {
        let res = self
            .client
            .post(url)
            .header("content-type", "application/jose+json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let (status, headers) = (res.status().as_u16(), res.headers().clone());
        let text = res.text().await.unwrap();
        (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// GET on CertCentral with the subaccount's key.
    pub async fn certcentral(&self, path: &str) -> Value {
        let res = self
            .client
            .get(format!("{}/services/v2{path}", self.base))
            .header("X-DC-DEVKEY", &self.certcentral_key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    /// An EAB JWS for `jwk` over `url`, with this server's credential or the given MAC key.
    pub fn eab(&self, jwk: &Value, url: &str, hmac_key: Option<&[u8]>) -> Value {
        let protected = b64(json!({"alg": "HS256", "kid": self.eab_kid, "url": url}).to_string().as_bytes());
        let payload = b64(jwk.to_string().as_bytes());
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, hmac_key.unwrap_or(&self.eab_hmac));
        let tag = aws_lc_rs::hmac::sign(&key, format!("{protected}.{payload}").as_bytes());
        json!({"protected": protected, "payload": payload, "signature": b64(tag.as_ref())})
    }
}

/// A P-256 account key that signs JWS by hand.
pub struct RawKey {
    pair: EcdsaKeyPair,
}

impl RawKey {
    pub fn generate() -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
        Self { pair: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap() }
    }

    pub fn from_pkcs8(der: &[u8]) -> Self {
        Self { pair: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der).unwrap() }
    }

    pub fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({"crv": "P-256", "kty": "EC", "x": b64(&point[1..33]), "y": b64(&point[33..65])})
    }

    /// A flattened JWS with the given protected header and payload (`None`: POST-as-GET).
    pub fn sign(&self, protected: Value, payload: Option<&Value>) -> Value {
        let protected = b64(protected.to_string().as_bytes());
        let payload = payload.map_or_else(String::new, |p| b64(p.to_string().as_bytes()));
        let sig = self.pair.sign(&SystemRandom::new(), format!("{protected}.{payload}").as_bytes()).unwrap();
        json!({"protected": protected, "payload": payload, "signature": b64(sig.as_ref())})
    }
}

/// Serves `/.well-known/acme-challenge/{token}` and, per `Host`,
/// `/.well-known/pki-validation/fileauth.txt` from the responder; returns the port.
pub async fn serve_http01(responder: Responder) -> u16 {
    use axum::{extract::Path, http::HeaderMap, http::StatusCode, routing::get};
    let files = responder.files.clone();
    let app = axum::Router::new()
        .route(
            "/.well-known/acme-challenge/{token}",
            get(move |Path(token): Path<String>| {
                let found = responder.http.lock().unwrap().get(&token).cloned();
                async move { found.ok_or(StatusCode::NOT_FOUND) }
            }),
        )
        .route(
            "/.well-known/pki-validation/fileauth.txt",
            get(move |headers: HeaderMap| {
                let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or_default();
                let host = host.rsplit_once(':').map_or(host, |(h, _)| h).to_owned();
                let found = files.lock().unwrap().get(&host).cloned();
                async move { found.ok_or(StatusCode::NOT_FOUND) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// Answers DNS queries: TXT and CNAME from the responder, A 127.0.0.1 for every name, nothing
/// else.
pub async fn serve_dns(responder: Responder) -> SocketAddr {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf).await else { return };
            let q = &buf[..n];
            let (mut at, mut labels) = (12, Vec::new());
            while at < q.len() && q[at] != 0 {
                let len = q[at] as usize;
                labels.push(String::from_utf8_lossy(&q[at + 1..at + 1 + len]).to_lowercase());
                at += 1 + len;
            }
            let name = labels.join(".");
            let qtype = u16::from_be_bytes([q[at + 1], q[at + 2]]);
            let question_end = at + 5;
            let records: Vec<Vec<u8>> = match qtype {
                1 => vec![vec![127, 0, 0, 1]],
                16 => responder
                    .txt
                    .lock()
                    .unwrap()
                    .get(&name)
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| {
                        let mut r = vec![t.len() as u8];
                        r.extend_from_slice(t.as_bytes());
                        r
                    })
                    .collect(),
                5 => responder
                    .cname
                    .lock()
                    .unwrap()
                    .get(&name)
                    .map(|target| {
                        let mut r = Vec::new();
                        for label in target.split('.') {
                            r.push(label.len() as u8);
                            r.extend_from_slice(label.as_bytes());
                        }
                        r.push(0);
                        vec![r]
                    })
                    .unwrap_or_default(),
                _ => vec![],
            };
            let mut r = q[..question_end].to_vec();
            r[2] = 0x81;
            r[3] = 0x80;
            r[6..8].copy_from_slice(&(records.len() as u16).to_be_bytes());
            r[8..12].fill(0);
            for rdata in records {
                r.extend_from_slice(&[0xC0, 12]);
                r.extend_from_slice(&qtype.to_be_bytes());
                r.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
                r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
                r.extend_from_slice(&rdata);
            }
            let _ = socket.send_to(&r, peer).await;
        }
    });
    addr
}

/// Id at the end of a URL.
pub fn last_id(url: &str) -> Id {
    url.rsplit('/').next().unwrap().parse().unwrap()
}
