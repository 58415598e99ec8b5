//! The storage primitives an operation uses inside one store transaction, and the shapes they
//! speak in.

use time::OffsetDateTime;

use super::{AuditEvent, NewDomain};
use crate::{
    CertificateRecord, CertificateStatus, Domain, Id, IssuedFacts, NewCertificate, NewOrder, NewRequest,
    OrderStatus, OrderSummary, Organization, RequestStatus, RequestType, Scope, StoreError,
    dcv::{DcvMethod, DcvToken},
};

/// A request as the lifecycle sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestState {
    /// Request id.
    pub id: Id,
    /// Order.
    pub order_id: Id,
    /// Kind.
    pub request_type: RequestType,
    /// State.
    pub status: RequestStatus,
    /// The certificate it is about (none: the whole order).
    pub certificate_id: Option<Id>,
    /// Revocation reason, for revoke requests.
    pub revocation_reason: Option<String>,
}

/// A certificate by id or serial number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertificateRef {
    /// Certificate id.
    Id(Id),
    /// Serial number (upper-case hex).
    Serial(String),
}

/// Storage primitives inside one transaction (see
/// [`InventoryStore::transaction`](crate::InventoryStore::transaction)).
pub trait Transaction {
    /// Writes an order with its certificates and requests.
    fn insert_order(&mut self, order: &NewOrder) -> Result<Id, StoreError>;
    /// An order of the scope, locked for the rest of the transaction.
    fn order(&mut self, scope: &Scope, id: Id) -> Result<Option<OrderSummary>, StoreError>;
    /// A certificate of the scope.
    fn certificate(
        &mut self,
        scope: &Scope,
        r: &CertificateRef,
    ) -> Result<Option<CertificateRecord>, StoreError>;
    /// Every certificate of an order.
    fn order_certificates(&mut self, order_id: Id) -> Result<Vec<CertificateRecord>, StoreError>;
    /// A request of the scope.
    fn request(&mut self, scope: &Scope, id: Id) -> Result<Option<RequestState>, StoreError>;
    /// An organization of the scope's account.
    fn organization(&mut self, scope: &Scope, id: Id) -> Result<Option<Organization>, StoreError>;
    /// Whether a custom field exists in the account.
    fn custom_field_exists(&mut self, account_id: Id, id: Id) -> Result<bool, StoreError>;
    /// Whether the account has validated `domain` (exactly this name) at `since` or later;
    /// with `subdomains`, only by a method whose validation also covers names under it.
    fn domain_validated(
        &mut self,
        account_id: Id,
        domain: &str,
        since: OffsetDateTime,
        subdomains: bool,
    ) -> Result<bool, StoreError>;
    /// Adds a certificate to an order.
    fn insert_certificate(
        &mut self,
        order: &OrderSummary,
        account_id: Id,
        cert: &NewCertificate,
    ) -> Result<Id, StoreError>;
    /// Records issuance facts on a certificate and marks it issued.
    fn set_certificate_issued(&mut self, certificate_id: Id, facts: &IssuedFacts) -> Result<(), StoreError>;
    /// Sets a certificate's status.
    fn set_certificate_status(
        &mut self,
        certificate_id: Id,
        status: CertificateStatus,
    ) -> Result<(), StoreError>;
    /// Marks a certificate revoked.
    fn revoke_certificate(
        &mut self,
        certificate_id: Id,
        at: OffsetDateTime,
        reason: &str,
    ) -> Result<(), StoreError>;
    /// Sets an order's status (and when it changed).
    fn set_order_status(
        &mut self,
        order_id: Id,
        status: OrderStatus,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Makes a certificate the order's current one (copies its facts onto the order).
    fn set_current_certificate(&mut self, order_id: Id, certificate_id: Id) -> Result<(), StoreError>;
    /// Adds a request to an order.
    fn insert_request(
        &mut self,
        order_id: Id,
        account_id: Id,
        request: &NewRequest,
        certificate_id: Option<Id>,
        revocation_reason: Option<&str>,
    ) -> Result<Id, StoreError>;
    /// Records the decision on a request.
    fn set_request_status(
        &mut self,
        request_id: Id,
        status: RequestStatus,
        processor_id: Id,
        comment: Option<&str>,
    ) -> Result<(), StoreError>;
    /// Appends an audit event.
    fn insert_audit(&mut self, event: &AuditEvent) -> Result<(), StoreError>;
    /// Records a domain; `None` when the account already has it.
    fn insert_domain(&mut self, domain: &NewDomain) -> Result<Option<Id>, StoreError>;
    /// A domain of the account by id, locked for the rest of the transaction.
    fn domain(&mut self, account_id: Id, domain_id: Id) -> Result<Option<Domain>, StoreError>;
    /// A domain of the account by (normalised) name.
    fn domain_named(&mut self, account_id: Id, name: &str) -> Result<Option<Domain>, StoreError>;
    /// Sets a domain's DCV method and random value.
    fn set_domain_dcv(
        &mut self,
        domain_id: Id,
        method: DcvMethod,
        token: Option<&DcvToken>,
    ) -> Result<(), StoreError>;
    /// Records that control of a domain was shown at `at`, by `method`.
    fn set_domain_validated(
        &mut self,
        domain_id: Id,
        method: DcvMethod,
        at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Deletes a domain of the account; false when it has none with this id.
    fn delete_domain(&mut self, account_id: Id, domain_id: Id) -> Result<bool, StoreError>;
    /// Marks a `ready` ACME order `valid` with the inventory order and certificate that issued
    /// it; false when the order is not `ready`.
    fn finalize_acme_order(
        &mut self,
        acme_order_id: Id,
        order_id: Id,
        certificate_id: Id,
        serial: &str,
    ) -> Result<bool, StoreError>;
}
