//! Persistence of the ACME objects: [`AcmeStore`] for what stands alone (accounts, lookups by
//! serial, the resumption of cut-off validations), and [`AcmeTx`], the one transaction in which
//! a request's protocol step runs (see [`super::steps`]).

use time::OffsetDateTime;

use super::objects::{AcmeAccount, AcmeAuthz, AcmeChallenge, AcmeOrder, AcmeStatus};
use crate::{CertificateRecord, Id, Scope, StoreError, StoreResult, partner::AcmeContract};

/// The ACME objects' store. Methods block, like [`crate::Store`]'s.
pub trait AcmeStore: Send + Sync {
    /// Runs `work` in one write transaction whose commit does not wait for the disk (the
    /// client redoes a step that a power loss forgets); an error rolls everything back. An
    /// engine may run `work` again after a serialization failure.
    fn acme_transaction(&self, work: &mut dyn FnMut(&mut dyn AcmeTx) -> StoreResult<()>) -> StoreResult<()>;
    /// Creates an account (its `id` is ignored) and returns its id.
    fn create_acme_account(&self, account: &AcmeAccount) -> StoreResult<Id>;
    /// An account by id.
    fn acme_account(&self, id: Id) -> StoreResult<Option<AcmeAccount>>;
    /// The account with this key thumbprint.
    fn acme_account_by_thumbprint(&self, thumbprint: &str) -> StoreResult<Option<AcmeAccount>>;
    /// Saves an account's key, status and contacts.
    fn update_acme_account(&self, account: &AcmeAccount) -> StoreResult<()>;
    /// An order by id.
    fn acme_order(&self, id: Id) -> StoreResult<Option<AcmeOrder>>;
    /// The order that produced the certificate with this serial (upper-case hex).
    fn acme_order_by_serial(&self, serial: &str) -> StoreResult<Option<AcmeOrder>>;
    /// Ids of an account's orders above `after`, oldest first, at most `limit` (a page).
    fn acme_order_ids(&self, account_id: Id, after: Id, limit: usize) -> StoreResult<Vec<Id>>;
    /// An authorization with its challenges.
    fn acme_authz(&self, id: Id) -> StoreResult<Option<AcmeAuthz>>;
    /// Saves an authorization's status.
    fn set_acme_authz_status(&self, id: Id, status: AcmeStatus) -> StoreResult<()>;
    /// A challenge.
    fn acme_challenge(&self, id: Id) -> StoreResult<Option<AcmeChallenge>>;
    /// Saves a challenge's status, validation time and error.
    fn update_acme_challenge(&self, challenge: &AcmeChallenge) -> StoreResult<()>;
    /// [`AcmeTx::start_challenge`] on its own.
    fn start_acme_challenge(
        &self,
        id: Id,
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> StoreResult<bool>;
    /// Challenges left `processing` since before `stale_before`, at most `limit`.
    fn stale_acme_challenges(&self, stale_before: OffsetDateTime, limit: usize) -> StoreResult<Vec<Id>>;
}

/// Runs `work` in one [`AcmeStore::acme_transaction`] and returns its value.
pub fn transaction<T>(
    store: &dyn AcmeStore,
    mut work: impl FnMut(&mut dyn AcmeTx) -> StoreResult<T>,
) -> StoreResult<T> {
    let mut out = None;
    store.acme_transaction(&mut |tx| {
        out = Some(work(tx)?);
        Ok(())
    })?;
    out.ok_or_else(|| StoreError("the ACME transaction did not run".into()))
}

/// The ACME objects inside one transaction.
pub trait AcmeTx {
    /// Records the use of a nonce valid until `expires` (issued nonces are authenticated, not
    /// stored): true exactly once per nonce across every process sharing the database. Forgets
    /// the uses of nonces expired by `now`.
    fn use_nonce(&mut self, nonce: &str, expires: OffsetDateTime, now: OffsetDateTime) -> StoreResult<bool>;
    /// An account by id.
    fn account(&mut self, id: Id) -> StoreResult<Option<AcmeAccount>>;
    /// The ACME contract an account is bound to.
    fn contract(&mut self, id: Id) -> StoreResult<Option<AcmeContract>>;
    /// An inventory certificate within `scope` (an ACME order's, under its contract's scope),
    /// with its DER once issued.
    fn certificate(
        &mut self,
        scope: &Scope,
        id: Id,
    ) -> StoreResult<Option<(CertificateRecord, Option<Vec<u8>>)>>;
    /// Creates an order (its `id` and `authz_ids` are ignored); returns it as stored.
    /// Authorizations with id 0 are created with their challenges (ids ignored); the others are
    /// existing ones the order reuses.
    fn create_order(&mut self, order: &AcmeOrder, authzs: &[AcmeAuthz]) -> StoreResult<AcmeOrder>;
    /// An order by id, with its authorization ids.
    fn order(&mut self, id: Id) -> StoreResult<Option<AcmeOrder>>;
    /// The statuses of an order's authorizations, by authorization id.
    fn order_authz_statuses(&mut self, order_id: Id) -> StoreResult<Vec<(Id, AcmeStatus)>>;
    /// Moves an order from `from` to `to` unless it is no longer `from`; true if it moved.
    fn transition_order(&mut self, id: Id, from: AcmeStatus, to: AcmeStatus) -> StoreResult<bool>;
    /// Moves a `ready` order to `invalid` with the problem (JSON) that ended it; false when it is
    /// no longer `ready`. (Success is recorded by the issuing transaction itself.)
    fn invalidate_order(&mut self, id: Id, error: &str) -> StoreResult<bool>;
    /// An authorization with its challenges.
    fn authz(&mut self, id: Id) -> StoreResult<Option<AcmeAuthz>>;
    /// The account's latest valid, unexpired authorization for `identifier` (with the same
    /// wildcard flag), for a new order to reuse.
    fn reusable_authz(
        &mut self,
        account_id: Id,
        identifier: &str,
        wildcard: bool,
        now: OffsetDateTime,
    ) -> StoreResult<Option<AcmeAuthz>>;
    /// Saves an authorization's status.
    fn set_authz_status(&mut self, id: Id, status: AcmeStatus) -> StoreResult<()>;
    /// A challenge.
    fn challenge(&mut self, id: Id) -> StoreResult<Option<AcmeChallenge>>;
    /// Saves a challenge's status, validation time and error.
    fn update_challenge(&mut self, challenge: &AcmeChallenge) -> StoreResult<()>;
    /// Claims a challenge's validation, stamped `now`: a `pending` challenge, or one left
    /// `processing` since before `stale_before` (its validation was cut off by a crash). False
    /// when someone else holds it.
    fn start_challenge(
        &mut self,
        id: Id,
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> StoreResult<bool>;
}
