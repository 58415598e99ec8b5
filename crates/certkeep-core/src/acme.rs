//! ACME (RFC 8555) objects as the ACME front door keeps them: accounts bound to a contract by
//! an External Account Binding credential, orders, authorizations, challenges and used nonces.
//!
//! They live behind their own [`AcmeStore`] trait, reached through [`crate::Store::acme`]:
//! the protocol's bookkeeping is a separate concern from the inventory, and keeping its dozen
//! methods out of `Store` keeps that trait readable. Certificates issued over ACME are ordinary
//! inventory orders; an ACME order only records which one it produced.

use std::{fmt, str::FromStr};

use time::OffsetDateTime;

use crate::{Id, store::StoreResult};

/// Status of an ACME object (RFC 8555 §7.1.6); each object uses a subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcmeStatus {
    /// Waiting for the client (orders, authorizations, challenges).
    Pending,
    /// Every authorization is valid; the order may be finalized.
    Ready,
    /// Being validated (challenges) or issued (orders).
    Processing,
    /// Done.
    Valid,
    /// Failed.
    Invalid,
    /// Deactivated by the client (accounts, authorizations).
    Deactivated,
    /// Expired before completion (authorizations).
    Expired,
    /// Revoked (accounts, authorizations).
    Revoked,
}

impl AcmeStatus {
    /// The RFC's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ready => "ready",
            Self::Processing => "processing",
            Self::Valid => "valid",
            Self::Invalid => "invalid",
            Self::Deactivated => "deactivated",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

impl fmt::Display for AcmeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AcmeStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "pending" => Self::Pending,
            "ready" => Self::Ready,
            "processing" => Self::Processing,
            "valid" => Self::Valid,
            "invalid" => Self::Invalid,
            "deactivated" => Self::Deactivated,
            "expired" => Self::Expired,
            "revoked" => Self::Revoked,
            other => return Err(format!("unknown ACME status {other:?}")),
        })
    }
}

/// An ACME account: a client key bound to a contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeAccount {
    /// Account id (its URL ends with it).
    pub id: Id,
    /// RFC 7638 thumbprint of the key (base64url); unique.
    pub thumbprint: String,
    /// The public key, as JWK JSON.
    pub jwk: String,
    /// The contract the EAB credential bound it to.
    pub contract_id: Id,
    /// The EAB credential used.
    pub eab_id: Id,
    /// `valid`, `deactivated` or `revoked`.
    pub status: AcmeStatus,
    /// Contact URLs (`mailto:`).
    pub contacts: Vec<String>,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// An ACME order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeOrder {
    /// Order id.
    pub id: Id,
    /// The account that placed it.
    pub account_id: Id,
    /// Status.
    pub status: AcmeStatus,
    /// When it stops being usable.
    pub expires: OffsetDateTime,
    /// The DNS names (normalised, wildcards as `*.name`).
    pub identifiers: Vec<String>,
    /// Its authorizations, one per identifier, in identifier order.
    pub authz_ids: Vec<Id>,
    /// Why it is invalid: an RFC 7807 problem document (JSON).
    pub error: Option<String>,
    /// The inventory order finalization placed.
    pub inventory_order_id: Option<Id>,
    /// The issued certificate (inventory id).
    pub certificate_id: Option<Id>,
    /// Serial number of the issued certificate (upper-case hex).
    pub certificate_serial: Option<String>,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// An ACME authorization for one identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeAuthz {
    /// Authorization id.
    pub id: Id,
    /// The order it belongs to.
    pub order_id: Id,
    /// The account.
    pub account_id: Id,
    /// The DNS name, without any wildcard label.
    pub identifier: String,
    /// Whether the order asked for `*.identifier`.
    pub wildcard: bool,
    /// Status.
    pub status: AcmeStatus,
    /// When it stops being usable.
    pub expires: OffsetDateTime,
    /// Its challenges.
    pub challenges: Vec<AcmeChallenge>,
}

/// One way of proving control of an authorization's identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeChallenge {
    /// Challenge id.
    pub id: Id,
    /// The authorization.
    pub authz_id: Id,
    /// `http-01`, `dns-01` or `tls-alpn-01`.
    pub kind: String,
    /// The random token (base64url).
    pub token: String,
    /// Status.
    pub status: AcmeStatus,
    /// When it was validated.
    pub validated: Option<OffsetDateTime>,
    /// Why validation failed: a problem document (JSON).
    pub error: Option<String>,
}

/// Persistence of the ACME front door's objects. Methods block, like [`crate::Store`]'s.
pub trait AcmeStore: Send + Sync {
    /// Records the use of a nonce valid until `expires` (issued nonces are authenticated, not
    /// stored): true exactly once per nonce across every process sharing the database. Forgets
    /// the uses of nonces expired by `now`.
    fn use_nonce(&self, nonce: &str, expires: OffsetDateTime, now: OffsetDateTime) -> StoreResult<bool>;
    /// Creates an account (its `id` is ignored) and returns its id.
    fn create_acme_account(&self, account: &AcmeAccount) -> StoreResult<Id>;
    /// An account by id.
    fn acme_account(&self, id: Id) -> StoreResult<Option<AcmeAccount>>;
    /// The account with this key thumbprint.
    fn acme_account_by_thumbprint(&self, thumbprint: &str) -> StoreResult<Option<AcmeAccount>>;
    /// Saves an account's key, status and contacts.
    fn update_acme_account(&self, account: &AcmeAccount) -> StoreResult<()>;
    /// Creates an order in one transaction; returns its id. Authorizations with id 0 are
    /// created with their challenges (ids ignored); the others are existing ones the order
    /// reuses ([`AcmeStore::reusable_acme_authz`]).
    fn create_acme_order(&self, order: &AcmeOrder, authzs: &[AcmeAuthz]) -> StoreResult<Id>;
    /// An order by id.
    fn acme_order(&self, id: Id) -> StoreResult<Option<AcmeOrder>>;
    /// The order that produced the certificate with this serial (upper-case hex).
    fn acme_order_by_serial(&self, serial: &str) -> StoreResult<Option<AcmeOrder>>;
    /// Ids of an account's orders above `after`, oldest first, at most `limit` (a page).
    fn acme_order_ids(&self, account_id: Id, after: Id, limit: usize) -> StoreResult<Vec<Id>>;
    /// Moves a `ready` order to `invalid` with the problem (JSON) that ended it; false when it is
    /// no longer `ready`. (Success is recorded by the issuing transaction itself.)
    fn invalidate_acme_order(&self, id: Id, error: &str) -> StoreResult<bool>;
    /// Moves an order from `from` to `to` unless someone else moved it first; true if it moved.
    fn transition_acme_order(&self, id: Id, from: AcmeStatus, to: AcmeStatus) -> StoreResult<bool>;
    /// An authorization with its challenges.
    fn acme_authz(&self, id: Id) -> StoreResult<Option<AcmeAuthz>>;
    /// Saves an authorization's status.
    fn set_acme_authz_status(&self, id: Id, status: AcmeStatus) -> StoreResult<()>;
    /// A challenge.
    fn acme_challenge(&self, id: Id) -> StoreResult<Option<AcmeChallenge>>;
    /// Saves a challenge's status, validation time and error.
    fn update_acme_challenge(&self, challenge: &AcmeChallenge) -> StoreResult<()>;
    /// Claims a challenge's validation, stamped `now`: a `pending` challenge, or one left
    /// `processing` since before `stale_before` (its validation was cut off by a crash). False
    /// when someone else holds it.
    fn start_acme_challenge(
        &self,
        id: Id,
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Challenges left `processing` since before `stale_before`, at most `limit`.
    fn stale_acme_challenges(&self, stale_before: OffsetDateTime, limit: usize) -> StoreResult<Vec<Id>>;
    /// The account's latest valid, unexpired authorization for `identifier` (with the same
    /// wildcard flag), for a new order to reuse.
    fn reusable_acme_authz(
        &self,
        account_id: Id,
        identifier: &str,
        wildcard: bool,
        now: OffsetDateTime,
    ) -> StoreResult<Option<AcmeAuthz>>;
}
