//! ACME objects: nonces, accounts, orders, authorizations, challenges; [`AcmeTx`] over one
//! connection's transaction, and the [`AcmeStore`] calls that stand alone.

use certkeep_core::{
    CertificateRecord, Id, Scope, StoreError, StoreResult,
    acme::{AcmeAccount, AcmeAuthz, AcmeChallenge, AcmeOrder, AcmeStatus, AcmeStore, AcmeTx},
    lifecycle::CertificateRef,
    partner::AcmeContract,
};
use time::OffsetDateTime;

use super::{
    Engine, Mode, SqlStore,
    db::{Db, DbError, DbResult, Row, ToSql, params},
    inventory::reads,
    partner, rows,
};

/// A challenge whose validation has been running since before the parameter (or since before
/// the column existed): its process died.
const STALE: &str =
    "status = 'processing' AND (processing_since IS NULL OR processing_since < CAST(? AS BIGINT))";

fn status(row: &Row, index: usize) -> DbResult<AcmeStatus> {
    let s: String = row.get(index)?;
    s.parse().map_err(|e: String| DbError::Data(format!("column {index}: {e}")))
}

const ACCOUNT_SELECT: &str =
    "SELECT id, thumbprint, jwk, contract_id, eab_id, status, contacts, created_at FROM acme_accounts";

fn account(row: &Row) -> DbResult<AcmeAccount> {
    Ok(AcmeAccount {
        id: row.get(0)?,
        thumbprint: row.get(1)?,
        jwk: row.get(2)?,
        contract_id: row.get(3)?,
        eab_id: row.get(4)?,
        status: status(row, 5)?,
        contacts: rows::names(&row.get::<String>(6)?),
        created_at: rows::time_at(row, 7)?,
    })
}

const ORDER_SELECT: &str = "SELECT id, account_id, status, expires, identifiers, error, inventory_order_id, \
     certificate_id, certificate_serial, created_at FROM acme_orders";

/// Maps [`ORDER_SELECT`]; the authorization ids are filled in afterwards.
fn order(row: &Row) -> DbResult<AcmeOrder> {
    Ok(AcmeOrder {
        id: row.get(0)?,
        account_id: row.get(1)?,
        status: status(row, 2)?,
        expires: rows::time_at(row, 3)?,
        identifiers: rows::names(&row.get::<String>(4)?),
        authz_ids: Vec::new(),
        error: row.get(5)?,
        inventory_order_id: row.get(6)?,
        certificate_id: row.get(7)?,
        certificate_serial: row.get(8)?,
        created_at: rows::time_at(row, 9)?,
    })
}

/// Marks a `ready` order `valid` with what issued it, inside the issuing transaction; false
/// when the order is not `ready` (finalized by a concurrent request).
pub fn finalize_order(
    db: &mut dyn Db,
    id: Id,
    inventory_order_id: Id,
    certificate_id: Id,
    serial: &str,
) -> DbResult<bool> {
    db.execute(
        "UPDATE acme_orders SET status = 'valid', inventory_order_id = ?, certificate_id = ?, \
         certificate_serial = ? WHERE id = ? AND status = 'ready'",
        params![inventory_order_id, certificate_id, serial, id],
    )
    .map(|n| n == 1)
}

fn find_order(db: &mut dyn Db, filter: &str, value: &dyn ToSql) -> DbResult<Option<AcmeOrder>> {
    let Some(mut o) = db.row_opt(&format!("{ORDER_SELECT} WHERE {filter} = ?"), &[value], order)? else {
        return Ok(None);
    };
    o.authz_ids = db.rows(
        "SELECT authz_id FROM acme_order_authzs WHERE order_id = ? ORDER BY authz_id",
        params![o.id],
        |r| r.get(0),
    )?;
    Ok(Some(o))
}

fn challenge(row: &Row) -> DbResult<AcmeChallenge> {
    Ok(AcmeChallenge {
        id: row.get(0)?,
        authz_id: row.get(1)?,
        kind: row.get(2)?,
        token: row.get(3)?,
        status: status(row, 4)?,
        validated: rows::opt_time_at(row, 5)?,
        error: row.get(6)?,
    })
}

const CHALLENGE_SELECT: &str =
    "SELECT id, authz_id, kind, token, status, validated, error FROM acme_challenges";

fn authz(db: &mut dyn Db, id: Id) -> DbResult<Option<AcmeAuthz>> {
    let Some(mut a) = db.row_opt(
        "SELECT id, order_id, account_id, identifier, wildcard, status, expires FROM acme_authzs WHERE id = ?",
        params![id],
        |row| {
            Ok(AcmeAuthz {
                id: row.get(0)?,
                order_id: row.get(1)?,
                account_id: row.get(2)?,
                identifier: row.get(3)?,
                wildcard: row.get(4)?,
                status: status(row, 5)?,
                expires: rows::time_at(row, 6)?,
                challenges: Vec::new(),
            })
        },
    )?
    else {
        return Ok(None);
    };
    a.challenges =
        db.rows(&format!("{CHALLENGE_SELECT} WHERE authz_id = ? ORDER BY id"), params![id], challenge)?;
    Ok(Some(a))
}

fn account_by(db: &mut dyn Db, filter: &str, value: &dyn ToSql) -> DbResult<Option<AcmeAccount>> {
    db.row_opt(&format!("{ACCOUNT_SELECT} WHERE {filter} = ?"), &[value], account)
}

fn use_nonce(db: &mut dyn Db, nonce: &str, expires: OffsetDateTime, now: OffsetDateTime) -> DbResult<bool> {
    // One insert under the primary key: of two concurrent uses (on any replica), exactly one
    // inserts the row.
    db.execute("DELETE FROM acme_nonces WHERE expires <= ?", params![now.unix_timestamp()])?;
    db.execute(
        "INSERT INTO acme_nonces (nonce, expires) VALUES (?, ?) ON CONFLICT DO NOTHING",
        params![nonce, expires.unix_timestamp()],
    )
    .map(|n| n == 1)
}

fn create_order(db: &mut dyn Db, o: &AcmeOrder, authzs: &[AcmeAuthz]) -> DbResult<Id> {
    let order_id = db.insert_one(
        "INSERT INTO acme_orders (account_id, status, expires, identifiers, created_at) VALUES (?, ?, ?, ?, ?)",
        params![
            o.account_id,
            o.status.as_str(),
            o.expires.unix_timestamp(),
            o.identifiers.join("\n"),
            o.created_at.unix_timestamp()
        ],
    )?;
    for a in authzs {
        let authz_id = if a.id != 0 {
            a.id
        } else {
            let authz_id = db.insert_one(
                "INSERT INTO acme_authzs (order_id, account_id, identifier, wildcard, status, expires) \
                 VALUES (?, ?, ?, ?, ?, ?)",
                params![
                    order_id,
                    a.account_id,
                    a.identifier,
                    a.wildcard,
                    a.status.as_str(),
                    a.expires.unix_timestamp()
                ],
            )?;
            for c in &a.challenges {
                db.execute(
                    "INSERT INTO acme_challenges (authz_id, kind, token, status) VALUES (?, ?, ?, ?)",
                    params![authz_id, c.kind, c.token, c.status.as_str()],
                )?;
            }
            authz_id
        };
        db.execute(
            "INSERT INTO acme_order_authzs (order_id, authz_id) VALUES (?, ?)",
            params![order_id, authz_id],
        )?;
    }
    Ok(order_id)
}

fn set_order_status(
    db: &mut dyn Db,
    id: Id,
    from: AcmeStatus,
    to: AcmeStatus,
    error: Option<&str>,
) -> DbResult<bool> {
    db.execute(
        "UPDATE acme_orders SET status = ?, error = COALESCE(?, error) WHERE id = ? AND status = ?",
        params![to.as_str(), error, id, from.as_str()],
    )
    .map(|n| n == 1)
}

fn set_authz_status(db: &mut dyn Db, id: Id, status: AcmeStatus) -> DbResult<()> {
    db.execute("UPDATE acme_authzs SET status = ? WHERE id = ?", params![status.as_str(), id]).map(drop)
}

fn update_challenge(db: &mut dyn Db, c: &AcmeChallenge) -> DbResult<()> {
    db.execute(
        "UPDATE acme_challenges SET status = ?, validated = ?, error = ? WHERE id = ?",
        params![c.status.as_str(), c.validated.map(|t| t.unix_timestamp()), c.error, c.id],
    )
    .map(drop)
}

fn start_challenge(
    db: &mut dyn Db,
    id: Id,
    now: OffsetDateTime,
    stale_before: OffsetDateTime,
) -> DbResult<bool> {
    db.execute(
        &format!(
            "UPDATE acme_challenges SET status = 'processing', processing_since = ? \
             WHERE id = ? AND (status = 'pending' OR ({STALE}))"
        ),
        params![now.unix_timestamp(), id, stale_before.unix_timestamp()],
    )
    .map(|n| n == 1)
}

fn challenge_by_id(db: &mut dyn Db, id: Id) -> DbResult<Option<AcmeChallenge>> {
    db.row_opt(&format!("{CHALLENGE_SELECT} WHERE id = ?"), params![id], challenge)
}

/// The ACME objects inside one transaction of the engine.
struct SqlAcmeTx<'a>(&'a mut dyn Db);

impl AcmeTx for SqlAcmeTx<'_> {
    fn use_nonce(&mut self, nonce: &str, expires: OffsetDateTime, now: OffsetDateTime) -> StoreResult<bool> {
        Ok(use_nonce(self.0, nonce, expires, now)?)
    }

    fn account(&mut self, id: Id) -> StoreResult<Option<AcmeAccount>> {
        Ok(account_by(self.0, "id", &id)?)
    }

    fn contract(&mut self, id: Id) -> StoreResult<Option<AcmeContract>> {
        Ok(partner::contract_by_id(self.0, None, id)?)
    }

    fn certificate(
        &mut self,
        scope: &Scope,
        id: Id,
    ) -> StoreResult<Option<(CertificateRecord, Option<Vec<u8>>)>> {
        Ok(reads::find_certificate(self.0, scope, &CertificateRef::Id(id))?)
    }

    fn create_order(&mut self, order: &AcmeOrder, authzs: &[AcmeAuthz]) -> StoreResult<AcmeOrder> {
        let id = create_order(self.0, order, authzs)?;
        find_order(self.0, "id", &id)?.ok_or_else(|| StoreError(format!("ACME order {id} vanished")))
    }

    fn order(&mut self, id: Id) -> StoreResult<Option<AcmeOrder>> {
        Ok(find_order(self.0, "id", &id)?)
    }

    fn order_authz_statuses(&mut self, order_id: Id) -> StoreResult<Vec<(Id, AcmeStatus)>> {
        Ok(self.0.rows(
            "SELECT a.id, a.status FROM acme_order_authzs o JOIN acme_authzs a ON a.id = o.authz_id \
             WHERE o.order_id = ?",
            params![order_id],
            |r| Ok((r.get(0)?, status(r, 1)?)),
        )?)
    }

    fn transition_order(&mut self, id: Id, from: AcmeStatus, to: AcmeStatus) -> StoreResult<bool> {
        Ok(set_order_status(self.0, id, from, to, None)?)
    }

    fn invalidate_order(&mut self, id: Id, error: &str) -> StoreResult<bool> {
        Ok(set_order_status(self.0, id, AcmeStatus::Ready, AcmeStatus::Invalid, Some(error))?)
    }

    fn authz(&mut self, id: Id) -> StoreResult<Option<AcmeAuthz>> {
        Ok(authz(self.0, id)?)
    }

    fn reusable_authz(
        &mut self,
        account_id: Id,
        identifier: &str,
        wildcard: bool,
        now: OffsetDateTime,
    ) -> StoreResult<Option<AcmeAuthz>> {
        let found: Option<Id> = self.0.row_opt(
            "SELECT id FROM acme_authzs WHERE account_id = ? AND identifier = ? AND wildcard = ? \
             AND status = 'valid' AND expires > ? ORDER BY expires DESC LIMIT 1",
            params![account_id, identifier, wildcard, now.unix_timestamp()],
            |r| r.get(0),
        )?;
        match found {
            Some(id) => Ok(authz(self.0, id)?),
            None => Ok(None),
        }
    }

    fn set_authz_status(&mut self, id: Id, status: AcmeStatus) -> StoreResult<()> {
        Ok(set_authz_status(self.0, id, status)?)
    }

    fn challenge(&mut self, id: Id) -> StoreResult<Option<AcmeChallenge>> {
        Ok(challenge_by_id(self.0, id)?)
    }

    fn update_challenge(&mut self, challenge: &AcmeChallenge) -> StoreResult<()> {
        Ok(update_challenge(self.0, challenge)?)
    }

    fn start_challenge(
        &mut self,
        id: Id,
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> StoreResult<bool> {
        Ok(start_challenge(self.0, id, now, stale_before)?)
    }
}

impl<E: Engine> AcmeStore for SqlStore<E> {
    fn acme_transaction(&self, work: &mut dyn FnMut(&mut dyn AcmeTx) -> StoreResult<()>) -> StoreResult<()> {
        // The work's own error leaves the engine as `Aborted` (so that it rolls back) and is
        // handed back from here.
        let mut failure = None;
        let result = self.engine.run(Mode::Relaxed, &mut |db| {
            failure = None;
            work(&mut SqlAcmeTx(db)).map_err(|e| {
                failure = Some(e);
                DbError::Aborted
            })
        });
        match (result, failure) {
            (Ok(()), _) => Ok(()),
            (Err(DbError::Aborted), Some(e)) => Err(e),
            (Err(e), _) => Err(e.into()),
        }
    }

    fn create_acme_account(&self, a: &AcmeAccount) -> StoreResult<Id> {
        self.run(Mode::Write, |db| {
            db.insert_one(
                "INSERT INTO acme_accounts (thumbprint, jwk, contract_id, eab_id, status, contacts, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
                params![
                    a.thumbprint,
                    a.jwk,
                    a.contract_id,
                    a.eab_id,
                    a.status.as_str(),
                    a.contacts.join("\n"),
                    a.created_at.unix_timestamp()
                ],
            )
        })
    }

    fn acme_account(&self, id: Id) -> StoreResult<Option<AcmeAccount>> {
        self.run(Mode::Read, |db| account_by(db, "id", &id))
    }

    fn acme_account_by_thumbprint(&self, thumbprint: &str) -> StoreResult<Option<AcmeAccount>> {
        self.run(Mode::Read, |db| account_by(db, "thumbprint", &thumbprint))
    }

    fn update_acme_account(&self, a: &AcmeAccount) -> StoreResult<()> {
        self.run(Mode::Write, |db| {
            db.execute(
                "UPDATE acme_accounts SET thumbprint = ?, jwk = ?, status = ?, contacts = ? WHERE id = ?",
                params![a.thumbprint, a.jwk, a.status.as_str(), a.contacts.join("\n"), a.id],
            )
            .map(drop)
        })
    }

    fn acme_order(&self, id: Id) -> StoreResult<Option<AcmeOrder>> {
        self.run(Mode::Snapshot, |db| find_order(db, "id", &id))
    }

    fn acme_order_by_serial(&self, serial: &str) -> StoreResult<Option<AcmeOrder>> {
        self.run(Mode::Snapshot, |db| find_order(db, "certificate_serial", &serial))
    }

    fn acme_order_ids(&self, account_id: Id, after: Id, limit: usize) -> StoreResult<Vec<Id>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(Mode::Read, |db| {
            db.rows(
                "SELECT id FROM acme_orders WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?",
                params![account_id, after, limit],
                |r| r.get(0),
            )
        })
    }

    fn acme_authz(&self, id: Id) -> StoreResult<Option<AcmeAuthz>> {
        self.run(Mode::Snapshot, |db| authz(db, id))
    }

    fn set_acme_authz_status(&self, id: Id, status: AcmeStatus) -> StoreResult<()> {
        self.run(Mode::Relaxed, |db| set_authz_status(db, id, status))
    }

    fn acme_challenge(&self, id: Id) -> StoreResult<Option<AcmeChallenge>> {
        self.run(Mode::Read, |db| challenge_by_id(db, id))
    }

    fn update_acme_challenge(&self, c: &AcmeChallenge) -> StoreResult<()> {
        self.run(Mode::Relaxed, |db| update_challenge(db, c))
    }

    fn start_acme_challenge(
        &self,
        id: Id,
        now: OffsetDateTime,
        stale_before: OffsetDateTime,
    ) -> StoreResult<bool> {
        self.run(Mode::Relaxed, |db| start_challenge(db, id, now, stale_before))
    }

    fn stale_acme_challenges(&self, stale_before: OffsetDateTime, limit: usize) -> StoreResult<Vec<Id>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(Mode::Read, |db| {
            db.rows(
                &format!("SELECT id FROM acme_challenges WHERE {STALE} ORDER BY id LIMIT ?"),
                params![stale_before.unix_timestamp(), limit],
                |r| r.get(0),
            )
        })
    }
}
