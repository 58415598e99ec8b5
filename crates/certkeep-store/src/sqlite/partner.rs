//! Partner subscriptions: partner keys, subaccounts, ACME contracts, EAB credentials.

use certkeep_core::{
    Account, Id, OrderSummary,
    partner::{AcmeContract, EabCredential, PartnerPrincipal},
};
use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;

use super::rows::{self, SUMMARY_COLUMNS, SUMMARY_JOINS};

const CONTRACT_COLUMNS: &str = "id, account_id, container_id, user_id, product_name_id, sans, organization_id, \
     auto_renew, created_at, valid_till, date_canceled";

fn contract(row: &Row) -> rusqlite::Result<AcmeContract> {
    Ok(AcmeContract {
        id: row.get(0)?,
        account_id: row.get(1)?,
        container_id: row.get(2)?,
        user_id: row.get(3)?,
        product_name_id: row.get(4)?,
        sans: rows::names(&row.get::<_, String>(5)?),
        organization_id: row.get(6)?,
        auto_renew: row.get(7)?,
        created_at: rows::time_at(row, 8)?,
        valid_till: rows::time_at(row, 9)?,
        date_canceled: match row.get::<_, Option<i64>>(10)? {
            Some(_) => Some(rows::time_at(row, 10)?),
            None => None,
        },
    })
}

fn credential(row: &Row) -> rusqlite::Result<EabCredential> {
    Ok(EabCredential {
        id: row.get(0)?,
        kid: row.get(1)?,
        sealed_hmac_key: row.get(2)?,
        active: row.get(3)?,
        created_at: rows::time_at(row, 4)?,
        contract_id: row.get(5)?,
    })
}

const CREDENTIAL_COLUMNS: &str = "e.id, e.kid, e.hmac_key, e.active, e.created_at, e.contract_id";

pub fn create_partner_key(
    conn: &Connection,
    account_id: Id,
    hash: &[u8],
    now: OffsetDateTime,
) -> rusqlite::Result<Id> {
    conn.execute(
        "INSERT INTO partner_keys (account_id, key_hash, created_at) VALUES (?, ?, ?)",
        params![account_id, hash, now.unix_timestamp()],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn authenticate_partner(conn: &Connection, hash: &[u8]) -> rusqlite::Result<Option<PartnerPrincipal>> {
    conn.prepare_cached(
        "SELECT k.id, k.account_id, a.parent_account_id FROM partner_keys k JOIN accounts a ON a.id = k.account_id \
         WHERE k.key_hash = ? AND k.revoked_at IS NULL",
    )?
    .query_row([hash], |r| Ok(PartnerPrincipal { key_id: r.get(0)?, account_id: r.get(1)?, parent_account_id: r.get(2)? }))
    .optional()
}

pub fn link_subaccount(conn: &Connection, parent: Id, child: Id) -> rusqlite::Result<()> {
    conn.execute("UPDATE accounts SET parent_account_id = ? WHERE id = ?", params![parent, child]).map(drop)
}

pub fn subaccounts(conn: &Connection, parent: Id) -> rusqlite::Result<Vec<Account>> {
    conn.prepare_cached("SELECT id, name, created_at FROM accounts WHERE parent_account_id = ? ORDER BY id")?
        .query_map([parent], |r| {
            Ok(Account { id: r.get(0)?, name: r.get(1)?, created_at: rows::time_at(r, 2)? })
        })?
        .collect()
}

pub fn create_contract(conn: &Connection, c: &AcmeContract) -> rusqlite::Result<Id> {
    conn.execute(
        "INSERT INTO acme_contracts (account_id, container_id, user_id, product_name_id, sans, organization_id, \
         auto_renew, created_at, valid_till, date_canceled) VALUES (?,?,?,?,?,?,?,?,?,?)",
        params![
            c.account_id,
            c.container_id,
            c.user_id,
            c.product_name_id,
            c.sans.join("\n"),
            c.organization_id,
            c.auto_renew,
            c.created_at.unix_timestamp(),
            c.valid_till.unix_timestamp(),
            c.date_canceled.map(|t| t.unix_timestamp()),
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn contract_by_id(
    conn: &Connection,
    account_id: Option<Id>,
    id: Id,
) -> rusqlite::Result<Option<AcmeContract>> {
    conn.prepare_cached(&format!(
        "SELECT {CONTRACT_COLUMNS} FROM acme_contracts WHERE id = ?1 AND (?2 IS NULL OR account_id = ?2)"
    ))?
    .query_row(params![id, account_id], contract)
    .optional()
}

pub fn contracts(conn: &Connection, account_id: Id) -> rusqlite::Result<Vec<AcmeContract>> {
    conn.prepare_cached(&format!(
        "SELECT {CONTRACT_COLUMNS} FROM acme_contracts WHERE account_id = ? ORDER BY id"
    ))?
    .query_map([account_id], contract)?
    .collect()
}

pub fn update_contract(conn: &Connection, c: &AcmeContract) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE acme_contracts SET sans = ?, auto_renew = ?, date_canceled = ?, valid_till = ? WHERE id = ?",
        params![
            c.sans.join("\n"),
            c.auto_renew,
            c.date_canceled.map(|t| t.unix_timestamp()),
            c.valid_till.unix_timestamp(),
            c.id
        ],
    )
    .map(drop)
}

pub fn create_eab(
    conn: &Connection,
    contract_id: Id,
    kid: &str,
    sealed_key: &[u8],
    now: OffsetDateTime,
) -> rusqlite::Result<Id> {
    conn.execute(
        "INSERT INTO eab_credentials (contract_id, kid, hmac_key, sealed, active, created_at) \
         VALUES (?, ?, ?, 1, 1, ?)",
        params![contract_id, kid, sealed_key, now.unix_timestamp()],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn seal_clear_eab_keys(
    tx: &rusqlite::Transaction,
    seal: &dyn Fn(&str, &[u8]) -> Vec<u8>,
) -> rusqlite::Result<u64> {
    let clear: Vec<(Id, String, Vec<u8>)> = tx
        .prepare("SELECT id, kid, hmac_key FROM eab_credentials WHERE sealed = 0")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, kid, key) in &clear {
        tx.execute(
            "UPDATE eab_credentials SET hmac_key = ?, sealed = 1 WHERE id = ?",
            params![seal(kid, key), id],
        )?;
    }
    Ok(clear.len() as u64)
}

pub fn eab_credentials(conn: &Connection, contract_id: Id) -> rusqlite::Result<Vec<EabCredential>> {
    conn.prepare_cached(&format!(
        "SELECT {CREDENTIAL_COLUMNS} FROM eab_credentials e WHERE e.contract_id = ? ORDER BY e.id DESC"
    ))?
    .query_map([contract_id], credential)?
    .collect()
}

pub fn revoke_eab_credentials(conn: &Connection, contract_id: Id, keep: Option<Id>) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE eab_credentials SET active = 0 WHERE contract_id = ?1 AND (?2 IS NULL OR id != ?2)",
        params![contract_id, keep],
    )
    .map(drop)
}

pub fn find_eab(conn: &Connection, kid: &str) -> rusqlite::Result<Option<(EabCredential, AcmeContract)>> {
    let found = conn
        .prepare_cached(&format!("SELECT {CREDENTIAL_COLUMNS} FROM eab_credentials e WHERE e.kid = ?"))?
        .query_row([kid], credential)
        .optional()?;
    let Some(cred) = found else { return Ok(None) };
    Ok(contract_by_id(conn, None, cred.contract_id)?.map(|c| (cred, c)))
}

pub fn contract_orders(conn: &Connection, contract_id: Id) -> rusqlite::Result<Vec<OrderSummary>> {
    conn.prepare_cached(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM orders o {SUMMARY_JOINS} WHERE o.acme_contract_id = ? ORDER BY o.id"
    ))?
    .query_map([contract_id], rows::summary)?
    .collect()
}
