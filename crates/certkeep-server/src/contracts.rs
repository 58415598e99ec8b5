//! ACME contracts as every door that makes them opens and rotates them (the Partner API and the
//! console): the names checked against the product's rules, the contract stored with its first
//! EAB credential, a credential regenerated, and each of these audited. The HMAC key leaves
//! here once, in [`Issued`]; it is stored only sealed, and never written to the audit log.

use std::ops::RangeInclusive;

use certkeep_core::{
    Id, Product, Store, StoreResult,
    lifecycle::AuditEvent,
    partner::{AcmeContract, encode_hmac_key, new_eab_credential, seal_hmac_key},
    policy::{self, NameRefusal},
    seal::SealingKey,
};
use time::{Duration, OffsetDateTime};

use crate::{AppState, audit::Caller};

/// How many years a contract may run.
pub const VALIDITY_YEARS: RangeInclusive<u32> = 1..=6;

/// Why a contract's names were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamesRefusal {
    /// No name at all.
    None,
    /// A name (or their count) the product does not take.
    Name(NameRefusal),
}

/// A contract's names checked as every certificate of the contract will be (the count first,
/// then each name once): normalised and deduplicated, the first name first.
pub fn names(state: &AppState, product: &Product, list: &[String]) -> Result<Vec<String>, NamesRefusal> {
    let (first, rest) = list.split_first().ok_or(NamesRefusal::None)?;
    let (first, mut rest) =
        policy::product_names(product, first, rest, state.issuance.test_names).map_err(NamesRefusal::Name)?;
    rest.insert(0, first);
    Ok(rest)
}

/// The terms of a contract about to be opened, checked by the door.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The account.
    pub account_id: Id,
    /// Where its orders go.
    pub container_id: Id,
    /// Whom its orders are placed as.
    pub user_id: Id,
    /// The product.
    pub product: &'static Product,
    /// Names, as [`names`] returned them.
    pub sans: Vec<String>,
    /// The organization of OV and EV products.
    pub organization_id: Option<Id>,
    /// Whether it renews itself.
    pub auto_renew: bool,
    /// How long it runs, within [`VALIDITY_YEARS`].
    pub years: u32,
}

/// A new EAB credential: the only time its HMAC key is seen.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The credential's id.
    pub credential_id: Id,
    /// The key id ACME clients send.
    pub key_id: String,
    /// The HMAC key, base64url as ACME clients take it.
    pub hmac_key: String,
}

/// Who acts, as the audit log records them.
#[derive(Debug, Clone)]
pub struct Acting {
    /// The account, user and key.
    pub caller: Caller,
    /// The client address.
    pub source: String,
}

impl Acting {
    fn event(&self, action: &str, contract: Id, detail: String, at: OffsetDateTime) -> AuditEvent {
        AuditEvent {
            account_id: self.caller.account_id,
            user_id: self.caller.user_id,
            api_key_id: self.caller.api_key_id,
            action: action.into(),
            object: format!("acme_contract:{contract}"),
            detail,
            source: self.source.clone(),
            at,
            refused: false,
        }
    }
}

/// A fresh credential: the [`Issued`] view (its id still 0) and the HMAC key sealed for the store.
fn fresh(sealing_key: &SealingKey) -> (Issued, Vec<u8>) {
    let (key_id, key) = new_eab_credential();
    let sealed = seal_hmac_key(sealing_key, &key_id, &key);
    (Issued { credential_id: 0, key_id, hmac_key: encode_hmac_key(&key) }, sealed)
}

/// Opens the contract `draft` describes with its first EAB credential, and audits it
/// (`acme_contract.create`).
pub fn open(
    store: &dyn Store,
    sealing_key: &SealingKey,
    draft: Draft,
    acting: &Acting,
    now: OffsetDateTime,
) -> StoreResult<(AcmeContract, Issued)> {
    let years = i32::try_from(draft.years).unwrap_or(1);
    let mut contract = AcmeContract {
        id: 0,
        account_id: draft.account_id,
        container_id: draft.container_id,
        user_id: draft.user_id,
        product_name_id: draft.product.name_id.into(),
        sans: draft.sans,
        organization_id: draft.organization_id,
        auto_renew: draft.auto_renew,
        created_at: now,
        valid_till: now.replace_year(now.year() + years).unwrap_or(now + Duration::days(365)),
        date_canceled: None,
    };
    let (mut issued, sealed) = fresh(sealing_key);
    let (id, credential_id) = store.create_contract(&contract, &issued.key_id, &sealed, now)?;
    (contract.id, issued.credential_id) = (id, credential_id);
    let detail = format!("{}, EAB key id {}", contract.product_name_id, issued.key_id);
    store.record_audit(&acting.event("acme_contract.create", id, detail, now))?;
    Ok((contract, issued))
}

/// A new EAB credential for `contract` (which the caller checked is theirs and not canceled);
/// the earlier ones are revoked unless `keep_earlier` (a rotation without downtime). Audited
/// as `acme_contract.eab_regenerate`. Certificates stay valid.
pub fn regenerate(
    store: &dyn Store,
    sealing_key: &SealingKey,
    contract: &AcmeContract,
    keep_earlier: bool,
    acting: &Acting,
    now: OffsetDateTime,
) -> StoreResult<Issued> {
    let (mut issued, sealed) = fresh(sealing_key);
    issued.credential_id = store.create_eab(contract.id, &issued.key_id, &sealed, now)?;
    if !keep_earlier {
        store.revoke_eab_credentials(contract.id, Some(issued.credential_id))?;
    }
    let earlier = if keep_earlier { "kept" } else { "revoked" };
    let detail = format!("EAB key id {}; earlier keys {earlier}", issued.key_id);
    store.record_audit(&acting.event("acme_contract.eab_regenerate", contract.id, detail, now))?;
    Ok(issued)
}
