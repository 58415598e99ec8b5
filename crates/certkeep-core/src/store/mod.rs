//! The persistence boundary. Front doors and services talk to a `dyn Store`, the sum of one
//! trait per context ([`InventoryStore`], [`PartnerStore`], [`NcpStore`], [`OperationsStore`],
//! [`ConsoleStore`], [`WebhookStore`], [`NoticeStore`] and the ACME store behind
//! [`Store::acme`]); SQLite and PostgreSQL implement each once.
//! Methods block; async callers run them on a blocking thread.

mod console;
mod inventory;
mod ncp;
mod notice;
mod operations;
mod partner;
mod webhook;

use std::fmt;

pub use console::{ConsoleLogin, ConsoleSession, ConsoleStore, NewConsoleSession};
pub use inventory::{
    ExpiryCount, ExpiryOf, InventoryStore, OrderCertificates, OrderPage, OrderRef, RequestQuery,
};
pub use ncp::NcpStore;
pub use notice::{EmailNotice, NoticeStore};
pub use operations::{CommitObserver, OperationsStore};
pub use partner::PartnerStore;
pub use webhook::{Attempt, Delivery, DeliveryRecord, DeliveryState, DeliverySummary, WebhookStore};

use crate::lifecycle::{LifecycleError, Transaction};

/// A failure of the storage engine (not a "not found": those are `Ok(None)`).
#[derive(Debug)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// Result of store operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// Everything certkeep persists, one context trait per front door, one for operations, one
/// for the console, one for webhooks and one for e-mail notices.
pub trait Store:
    InventoryStore + PartnerStore + NcpStore + OperationsStore + ConsoleStore + WebhookStore + NoticeStore
{
    /// The ACME front door's objects (see [`crate::acme`]).
    fn acme(&self) -> &dyn crate::acme::AcmeStore;
}

impl dyn Store + '_ {
    /// Runs `f` in one write transaction ([`InventoryStore::transaction`]) and returns its
    /// value: committed when `f` succeeds, rolled back when it fails.
    pub fn transact<T>(
        &self,
        mut f: impl FnMut(&mut dyn Transaction) -> Result<T, LifecycleError>,
    ) -> Result<T, LifecycleError> {
        let mut value = None;
        self.transaction(&mut |tx| {
            value = Some(f(tx)?);
            Ok(())
        })?;
        value.ok_or_else(|| StoreError("the store committed without running the transaction".into()).into())
    }
}
