//! The persistence boundary. Front doors and services talk to a `dyn Store`; SQLite and
//! PostgreSQL implement it.

use std::fmt;

use time::OffsetDateTime;

use crate::ncp::{NcpKey, NewNcpKey};

use crate::{
    CertificateGroupPage, CertificateGroupQuery, CertificateKind, CertificateRecord, Id, NewApiKey,
    NewContainer, NewOrder, NewOrganization, NewUser, OrderDetail, OrderQuery, OrderSummary, Principal,
    Scope,
};

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

/// How an order is named in a URL: its id, or its current certificate's thumbprint or serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    /// Order id.
    Id(Id),
    /// Thumbprint or serial number of the order's current certificate (upper-case hex).
    Fingerprint(String),
}

/// One page of the order list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPage {
    /// Orders matching the filters, before offset and limit.
    pub total: u64,
    /// The page.
    pub orders: Vec<OrderSummary>,
}

/// Some certificates of one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCertificates {
    /// The order's public id.
    pub public_id: String,
    /// The certificates, oldest first.
    pub certificates: Vec<CertificateRecord>,
}

/// Persistence of the inventory. Methods block; async callers run them on a blocking thread.
pub trait Store: Send + Sync {
    /// Checks that the database answers.
    fn ping(&self) -> StoreResult<()>;
    /// Creates an account and its root container; returns (account id, root container id).
    fn create_account(&self, name: &str, now: OffsetDateTime) -> StoreResult<(Id, Id)>;
    /// Creates a container.
    fn create_container(&self, container: &NewContainer) -> StoreResult<Id>;
    /// Creates an organization.
    fn create_organization(&self, org: &NewOrganization) -> StoreResult<Id>;
    /// Creates a user.
    fn create_user(&self, user: &NewUser, now: OffsetDateTime) -> StoreResult<Id>;
    /// Creates an API key.
    fn create_api_key(&self, key: &NewApiKey, now: OffsetDateTime) -> StoreResult<Id>;
    /// Defines a custom order field for an account.
    fn create_custom_field(&self, account_id: Id, label: &str) -> StoreResult<Id>;
    /// Finds the active key with this hash and what it may see.
    fn authenticate(&self, key_hash: &[u8]) -> StoreResult<Option<Principal>>;
    /// Writes orders with their certificates and requests in one transaction; returns their ids.
    fn insert_orders(&self, orders: &[NewOrder]) -> StoreResult<Vec<Id>>;
    /// One page of orders. `now` decides which issued orders count as expired.
    fn list_orders(&self, scope: &Scope, query: &OrderQuery, now: OffsetDateTime) -> StoreResult<OrderPage>;
    /// Every order matching the query, in order, handed to `sink` one at a time without
    /// holding them all in memory; stops early when `sink` returns false.
    fn export_orders(
        &self,
        scope: &Scope,
        query: &OrderQuery,
        now: OffsetDateTime,
        sink: &mut dyn FnMut(&OrderSummary) -> bool,
    ) -> StoreResult<()>;
    /// One order, if the scope may see it.
    fn find_order(&self, scope: &Scope, order: &OrderRef) -> StoreResult<Option<OrderDetail>>;
    /// The certificates of one kind on an order, oldest first; `None` if the order is not visible.
    fn order_certificates(
        &self,
        scope: &Scope,
        order_id: Id,
        kind: CertificateKind,
        include_archived: bool,
    ) -> StoreResult<Option<OrderCertificates>>;
    /// Creates an NCP key for an existing account; `None` when the account does not exist.
    fn create_ncp_key(&self, key: &NewNcpKey, now: OffsetDateTime) -> StoreResult<Option<Id>>;
    /// The active NCP key with this access key.
    fn find_ncp_key(&self, access_key: &str) -> StoreResult<Option<NcpKey>>;
    /// Revokes an active NCP key; false when there is none with this access key.
    fn revoke_ncp_key(&self, access_key: &str, now: OffsetDateTime) -> StoreResult<bool>;
    /// Certificates of the scope's orders, grouped by order and paged by order.
    fn certificate_groups(
        &self,
        scope: &Scope,
        query: &CertificateGroupQuery,
    ) -> StoreResult<CertificateGroupPage>;
}
