//! The persistence boundary. Front doors and services talk to a `dyn Store`; SQLite and
//! PostgreSQL implement it.

use std::fmt;

use time::OffsetDateTime;

use crate::ncp::{NcpAcmeAccount, NcpCertificateMeta, NcpKey, NewNcpKey};

use crate::{
    Account, CertificateGroupPage, CertificateGroupQuery, CertificateKind, CertificateRecord,
    CertificateStatus, ContainerNode, Domain, Id, NewApiKey, NewContainer, NewOrder, NewOrganization,
    NewUser, OrderDetail, OrderQuery, OrderSummary, Organization, Principal, RequestDetail, RequestStatus,
    RequestType, Revocation, Scope, UserRecord,
    lifecycle::{CertificateRef, LifecycleError, Transaction},
    partner::{AcmeContract, EabCredential, PartnerPrincipal},
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
    /// Creates a Partner Subscriptions API key for an account.
    fn create_partner_key(&self, account_id: Id, key_hash: &[u8], now: OffsetDateTime) -> StoreResult<Id>;
    /// Finds the active Partner key with this hash.
    fn authenticate_partner(&self, key_hash: &[u8]) -> StoreResult<Option<PartnerPrincipal>>;
    /// Makes `child` a subaccount of `parent`.
    fn link_subaccount(&self, parent: Id, child: Id) -> StoreResult<()>;
    /// Subaccounts of a parent account.
    fn subaccounts(&self, parent: Id) -> StoreResult<Vec<Account>>;
    /// Creates an ACME contract (its `id` is ignored) with its first EAB credential (key id
    /// `kid`, which must be new; the HMAC key sealed), in one transaction. Returns the contract's
    /// and the credential's ids.
    fn create_contract(
        &self,
        contract: &AcmeContract,
        kid: &str,
        sealed_hmac_key: &[u8],
        now: OffsetDateTime,
    ) -> StoreResult<(Id, Id)>;
    /// A contract, if `account_id` owns it (`None`: whoever owns it).
    fn contract(&self, account_id: Option<Id>, id: Id) -> StoreResult<Option<AcmeContract>>;
    /// Contracts of an account.
    fn contracts(&self, account_id: Id) -> StoreResult<Vec<AcmeContract>>;
    /// Saves a contract's SANs, renewal setting and cancellation.
    fn update_contract(&self, contract: &AcmeContract) -> StoreResult<()>;
    /// Adds an EAB credential (its HMAC key sealed) to a contract; the key id must be new.
    fn create_eab(
        &self,
        contract_id: Id,
        kid: &str,
        sealed_hmac_key: &[u8],
        now: OffsetDateTime,
    ) -> StoreResult<Id>;
    /// The EAB credentials of a contract, newest first.
    fn eab_credentials(&self, contract_id: Id) -> StoreResult<Vec<EabCredential>>;
    /// Revokes a contract's EAB credentials, except `keep`.
    fn revoke_eab_credentials(&self, contract_id: Id, keep: Option<Id>) -> StoreResult<()>;
    /// The credential with this key id, with its contract.
    fn find_eab(&self, kid: &str) -> StoreResult<Option<(EabCredential, AcmeContract)>>;
    /// The orders placed under a contract, oldest first.
    fn contract_orders(&self, contract_id: Id) -> StoreResult<Vec<OrderSummary>>;
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
    /// The ACME front door's objects (see [`crate::acme`]).
    fn acme(&self) -> &dyn crate::acme::AcmeStore;
    /// NCP's records of the account's certificates (only certificates that have one).
    fn ncp_certificate_meta(&self, account_id: Id) -> StoreResult<Vec<NcpCertificateMeta>>;
    /// Saves NCP's record of a certificate of its account (insert or replace); false when the
    /// certificate is not the account's.
    fn save_ncp_certificate_meta(&self, meta: &NcpCertificateMeta) -> StoreResult<bool>;
    /// Creates an NCP ACME account whole, in one transaction: its contract (`contract.id` is
    /// ignored), its EAB credential (the key id must be new; the HMAC key comes sealed) and NCP's
    /// record of it (`account.contract_id` is ignored). Returns the contract id.
    fn create_ncp_acme_account(
        &self,
        contract: &AcmeContract,
        kid: &str,
        sealed_hmac_key: &[u8],
        account: &NcpAcmeAccount,
        now: OffsetDateTime,
    ) -> StoreResult<Id>;
    /// Imports a certificate signed elsewhere (`order`: one issued certificate) by the issuer
    /// that `issuer` identifies (the SHA-256 of its Name, hex), under `name`, in one transaction:
    /// the order and NCP's record of it (external, with `chain_pem` and the private key that
    /// `seal_private_key(certificate id)` seals). Refused when a certificate NCP shows for the
    /// account has the name, or when the account holds the serial from that issuer or from
    /// certkeep, except one deleted through NCP, which comes back under its number. Other
    /// accounts' certificates play no part: a serial is unique per tenant and issuer.
    fn import_ncp_external_certificate(
        &self,
        scope: &Scope,
        order: &NewOrder,
        issuer: &str,
        name: &str,
        chain_pem: Option<&str>,
        seal_private_key: &dyn Fn(Id) -> Vec<u8>,
    ) -> StoreResult<crate::ncp::ExternalImport>;
    /// The account's NCP ACME accounts, oldest first.
    fn ncp_acme_accounts(&self, account_id: Id) -> StoreResult<Vec<NcpAcmeAccount>>;
    /// Counts a request by `caller` against sliding-window limits kept in the database, so that
    /// every process on it shares them; `limits` are (requests, window in seconds). False, and
    /// nothing counted, when a limit is exceeded.
    fn count_request(&self, caller: &str, limits: &[(u32, u64)], now: OffsetDateTime) -> StoreResult<bool>;
    /// Seals the EAB HMAC keys stored in clear by versions before sealing, in one transaction:
    /// `seal(kid, key)` gives the sealed key. Returns how many it sealed.
    fn seal_clear_eab_keys(&self, seal: &dyn Fn(&str, &[u8]) -> Vec<u8>) -> StoreResult<u64>;
    /// Re-seals every sealed value (NCP secret keys, sealed EAB HMAC keys, registered private
    /// keys) in one transaction: `reseal` gives a value sealed anew, or `None` when it cannot
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
