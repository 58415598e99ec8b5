//! The Partner Subscriptions API: partner keys, subaccounts, ACME contracts and their EAB
//! credentials.

use time::OffsetDateTime;

use super::StoreResult;
use crate::{
    Account, Id, OrderSummary,
    partner::{AcmeContract, EabCredential, PartnerPrincipal},
};

/// Persistence of partner accounts and ACME contracts.
pub trait PartnerStore: Send + Sync {
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
}
