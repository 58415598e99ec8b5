//! The protocol steps of ACME requests over what one request reads and writes in its single
//! [`AcmeTx`]: the nonce's use and the signer first ([`open`]), then the object the request is
//! about with its status brought up to date by [`rules`], or the change it asks for.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use time::OffsetDateTime;

use super::{
    objects::{AcmeAccount, AcmeAuthz, AcmeChallenge, AcmeOrder, AcmeStatus},
    rules,
    store::AcmeTx,
};
use crate::{Id, StoreResult, credentials::random_bytes, names};

/// What every POST reads first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// Whether the request's nonce was used now, for the first time.
    pub nonce_fresh: bool,
    /// The signing account, when the request named one that exists.
    pub account: Option<AcmeAccount>,
}

/// Uses the request's nonce (`None`: it carried none this server issued, so nothing is
/// recorded) and reads the account it names.
pub fn open(
    tx: &mut dyn AcmeTx,
    nonce: Option<(&str, OffsetDateTime)>,
    account_id: Option<Id>,
    now: OffsetDateTime,
) -> StoreResult<Opened> {
    let nonce_fresh = match nonce {
        Some((nonce, expires)) => tx.use_nonce(nonce, expires, now)?,
        None => false,
    };
    let account = match account_id {
        Some(id) => tx.account(id)?,
        None => None,
    };
    Ok(Opened { nonce_fresh, account })
}

/// An order; when it is `account_id`'s, with its status brought up to date ([`refresh`]).
pub fn order(
    tx: &mut dyn AcmeTx,
    account_id: Id,
    id: Id,
    now: OffsetDateTime,
) -> StoreResult<Option<AcmeOrder>> {
    match tx.order(id)? {
        Some(o) if o.account_id == account_id => refresh(tx, o, now).map(Some),
        other => Ok(other),
    }
}

/// Brings an order's status up to date with its expiry and its authorizations
/// ([`rules::order_status`]), saving a change.
pub fn refresh(tx: &mut dyn AcmeTx, mut order: AcmeOrder, now: OffsetDateTime) -> StoreResult<AcmeOrder> {
    if !matches!(order.status, AcmeStatus::Pending | AcmeStatus::Ready) {
        return Ok(order);
    }
    let stored = tx.order_authz_statuses(order.id)?;
    let statuses: Vec<Option<AcmeStatus>> = order
        .authz_ids
        .iter()
        .map(|id| stored.iter().find(|(a, _)| a == id).map(|(_, status)| *status))
        .collect();
    let next = rules::order_status(&order, &statuses, now);
    if next != order.status {
        if tx.transition_order(order.id, order.status, next)? {
            order.status = next;
        } else if let Some(moved) = tx.order(order.id)? {
            return Ok(moved);
        }
    }
    Ok(order)
}

/// An authorization; when it is `account_id`'s, a pending one past its expiry is saved
/// `expired` ([`rules::authz_status`]).
pub fn authz(
    tx: &mut dyn AcmeTx,
    account_id: Id,
    id: Id,
    now: OffsetDateTime,
) -> StoreResult<Option<AcmeAuthz>> {
    let Some(mut authz) = tx.authz(id)? else { return Ok(None) };
    let status = rules::authz_status(&authz, now);
    if authz.account_id == account_id && status != authz.status {
        tx.set_authz_status(id, status)?;
        authz.status = status;
    }
    Ok(Some(authz))
}

/// A challenge with its authorization (read as [`authz`] reads it).
pub fn challenge(
    tx: &mut dyn AcmeTx,
    account_id: Id,
    id: Id,
    now: OffsetDateTime,
) -> StoreResult<Option<(AcmeChallenge, Option<AcmeAuthz>)>> {
    let Some(c) = tx.challenge(id)? else { return Ok(None) };
    let authz = authz(tx, account_id, c.authz_id, now)?;
    Ok(Some((c, authz)))
}

/// Places an account's order for `identifiers` (normalised, wildcards as `*.name`): each reuses
/// the account's valid authorization for the name (proving control again within its lifetime
/// adds nothing, as Boulder has it) or gets a fresh pending one with the challenges of
/// [`rules::challenge_types`]. Returns the order as stored, its status up to date (`ready` at
/// once when every authorization was reused).
pub fn new_order(
    tx: &mut dyn AcmeTx,
    account_id: Id,
    identifiers: &[String],
    now: OffsetDateTime,
) -> StoreResult<AcmeOrder> {
    let mut authzs = Vec::new();
    for name in identifiers {
        let (bare, wildcard) = (name.strip_prefix("*.").unwrap_or(name), names::is_wildcard(name));
        let authz = match tx.reusable_authz(account_id, bare, wildcard, now)? {
            Some(valid) => valid,
            None => fresh_authz(account_id, bare, wildcard, now + rules::LIFETIME),
        };
        authzs.push(authz);
    }
    let order = AcmeOrder {
        id: 0,
        account_id,
        status: AcmeStatus::Pending,
        expires: rules::order_expiry(now, authzs.iter().map(|a| a.expires)),
        identifiers: identifiers.to_vec(),
        authz_ids: vec![],
        error: None,
        inventory_order_id: None,
        certificate_id: None,
        certificate_serial: None,
        created_at: now,
    };
    let stored = tx.create_order(&order, &authzs)?;
    refresh(tx, stored, now)
}

/// A pending authorization (not stored yet) with a fresh random token per challenge.
fn fresh_authz(account_id: Id, identifier: &str, wildcard: bool, expires: OffsetDateTime) -> AcmeAuthz {
    let challenges = rules::challenge_types(wildcard)
        .iter()
        .map(|kind| AcmeChallenge {
            id: 0,
            authz_id: 0,
            kind: (*kind).into(),
            token: URL_SAFE_NO_PAD.encode(random_bytes::<32>()),
            status: AcmeStatus::Pending,
            validated: None,
            error: None,
        })
        .collect();
    AcmeAuthz {
        id: 0,
        order_id: 0,
        account_id,
        identifier: identifier.to_owned(),
        wildcard,
        status: AcmeStatus::Pending,
        expires,
        challenges,
    }
}

/// Records a validation's outcome, in one write: the challenge as validated (its status from
/// [`rules::validated`]), its authorization in the same status, and the status of the order
/// the authorization was made for.
pub fn record_validation(
    tx: &mut dyn AcmeTx,
    challenge: &AcmeChallenge,
    authz: &AcmeAuthz,
    now: OffsetDateTime,
) -> StoreResult<Option<AcmeOrder>> {
    tx.update_challenge(challenge)?;
    tx.set_authz_status(authz.id, challenge.status)?;
    match tx.order(authz.order_id)? {
        Some(order) => refresh(tx, order, now).map(Some),
        None => Ok(None),
    }
}
