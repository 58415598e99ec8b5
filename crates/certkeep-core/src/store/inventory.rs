//! The CertCentral inventory: accounts and their containers, organizations, users and keys;
//! orders with their certificates and requests; domains; revocation status.

use time::OffsetDateTime;

use super::StoreResult;
use crate::{
    Account, CertificateKind, CertificateRecord, CertificateStatus, ContainerNode, Domain, Id, NewApiKey,
    NewContainer, NewOrder, NewOrganization, NewUser, OrderDetail, OrderQuery, OrderSummary, Organization,
    Principal, RequestDetail, RequestStatus, RequestType, Revocation, Scope, UserRecord,
    lifecycle::{CertificateRef, LifecycleError, Transaction},
};

/// How an order is named in a URL: its id, or its current certificate's thumbprint or serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    /// Order id.
    Id(Id),
    /// Thumbprint or serial number of the order's current certificate (upper-case hex).
    Fingerprint(String),
}

/// What [`InventoryStore::count_expiring`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryOf {
    /// Orders, by their current certificate.
    Orders,
    /// Duplicate certificates, by their own expiry.
    Duplicates,
}

/// How many orders or certificates of one stored status expire within one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryCount {
    /// The stored status (an order's, or a certificate's as its order status name).
    pub status: &'static str,
    /// The window: `i` for `[edges[i], edges[i + 1])`.
    pub window: usize,
    /// How many.
    pub count: u64,
}

/// One page of the order list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPage {
    /// Orders matching the filters, before offset and limit.
    pub total: u64,
    /// The page.
    pub orders: Vec<OrderSummary>,
}

/// A filter and window over requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestQuery {
    /// Only these statuses (empty: all).
    pub status: Vec<RequestStatus>,
    /// Only these types (empty: all).
    pub request_type: Vec<RequestType>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return at most.
    pub limit: Option<u64>,
}

/// Some certificates of one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCertificates {
    /// The order's public id.
    pub public_id: String,
    /// The certificates, oldest first.
    pub certificates: Vec<CertificateRecord>,
}

/// Persistence of the inventory.
pub trait InventoryStore: Send + Sync {
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
    /// Orders or duplicates whose notAfter lies in `[edges[0], edges[last])`, counted by status
    /// and window, in one aggregate query; `None` counts every tenant's (the operator's view).
    fn count_expiring(
        &self,
        scope: Option<&Scope>,
        of: ExpiryOf,
        edges: &[OffsetDateTime],
    ) -> StoreResult<Vec<ExpiryCount>>;
    /// Issued orders whose current certificate expires in `[from, till)`, soonest first, each
    /// with its account: one account's, or (`None`, the operator's view) every tenant's.
    fn expiring_orders(
        &self,
        account_id: Option<Id>,
        from: OffsetDateTime,
        till: OffsetDateTime,
    ) -> StoreResult<Vec<(Id, OrderSummary)>>;
    /// Runs `f` in one write transaction: committed when `f` succeeds, rolled back when it fails.
    fn transaction(
        &self,
        f: &mut dyn FnMut(&mut dyn Transaction) -> Result<(), LifecycleError>,
    ) -> Result<(), LifecycleError>;
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
    /// A certificate of the scope and its DER (once issued).
    fn find_certificate(
        &self,
        scope: &Scope,
        certificate: &CertificateRef,
    ) -> StoreResult<Option<(CertificateRecord, Option<Vec<u8>>)>>;
    /// Requests of the scope, oldest first, with the total before the window.
    fn list_requests(&self, scope: &Scope, query: &RequestQuery) -> StoreResult<(u64, Vec<RequestDetail>)>;
    /// One request of the scope.
    fn find_request(&self, scope: &Scope, id: Id) -> StoreResult<Option<RequestDetail>>;
    /// The account.
    fn account(&self, account_id: Id) -> StoreResult<Option<Account>>;
    /// Organizations in the scope's containers.
    fn list_organizations(&self, scope: &Scope) -> StoreResult<Vec<Organization>>;
    /// Containers of the scope.
    fn list_containers(&self, scope: &Scope) -> StoreResult<Vec<ContainerNode>>;
    /// Users in the scope's containers.
    fn list_users(&self, scope: &Scope) -> StoreResult<Vec<UserRecord>>;
    /// Domains in the scope's containers.
    fn list_domains(&self, scope: &Scope) -> StoreResult<Vec<Domain>>;
    /// Orders whose status changed in `[from, to]`: (order id, certificate id, stored status).
    fn status_changes(
        &self,
        scope: &Scope,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> StoreResult<Vec<(Id, Id, crate::OrderStatus)>>;
    /// Every revoked certificate (for the CRL).
    fn revocations(&self) -> StoreResult<Vec<Revocation>>;
    /// Status of the certificate certkeep signed with this serial, across all accounts (for
    /// OCSP). Certificates imported through NCP (signed elsewhere) are not certkeep's to vouch
    /// for: `None`, as for a serial never seen.
    fn certificate_status(
        &self,
        serial: &str,
    ) -> StoreResult<Option<(CertificateStatus, Option<Revocation>)>>;
}
