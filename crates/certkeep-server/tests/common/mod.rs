//! A real certkeep server on a loopback port, over a SQLite store filled with a small,
//! known inventory whose certificates are issued by a real CA.

// Fixture builders take every field positionally so each order reads on one screen.
#![allow(dead_code, clippy::too_many_arguments)]

pub mod receiver;
pub mod smtp_relay;

use std::{sync::Arc, time::Duration as StdDuration};

use certkeep_ca::{CertificateAuthority, KeyAlgorithm, LeafRequest, SubjectOrganization, Validation};
use certkeep_core::lifecycle::DomainPolicy;
use certkeep_core::{
    AccessRole, ApiKeyRole, CertificateKind, CertificateStatus, Contact, FixedClock, Id, IssuedFacts,
    NewApiKey, NewCertificate, NewContainer, NewOrder, NewOrganization, NewRequest, NewUser, OrderStatus,
    Origin, RequestStatus, RequestType, Store, Validity,
    credentials::{generate_api_key, hash_api_key},
    ncp::{NewNcpKey, generate_ncp_key_pair},
    seal::SealingKey,
};
use certkeep_server::{
    AppState, Authority, Limits, Pace, PkiUrls, RateLimit, RateLimiter,
    audit::RefusalBudget,
    webhook::{DeliverySettings, EndpointPolicy, Webhooks},
};
use reqwest::header::HeaderMap;
use serde_json::Value;
use time::{Duration, OffsetDateTime, macros::datetime};

/// The fixed "now" of every test server.
/// The bearer token of the test server's `GET /metrics`.
pub const METRICS_TOKEN: &str = "test-metrics-token-0123456789";

pub const NOW: OffsetDateTime = datetime!(2026-06-01 00:00 UTC);

/// Ids of the fixture's orders and the keys that see them.
#[derive(Debug, Clone, Default)]
pub struct Fixture {
    pub admin_key: String,
    pub view_only_key: String,
    /// A key of a user in the Engineering container: sees Engineering and Platform only.
    pub engineering_key: String,
    pub other_tenant_key: String,
    pub org_epigyne: Id,
    pub org_contoso: Id,
    pub root: Id,
    pub engineering: Id,
    pub platform: Id,
    pub marketing: Id,
    pub admin_user: Id,
    pub engineer_user: Id,
    pub invoice_field: Id,
    /// ssl_plus, issued, root container, custom field.
    pub issued: Id,
    /// DV, expired, Engineering, renewed by `renewal`.
    pub expired: Id,
    /// DV, issued, Engineering, renews `expired`.
    pub renewal: Id,
    /// ssl_basic, pending, Platform.
    pub pending: Id,
    /// ssl_ev_plus, needs approval.
    pub needs_approval: Id,
    /// ssl_wildcard, revoked, migrated.
    pub revoked: Id,
    /// ssl_multi_domain, issued, Marketing, 3 duplicates (1 archived).
    pub with_duplicates: Id,
    /// private_ssl_plus, issued, one issued reissue that is now current.
    pub reissued: Id,
    /// The other tenant's only order.
    pub other_tenant_order: Id,
    /// The fixture account (Acme) and the other tenant.
    pub account: Id,
    pub other_account: Id,
    /// The other tenant's root container and administrator.
    pub other_root: Id,
    pub other_user: Id,
    /// NCP access key / secret key of Acme and of the other tenant.
    pub ncp_access_key: String,
    pub ncp_secret_key: String,
    pub other_ncp_access_key: String,
    pub other_ncp_secret_key: String,
}

/// A started server.
pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    pub fx: Fixture,
    pub store: Arc<dyn Store>,
    pub ca_dir: std::path::PathBuf,
    /// CertCentral's `ca_cert.id` of the issuing CA.
    pub ca_id: String,
    /// The server's clock.
    pub now: OffsetDateTime,
    /// The operator listener serving `metrics_app` (plain HTTP, no token).
    pub metrics_base: String,
    /// What the server's handlers share (to run its background tasks in a test).
    pub state: AppState,
    /// The database it runs on.
    pub database_url: String,
    _dir: tempfile::TempDir,
}

struct Builder<'a> {
    store: &'a dyn Store,
    ca: &'a CertificateAuthority,
}

impl Builder<'_> {
    fn cert(
        &self,
        kind: CertificateKind,
        status: CertificateStatus,
        names: (&str, &[&str]),
        org: Option<&SubjectOrganization>,
        created: OffsetDateTime,
        days: i64,
        user_id: Id,
    ) -> NewCertificate {
        let dns: Vec<String> = names.1.iter().map(|s| s.to_string()).collect();
        let (_, csr_pem) = certkeep_ca::generate_csr(KeyAlgorithm::EcdsaP256, names.0, &dns).unwrap();
        let csr = certkeep_ca::parse_csr(&csr_pem).unwrap();
        let issued = matches!(status, CertificateStatus::Issued | CertificateStatus::Revoked).then(|| {
            let c = self
                .ca
                .issue(&LeafRequest {
                    public_key: &csr.public_key,
                    common_name: names.0,
                    dns_names: &dns,
                    organization: org,
                    validation: if org.is_some() { Validation::Ov } else { Validation::Dv },
                    client_auth: false,
                    not_before: created,
                    not_after: created + Duration::days(days),
                    crl_url: None,
                    ocsp_url: None,
                    ca_issuers_url: None,
                })
                .unwrap();
            IssuedFacts {
                serial_number: c.serial_number,
                thumbprint: c.thumbprint,
                valid_from: c.not_before,
                valid_till: c.not_after,
                date_issued: created,
                der: c.der,
            }
        });
        NewCertificate {
            kind,
            status,
            common_name: names.0.into(),
            dns_names: dns,
            csr: csr.pem,
            server_platform_id: 45,
            signature_hash: "sha256".into(),
            key_size: csr.public_key.key_size(),
            date_created: created,
            issued,
            archived: false,
            user_id,
            client_auth: false,
        }
    }
}

fn order(
    account_id: Id,
    container_id: Id,
    user_id: Id,
    product: &str,
    status: OrderStatus,
    names: (&str, &[&str]),
    organization_id: Option<Id>,
    created: OffsetDateTime,
    certificates: Vec<NewCertificate>,
) -> NewOrder {
    NewOrder {
        account_id,
        container_id,
        organization_id,
        user_id,
        product_name_id: product.into(),
        status,
        common_name: names.0.into(),
        dns_names: names.1.iter().map(|s| s.to_string()).collect(),
        email: format!("user{user_id}@example.com"),
        signature_hash: "sha256".into(),
        validity: Validity::Years(1),
        date_created: created,
        renewed_order_id: None,
        disable_renewal_notifications: false,
        auto_renew: false,
        auto_reissue: false,
        disable_issuance_email: false,
        disable_ct: false,
        payment_method: "balance".into(),
        origin: Origin::CertCentral,
        api_key: Some(("ci".into(), "api_key".into())),
        alternative_order_id: None,
        organization_units: vec![],
        purchased_dns_names: names.1.len() as u32,
        custom_fields: vec![],
        public_id: format!("PUB{}", created.unix_timestamp()),
        acme_contract_id: None,
        certificates,
        requests: vec![NewRequest {
            date: created,
            request_type: RequestType::NewRequest,
            status: RequestStatus::Approved,
            comments: Some("Certificate comment.".into()),
            user_id,
        }],
    }
}

fn key(store: &dyn Store, user_id: Id, role: ApiKeyRole) -> String {
    let key = generate_api_key();
    store
        .create_api_key(&NewApiKey { user_id, name: "test".into(), role, key_hash: hash_api_key(&key) }, NOW)
        .unwrap();
    key
}

/// Creates an NCP key pair for an account; returns (access key, secret key).
fn ncp_key(store: &dyn Store, sealing_key: &SealingKey, account_id: Id) -> (String, String) {
    let (access_key, secret) = generate_ncp_key_pair();
    let sealed_secret = sealing_key.seal(secret.as_bytes(), access_key.as_bytes());
    store
        .create_ncp_key(&NewNcpKey { account_id, access_key: access_key.clone(), sealed_secret }, NOW)
        .unwrap();
    (access_key, secret)
}

fn user(store: &dyn Store, account_id: Id, container_id: Id, email: &str) -> Id {
    store
        .create_user(
            &NewUser {
                account_id,
                container_id,
                username: email.into(),
                contact: Contact {
                    first_name: "Jan".into(),
                    last_name: "Sport".into(),
                    email: email.into(),
                    ..Contact::default()
                },
                access_role: AccessRole::Administrator,
            },
            NOW,
        )
        .unwrap()
}

fn fill(store: &dyn Store, ca: &CertificateAuthority) -> Fixture {
    let b = Builder { store, ca };
    let mut fx = Fixture::default();
    let (account, root) = store.create_account("Acme", NOW).unwrap();
    fx.account = account;
    fx.root = root;
    let container = |parent, name: &str| {
        store
            .create_container(&NewContainer {
                account_id: account,
                parent_id: Some(parent),
                name: name.into(),
                description: String::new(),
            })
            .unwrap()
    };
    fx.engineering = container(root, "Engineering");
    fx.platform = container(fx.engineering, "Platform");
    fx.marketing = container(root, "Marketing");
    fx.admin_user = user(store, account, root, "admin@acme.test");
    fx.engineer_user = user(store, account, fx.engineering, "eng@acme.test");
    fx.admin_key = key(store, fx.admin_user, ApiKeyRole::Inherit);
    fx.view_only_key = key(store, fx.admin_user, ApiKeyRole::ViewOnly);
    fx.engineering_key = key(store, fx.engineer_user, ApiKeyRole::Orders);
    let org = |name: &str, city: &str, registration: &str| {
        store
            .create_organization(&NewOrganization {
                account_id: account,
                container_id: root,
                name: name.into(),
                assumed_name: "Epigyne Unwieldiness".into(),
                address: "1 Main".into(),
                city: city.into(),
                state: "Minnesota".into(),
                zip: "55401".into(),
                country: "us".into(),
                telephone: "666-186-6450".into(),
                contact: Contact {
                    first_name: "Gia".into(),
                    last_name: "Booth".into(),
                    email: "gia.booth@inbox.com".into(),
                    job_title: "Clinical Laboratory Technician".into(),
                    telephone: "666-186-6450".into(),
                    telephone_extension: "736".into(),
                },
                registration: certkeep_core::Registration {
                    number: registration.into(),
                    ..Default::default()
                },
            })
            .unwrap()
    };
    // Contoso has no registration number on record: it cannot order EV certificates.
    fx.org_epigyne = org("Epigyne Unwieldiness llc", "Minneapolis", "20261234");
    fx.org_contoso = org("Contoso Ltd", "Seattle", "");
    fx.invoice_field = store.create_custom_field(account, "Invoice #").unwrap();
    let subject = SubjectOrganization {
        name: "Epigyne Unwieldiness llc".into(),
        locality: "Minneapolis".into(),
        state: "Minnesota".into(),
        country: "us".into(),
        units: vec![],
        ev: None,
    };
    let s = Some(&subject);
    let (admin, eng) = (fx.admin_user, fx.engineer_user);
    use CertificateKind::*;
    use CertificateStatus as C;
    use OrderStatus as O;

    let t = datetime!(2026-01-10 12:00 UTC);
    let n = ("www.alpha.com", &["alpha.com", "api.alpha.com"][..]);
    let mut o1 = order(
        account,
        root,
        admin,
        "ssl_plus",
        O::Issued,
        n,
        Some(fx.org_epigyne),
        t,
        vec![b.cert(Primary, C::Issued, n, s, t, 365, admin)],
    );
    o1.custom_fields = vec![(fx.invoice_field, "123456".into())];
    o1.email = "alice@alpha.com".into();

    let t = datetime!(2024-03-01 08:00 UTC);
    let n = ("old.beta.net", &[][..]);
    let o2 = order(
        account,
        fx.engineering,
        eng,
        "ssl_dv_geotrust",
        O::Issued,
        n,
        None,
        t,
        vec![b.cert(Primary, C::Issued, n, None, t, 365, eng)],
    );
    fx.issued = store.insert_orders(&[o1]).unwrap()[0];
    fx.expired = store.insert_orders(&[o2]).unwrap()[0];

    let t = datetime!(2026-02-01 08:00 UTC);
    let mut o3 = order(
        account,
        fx.engineering,
        eng,
        "ssl_dv_geotrust",
        O::Issued,
        n,
        None,
        t,
        vec![b.cert(Primary, C::Issued, n, None, t, 365, eng)],
    );
    o3.renewed_order_id = Some(fx.expired);

    let t = datetime!(2026-05-01 09:30 UTC);
    let n = ("pending.gamma.org", &["gamma.org"][..]);
    let o4 = order(
        account,
        fx.platform,
        eng,
        "ssl_basic",
        O::Pending,
        n,
        Some(fx.org_contoso),
        t,
        vec![b.cert(Primary, C::Pending, n, s, t, 365, eng)],
    );

    let t = datetime!(2026-05-20 10:00 UTC);
    let n = ("ev.alpha.com", &[][..]);
    let o5 = order(
        account,
        root,
        admin,
        "ssl_ev_plus",
        O::NeedsApproval,
        n,
        Some(fx.org_epigyne),
        t,
        vec![b.cert(Primary, C::Pending, n, s, t, 365, admin)],
    );

    let t = datetime!(2025-12-01 00:00 UTC);
    let n = ("*.delta.io", &["delta.io"][..]);
    let mut o6 = order(
        account,
        root,
        admin,
        "ssl_wildcard",
        O::Revoked,
        n,
        Some(fx.org_epigyne),
        t,
        vec![b.cert(Primary, C::Revoked, n, s, t, 365, admin)],
    );
    o6.origin = Origin::Migrated;

    let t = datetime!(2026-03-01 00:00 UTC);
    let n = ("shop.epsilon.com", &["cart.epsilon.com", "pay.epsilon.com"][..]);
    let mut dup_archived = b.cert(Duplicate, C::Issued, n, s, t + Duration::days(3), 300, admin);
    dup_archived.archived = true;
    let mut o7 = order(
        account,
        fx.marketing,
        admin,
        "ssl_multi_domain",
        O::Issued,
        n,
        Some(fx.org_epigyne),
        t,
        vec![
            b.cert(Primary, C::Issued, n, s, t, 365, admin),
            b.cert(Duplicate, C::Issued, n, s, t + Duration::days(1), 300, admin),
            dup_archived,
            b.cert(Duplicate, C::Pending, n, s, t + Duration::days(5), 300, admin),
        ],
    );
    o7.disable_renewal_notifications = true;

    let t = datetime!(2026-02-10 00:00 UTC);
    let n = ("intranet.zeta.corp", &[][..]);
    let o8 = order(
        account,
        root,
        admin,
        "private_ssl_plus",
        O::Issued,
        n,
        Some(fx.org_epigyne),
        t,
        vec![
            b.cert(Primary, C::Issued, n, s, t, 365, admin),
            b.cert(Reissue, C::Issued, n, s, t + Duration::days(20), 345, admin),
        ],
    );
    let ids = store.insert_orders(&[o3, o4, o5, o6, o7, o8]).unwrap();
    [fx.renewal, fx.pending, fx.needs_approval, fx.revoked, fx.with_duplicates, fx.reissued] =
        ids.try_into().unwrap();

    let (other, other_root) = store.create_account("Other Tenant", NOW).unwrap();
    fx.other_account = other;
    let other_user = user(store, other, other_root, "admin@other.test");
    fx.other_tenant_key = key(store, other_user, ApiKeyRole::Inherit);
    (fx.other_root, fx.other_user) = (other_root, other_user);
    let t = datetime!(2026-04-01 00:00 UTC);
    let n = ("secret.other.com", &[][..]);
    let o9 = order(
        other,
        other_root,
        other_user,
        "ssl_dv_geotrust",
        O::Issued,
        n,
        None,
        t,
        vec![b.cert(Primary, C::Issued, n, None, t, 365, other_user)],
    );
    fx.other_tenant_order = store.insert_orders(&[o9]).unwrap()[0];
    fx
}

impl TestServer {
    /// Starts a server with the fixture and no rate limit.
    pub async fn start() -> Self {
        Self::start_with(vec![]).await
    }

    /// Starts a server with the fixture and the given per-key rate limits.
    pub async fn start_with(limits: Vec<RateLimit>) -> Self {
        Self::launch(limits, Limits::default(), false, Default::default()).await
    }

    /// Starts a server with the fixture and this budget of audited refusals per client address.
    pub async fn start_with_refusal_budget(budget: RefusalBudget) -> Self {
        Self::launch(vec![], Limits::default(), false, budget).await
    }

    /// Starts a server with the fixture, per-key rate limits and connection limits.
    pub async fn start_within(limits: Vec<RateLimit>, connection_limits: Limits) -> Self {
        Self::launch(limits, connection_limits, false, Default::default()).await
    }

    /// Starts a server with the fixture speaking HTTPS with a certificate of the test CA for
    /// 127.0.0.1; its client trusts the test CA's root alone.
    pub async fn start_tls() -> Self {
        Self::launch(vec![], Limits::default(), true, Default::default()).await
    }

    /// Starts a server with the fixture whose clock stands at `now`.
    pub async fn start_at(now: OffsetDateTime) -> Self {
        Self::launch_at(vec![], Limits::default(), false, Default::default(), (now, None)).await
    }

    /// Starts a server with the fixture whose certificates name `pki_base` (such as
    /// `http://pki.example.org`) for their CRL, OCSP and issuer URLs.
    pub async fn start_naming_pki(pki_base: &str) -> Self {
        Self::launch_at(vec![], Limits::default(), false, Default::default(), (NOW, Some(pki_base))).await
    }

    /// Starts a server with the fixture whose domain control checks look up DNS and fetch
    /// `fileauth.txt` where `acme` says (the in-test DNS and HTTP servers).
    pub async fn start_validating(acme: certkeep_server::acme::AcmeSettings) -> Self {
        Self::launch_with(
            vec![],
            Limits::default(),
            false,
            Default::default(),
            (NOW, None),
            acme,
            test_webhooks(),
        )
        .await
    }

    /// Starts a server with the fixture whose webhooks deliver as `webhooks` says (its
    /// deliveries run once a test spawns [`certkeep_server::webhook::deliver_forever`]).
    pub async fn start_with_webhooks(webhooks: DeliverySettings) -> Self {
        let at = (NOW, None);
        Self::launch_with(
            vec![],
            Limits::default(),
            false,
            Default::default(),
            at,
            Default::default(),
            webhooks,
        )
        .await
    }

    /// The operator vouches for `name` in `account_id` (what `certkeep domain vouch` does):
    /// for tests that need a validated domain without proving control.
    pub fn vouch_domain(&self, account_id: Id, name: &str) -> Id {
        certkeep_core::lifecycle::vouch_domain(
            &*self.store,
            self.now,
            certkeep_core::policy::TestNames::Allowed,
            account_id,
            name,
            "test",
        )
        .unwrap()
        .id
    }

    async fn launch(
        limits: Vec<RateLimit>,
        connection_limits: Limits,
        tls: bool,
        refusal_budget: RefusalBudget,
    ) -> Self {
        Self::launch_at(limits, connection_limits, tls, refusal_budget, (NOW, None)).await
    }

    async fn launch_at(
        limits: Vec<RateLimit>,
        connection_limits: Limits,
        tls: bool,
        refusal_budget: RefusalBudget,
        at: (OffsetDateTime, Option<&str>),
    ) -> Self {
        Self::launch_with(
            limits,
            connection_limits,
            tls,
            refusal_budget,
            at,
            Default::default(),
            test_webhooks(),
        )
        .await
    }

    async fn launch_with(
        limits: Vec<RateLimit>,
        connection_limits: Limits,
        tls: bool,
        refusal_budget: RefusalBudget,
        (now, pki_base): (OffsetDateTime, Option<&str>),
        acme: certkeep_server::acme::AcmeSettings,
        webhooks: DeliverySettings,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca_dir = dir.path().join("ca");
        let ca = CertificateAuthority::create(
            &ca_dir,
            KeyAlgorithm::EcdsaP256,
            "Test",
            datetime!(2020-01-01 0:00 UTC),
        )
        .unwrap();
        let database_url = certkeep_store::scratch_database_url(dir.path()).unwrap();
        let store = certkeep_store::open(&database_url).unwrap();
        let mut fx = fill(&*store, &ca);
        let sealing_key = SealingKey::generate();
        (fx.ncp_access_key, fx.ncp_secret_key) = ncp_key(&*store, &sealing_key, fx.account);
        (fx.other_ncp_access_key, fx.other_ncp_secret_key) = ncp_key(&*store, &sealing_key, fx.other_account);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("{}://{addr}", if tls { "https" } else { "http" });
        let urls = PkiUrls::under(pki_base.unwrap_or(&base));
        CertificateAuthority::refresh_intermediate(&ca_dir, None, urls.root(), now).unwrap();
        let authority = Arc::new(Authority::new(CertificateAuthority::load(&ca_dir).unwrap(), urls));
        let ca_id = authority.id().to_owned();
        let metrics = certkeep_server::metrics::Metrics::watching(&*store);
        let state = AppState {
            store: store.clone(),
            clock: Arc::new(FixedClock(now)),
            authority,
            rate_limiter: Arc::new(RateLimiter::new(limits)),
            domains: DomainPolicy::Validated,
            issuance: certkeep_core::policy::IssuanceSettings {
                test_names: certkeep_core::policy::TestNames::Allowed,
                ..Default::default()
            },
            public_url: base.clone(),
            sealing_key: Arc::new(sealing_key),
            ncp_time_zone: time::macros::offset!(+9),
            acme,
            refusal_budget: Arc::new(refusal_budget),
            key_cache: Default::default(),
            metrics,
            metrics_token: Some(METRICS_TOKEN.to_owned()),
            webhooks: Arc::new(Webhooks::new(webhooks, ca.root_pem()).unwrap()),
            email: None,
        };
        let client = reqwest::Client::builder().timeout(StdDuration::from_secs(30));
        let operator = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics_base = format!("http://{}", operator.local_addr().unwrap());
        let metrics_app = certkeep_server::metrics_app(state.clone());
        tokio::spawn(certkeep_server::serve(operator, metrics_app, std::future::pending()));
        let app = certkeep_server::app(state.clone());
        let client = if tls {
            let (chain, key) = server_certificate(&ca);
            let config = Arc::new(certkeep_server::ServerCertificate::from_pem(&chain, &key).unwrap());
            let config = config.server_config().unwrap();
            tokio::spawn(certkeep_server::serve_tls(
                listener,
                config,
                app,
                connection_limits,
                std::future::pending(),
            ));
            let root = reqwest::Certificate::from_pem(ca.root_pem().as_bytes()).unwrap();
            client.tls_certs_only([root])
        } else {
            tokio::spawn(certkeep_server::serve_with(
                listener,
                app,
                connection_limits,
                std::future::pending(),
            ));
            client
        };
        let client = client.build().unwrap();
        Self { base, client, fx, store, ca_dir, ca_id, now, metrics_base, state, database_url, _dir: dir }
    }

    /// Sends a JSON `body` to `path` (relative to /services/v2) with `key`; returns status and body.
    pub async fn send(&self, method: reqwest::Method, key: &str, path: &str, body: Value) -> (u16, String) {
        let resp = self
            .client
            .request(method, format!("{}/services/v2{path}", self.base))
            .header("X-DC-DEVKEY", key)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// GET `path` (relative to /services/v2) with `key`; returns status, headers and body.
    pub async fn get(&self, key: Option<&str>, path: &str) -> (u16, HeaderMap, String) {
        let mut req = self.client.get(format!("{}/services/v2{path}", self.base));
        if let Some(key) = key {
            req = req.header("X-DC-DEVKEY", key);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.text().await.unwrap())
    }

    /// GET as the admin and parse JSON, asserting 200.
    pub async fn json(&self, path: &str) -> Value {
        let (status, _, body) = self.get(Some(&self.fx.admin_key.clone()), path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// The ids of a list response.
    pub async fn ids(&self, path: &str) -> Vec<Id> {
        let v = self.json(path).await;
        v["orders"].as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect()
    }

    /// Sends raw bytes as one HTTP/1.1 request and returns the raw response.
    pub async fn raw(&self, request: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(self.base.trim_start_matches("http://")).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// Webhooks of test servers: loopback receivers allowed, quick retries.
pub fn test_webhooks() -> DeliverySettings {
    DeliverySettings {
        endpoints: EndpointPolicy { allow_loopback: true, allow_private: false },
        pace: test_pace(),
    }
}

/// Test outboxes' pace: retries from 100 ms, a 50 ms poll, ten-second leases.
pub fn test_pace() -> Pace {
    Pace {
        first_retry: StdDuration::from_millis(100),
        max_retry: StdDuration::from_millis(400),
        poll: StdDuration::from_millis(50),
        lease: StdDuration::from_secs(10),
        timeout: StdDuration::from_secs(5),
        batch: 16,
    }
}

/// A certificate chain and key (PEM) for 127.0.0.1 issued by `ca`.
pub fn server_certificate(ca: &CertificateAuthority) -> (String, String) {
    ca.issue_local_tls("127.0.0.1").unwrap()
}

/// Asserts a CertCentral error: status, exact body and exact content type.
pub fn assert_error(resp: &(u16, HeaderMap, String), status: u16, code: &str) {
    assert_eq!(resp.0, status, "body: {}", resp.2);
    assert_eq!(resp.1["content-type"], "application/json");
    let v: Value = serde_json::from_str(&resp.2).unwrap();
    assert_eq!(v["errors"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["errors"][0]["code"], code, "{v}");
    assert!(v["errors"][0]["message"].as_str().is_some_and(|m| !m.is_empty()));
}

impl TestServer {
    /// Asks this server's OCSP responder with openssl's client about `what` (`-cert FILE` or
    /// `-serial 0xHEX`) under certkeep's intermediate, checks that the response verifies, and
    /// returns openssl's output. Blocking: call it off the server's runtime.
    pub fn ocsp(&self, what: &[&std::ffi::OsStr]) -> String {
        let ca = |file: &str| self.ca_dir.join(file);
        let out = std::process::Command::new("openssl")
            // The server clock is frozen in the past: accept its response times.
            .args([
                "ocsp",
                "-no_nonce",
                "-validity_period",
                "315360000",
                "-url",
                &format!("{}/pki/ocsp", self.base),
            ])
            .arg("-issuer")
            .arg(ca("intermediate.crt.pem"))
            .args(what)
            .arg("-CAfile")
            .arg(ca("root.crt.pem"))
            .arg("-verify_other")
            .arg(ca("intermediate.crt.pem"))
            .output()
            .unwrap();
        let all = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(all.contains("Response verify OK"), "{all}");
        all
    }
}

impl TestServer {
    /// Records an issued `ssl_plus` order of the fixture's administrator in `container_id`,
    /// with contact `email`, directly in the store.
    pub fn insert_order(&self, container_id: Id, email: &str) -> Id {
        let (account, user) = (self.fx.account, self.fx.admin_user);
        let mut o = self.issued_order((account, container_id, user), "csv.alpha.com", NOW, 90);
        o.email = email.into();
        self.store.insert_orders(&[o]).unwrap()[0]
    }

    /// Records an issued order of `account` in `container_id` whose certificate expires
    /// `days_left` days after [`NOW`] (more than -100).
    pub fn insert_order_expiring(&self, account: Id, container_id: Id, user: Id, days_left: i64) -> Id {
        let created = NOW - Duration::days(100);
        let o =
            self.issued_order((account, container_id, user), "expiring.alpha.com", created, 100 + days_left);
        self.store.insert_orders(&[o]).unwrap()[0]
    }

    /// Records an issued order of the fixture's administrator for `name` in the root
    /// container, placed with the API key `(name, kind)` (`ncp_access_key`: NCP's paid door).
    pub fn insert_order_placed_with(&self, name: &str, key: (&str, &str)) -> Id {
        let (account, root, user) = (self.fx.account, self.fx.root, self.fx.admin_user);
        let mut o = self.issued_order((account, root, user), name, NOW, 90);
        o.api_key = Some((key.0.into(), key.1.into()));
        self.store.insert_orders(&[o]).unwrap()[0]
    }

    /// An issued `ssl_plus` order for `name` by (account, container, user), its certificate
    /// signed by the test CA for `days` from `created`.
    fn issued_order(
        &self,
        (account, container_id, user): (Id, Id, Id),
        name: &str,
        created: OffsetDateTime,
        days: i64,
    ) -> NewOrder {
        let ca = CertificateAuthority::load(&self.ca_dir).unwrap();
        let b = Builder { store: &*self.store, ca: &ca };
        let names = (name, &[][..]);
        let cert =
            b.cert(CertificateKind::Primary, CertificateStatus::Issued, names, None, created, days, user);
        order(account, container_id, user, "ssl_plus", OrderStatus::Issued, names, None, created, vec![cert])
    }
}

impl TestServer {
    /// Records an order under an ACME contract directly in the store, with a certificate
    /// really issued by the test CA (`days` of validity from `created`, or pending).
    pub fn insert_contract_order(
        &self,
        contract: &certkeep_core::partner::AcmeContract,
        names: (&str, &[&str]),
        status: OrderStatus,
        created: OffsetDateTime,
        days: Option<i64>,
    ) -> Id {
        let ca = CertificateAuthority::load(&self.ca_dir).unwrap();
        let b = Builder { store: &*self.store, ca: &ca };
        let cert_status = match (status, days) {
            (OrderStatus::Revoked, _) => CertificateStatus::Revoked,
            (_, Some(_)) => CertificateStatus::Issued,
            (_, None) => CertificateStatus::Pending,
        };
        let cert = b.cert(
            CertificateKind::Primary,
            cert_status,
            names,
            None,
            created,
            days.unwrap_or(1),
            contract.user_id,
        );
        let mut o = order(
            contract.account_id,
            contract.container_id,
            contract.user_id,
            &contract.product_name_id,
            status,
            names,
            None,
            created,
            vec![cert],
        );
        o.acme_contract_id = Some(contract.id);
        self.store.insert_orders(&[o]).unwrap()[0]
    }
}

/// A console password every test sign-in uses.
pub const CONSOLE_PASSWORD: &str = "correct horse battery staple";

/// A browser-less console client: keeps the session cookie and the CSRF token by hand (so
/// that tests can leave them out).
pub struct Console {
    pub base: String,
    pub client: reqwest::Client,
    /// `certkeep_console=...`, once signed in.
    pub cookie: Option<String>,
    /// The session's CSRF token, read from the last page that carried one.
    pub csrf: Option<String>,
}

/// What a console request answered.
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// The `Location` of a redirect.
    pub fn location(&self) -> &str {
        self.headers.get("location").map_or("", |v| v.to_str().unwrap())
    }

    /// The value of the first hidden `csrf` field.
    pub fn csrf(&self) -> Option<String> {
        let at = self.body.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
        Some(self.body[at..].split('"').next()?.to_owned())
    }

    /// The `Set-Cookie` header setting `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with(&format!("{name}=")))
    }
}

impl Console {
    async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let request = match &self.cookie {
            Some(c) => request.header("cookie", c),
            None => request,
        };
        let resp = request.send().await.unwrap();
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        Page { status, headers, body: resp.text().await.unwrap() }
    }

    /// GET `path` (absolute, `/console/...`) with the session, if any.
    pub async fn get(&mut self, path: &str) -> Page {
        let page = self.send(self.client.get(format!("{}{path}", self.base))).await;
        if let Some(csrf) = page.csrf() {
            self.csrf = Some(csrf);
        }
        page
    }

    /// POSTs `form` to `path` with the session, if any (the CSRF token only if `form` has it).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    /// POSTs `form` with the session's CSRF token added.
    pub async fn act(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.csrf.clone().expect("a page with the CSRF token was loaded");
        let mut form = form.to_vec();
        form.push(("csrf", &csrf));
        self.post(path, &form).await
    }

    /// Signs in through the form (loaded first, for its token); returns the form's answer.
    pub async fn sign_in(&mut self, username: &str, password: &str) -> Page {
        self.cookie = None;
        let form = self.get("/console/sign-in").await;
        let token = form.csrf().unwrap();
        let pre = form.set_cookie("certkeep_console_sign_in").unwrap();
        self.cookie = Some(pre.split(';').next().unwrap().to_owned());
        let page = self
            .post("/console/sign-in", &[("csrf", &token), ("username", username), ("password", password)])
            .await;
        self.cookie = page.set_cookie("certkeep_console").map(|c| c.split(';').next().unwrap().to_owned());
        if self.cookie.is_some() {
            self.get("/console/inventory").await;
        }
        page
    }
}

impl TestServer {
    /// Gives `user_id` a console sign-in with [`CONSOLE_PASSWORD`] and `role`.
    pub fn console_login(&self, user_id: Id, role: ApiKeyRole) {
        let password_hash = certkeep_server::console::password::hash(CONSOLE_PASSWORD).unwrap();
        let login = certkeep_core::ConsoleLogin { user_id, password_hash, role };
        assert!(self.store.set_console_login(&login, NOW).unwrap());
    }

    /// A console client without a session.
    pub fn console(&self) -> Console {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Console { base: self.base.clone(), client, cookie: None, csrf: None }
    }

    /// A console client signed in as `username` (whose login [`Self::console_login`] made).
    pub async fn signed_in(&self, username: &str) -> Console {
        let mut console = self.console();
        let page = console.sign_in(username, CONSOLE_PASSWORD).await;
        assert_eq!(page.status, 303, "sign-in as {username}: {}", page.body);
        console
    }
}

impl TestServer {
    /// Registers a new ACME client at the server's `/acme/directory`, bound to the EAB
    /// credential `kid` with the base64url HMAC key `hmac` (through instant-acme).
    pub async fn register_with_eab(&self, kid: &str, hmac: &str) -> Result<(), instant_acme::Error> {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        use hyper_util::{client::legacy::Client, rt::TokioExecutor};
        let key = URL_SAFE_NO_PAD.decode(hmac).expect("an HMAC key in base64url");
        let http = Client::builder(TokioExecutor::new()).build_http();
        instant_acme::Account::builder_with_http(Box::new(http))
            .create(
                &instant_acme::NewAccount {
                    contact: &["mailto:ops@acme.test"],
                    terms_of_service_agreed: true,
                    only_return_existing: false,
                },
                format!("{}/acme/directory", self.base),
                Some(&instant_acme::ExternalAccountKey::new(kid.to_owned(), &key)),
            )
            .await
            .map(drop)
    }
}

impl Console {
    /// GET `path` without reading a token from it.
    pub async fn get_page(&self, path: &str) -> Page {
        self.send(self.client.get(format!("{}{path}", self.base))).await
    }

    /// The status of GET `path`.
    pub async fn get_status(&self, path: &str) -> u16 {
        self.get_page(path).await.status
    }
}
