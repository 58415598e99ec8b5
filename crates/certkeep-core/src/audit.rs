//! Reading the append-only audit log: every change and every refused write.

use time::OffsetDateTime;

use crate::{Id, lifecycle::AuditEvent};

/// A window over the audit log, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only events at or after this instant.
    pub since: Option<OffsetDateTime>,
    /// Events to skip.
    pub offset: u64,
    /// Events to return at most.
    pub limit: u64,
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the log (grows with time).
    pub id: Id,
    /// The event.
    pub event: AuditEvent,
}

/// One page of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPage {
    /// Events matching the query, before offset and limit.
    pub total: u64,
    /// The page, newest first.
    pub records: Vec<AuditRecord>,
}
