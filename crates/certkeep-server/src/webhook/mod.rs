//! Webhook deliveries. The lifecycle's transactions queue events in the store's outbox;
//! [`deliver_forever`] leases due events from the database (so replicas never deliver one at
//! the same time), posts each to its webhook's endpoint with the secret in `X-WEBHOOK-KEY`,
//! marks it delivered on a 2xx answer, and otherwise retries it with exponential backoff.
//! Events stay in the outbox until delivered, across restarts and crashes: delivery is at
//! least once (an endpoint that answered just before a crash hears the event again).

pub mod endpoint;
mod payload;

use certkeep_core::{
    Id, StoreError,
    seal::SealedSecret,
    store::{Attempt, Delivery},
};
use serde_json::Value;
use time::OffsetDateTime;

use crate::{
    AppState,
    outbox::{self, Pace, error_chain, wall_ms},
};
pub use endpoint::{EndpointPolicy, Refused};
pub use payload::{challenge_event, test_event};

/// How deliveries are made and retried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliverySettings {
    /// Which endpoints webhooks may reach besides public ones.
    pub endpoints: EndpointPolicy,
    /// How the outbox is drained (an attempt is one POST).
    pub pace: Pace,
}

/// The delivery client and its settings.
pub struct Webhooks {
    client: reqwest::Client,
    settings: DeliverySettings,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Webhooks {
    /// A client that trusts the system's roots and `own_root_pem` (certkeep's root, so that
    /// endpoints with certkeep's certificates are reached), follows no redirect and connects
    /// only to addresses the settings allow.
    pub fn new(settings: DeliverySettings, own_root_pem: &str) -> Result<Self, String> {
        let root = reqwest::Certificate::from_pem(own_root_pem.as_bytes())
            .map_err(|e| format!("certkeep's root certificate: {e}"))?;
        let client = reqwest::Client::builder()
            .tls_certs_merge([root])
            .dns_resolver(endpoint::resolver(settings.endpoints))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(settings.pace.timeout)
            .user_agent(concat!("certkeep-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("the webhook client: {e}"))?;
        Ok(Self { client, settings })
    }

    /// The settings.
    pub fn settings(&self) -> &DeliverySettings {
        &self.settings
    }

    /// Checks an endpoint a client registers: its form and every address it resolves to.
    pub async fn check_endpoint(&self, endpoint: &str) -> Result<String, Refused> {
        let url = endpoint::parse(endpoint)?;
        endpoint::check(&url, self.settings.endpoints).await?;
        Ok(url.to_string())
    }

    /// Posts `body` to `endpoint` with `secret`; `Err` says why it was not accepted.
    pub async fn post(&self, endpoint: &str, secret: &str, body: &Value) -> Result<(), String> {
        let url = endpoint::parse(endpoint).map_err(|Refused(m)| m)?;
        // Names are checked again as the client connects (its resolver); addresses here.
        endpoint::check(&url, self.settings.endpoints).await.map_err(|Refused(m)| m)?;
        let answer = self
            .client
            .post(url)
            .header("X-WEBHOOK-KEY", secret)
            .json(body)
            .send()
            .await
            .map_err(|e| error_chain(&e))?;
        match answer.status() {
            s if s.is_success() => Ok(()),
            s => Err(format!("the endpoint answered {s}")),
        }
    }
}

/// Delivers due events until the process ends.
pub async fn deliver_forever(state: AppState) {
    outbox::drain_forever(state.webhooks.settings.pace, "webhook", || deliver_due(&state)).await;
}

/// Leases the due events, makes one attempt at each, concurrently, and records how they
/// ended in one store call; returns how many.
pub async fn deliver_due(state: &AppState) -> Result<usize, StoreError> {
    let pace = state.webhooks.settings.pace;
    let (now, lease_until) = (wall_ms(), outbox::ms_after(pace.lease));
    let due = state.store(move |s| s.claim_deliveries(now, lease_until, pace.batch)).await?;
    let count = due.len();
    let mut attempts = tokio::task::JoinSet::new();
    for delivery in due {
        attempts.spawn(attempt(state.clone(), delivery));
    }
    let mut ended = Vec::with_capacity(count);
    while let Some(outcome) = attempts.join_next().await {
        ended.extend(outcome.ok());
    }
    if let Err(e) = state.store(move |s| s.record_attempts(&ended)).await {
        // The leases run out and the events are attempted again.
        tracing::warn!(error = %e, "cannot record webhook attempts");
    }
    Ok(count)
}

/// One attempt at one leased event.
async fn attempt(state: AppState, d: Delivery) -> (Id, Attempt) {
    let secret = SealedSecret::WebhookSecret { account_id: d.account_id, sealed: &d.sealed_secret };
    let opened =
        state.sealing_key.open(secret.sealed(), &secret.context()).and_then(|s| String::from_utf8(s).ok());
    let result = match opened {
        None => Err(format!("{} does not open under the server key", secret.describe())),
        Some(secret) => match payload::lifecycle_event(&state, &d).await {
            Ok(body) => state.webhooks.post(&d.endpoint, &secret, &body).await,
            Err(e) => Err(e.to_string()),
        },
    };
    state.metrics.webhook_delivery(d.event.as_str(), result.is_ok());
    let ended = match result {
        Ok(()) => Attempt::Delivered(OffsetDateTime::now_utc()),
        Err(error) => {
            let wait = state.webhooks.settings.pace.backoff(d.attempts);
            tracing::warn!(event = d.id, attempts = d.attempts, %error, retry_in = ?wait, "webhook delivery failed");
            Attempt::Failed { error, retry_at_ms: outbox::ms_after(wait) }
        }
    };
    (d.id, ended)
}
