//! NCP Certificate Manager: access keys, NCP's records of certificates, ACME accounts made
//! through NCP, and certificates imported from elsewhere.

use time::OffsetDateTime;

use super::StoreResult;
use crate::{
    CertificateGroupPage, CertificateGroupQuery, Id, NewOrder, Scope,
    ncp::{NcpAcmeAccount, NcpCertificateMeta, NcpKey, NewNcpKey},
    partner::AcmeContract,
};

/// Persistence of what NCP's door adds to the inventory.
pub trait NcpStore: Send + Sync {
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
}
