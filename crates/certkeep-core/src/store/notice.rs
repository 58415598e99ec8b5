//! Expiry notices by e-mail: the outbox the notice sweep fills and replicas lease from.

use time::OffsetDateTime;

use super::{Attempt, StoreResult};
use crate::Id;

/// One e-mail notice, leased for sending, with what its message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailNotice {
    /// The certificate it is about.
    pub certificate_id: Id,
    /// The notice window (days to expiry) it was queued in.
    pub window_days: i64,
    /// Where it goes: the order's contact e-mail, else the e-mail of the user who placed it.
    pub recipient: String,
    /// The certificate's order.
    pub order_id: Id,
    /// The order's product (`ssl_plus`), which a renewal orders again.
    pub product_name_id: String,
    /// The certificate's common name.
    pub common_name: String,
    /// Its subject alternative names.
    pub dns_names: Vec<String>,
    /// When it expires.
    pub valid_till: OffsetDateTime,
    /// Attempts so far, this one included.
    pub attempts: u32,
}

/// Persistence of e-mail expiry notices. Each is a row of the notice record (certificate,
/// window, channel `email`), so it is queued once ever and kept until sent.
pub trait NoticeStore: Send + Sync {
    /// Queues an e-mail notice for each issued certificate (of an issued order that did not
    /// disable renewal notices) of every account in one of `windows` at `now`
    /// ([`crate::notice::window`]) not noticed by e-mail in that window yet, in one
    /// transaction: a notice queued before, by this process or a replica, is skipped. A
    /// certificate whose order names no e-mail and whose user has none is not queued.
    /// Returns how many were queued.
    fn queue_email_notices(&self, windows: &[i64], now: OffsetDateTime) -> StoreResult<u64>;
    /// Leases up to `limit` due, unsent notices whose lease (if any) ran out, until
    /// `lease_until_ms`, in one atomic statement: two processes never hold the same notice at
    /// once, and a crashed one's lease is taken over once it runs out. Times are the wall
    /// clock's, in milliseconds since the epoch.
    fn claim_email_notices(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<EmailNotice>>;
    /// Records how the attempts at leased notices, each named by its certificate and window
    /// (days), ended, in one transaction.
    fn record_email_attempts(&self, attempts: &[((Id, i64), Attempt)]) -> StoreResult<()>;
    /// Queued e-mail notices not sent yet, across accounts.
    fn email_backlog(&self) -> StoreResult<u64>;
}
