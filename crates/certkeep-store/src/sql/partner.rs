//! Partner subscriptions: partner keys, subaccounts, ACME contracts, EAB credentials.

use certkeep_core::{
    Account, Id, OrderSummary,
    partner::{AcmeContract, EabCredential, PartnerPrincipal},
};
use time::OffsetDateTime;

use super::db::{Db, DbResult, Row, params};
use super::rows::{self, SUMMARY_COLUMNS, SUMMARY_JOINS};

use super::{Engine, Mode, SqlStore};
use certkeep_core::{PartnerStore, StoreResult};

impl<E: Engine> PartnerStore for SqlStore<E> {
    fn create_partner_key(&self, account_id: Id, key_hash: &[u8], now: OffsetDateTime) -> StoreResult<Id> {
        self.run(Mode::Read, |db| create_partner_key(db, account_id, key_hash, now))
    }

    fn authenticate_partner(&self, key_hash: &[u8]) -> StoreResult<Option<PartnerPrincipal>> {
        self.run(Mode::Read, |db| authenticate_partner(db, key_hash))
    }

    fn link_subaccount(&self, parent: Id, child: Id) -> StoreResult<()> {
        self.run(Mode::Read, |db| link_subaccount(db, parent, child))
    }

    fn subaccounts(&self, parent: Id) -> StoreResult<Vec<Account>> {
        self.run(Mode::Read, |db| subaccounts(db, parent))
    }

    fn create_contract(
        &self,
        contract: &AcmeContract,
        kid: &str,
        sealed_hmac_key: &[u8],
        now: OffsetDateTime,
    ) -> StoreResult<(Id, Id)> {
        self.run(Mode::Write, |db| create_contract_with_eab(db, contract, kid, sealed_hmac_key, now))
    }

    fn contract(&self, account_id: Option<Id>, id: Id) -> StoreResult<Option<AcmeContract>> {
        self.run(Mode::Read, |db| contract_by_id(db, account_id, id))
    }

    fn contracts(&self, account_id: Id) -> StoreResult<Vec<AcmeContract>> {
        self.run(Mode::Read, |db| contracts(db, account_id))
    }

    fn update_contract(&self, contract: &AcmeContract) -> StoreResult<()> {
        self.run(Mode::Read, |db| update_contract(db, contract))
    }

    fn create_eab(
        &self,
        contract_id: Id,
        kid: &str,
        hmac_key: &[u8],
        now: OffsetDateTime,
    ) -> StoreResult<Id> {
        self.run(Mode::Read, |db| create_eab(db, contract_id, kid, hmac_key, now))
    }

    fn eab_credentials(&self, contract_id: Id) -> StoreResult<Vec<EabCredential>> {
        self.run(Mode::Read, |db| eab_credentials(db, contract_id))
    }

    fn revoke_eab_credentials(&self, contract_id: Id, keep: Option<Id>) -> StoreResult<()> {
        self.run(Mode::Read, |db| revoke_eab_credentials(db, contract_id, keep))
    }

    fn find_eab(&self, kid: &str) -> StoreResult<Option<(EabCredential, AcmeContract)>> {
        self.run(Mode::Read, |db| find_eab(db, kid))
    }

    fn contract_orders(&self, contract_id: Id) -> StoreResult<Vec<OrderSummary>> {
        self.run(Mode::Read, |db| contract_orders(db, contract_id))
    }
}

const CONTRACT_COLUMNS: &str = "id, account_id, container_id, user_id, product_name_id, sans, organization_id, \
     auto_renew, created_at, valid_till, date_canceled";

fn contract(row: &Row) -> DbResult<AcmeContract> {
    Ok(AcmeContract {
        id: row.get(0)?,
        account_id: row.get(1)?,
        container_id: row.get(2)?,
        user_id: row.get(3)?,
        product_name_id: row.get(4)?,
        sans: rows::names(&row.get::<String>(5)?),
        organization_id: row.get(6)?,
        auto_renew: row.get(7)?,
        created_at: rows::time_at(row, 8)?,
        valid_till: rows::time_at(row, 9)?,
        date_canceled: rows::opt_time_at(row, 10)?,
    })
}

fn credential(row: &Row) -> DbResult<EabCredential> {
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

pub fn create_partner_key(db: &mut dyn Db, account_id: Id, hash: &[u8], now: OffsetDateTime) -> DbResult<Id> {
    db.insert_one(
        "INSERT INTO partner_keys (account_id, key_hash, created_at) VALUES (?, ?, ?)",
        params![account_id, hash, now.unix_timestamp()],
    )
}

pub fn authenticate_partner(db: &mut dyn Db, hash: &[u8]) -> DbResult<Option<PartnerPrincipal>> {
    db.row_opt(
        "SELECT k.id, k.account_id, a.parent_account_id FROM partner_keys k JOIN accounts a ON a.id = k.account_id \
         WHERE k.key_hash = ? AND k.revoked_at IS NULL",
        params![hash],
        |r| Ok(PartnerPrincipal { key_id: r.get(0)?, account_id: r.get(1)?, parent_account_id: r.get(2)? }),
    )
}

pub fn link_subaccount(db: &mut dyn Db, parent: Id, child: Id) -> DbResult<()> {
    db.execute("UPDATE accounts SET parent_account_id = ? WHERE id = ?", params![parent, child]).map(drop)
}

pub fn subaccounts(db: &mut dyn Db, parent: Id) -> DbResult<Vec<Account>> {
    db.rows(
        "SELECT id, name, created_at FROM accounts WHERE parent_account_id = ? ORDER BY id",
        params![parent],
        |r| Ok(Account { id: r.get(0)?, name: r.get(1)?, created_at: rows::time_at(r, 2)? }),
    )
}

pub fn create_contract(db: &mut dyn Db, c: &AcmeContract) -> DbResult<Id> {
    db.insert_one(
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
    )
}

pub fn contract_by_id(db: &mut dyn Db, account_id: Option<Id>, id: Id) -> DbResult<Option<AcmeContract>> {
    db.row_opt(
        &format!(
            "SELECT {CONTRACT_COLUMNS} FROM acme_contracts WHERE id = ?1 AND (CAST(?2 AS BIGINT) IS NULL OR account_id = ?2)"
        ),
        params![id, account_id],
        contract,
    )
}

pub fn contracts(db: &mut dyn Db, account_id: Id) -> DbResult<Vec<AcmeContract>> {
    db.rows(
        &format!("SELECT {CONTRACT_COLUMNS} FROM acme_contracts WHERE account_id = ? ORDER BY id"),
        params![account_id],
        contract,
    )
}

pub fn update_contract(db: &mut dyn Db, c: &AcmeContract) -> DbResult<()> {
    db.execute(
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

/// Creates a contract and its first EAB credential; returns both ids. Call in one write
/// transaction.
pub fn create_contract_with_eab(
    db: &mut dyn Db,
    contract: &AcmeContract,
    kid: &str,
    sealed_key: &[u8],
    now: OffsetDateTime,
) -> DbResult<(Id, Id)> {
    let contract_id = create_contract(db, contract)?;
    Ok((contract_id, create_eab(db, contract_id, kid, sealed_key, now)?))
}

pub fn create_eab(
    db: &mut dyn Db,
    contract_id: Id,
    kid: &str,
    sealed_key: &[u8],
    now: OffsetDateTime,
) -> DbResult<Id> {
    db.insert_one(
        "INSERT INTO eab_credentials (contract_id, kid, hmac_key, sealed, active, created_at) \
         VALUES (?, ?, ?, TRUE, TRUE, ?)",
        params![contract_id, kid, sealed_key, now.unix_timestamp()],
    )
}

/// Seals the keys stored in clear by versions before sealing; returns how many.
pub fn seal_clear_eab_keys(db: &mut dyn Db, seal: &dyn Fn(&str, &[u8]) -> Vec<u8>) -> DbResult<u64> {
    let clear: Vec<(Id, String, Vec<u8>)> =
        db.rows("SELECT id, kid, hmac_key FROM eab_credentials WHERE sealed = FALSE", params![], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    for (id, kid, key) in &clear {
        db.execute(
            "UPDATE eab_credentials SET hmac_key = ?, sealed = TRUE WHERE id = ?",
            params![seal(kid, key), id],
        )?;
    }
    Ok(clear.len() as u64)
}

pub fn eab_credentials(db: &mut dyn Db, contract_id: Id) -> DbResult<Vec<EabCredential>> {
    db.rows(
        &format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM eab_credentials e WHERE e.contract_id = ? ORDER BY e.id DESC"
        ),
        params![contract_id],
        credential,
    )
}

pub fn revoke_eab_credentials(db: &mut dyn Db, contract_id: Id, keep: Option<Id>) -> DbResult<()> {
    db.execute(
        "UPDATE eab_credentials SET active = FALSE WHERE contract_id = ?1 AND (CAST(?2 AS BIGINT) IS NULL OR id != ?2)",
        params![contract_id, keep],
    )
    .map(drop)
}

pub fn find_eab(db: &mut dyn Db, kid: &str) -> DbResult<Option<(EabCredential, AcmeContract)>> {
    let found = db.row_opt(
        &format!("SELECT {CREDENTIAL_COLUMNS} FROM eab_credentials e WHERE e.kid = ?"),
        params![kid],
        credential,
    )?;
    let Some(cred) = found else { return Ok(None) };
    Ok(contract_by_id(db, None, cred.contract_id)?.map(|c| (cred, c)))
}

pub fn contract_orders(db: &mut dyn Db, contract_id: Id) -> DbResult<Vec<OrderSummary>> {
    db.rows(
        &format!(
            "SELECT {SUMMARY_COLUMNS} FROM orders o {SUMMARY_JOINS} WHERE o.acme_contract_id = ? ORDER BY o.id"
        ),
        params![contract_id],
        rows::summary,
    )
}
