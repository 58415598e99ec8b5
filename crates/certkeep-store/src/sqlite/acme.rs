//! ACME objects: nonces, accounts, orders, authorizations, challenges.

use certkeep_core::{
    Id,
    acme::{AcmeAccount, AcmeAuthz, AcmeChallenge, AcmeOrder, AcmeStatus, AcmeStore},
};
use rusqlite::{Connection, OptionalExtension, Row, params, types::Type};
use time::OffsetDateTime;

use super::{SqliteStore, err, rows};
use certkeep_core::StoreResult;

fn status(row: &Row, index: usize) -> rusqlite::Result<AcmeStatus> {
    let s: String = row.get(index)?;
    s.parse().map_err(|e: String| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, e.into()))
}

fn opt_time(row: &Row, index: usize) -> rusqlite::Result<Option<OffsetDateTime>> {
    match row.get::<_, Option<i64>>(index)? {
        Some(_) => rows::time_at(row, index).map(Some),
        None => Ok(None),
    }
}

const ACCOUNT_SELECT: &str =
    "SELECT id, thumbprint, jwk, contract_id, eab_id, status, contacts, created_at FROM acme_accounts";

fn account(row: &Row) -> rusqlite::Result<AcmeAccount> {
    Ok(AcmeAccount {
        id: row.get(0)?,
        thumbprint: row.get(1)?,
        jwk: row.get(2)?,
        contract_id: row.get(3)?,
        eab_id: row.get(4)?,
        status: status(row, 5)?,
        contacts: rows::names(&row.get::<_, String>(6)?),
        created_at: rows::time_at(row, 7)?,
    })
}

const ORDER_SELECT: &str = "SELECT id, account_id, status, expires, identifiers, error, inventory_order_id, \
     certificate_id, certificate_serial, created_at FROM acme_orders";

fn order(conn: &Connection, row: &Row) -> rusqlite::Result<AcmeOrder> {
    let id: Id = row.get(0)?;
    let authz_ids = conn
        .prepare_cached("SELECT authz_id FROM acme_order_authzs WHERE order_id = ? ORDER BY authz_id")?
        .query_map([id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<Id>>>()?;
    Ok(AcmeOrder {
        id,
        account_id: row.get(1)?,
        status: status(row, 2)?,
        expires: rows::time_at(row, 3)?,
        identifiers: rows::names(&row.get::<_, String>(4)?),
        authz_ids,
        error: row.get(5)?,
        inventory_order_id: row.get(6)?,
        certificate_id: row.get(7)?,
        certificate_serial: row.get(8)?,
        created_at: rows::time_at(row, 9)?,
    })
}

fn find_order(
    conn: &Connection,
    filter: &str,
    value: &dyn rusqlite::ToSql,
) -> rusqlite::Result<Option<AcmeOrder>> {
    let mut stmt = conn.prepare_cached(&format!("{ORDER_SELECT} WHERE {filter} = ?"))?;
    let mut found = stmt.query([value])?;
    match found.next()? {
        Some(row) => order(conn, row).map(Some),
        None => Ok(None),
    }
}

fn challenge(row: &Row) -> rusqlite::Result<AcmeChallenge> {
    Ok(AcmeChallenge {
        id: row.get(0)?,
        authz_id: row.get(1)?,
        kind: row.get(2)?,
        token: row.get(3)?,
        status: status(row, 4)?,
        validated: opt_time(row, 5)?,
        error: row.get(6)?,
    })
}

const CHALLENGE_SELECT: &str =
    "SELECT id, authz_id, kind, token, status, validated, error FROM acme_challenges";

fn authz(conn: &Connection, id: Id) -> rusqlite::Result<Option<AcmeAuthz>> {
    let Some(mut a) = conn
        .prepare_cached(
            "SELECT id, order_id, account_id, identifier, wildcard, status, expires FROM acme_authzs WHERE id = ?",
        )?
        .query_row([id], |row| {
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
        })
        .optional()?
    else {
        return Ok(None);
    };
    a.challenges = conn
        .prepare_cached(&format!("{CHALLENGE_SELECT} WHERE authz_id = ? ORDER BY id"))?
        .query_map([id], challenge)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(a))
}

impl AcmeStore for SqliteStore {
    fn use_nonce(&self, nonce: &str, expires: OffsetDateTime, now: OffsetDateTime) -> StoreResult<bool> {
        // One transaction: of two concurrent uses, exactly one inserts the row.
        self.write_relaxed(|tx| {
            tx.prepare_cached("DELETE FROM acme_nonces WHERE expires <= ?")?
                .execute([now.unix_timestamp()])?;
            tx.prepare_cached("INSERT OR IGNORE INTO acme_nonces (nonce, expires) VALUES (?, ?)")?
                .execute(params![nonce, expires.unix_timestamp()])
                .map(|n| n == 1)
        })
    }

    fn create_acme_account(&self, a: &AcmeAccount) -> StoreResult<Id> {
        self.write(|tx| {
            tx.execute(
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
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    fn acme_account(&self, id: Id) -> StoreResult<Option<AcmeAccount>> {
        self.conn()?
            .prepare_cached(&format!("{ACCOUNT_SELECT} WHERE id = ?"))
            .and_then(|mut s| s.query_row([id], account).optional())
            .map_err(err)
    }

    fn acme_account_by_thumbprint(&self, thumbprint: &str) -> StoreResult<Option<AcmeAccount>> {
        self.conn()?
            .prepare_cached(&format!("{ACCOUNT_SELECT} WHERE thumbprint = ?"))
            .and_then(|mut s| s.query_row([thumbprint], account).optional())
            .map_err(err)
    }

    fn update_acme_account(&self, a: &AcmeAccount) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE acme_accounts SET thumbprint = ?, jwk = ?, status = ?, contacts = ? WHERE id = ?",
                params![a.thumbprint, a.jwk, a.status.as_str(), a.contacts.join("\n"), a.id],
            )
            .map(drop)
        })
    }

    fn create_acme_order(&self, o: &AcmeOrder, authzs: &[AcmeAuthz]) -> StoreResult<Id> {
        self.write_relaxed(|tx| {
            tx.execute(
                "INSERT INTO acme_orders (account_id, status, expires, identifiers, created_at) VALUES (?, ?, ?, ?, ?)",
                params![
                    o.account_id,
                    o.status.as_str(),
                    o.expires.unix_timestamp(),
                    o.identifiers.join("\n"),
                    o.created_at.unix_timestamp()
                ],
            )?;
            let order_id = tx.last_insert_rowid();
            for a in authzs {
                let authz_id = if a.id != 0 {
                    a.id
                } else {
                    tx.execute(
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
                    let authz_id = tx.last_insert_rowid();
                    for c in &a.challenges {
                        tx.execute(
                            "INSERT INTO acme_challenges (authz_id, kind, token, status) VALUES (?, ?, ?, ?)",
                            params![authz_id, c.kind, c.token, c.status.as_str()],
                        )?;
                    }
                    authz_id
                };
                tx.execute(
                    "INSERT INTO acme_order_authzs (order_id, authz_id) VALUES (?, ?)",
                    params![order_id, authz_id],
                )?;
            }
            Ok(order_id)
        })
    }

    fn acme_order(&self, id: Id) -> StoreResult<Option<AcmeOrder>> {
        find_order(&*self.conn()?, "id", &id).map_err(err)
    }

    fn acme_order_by_serial(&self, serial: &str) -> StoreResult<Option<AcmeOrder>> {
        find_order(&*self.conn()?, "certificate_serial", &serial).map_err(err)
    }

    fn acme_order_ids(&self, account_id: Id, after: Id, limit: usize) -> StoreResult<Vec<Id>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.conn()?
            .prepare_cached("SELECT id FROM acme_orders WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?")
            .and_then(|mut s| s.query_map(params![account_id, after, limit], |r| r.get(0))?.collect())
            .map_err(err)
    }

    fn update_acme_order(&self, o: &AcmeOrder) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE acme_orders SET status = ?, error = ?, inventory_order_id = ?, certificate_id = ?, \
                 certificate_serial = ? WHERE id = ?",
                params![
                    o.status.as_str(),
                    o.error,
                    o.inventory_order_id,
                    o.certificate_id,
                    o.certificate_serial,
                    o.id
                ],
            )
            .map(drop)
        })
    }

    fn transition_acme_order(&self, id: Id, from: AcmeStatus, to: AcmeStatus) -> StoreResult<bool> {
        self.write_relaxed(|tx| {
            tx.execute(
                "UPDATE acme_orders SET status = ? WHERE id = ? AND status = ?",
                params![to.as_str(), id, from.as_str()],
            )
            .map(|n| n == 1)
        })
    }

    fn acme_authz(&self, id: Id) -> StoreResult<Option<AcmeAuthz>> {
        authz(&*self.conn()?, id).map_err(err)
    }

    fn set_acme_authz_status(&self, id: Id, status: AcmeStatus) -> StoreResult<()> {
        self.write_relaxed(|tx| {
            tx.execute("UPDATE acme_authzs SET status = ? WHERE id = ?", params![status.as_str(), id])
                .map(drop)
        })
    }

    fn acme_challenge(&self, id: Id) -> StoreResult<Option<AcmeChallenge>> {
        self.conn()?
            .prepare_cached(&format!("{CHALLENGE_SELECT} WHERE id = ?"))
            .and_then(|mut s| s.query_row([id], challenge).optional())
            .map_err(err)
    }

    fn update_acme_challenge(&self, c: &AcmeChallenge) -> StoreResult<()> {
        self.write_relaxed(|tx| {
            tx.execute(
                "UPDATE acme_challenges SET status = ?, validated = ?, error = ? WHERE id = ?",
                params![c.status.as_str(), c.validated.map(|t| t.unix_timestamp()), c.error, c.id],
            )
            .map(drop)
        })
    }

    fn transition_acme_challenge(&self, id: Id, from: AcmeStatus, to: AcmeStatus) -> StoreResult<bool> {
        self.write_relaxed(|tx| {
            tx.execute(
                "UPDATE acme_challenges SET status = ? WHERE id = ? AND status = ?",
                params![to.as_str(), id, from.as_str()],
            )
            .map(|n| n == 1)
        })
    }

    fn reusable_acme_authz(
        &self,
        account_id: Id,
        identifier: &str,
        wildcard: bool,
        now: OffsetDateTime,
    ) -> StoreResult<Option<AcmeAuthz>> {
        let conn = self.conn()?;
        let found: Option<Id> = conn
            .prepare_cached(
                "SELECT id FROM acme_authzs WHERE account_id = ? AND identifier = ? AND wildcard = ? \
                 AND status = 'valid' AND expires > ? ORDER BY expires DESC LIMIT 1",
            )
            .and_then(|mut s| {
                s.query_row(params![account_id, identifier, wildcard, now.unix_timestamp()], |r| r.get(0))
                    .optional()
            })
            .map_err(err)?;
        match found {
            Some(id) => authz(&conn, id).map_err(err),
            None => Ok(None),
        }
    }
}
