//! The embedded SQLite store.

mod acme;
mod ncp;
mod partner;
mod query;
mod reads;
mod rows;
mod schema;
mod tx;
mod writes;

use std::{
    path::Path,
    sync::{Mutex, MutexGuard, PoisonError},
};

use certkeep_core::{
    AccessRole, Account, ApiKeyRole, CertificateGroupPage, CertificateGroupQuery, CertificateKind,
    CertificateRecord, CertificateStatus, ContainerNode, Domain, Id, NewApiKey, NewContainer, NewOrder,
    NewOrganization, NewUser, OrderCertificates, OrderDetail, OrderPage, OrderQuery, OrderRef, OrderStatus,
    OrderSummary, Organization, Principal, RequestDetail, RequestQuery, Revocation, Scope, Store, StoreError,
    StoreResult, UserRecord,
    lifecycle::{CertificateRef, LifecycleError, Transaction},
    ncp::{NcpKey, NewNcpKey},
    partner::{AcmeContract, EabCredential, PartnerPrincipal},
};
use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params, params_from_iter};
use time::OffsetDateTime;

use rows::{
    CERTIFICATE_COLUMNS, CERTIFICATE_FROM, ORGANIZATION_SELECT, REQUEST_SELECT, SUMMARY_COLUMNS,
    SUMMARY_JOINS, SUMMARY_WIDTH,
};

/// The inventory in one SQLite database file (WAL mode), behind a connection pool.
pub struct SqliteStore {
    pool: Pool<SqliteConnectionManager>,
    /// Write transactions of this process take turns here. SQLite admits one writer at a time
    /// and makes the others poll with sleeps of up to 100 ms (the busy handler); queueing on a
    /// mutex hands the lock over at once (8 concurrent issuers: p99 435-734 ms before, 46-79 ms
    /// after, BENCHMARKS.md).
    /// Other processes sharing the file still meet the busy handler.
    writer: Mutex<()>,
}

/// Wraps an engine error.
pub(crate) fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it to the newest schema.
    pub fn open(path: &Path) -> StoreResult<Self> {
        // Memory stays bounded: each of the (at most 16) connections caches 8 MiB of pages, and
        // the database is read with pread, not mapped, so the rest of it lives in the kernel's
        // page cache rather than in the process (a mapping would grow the RSS with every page a
        // scan such as the CSV export touches).
        let manager = SqliteConnectionManager::file(path).with_init(|c| {
            c.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                 PRAGMA busy_timeout = 10000; PRAGMA cache_size = -8192; PRAGMA temp_store = MEMORY; \
                 PRAGMA mmap_size = 0;",
            )
        });
        let pool = Pool::builder().max_size(16).build(manager).map_err(err)?;
        let store = Self { pool, writer: Mutex::new(()) };
        schema::migrate(&mut *store.conn()?).map_err(err)?;
        Ok(store)
    }

    fn conn(&self) -> StoreResult<PooledConnection<SqliteConnectionManager>> {
        self.pool.get().map_err(err)
    }

    /// This process's turn to write (see [`SqliteStore::writer`]).
    fn writer_turn(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction) -> rusqlite::Result<T>) -> StoreResult<T> {
        let mut conn = self.conn()?;
        let _turn = self.writer_turn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        let value = f(&tx).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(value)
    }

    /// A write whose commit does not wait for the disk (`synchronous = NORMAL` for it), for
    /// bookkeeping a client redoes if lost (ACME nonce uses and object states). The WAL is
    /// written in order, so the next ordinary (`FULL`) commit makes it durable too; a power
    /// loss before then forgets it, a crash of the process does not, and neither corrupts.
    fn write_relaxed<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction) -> rusqlite::Result<T>,
    ) -> StoreResult<T> {
        let mut conn = self.conn()?;
        let _turn = self.writer_turn();
        conn.execute_batch("PRAGMA synchronous = NORMAL").map_err(err)?;
        let written = conn.transaction_with_behavior(TransactionBehavior::Immediate).and_then(|tx| {
            let value = f(&tx)?;
            tx.commit().map(|()| value)
        });
        conn.execute_batch("PRAGMA synchronous = FULL").map_err(err)?;
        written.map_err(err)
    }

    fn container_subtree(conn: &Connection, root: Id) -> rusqlite::Result<Vec<Id>> {
        let mut stmt = conn.prepare_cached(
            "WITH RECURSIVE sub(id) AS (SELECT ?1 UNION ALL \
             SELECT c.id FROM containers c JOIN sub ON c.parent_id = sub.id) SELECT id FROM sub",
        )?;
        stmt.query_map([root], |r| r.get(0))?.collect()
    }

    fn for_each_summary(
        conn: &Connection,
        scope: &Scope,
        query: &OrderQuery,
        now: OffsetDateTime,
        sink: &mut dyn FnMut(OrderSummary) -> bool,
    ) -> rusqlite::Result<()> {
        let cond = query::condition(scope, query, now);
        let order_by = query::order_by(query);
        // A page picks its ids first, from the indexes alone, and only then reads (and joins)
        // those rows: rows skipped by the offset or sorted away are never read.
        let sql = if query.limit.is_some() {
            format!(
                "SELECT {SUMMARY_COLUMNS} FROM (SELECT o.id AS page_id FROM orders o WHERE {} \
                 ORDER BY {order_by} LIMIT ? OFFSET ?) page CROSS JOIN orders o {SUMMARY_JOINS} \
                 WHERE o.id = page.page_id ORDER BY {order_by}",
                cond.sql
            )
        } else {
            format!(
                "SELECT {SUMMARY_COLUMNS} FROM orders o {SUMMARY_JOINS} WHERE {} ORDER BY {order_by} LIMIT ? OFFSET ?",
                cond.sql
            )
        };
        let limit = query.limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let offset = i64::try_from(query.offset).unwrap_or(i64::MAX);
        let params = cond.params.into_iter().chain([limit.into(), offset.into()]);
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(params))?;
        while let Some(row) = rows.next()? {
            if !sink(rows::summary(row)?) {
                break;
            }
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    fn ping(&self) -> StoreResult<()> {
        self.conn()?.query_row("SELECT 1", [], |_| Ok(())).map_err(err)
    }

    fn create_account(&self, name: &str, now: OffsetDateTime) -> StoreResult<(Id, Id)> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO accounts (name, created_at) VALUES (?, ?)",
                params![name, now.unix_timestamp()],
            )?;
            let account = tx.last_insert_rowid();
            tx.execute("INSERT INTO containers (account_id, name) VALUES (?, ?)", params![account, name])?;
            Ok((account, tx.last_insert_rowid()))
        })
    }

    fn create_container(&self, c: &NewContainer) -> StoreResult<Id> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO containers (account_id, parent_id, name, description) VALUES (?, ?, ?, ?)",
                params![c.account_id, c.parent_id, c.name, c.description],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    fn create_organization(&self, o: &NewOrganization) -> StoreResult<Id> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO organizations (account_id, container_id, name, assumed_name, address, city, \
                 state, zip, country, telephone, contact_first_name, contact_last_name, contact_email, \
                 contact_job_title, contact_telephone, contact_telephone_extension) \
                 VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                params![
                    o.account_id,
                    o.container_id,
                    o.name,
                    o.assumed_name,
                    o.address,
                    o.city,
                    o.state,
                    o.zip,
                    o.country,
                    o.telephone,
                    o.contact.first_name,
                    o.contact.last_name,
                    o.contact.email,
                    o.contact.job_title,
                    o.contact.telephone,
                    o.contact.telephone_extension,
                ],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    fn create_user(&self, u: &NewUser, now: OffsetDateTime) -> StoreResult<Id> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO users (account_id, container_id, username, first_name, last_name, email, \
                 job_title, telephone, access_role, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                params![
                    u.account_id,
                    u.container_id,
                    u.username,
                    u.contact.first_name,
                    u.contact.last_name,
                    u.contact.email,
                    u.contact.job_title,
                    u.contact.telephone,
                    u.access_role.code(),
                    now.unix_timestamp(),
                ],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    fn create_api_key(&self, k: &NewApiKey, now: OffsetDateTime) -> StoreResult<Id> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO api_keys (account_id, user_id, name, key_hash, role, created_at) \
                 SELECT account_id, id, ?, ?, ?, ? FROM users WHERE id = ?",
                params![k.name, k.key_hash, k.role.code(), now.unix_timestamp(), k.user_id],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    fn create_custom_field(&self, account_id: Id, label: &str) -> StoreResult<Id> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO custom_fields (account_id, label) VALUES (?, ?)",
                params![account_id, label],
            )?;
            Ok(tx.last_insert_rowid())
        })
    }

    fn authenticate(&self, key_hash: &[u8]) -> StoreResult<Option<Principal>> {
        let conn = self.conn()?;
        let found = conn
            .prepare_cached(
                "SELECT k.id, k.name, k.role, k.user_id, u.account_id, u.container_id, c.parent_id, u.access_role \
                 FROM api_keys k JOIN users u ON u.id = k.user_id JOIN containers c ON c.id = u.container_id \
                 WHERE k.key_hash = ? AND k.revoked_at IS NULL",
            )
            .and_then(|mut s| {
                s.query_row([key_hash], |r| {
                    Ok((
                        r.get::<_, Id>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Id>(3)?,
                        r.get::<_, Id>(4)?,
                        r.get::<_, Id>(5)?,
                        r.get::<_, Option<Id>>(6)?,
                        r.get::<_, i64>(7)?,
                    ))
                })
                .optional()
            })
            .map_err(err)?;
        let Some((api_key_id, api_key_name, role, user_id, account_id, container_id, parent, access)) = found
        else {
            return Ok(None);
        };
        let role = ApiKeyRole::from_code(role).ok_or_else(|| err(format!("unknown key role {role}")))?;
        let access =
            AccessRole::from_code(access).ok_or_else(|| err(format!("unknown access role {access}")))?;
        let containers = match parent {
            None => None,
            Some(_) => Some(Self::container_subtree(&conn, container_id).map_err(err)?),
        };
        Ok(Some(Principal {
            api_key_id,
            api_key_name,
            role,
            user_id,
            container_id,
            may_skip_approval: role.may_skip_approval(access),
            scope: Scope { account_id, containers },
        }))
    }

    fn transaction(
        &self,
        f: &mut dyn FnMut(&mut dyn Transaction) -> Result<(), LifecycleError>,
    ) -> Result<(), LifecycleError> {
        let mut conn = self.conn()?;
        let _turn = self.writer_turn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
        f(&mut tx::SqliteTransaction(&tx))?;
        tx.commit().map_err(err)?;
        Ok(())
    }

    fn insert_orders(&self, orders: &[NewOrder]) -> StoreResult<Vec<Id>> {
        self.write(|tx| orders.iter().map(|o| writes::insert_order(tx, o)).collect())
    }

    fn list_orders(&self, scope: &Scope, query: &OrderQuery, now: OffsetDateTime) -> StoreResult<OrderPage> {
        let mut conn = self.conn()?;
        // One read transaction: the total and the page come from the same snapshot.
        let tx = conn.transaction().map_err(err)?;
        let (sql, params) = match query::counted(scope, query) {
            Some(c) => (format!("SELECT coalesce(sum(n), 0) FROM order_counts WHERE {}", c.sql), c.params),
            None => {
                let c = query::condition(scope, query, now);
                (format!("SELECT count(*) FROM orders o WHERE {}", c.sql), c.params)
            }
        };
        let total: i64 = tx
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row(params_from_iter(params), |r| r.get(0)))
            .map_err(err)?;
        let mut orders = Vec::new();
        Self::for_each_summary(&tx, scope, query, now, &mut |o| {
            orders.push(o);
            true
        })
        .map_err(err)?;
        Ok(OrderPage { total: total.max(0) as u64, orders })
    }

    fn export_orders(
        &self,
        scope: &Scope,
        query: &OrderQuery,
        now: OffsetDateTime,
        sink: &mut dyn FnMut(&OrderSummary) -> bool,
    ) -> StoreResult<()> {
        let conn = self.conn()?;
        Self::for_each_summary(&conn, scope, query, now, &mut |o| sink(&o)).map_err(err)
    }

    fn find_order(&self, scope: &Scope, order: &OrderRef) -> StoreResult<Option<OrderDetail>> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(err)?;
        detail(&tx, scope, order).map_err(err)
    }

    fn order_certificates(
        &self,
        scope: &Scope,
        order_id: Id,
        kind: CertificateKind,
        include_archived: bool,
    ) -> StoreResult<Option<OrderCertificates>> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(err)?;
        let order: Option<(Id, String)> = tx
            .prepare_cached("SELECT container_id, public_id FROM orders WHERE id = ? AND account_id = ?")
            .and_then(|mut s| {
                s.query_row(params![order_id, scope.account_id], |r| Ok((r.get(0)?, r.get(1)?))).optional()
            })
            .map_err(err)?;
        let Some((_, public_id)) = order.filter(|(container, _)| scope.allows_container(*container)) else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT {CERTIFICATE_COLUMNS} FROM {CERTIFICATE_FROM} WHERE x.order_id = ? AND x.kind = ? AND (? OR x.archived = 0) ORDER BY x.id"
        );
        let certificates = tx
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map(params![order_id, kind.as_str(), include_archived], rows::certificate)?.collect()
            })
            .map_err(err)?;
        Ok(Some(OrderCertificates { public_id, certificates }))
    }

    fn find_certificate(
        &self,
        scope: &Scope,
        certificate: &CertificateRef,
    ) -> StoreResult<Option<(CertificateRecord, Option<Vec<u8>>)>> {
        reads::find_certificate(&*self.conn()?, scope, certificate).map_err(err)
    }

    fn list_requests(&self, scope: &Scope, query: &RequestQuery) -> StoreResult<(u64, Vec<RequestDetail>)> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(err)?;
        reads::list_requests(&tx, scope, query).map_err(err)
    }

    fn find_request(&self, scope: &Scope, id: Id) -> StoreResult<Option<RequestDetail>> {
        reads::find_request(&*self.conn()?, scope, id).map_err(err)
    }

    fn account(&self, account_id: Id) -> StoreResult<Option<Account>> {
        reads::account(&*self.conn()?, account_id).map_err(err)
    }

    fn list_organizations(&self, scope: &Scope) -> StoreResult<Vec<Organization>> {
        reads::list_organizations(&*self.conn()?, scope).map_err(err)
    }

    fn list_containers(&self, scope: &Scope) -> StoreResult<Vec<ContainerNode>> {
        reads::list_containers(&*self.conn()?, scope).map_err(err)
    }

    fn list_users(&self, scope: &Scope) -> StoreResult<Vec<UserRecord>> {
        reads::list_users(&*self.conn()?, scope).map_err(err)
    }

    fn list_domains(&self, scope: &Scope) -> StoreResult<Vec<Domain>> {
        reads::list_domains(&*self.conn()?, scope).map_err(err)
    }

    fn status_changes(
        &self,
        scope: &Scope,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> StoreResult<Vec<(Id, Id, OrderStatus)>> {
        reads::status_changes(&*self.conn()?, scope, from, to).map_err(err)
    }

    fn revocations(&self) -> StoreResult<Vec<Revocation>> {
        reads::revocations(&*self.conn()?).map_err(err)
    }

    fn certificate_status(
        &self,
        serial: &str,
    ) -> StoreResult<Option<(CertificateStatus, Option<Revocation>)>> {
        reads::certificate_status(&*self.conn()?, serial).map_err(err)
    }

    fn create_partner_key(&self, account_id: Id, key_hash: &[u8], now: OffsetDateTime) -> StoreResult<Id> {
        partner::create_partner_key(&*self.conn()?, account_id, key_hash, now).map_err(err)
    }

    fn authenticate_partner(&self, key_hash: &[u8]) -> StoreResult<Option<PartnerPrincipal>> {
        partner::authenticate_partner(&*self.conn()?, key_hash).map_err(err)
    }

    fn link_subaccount(&self, parent: Id, child: Id) -> StoreResult<()> {
        partner::link_subaccount(&*self.conn()?, parent, child).map_err(err)
    }

    fn subaccounts(&self, parent: Id) -> StoreResult<Vec<Account>> {
        partner::subaccounts(&*self.conn()?, parent).map_err(err)
    }

    fn create_contract(&self, contract: &AcmeContract) -> StoreResult<Id> {
        partner::create_contract(&*self.conn()?, contract).map_err(err)
    }

    fn contract(&self, account_id: Option<Id>, id: Id) -> StoreResult<Option<AcmeContract>> {
        partner::contract_by_id(&*self.conn()?, account_id, id).map_err(err)
    }

    fn contracts(&self, account_id: Id) -> StoreResult<Vec<AcmeContract>> {
        partner::contracts(&*self.conn()?, account_id).map_err(err)
    }

    fn update_contract(&self, contract: &AcmeContract) -> StoreResult<()> {
        partner::update_contract(&*self.conn()?, contract).map_err(err)
    }

    fn create_eab(
        &self,
        contract_id: Id,
        kid: &str,
        hmac_key: &[u8],
        now: OffsetDateTime,
    ) -> StoreResult<Id> {
        partner::create_eab(&*self.conn()?, contract_id, kid, hmac_key, now).map_err(err)
    }

    fn eab_credentials(&self, contract_id: Id) -> StoreResult<Vec<EabCredential>> {
        partner::eab_credentials(&*self.conn()?, contract_id).map_err(err)
    }

    fn revoke_eab_credentials(&self, contract_id: Id, keep: Option<Id>) -> StoreResult<()> {
        partner::revoke_eab_credentials(&*self.conn()?, contract_id, keep).map_err(err)
    }

    fn find_eab(&self, kid: &str) -> StoreResult<Option<(EabCredential, AcmeContract)>> {
        partner::find_eab(&*self.conn()?, kid).map_err(err)
    }

    fn contract_orders(&self, contract_id: Id) -> StoreResult<Vec<OrderSummary>> {
        partner::contract_orders(&*self.conn()?, contract_id).map_err(err)
    }

    fn create_ncp_key(&self, key: &NewNcpKey, now: OffsetDateTime) -> StoreResult<Option<Id>> {
        self.write(|tx| ncp::create_key(tx, key, now))
    }

    fn find_ncp_key(&self, access_key: &str) -> StoreResult<Option<NcpKey>> {
        ncp::find_key(&*self.conn()?, access_key).map_err(err)
    }

    fn revoke_ncp_key(&self, access_key: &str, now: OffsetDateTime) -> StoreResult<bool> {
        self.write(|tx| ncp::revoke_key(tx, access_key, now))
    }

    fn certificate_groups(
        &self,
        scope: &Scope,
        query: &CertificateGroupQuery,
    ) -> StoreResult<CertificateGroupPage> {
        let mut conn = self.conn()?;
        // One read transaction: the total and the page come from the same snapshot.
        let tx = conn.transaction().map_err(err)?;
        ncp::certificate_groups(&tx, scope, query).map_err(err)
    }

    fn acme(&self) -> &dyn certkeep_core::acme::AcmeStore {
        self
    }
}

/// Loads the full order-info view of one order.
fn detail(conn: &Connection, scope: &Scope, order: &OrderRef) -> rusqlite::Result<Option<OrderDetail>> {
    let (lookup, key): (&str, rusqlite::types::Value) = match order {
        OrderRef::Id(id) => ("o.id = ?1", (*id).into()),
        // Two index lookups: with an OR, SQLite does not see that the partial indexes apply
        // and scans the account's orders.
        OrderRef::Fingerprint(f) => (
            "o.id IN (SELECT id FROM orders WHERE thumbprint = ?1 \
             UNION ALL SELECT id FROM orders WHERE serial_number = ?1)",
            f.to_uppercase().into(),
        ),
    };
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, o.renewed_order_id, o.auto_reissue, o.disable_issuance_email, \
         o.disable_ct, o.payment_method, o.origin, o.api_key_name, o.api_key_type, \
         o.alternative_order_id, o.organization_units, o.purchased_dns_names, o.public_id, \
         (SELECT max(r.id) FROM orders r WHERE r.renewed_order_id = o.id) \
         FROM orders o {SUMMARY_JOINS} WHERE {lookup} AND o.account_id = ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![key, scope.account_id])?;
    let Some(row) = rows.next()? else { return Ok(None) };
    let summary = rows::summary(row)?;
    if !scope.allows_container(summary.container.id) {
        return Ok(None);
    }
    let w = SUMMARY_WIDTH;
    let origin = rows::parsed(row, w + 5, certkeep_core::Origin::parse)?;
    let api_key_name: Option<String> = row.get(w + 6)?;
    let api_key_type: Option<String> = row.get(w + 7)?;
    let units: String = row.get(w + 9)?;
    let renewed_order_id = row.get(w)?;
    let auto_reissue = row.get(w + 1)?;
    let disable_issuance_email = row.get(w + 2)?;
    let disable_ct = row.get(w + 3)?;
    let payment_method = row.get(w + 4)?;
    let alternative_order_id = row.get(w + 8)?;
    let purchased_dns_names = row.get(w + 10)?;
    let public_id = row.get(w + 11)?;
    let was_renewed_by_order_id = row.get(w + 12)?;
    drop(rows);

    let certificate = conn
        .prepare_cached(&format!("SELECT {CERTIFICATE_COLUMNS} FROM {CERTIFICATE_FROM} WHERE x.id = ?"))?
        .query_row([summary.certificate.id], rows::certificate)?;
    let organization = match &summary.organization {
        Some((id, _)) => Some(
            conn.prepare_cached(&format!("{ORGANIZATION_SELECT} WHERE id = ?"))?
                .query_row([id], rows::organization)?,
        ),
        None => None,
    };
    let user = conn
        .prepare_cached("SELECT id, first_name, last_name, email FROM users WHERE id = ?")?
        .query_row([summary.user_id], |r| {
            Ok(certkeep_core::User {
                id: r.get(0)?,
                first_name: r.get(1)?,
                last_name: r.get(2)?,
                email: r.get(3)?,
            })
        })?;
    let requests = conn
        .prepare_cached(&format!("{REQUEST_SELECT} WHERE order_id = ? ORDER BY id"))?
        .query_map([summary.id], rows::request)?
        .collect::<rusqlite::Result<_>>()?;
    let custom_fields = conn
        .prepare_cached(
            "SELECT f.metadata_id, m.label, f.value FROM order_custom_fields f \
             JOIN custom_fields m ON m.id = f.metadata_id WHERE f.order_id = ? ORDER BY f.metadata_id",
        )?
        .query_map([summary.id], |r| {
            Ok(certkeep_core::CustomFieldValue { metadata_id: r.get(0)?, label: r.get(1)?, value: r.get(2)? })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(OrderDetail {
        technical_contact: organization.as_ref().map(|o: &certkeep_core::Organization| o.contact.clone()),
        certificate,
        organization,
        user,
        requests,
        custom_fields,
        renewed_order_id,
        was_renewed_by_order_id,
        auto_reissue,
        disable_issuance_email,
        disable_ct,
        payment_method,
        origin,
        api_key: api_key_name.zip(api_key_type),
        alternative_order_id,
        organization_units: rows::names(&units),
        purchased_dns_names,
        public_id,
        summary,
    }))
}

#[cfg(test)]
mod tests {
    use certkeep_core::{
        AccessRole, Contact, NewUser,
        lifecycle::{Actor, AuditEvent},
    };
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-06-01 0:00 UTC);

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        (dir, store)
    }

    fn version(store: &SqliteStore) -> usize {
        store.conn().unwrap().query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).unwrap() as usize
    }

    #[test]
    fn migrations_apply_once_even_when_processes_start_together() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || SqliteStore::open(&path).map(|s| version(&s)))
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap().unwrap(), schema::MIGRATIONS.len());
        }
        // Reopening changes nothing.
        assert_eq!(version(&SqliteStore::open(&path).unwrap()), schema::MIGRATIONS.len());
    }

    #[test]
    fn audit_events_are_append_only() {
        let (_dir, store) = store();
        let (account, _) = store.create_account("A", NOW).unwrap();
        let actor = Actor {
            user_id: 1,
            api_key_id: None,
            api_key: None,
            may_skip_approval: false,
            source: "t".into(),
        };
        store
            .transaction(&mut |tx| {
                tx.insert_audit(&AuditEvent {
                    account_id: account,
                    user_id: Some(actor.user_id),
                    api_key_id: None,
                    action: "test".into(),
                    object: "order:1".into(),
                    detail: String::new(),
                    source: actor.source.clone(),
                    at: NOW,
                })
                .map_err(Into::into)
            })
            .unwrap();
        let conn = store.conn().unwrap();
        assert!(conn.execute("UPDATE audit_events SET action = 'x'", []).is_err());
        assert!(conn.execute("DELETE FROM audit_events", []).is_err());
        let n: i64 = conn.query_row("SELECT count(*) FROM audit_events", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn a_failed_transaction_leaves_nothing_behind() {
        let (_dir, store) = store();
        let (account, root) = store.create_account("A", NOW).unwrap();
        let result = store.transaction(&mut |tx| {
            tx.insert_domain(&certkeep_core::lifecycle::NewDomain {
                account_id: account,
                container_id: root,
                organization_id: None,
                name: "example.com".into(),
                dcv_method: "email".into(),
                at: NOW,
            })?;
            Err(LifecycleError::Conflict("stop".into(), "rolled back".into()))
        });
        assert!(result.is_err());
        assert!(store.list_domains(&Scope { account_id: account, containers: None }).unwrap().is_empty());
    }

    #[test]
    fn container_scopes_cover_the_subtree() {
        let (_dir, store) = store();
        let (account, root) = store.create_account("A", NOW).unwrap();
        let child = |parent, name: &str| {
            store
                .create_container(&NewContainer {
                    account_id: account,
                    parent_id: Some(parent),
                    name: name.into(),
                    description: String::new(),
                })
                .unwrap()
        };
        let (a, b) = (child(root, "a"), child(root, "b"));
        let a1 = child(a, "a1");
        let user = store
            .create_user(
                &NewUser {
                    account_id: account,
                    container_id: a,
                    username: "u".into(),
                    contact: Contact::default(),
                    access_role: AccessRole::StandardUser,
                },
                NOW,
            )
            .unwrap();
        store
            .create_api_key(
                &NewApiKey { user_id: user, name: "k".into(), role: ApiKeyRole::Orders, key_hash: vec![7] },
                NOW,
            )
            .unwrap();
        let p = store.authenticate(&[7]).unwrap().unwrap();
        let mut seen = p.scope.containers.clone().unwrap();
        seen.sort();
        assert_eq!(seen, vec![a, a1]);
        assert!(!p.scope.allows_container(b) && !p.scope.allows_container(root));
        assert!(!p.may_skip_approval, "an orders key of a standard user needs approval");
        assert!(store.authenticate(&[8]).unwrap().is_none());
    }
}
