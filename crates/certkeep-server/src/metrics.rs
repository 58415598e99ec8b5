//! What the server counts about itself, exposed as Prometheus text (`GET /metrics`).
//!
//! Labels are bounded: front doors, route templates (never raw paths), statuses, product
//! identifiers, key algorithms, challenge types. The certificate gauges are computed at scrape time
//! with one aggregate store query across tenants.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use certkeep_core::{ExpiryOf, Store, StoreResult};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};
use time::OffsetDateTime;

/// The content type of [`Metrics::render`]'s answer.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    door: &'static str,
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    door: &'static str,
    method: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IssuanceLabels {
    door: &'static str,
    product: &'static str,
    key_algorithm: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ValidationLabels {
    challenge: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DoorLabels {
    door: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    call: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WebhookLabels {
    event: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CertificateLabels {
    status: &'static str,
    expiry: &'static str,
}

/// The days-to-expiry buckets of `certkeep_certificates` after `expired`, each with the first
/// day past it (`>90` has none).
const EXPIRY_BUCKETS: [(&str, Option<i64>); 5] =
    [("0-7", Some(8)), ("8-30", Some(31)), ("31-60", Some(61)), ("61-90", Some(91)), (">90", None)];

/// Every metric the server keeps, in one registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    issued: Family<IssuanceLabels, Counter>,
    validations: Family<ValidationLabels, Counter>,
    rate_limited: Family<DoorLabels, Counter>,
    store_latency: Family<StoreLabels, Histogram>,
    commit_batch: Histogram,
    certificates: Family<CertificateLabels, Gauge>,
    webhook_deliveries: Family<WebhookLabels, Counter>,
    webhook_backlog: Gauge,
    email_notices: Family<OutcomeLabels, Counter>,
    email_backlog: Gauge,
    /// One scrape at a time: the certificate gauges are replaced as a whole.
    scrape: Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        let seconds = || Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        let requests = Family::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(seconds as fn() -> Histogram);
        let issued = Family::default();
        let validations = Family::default();
        let rate_limited = Family::default();
        let store_latency =
            Family::<StoreLabels, Histogram>::new_with_constructor(seconds as fn() -> Histogram);
        let commit_batch = Histogram::new(exponential_buckets(1.0, 2.0, 7));
        let certificates = Family::default();
        let webhook_deliveries = Family::default();
        let webhook_backlog = Gauge::default();
        let email_notices = Family::default();
        let email_backlog = Gauge::default();
        let mut registry = Registry::with_prefix("certkeep");
        registry.register(
            "http_requests",
            "Requests answered, by front door, route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's head to its answer's head, by front door and route template",
            latency.clone(),
        );
        registry.register(
            "certificates_issued",
            "Certificates signed in a committed transaction, by front door, product and key algorithm",
            issued.clone(),
        );
        registry.register(
            "acme_validations",
            "ACME challenge validations, by challenge type and outcome",
            validations.clone(),
        );
        registry.register(
            "rate_limit_refusals",
            "Requests refused by the per-key rate limits, by front door",
            rate_limited.clone(),
        );
        registry.register(
            "store_call_duration_seconds",
            "Time of a store call on its blocking thread (query: reads; transaction: lifecycle writes, signing included)",
            store_latency.clone(),
        );
        registry.register(
            "store_commit_batch_size",
            "Write transactions one commit made durable (group commit on SQLite; 1 on PostgreSQL)",
            commit_batch.clone(),
        );
        registry.register(
            "certificates",
            "Orders' current certificates by order status and days to expiry, at scrape time",
            certificates.clone(),
        );
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by this process, by event and outcome (delivered, failed)",
            webhook_deliveries.clone(),
        );
        registry.register(
            "webhook_backlog",
            "Webhook events queued and not yet delivered, across accounts and processes, at scrape time",
            webhook_backlog.clone(),
        );
        registry.register(
            "email_notices",
            "E-mail expiry notice attempts by this process, by outcome (sent, failed)",
            email_notices.clone(),
        );
        registry.register(
            "email_backlog",
            "E-mail expiry notices queued and not yet sent, across accounts and processes, at scrape time",
            email_backlog.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            issued,
            validations,
            rate_limited,
            store_latency,
            commit_batch,
            certificates,
            webhook_deliveries,
            webhook_backlog,
            email_notices,
            email_backlog,
            scrape: Mutex::new(()),
        }
    }
}

impl Metrics {
    /// Metrics that also hear of every commit of `store`.
    pub fn watching(store: &dyn Store) -> Arc<Self> {
        let metrics = Arc::new(Self::default());
        let batches = metrics.commit_batch.clone();
        store.observe_commits(Box::new(move |jobs| batches.observe(jobs as f64)));
        metrics
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Counts one answered request and its latency.
    pub fn request(
        &self,
        door: &'static str,
        method: &'static str,
        route: &str,
        status: u16,
        took: Duration,
    ) {
        let route = route.to_owned();
        self.latency
            .get_or_create(&RouteLabels { door, method, route: route.clone() })
            .observe(took.as_secs_f64());
        self.requests.get_or_create(&RequestLabels { door, method, route, status }).inc();
    }

    /// Counts one certificate issued in a committed transaction under `product` (a
    /// [`certkeep_core::Product`]'s `name_id`, one of a fixed set).
    pub fn issued(&self, door: &'static str, product: &'static str, key_algorithm: &str) {
        self.issued
            .get_or_create(&IssuanceLabels { door, product, key_algorithm: key_algorithm.to_owned() })
            .inc();
    }

    /// Counts one ACME challenge validation.
    pub fn validated(&self, challenge: &str, valid: bool) {
        let outcome = if valid { "valid" } else { "invalid" };
        self.validations.get_or_create(&ValidationLabels { challenge: challenge.to_owned(), outcome }).inc();
    }

    /// Counts one request refused by the rate limits.
    pub fn rate_limited(&self, door: &'static str) {
        self.rate_limited.get_or_create(&DoorLabels { door }).inc();
    }

    /// Records how long a store call (`query` or `transaction`) took.
    pub fn store_call(&self, call: &'static str, took: Duration) {
        self.store_latency.get_or_create(&StoreLabels { call }).observe(took.as_secs_f64());
    }

    /// Counts one webhook delivery attempt.
    pub fn webhook_delivery(&self, event: &'static str, delivered: bool) {
        let outcome = if delivered { "delivered" } else { "failed" };
        self.webhook_deliveries.get_or_create(&WebhookLabels { event, outcome }).inc();
    }

    /// Counts one attempt to hand an e-mail notice to the relay.
    pub fn email_notice(&self, sent: bool) {
        let outcome = if sent { "sent" } else { "failed" };
        self.email_notices.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// The exposition at `now`, with the certificate and backlog gauges read from `store`
    /// (blocking).
    pub fn render(&self, store: &dyn Store, now: OffsetDateTime) -> StoreResult<String> {
        let _one = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        let counts = certificate_counts(store, now)?;
        self.webhook_backlog.set(i64::try_from(store.webhook_backlog()?).unwrap_or(i64::MAX));
        self.email_backlog.set(i64::try_from(store.email_backlog()?).unwrap_or(i64::MAX));
        self.certificates.clear();
        for ((status, expiry), n) in counts {
            self.certificates.get_or_create(&CertificateLabels { status, expiry }).set(n);
        }
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
            .map_err(|e| certkeep_core::StoreError(format!("encoding metrics: {e}")))?;
        Ok(out)
    }
}

/// Orders' current certificates by effective status and expiry bucket, across tenants.
fn certificate_counts(
    store: &dyn Store,
    now: OffsetDateTime,
) -> StoreResult<Vec<((&'static str, &'static str), i64)>> {
    let end = time::PrimitiveDateTime::MAX.assume_utc();
    let mut edges = vec![time::PrimitiveDateTime::MIN.assume_utc(), now];
    edges.extend(
        EXPIRY_BUCKETS
            .iter()
            .map(|(_, days)| days.and_then(|d| now.checked_add(time::Duration::days(d))).unwrap_or(end)),
    );
    let mut out: Vec<((&str, &str), i64)> = Vec::new();
    for c in store.count_expiring(None, ExpiryOf::Orders, &edges)? {
        let (status, expiry) = match c.window {
            0 if c.status == "issued" => ("expired", "expired"),
            0 => (c.status, "expired"),
            w => (c.status, EXPIRY_BUCKETS[w - 1].0),
        };
        let n = i64::try_from(c.count).unwrap_or(i64::MAX);
        match out.iter_mut().find(|(k, _)| *k == (status, expiry)) {
            Some((_, total)) => *total += n,
            None => out.push(((status, expiry), n)),
        }
    }
    Ok(out)
}
