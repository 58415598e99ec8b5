//! Running the service: health, shared rate counts, sealed secrets, the audit log.

use time::OffsetDateTime;

use super::StoreResult;
use crate::Id;

/// Told the number of write transactions each commit made durable.
pub type CommitObserver = Box<dyn Fn(usize) + Send + Sync>;

/// Persistence the operators and every door share.
pub trait OperationsStore: Send + Sync {
    /// Checks that the database answers.
    fn ping(&self) -> StoreResult<()>;
    /// Tells `observer` of every commit from now on: on SQLite one commit holds the batch of
    /// write transactions that queued for it (group commit), on PostgreSQL one. The first
    /// observer set stays.
    fn observe_commits(&self, observer: CommitObserver);
    /// Counts a request by `caller` against sliding-window limits kept in the database, so that
    /// every process on it shares them; `limits` are (requests, window in seconds). False, and
    /// nothing counted, when a limit is exceeded.
    fn count_request(&self, caller: &str, limits: &[(u32, u64)], now: OffsetDateTime) -> StoreResult<bool>;
    /// Seals the EAB HMAC keys stored in clear by versions before sealing, in one transaction:
    /// `seal(kid, key)` gives the sealed key. Returns how many it sealed.
    fn seal_clear_eab_keys(&self, seal: &dyn Fn(&str, &[u8]) -> Vec<u8>) -> StoreResult<u64>;
    /// Re-seals every sealed value (NCP secret keys, sealed EAB HMAC keys, registered private
    /// keys, webhook secrets) in one transaction: `reseal` gives a value sealed anew, or `None` when it cannot
    /// open it, which changes nothing and fails naming the value. Returns how many it re-sealed.
    fn reseal_secrets(
        &self,
        reseal: &dyn Fn(crate::seal::SealedSecret<'_>) -> Option<Vec<u8>>,
    ) -> StoreResult<u64>;
    /// Appends an audit event on its own, outside any lifecycle transaction (refused writes).
    fn record_audit(&self, event: &crate::lifecycle::AuditEvent) -> StoreResult<()>;
    /// The audit log, newest first: one account's events, or (`None`, the operator's view)
    /// every event including refusals that named no account.
    fn audit_events(
        &self,
        account_id: Option<Id>,
        query: &crate::audit::AuditQuery,
    ) -> StoreResult<crate::audit::AuditPage>;
}
