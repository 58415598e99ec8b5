//! Webhooks and their outbox: registration, the challenge and activation, and the deliveries
//! that replicas lease from the database.

use time::OffsetDateTime;

use super::StoreResult;
use crate::{
    Id,
    lifecycle::AuditEvent,
    webhook::{EventKind, NewWebhook, Webhook, WebhookRefusal},
};

/// How one attempt at a leased outbox item (a webhook event, an e-mail notice) ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The endpoint (or relay) accepted it: it is done for good.
    Delivered(OffsetDateTime),
    /// It failed with `error`; it is due again at `retry_at_ms` (wall clock).
    Failed { error: String, retry_at_ms: i64 },
}

/// One queued event, leased for delivery, with where and how to deliver it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The outbox row.
    pub id: Id,
    /// The webhook's account.
    pub account_id: Id,
    /// Where to post it (the webhook's endpoint now).
    pub endpoint: String,
    /// The webhook's sealed secret.
    pub sealed_secret: Vec<u8>,
    /// What happened.
    pub event: EventKind,
    /// The order.
    pub order_id: Id,
    /// The certificate.
    pub certificate_id: Option<Id>,
    /// Whether the event carries the certificate chain (read at delivery time).
    pub send_chain: bool,
    /// The notice window of a `certificate_expiring` event.
    pub notice_days: Option<i64>,
    /// Attempts so far, this one included.
    pub attempts: u32,
}

/// Where a webhook's deliveries stand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliverySummary {
    /// Events queued and not delivered yet.
    pub pending: u64,
    /// Events delivered.
    pub delivered: u64,
    /// The last failed attempt's error, of an event still pending.
    pub last_error: Option<String>,
    /// When an event was last delivered.
    pub last_delivered: Option<OffsetDateTime>,
}

/// Where one queued event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Not attempted yet (or being attempted).
    Pending,
    /// The endpoint accepted it.
    Delivered,
    /// Its last attempt failed; it is attempted again later.
    Failed,
}

impl DeliveryState {
    /// Its name in lists.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

/// One event of a webhook's outbox, as people look at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// The outbox row.
    pub id: Id,
    /// What happened.
    pub event: EventKind,
    /// The order.
    pub order_id: Id,
    /// The certificate.
    pub certificate_id: Option<Id>,
    /// Attempts so far.
    pub attempts: u32,
    /// The last failed attempt's error, while it is undelivered.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: OffsetDateTime,
    /// When the endpoint accepted it.
    pub delivered_at: Option<OffsetDateTime>,
    /// When it is due again, while undelivered (wall clock).
    pub next_attempt: Option<OffsetDateTime>,
}

impl DeliveryRecord {
    /// Delivered once accepted; failed while its last attempt's error stands; else pending.
    pub fn state(&self) -> DeliveryState {
        match (self.delivered_at, &self.last_error) {
            (Some(_), _) => DeliveryState::Delivered,
            (None, Some(_)) => DeliveryState::Failed,
            (None, None) => DeliveryState::Pending,
        }
    }
}

/// Persistence of webhooks. The outbox is filled by the lifecycle's transactions themselves
/// (where they append their audit event), not through this trait.
pub trait WebhookStore: Send + Sync {
    /// Registers the account's webhook and appends `audit`, in one transaction; `None` (and
    /// nothing written) when the account has one already.
    fn create_webhook(&self, webhook: &NewWebhook, audit: &AuditEvent) -> StoreResult<Option<Id>>;
    /// The account's webhooks (at most one), with their deliveries' summaries.
    fn webhooks(&self, account_id: Id) -> StoreResult<Vec<(Webhook, DeliverySummary)>>;
    /// Changes the account's webhook `id` in one transaction: `change` edits it and returns the
    /// audit event to append, or refuses and nothing is written. `None` when there is no such
    /// webhook in the account.
    fn change_webhook(
        &self,
        account_id: Id,
        id: Id,
        change: &mut dyn FnMut(&mut Webhook) -> Result<AuditEvent, WebhookRefusal>,
    ) -> StoreResult<Option<Result<Webhook, WebhookRefusal>>>;
    /// Deletes the account's webhook `id` with its undelivered events and appends `audit`;
    /// false when there is no such webhook in the account.
    fn delete_webhook(&self, account_id: Id, id: Id, audit: &AuditEvent) -> StoreResult<bool>;
    /// Leases up to `limit` due, undelivered events of active webhooks whose lease (if any)
    /// ran out, until `lease_until`, in one atomic statement: two processes never hold the
    /// same event at once. Times are the wall clock's, in milliseconds since the epoch.
    fn claim_deliveries(&self, now_ms: i64, lease_until_ms: i64, limit: u32) -> StoreResult<Vec<Delivery>>;
    /// Records how the attempts at leased events ended, all in one transaction (one write
    /// per leased batch, not per event).
    fn record_attempts(&self, attempts: &[(Id, Attempt)]) -> StoreResult<()>;
    /// Queues `certificate_expiring` for each issued certificate (of an order that did not
    /// disable renewal notices) of every account whose active webhook subscribed to it and
    /// whose window ([`crate::notice::window`] of the webhook's windows) at `now` was not
    /// noticed yet, recording the notice (certificate, window, webhook channel) in the same
    /// transaction: a notice already recorded, by this process or a replica, is skipped.
    /// Returns how many were queued.
    fn queue_expiry_notices(&self, now: OffsetDateTime) -> StoreResult<u64>;
    /// The events queued for the account's webhooks, newest first, `limit` from `offset`, with
    /// how many there are in all.
    fn webhook_deliveries(
        &self,
        account_id: Id,
        offset: u64,
        limit: u64,
    ) -> StoreResult<(u64, Vec<DeliveryRecord>)>;
    /// Undelivered events across accounts.
    fn webhook_backlog(&self) -> StoreResult<u64>;
}
