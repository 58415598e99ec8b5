//! Everything both engines share: the [`Store`] and [`AcmeStore`](certkeep_core::acme::AcmeStore)
//! implementations, written once over the [`Db`] connection interface. An engine (SQLite,
//! PostgreSQL) only supplies connections, transactions and its schema.

mod acme;
mod audit;
pub mod copy;
pub mod db;
mod ncp;
mod partner;
pub mod query;
mod rate;
mod reads;
pub mod rows;
mod tx;
mod writes;

use certkeep_core::{
    AccessRole, Account, ApiKeyRole, CertificateGroupPage, CertificateGroupQuery, CertificateKind,
    CertificateRecord, CertificateStatus, ContainerNode, Domain, Id, NewApiKey, NewContainer, NewOrder,
    NewOrganization, NewUser, OrderCertificates, OrderDetail, OrderFilter, OrderPage, OrderQuery, OrderRef,
    OrderStatus, OrderSummary, Organization, Principal, RequestDetail, RequestQuery, Revocation, Scope,
    Search, Store, StoreError, StoreResult, UserRecord,
    lifecycle::{CertificateRef, LifecycleError, Transaction},
    ncp::{NcpAcmeAccount, NcpCertificateMeta, NcpKey, NewNcpKey},
    partner::{AcmeContract, EabCredential, PartnerPrincipal},
};
use time::OffsetDateTime;

use db::{Db, DbError, DbResult, Value, params, values};
use rows::{
    CERTIFICATE_COLUMNS, CERTIFICATE_FROM, ORGANIZATION_SELECT, REQUEST_SELECT, SUMMARY_COLUMNS,
    SUMMARY_JOINS, SUMMARY_WIDTH,
};

/// How a unit of work meets the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Statements on their own (each one atomic).
    Read,
    /// Several reads from one consistent snapshot.
    Snapshot,
    /// A write transaction, serializable with every other one (on any replica): committed when
    /// the work succeeds, rolled back when it fails.
    Write,
    /// A [`Mode::Write`] whose commit does not wait for the disk, for bookkeeping a client redoes
    /// if lost (ACME nonce uses and object states): SQLite commits it with `synchronous =
    /// NORMAL`, PostgreSQL with `synchronous_commit = off`. Both logs are written in order, so
    /// the next ordinary commit makes it durable too; a power loss before then forgets it, a
    /// crash of the process does not, and neither corrupts.
    Relaxed,
}

/// A database engine: hands out connections in the requested [`Mode`].
pub trait Engine: Send + Sync + 'static {
    /// Runs `work` on a connection. In [`Mode::Write`] an engine may run it again after a
    /// serialization failure, so `work` must not keep effects of a failed attempt.
    fn run(&self, mode: Mode, work: &mut dyn FnMut(&mut dyn Db) -> DbResult<()>) -> DbResult<()>;
}

/// The inventory in a SQL database: one implementation of [`Store`] for every engine.
pub struct SqlStore<E> {
    engine: E,
}

impl<E: Engine> SqlStore<E> {
    /// A store over an engine whose schema is up to date.
    pub(crate) fn new(engine: E) -> Self {
        Self { engine }
    }

    /// The engine.
    #[cfg(test)]
    pub(crate) fn engine(&self) -> &E {
        &self.engine
    }

    /// The engine, without the store around it.
    pub(crate) fn into_engine(self) -> E {
        self.engine
    }

    /// Runs `work` in `mode` and returns its result.
    pub(crate) fn run<T>(
        &self,
        mode: Mode,
        mut work: impl FnMut(&mut dyn Db) -> DbResult<T>,
    ) -> StoreResult<T> {
        let mut out = None;
        self.engine.run(mode, &mut |db| {
            out = Some(work(db)?);
            Ok(())
        })?;
        out.ok_or_else(|| StoreError("the engine did not run the work".into()))
    }
}

fn container_subtree(db: &mut dyn Db, root: Id) -> DbResult<Vec<Id>> {
    db.rows(
        "WITH RECURSIVE sub(id) AS (SELECT CAST(?1 AS BIGINT) UNION ALL \
         SELECT c.id FROM containers c JOIN sub ON c.parent_id = sub.id) SELECT id FROM sub",
        params![root],
        |r| r.get(0),
    )
}

/// Streams the summaries a query selects. With `total`, a page also counts every row the
/// filters match (`count(*) OVER ()` in the id pick), in the same pass, into `total`; it stays
/// `None` when the page is empty.
fn for_each_summary(
    db: &mut dyn Db,
    (scope, query, now): (&Scope, &OrderQuery, OffsetDateTime),
    mut total: Option<&mut Option<i64>>,
    sink: &mut dyn FnMut(OrderSummary) -> bool,
) -> DbResult<()> {
    let dialect = db.dialect();
    let mut cond = query::condition(scope, query, now, dialect);
    let order_by = query::order_by(query, dialect);
    // A page picks its ids first, from the indexes alone, and only then reads (and joins)
    // those rows: rows skipped by the offset or sorted away are never read.
    let sql = if query.limit.is_some() {
        let (count, counted) =
            if total.is_some() { (", count(*) OVER () AS total", ", page.total") } else { ("", "") };
        format!(
            "SELECT {SUMMARY_COLUMNS}{counted} FROM (SELECT o.id AS page_id{count} FROM orders o WHERE {} \
             ORDER BY {} LIMIT ? OFFSET ?) page CROSS JOIN orders o {SUMMARY_JOINS} \
             WHERE o.id = page.page_id ORDER BY {order_by}",
            cond.sql,
            query::pick_order_by(query, dialect)
        )
    } else {
        format!(
            "SELECT {SUMMARY_COLUMNS} FROM orders o {SUMMARY_JOINS} WHERE {} ORDER BY {order_by} LIMIT ? OFFSET ?",
            cond.sql
        )
    };
    cond.params.extend([db::limit(query.limit).into(), db::offset(query.offset).into()]);
    db.query(&sql, &values(&cond.params), &mut |row| {
        if let Some(total) = total.as_deref_mut() {
            *total = Some(row.get(SUMMARY_WIDTH)?);
        }
        Ok(sink(rows::summary(row)?))
    })
}

impl<E: Engine> Store for SqlStore<E> {
    fn ping(&self) -> StoreResult<()> {
        self.run(Mode::Read, |db| db.row("SELECT 1", params![], |_| Ok(())))
    }

    fn create_account(&self, name: &str, now: OffsetDateTime) -> StoreResult<(Id, Id)> {
        self.run(Mode::Write, |db| {
            let account = db.insert_one(
                "INSERT INTO accounts (name, created_at) VALUES (?, ?)",
                params![name, now.unix_timestamp()],
            )?;
            let root = db.insert_one(
                "INSERT INTO containers (account_id, name) VALUES (?, ?)",
                params![account, name],
            )?;
            Ok((account, root))
        })
    }

    fn create_container(&self, c: &NewContainer) -> StoreResult<Id> {
        self.run(Mode::Write, |db| {
            db.insert_one(
                "INSERT INTO containers (account_id, parent_id, name, description) VALUES (?, ?, ?, ?)",
                params![c.account_id, c.parent_id, c.name, c.description],
            )
        })
    }

    fn create_organization(&self, o: &NewOrganization) -> StoreResult<Id> {
        self.run(Mode::Write, |db| {
            db.insert_one(
                "INSERT INTO organizations (account_id, container_id, name, assumed_name, address, city, \
                 state, zip, country, telephone, contact_first_name, contact_last_name, contact_email, \
                 contact_job_title, contact_telephone, contact_telephone_extension, registration_number, \
                 business_category, jurisdiction_country) \
                 VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
                    o.registration.number,
                    o.registration.business_category,
                    o.registration.jurisdiction_country,
                ],
            )
        })
    }

    fn create_user(&self, u: &NewUser, now: OffsetDateTime) -> StoreResult<Id> {
        self.run(Mode::Write, |db| {
            db.insert_one(
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
            )
        })
    }

    fn create_api_key(&self, k: &NewApiKey, now: OffsetDateTime) -> StoreResult<Id> {
        self.run(Mode::Write, |db| {
            db.insert_one(
                "INSERT INTO api_keys (account_id, user_id, name, key_hash, role, created_at) \
                 SELECT account_id, id, ?, ?, ?, ? FROM users WHERE id = ?",
                params![k.name, k.key_hash, k.role.code(), now.unix_timestamp(), k.user_id],
            )
        })
    }

    fn create_custom_field(&self, account_id: Id, label: &str) -> StoreResult<Id> {
        self.run(Mode::Write, |db| {
            db.insert_one(
                "INSERT INTO custom_fields (account_id, label) VALUES (?, ?)",
                params![account_id, label],
            )
        })
    }

    fn authenticate(&self, key_hash: &[u8]) -> StoreResult<Option<Principal>> {
        let found = self.run(Mode::Snapshot, |db| {
            let Some(found) = db.row_opt(
                "SELECT k.id, k.name, k.role, k.user_id, u.account_id, u.container_id, c.parent_id, u.access_role \
                 FROM api_keys k JOIN users u ON u.id = k.user_id JOIN containers c ON c.id = u.container_id \
                 WHERE k.key_hash = ? AND k.revoked_at IS NULL",
                params![key_hash],
                |r| {
                    Ok((
                        r.get::<Id>(0)?,
                        r.get::<String>(1)?,
                        r.get::<i64>(2)?,
                        r.get::<Id>(3)?,
                        r.get::<Id>(4)?,
                        r.get::<Id>(5)?,
                        r.get::<Option<Id>>(6)?,
                        r.get::<i64>(7)?,
                    ))
                },
            )?
            else {
                return Ok(None);
            };
            let containers = match found.6 {
                None => None,
                Some(_) => Some(container_subtree(db, found.5)?),
            };
            Ok(Some((found, containers)))
        })?;
        let Some((
            (api_key_id, api_key_name, role, user_id, account_id, container_id, _, access),
            containers,
        )) = found
        else {
            return Ok(None);
        };
        let role =
            ApiKeyRole::from_code(role).ok_or_else(|| StoreError(format!("unknown key role {role}")))?;
        let access = AccessRole::from_code(access)
            .ok_or_else(|| StoreError(format!("unknown access role {access}")))?;
        Ok(Some(Principal {
            api_key_id,
            api_key_name,
            role,
            user_id,
            container_id,
            may_skip_approval: role.may_skip_approval(access),
            scope: Scope { account_id, containers },
            access_role: access,
        }))
    }

    fn transaction(
        &self,
        f: &mut dyn FnMut(&mut dyn Transaction) -> Result<(), LifecycleError>,
    ) -> Result<(), LifecycleError> {
        // The lifecycle's own error leaves the engine as `Aborted` (so that it rolls back) and
        // is handed back from here.
        let mut failure = None;
        let result = self.engine.run(Mode::Write, &mut |db| {
            failure = None;
            f(&mut tx::SqlTransaction(db)).map_err(|e| {
                failure = Some(e);
                DbError::Aborted
            })
        });
        match (result, failure) {
            (Ok(()), _) => Ok(()),
            (Err(DbError::Aborted), Some(e)) => Err(e),
            (Err(e), _) => Err(StoreError::from(e).into()),
        }
    }

    fn insert_orders(&self, orders: &[NewOrder]) -> StoreResult<Vec<Id>> {
        self.run(Mode::Write, |db| orders.iter().map(|o| writes::insert_order(db, o)).collect())
    }

    fn list_orders(&self, scope: &Scope, query: &OrderQuery, now: OffsetDateTime) -> StoreResult<OrderPage> {
        // A contains-search is the costly part of its query: match it once, counting in the
        // page's own pass, and count separately only when the page came back empty.
        let searching = query.limit.is_some()
            && query.filters.iter().any(|f| matches!(f, OrderFilter::Search(Search::Contains(_))));
        // One snapshot: the total and the page agree.
        self.run(Mode::Snapshot, |db| {
            let mut orders = Vec::new();
            let mut total = None;
            for_each_summary(db, (scope, query, now), searching.then_some(&mut total), &mut |o| {
                orders.push(o);
                true
            })?;
            let total = match total {
                Some(n) => n,
                None => {
                    let (sql, params) = match query::counted(scope, query) {
                        Some(c) => (
                            format!(
                                "SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM order_counts WHERE {}",
                                c.sql
                            ),
                            c.params,
                        ),
                        None => {
                            let c = query::condition(scope, query, now, db.dialect());
                            (format!("SELECT count(*) FROM orders o WHERE {}", c.sql), c.params)
                        }
                    };
                    db.row(&sql, &values(&params), |r| r.get(0))?
                }
            };
            Ok(OrderPage { total: total.max(0) as u64, orders })
        })
    }

    fn export_orders(
        &self,
        scope: &Scope,
        query: &OrderQuery,
        now: OffsetDateTime,
        sink: &mut dyn FnMut(&OrderSummary) -> bool,
    ) -> StoreResult<()> {
        self.run(Mode::Snapshot, |db| for_each_summary(db, (scope, query, now), None, &mut |o| sink(&o)))
    }

    fn find_order(&self, scope: &Scope, order: &OrderRef) -> StoreResult<Option<OrderDetail>> {
        self.run(Mode::Snapshot, |db| detail(db, scope, order))
    }

    fn order_certificates(
        &self,
        scope: &Scope,
        order_id: Id,
        kind: CertificateKind,
        include_archived: bool,
    ) -> StoreResult<Option<OrderCertificates>> {
        self.run(Mode::Snapshot, |db| {
            let order: Option<(Id, String)> = db.row_opt(
                "SELECT container_id, public_id FROM orders WHERE id = ? AND account_id = ?",
                params![order_id, scope.account_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let Some((_, public_id)) = order.filter(|(container, _)| scope.allows_container(*container))
            else {
                return Ok(None);
            };
            let sql = format!(
                "SELECT {CERTIFICATE_COLUMNS} FROM {CERTIFICATE_FROM} WHERE x.order_id = ? AND x.kind = ? \
                 AND (? OR x.archived = FALSE) ORDER BY x.id"
            );
            let certificates =
                db.rows(&sql, params![order_id, kind.as_str(), include_archived], rows::certificate)?;
            Ok(Some(OrderCertificates { public_id, certificates }))
        })
    }

    fn find_certificate(
        &self,
        scope: &Scope,
        certificate: &CertificateRef,
    ) -> StoreResult<Option<(CertificateRecord, Option<Vec<u8>>)>> {
        self.run(Mode::Read, |db| reads::find_certificate(db, scope, certificate))
    }

    fn list_requests(&self, scope: &Scope, query: &RequestQuery) -> StoreResult<(u64, Vec<RequestDetail>)> {
        self.run(Mode::Snapshot, |db| reads::list_requests(db, scope, query))
    }

    fn find_request(&self, scope: &Scope, id: Id) -> StoreResult<Option<RequestDetail>> {
        self.run(Mode::Read, |db| reads::find_request(db, scope, id))
    }

    fn account(&self, account_id: Id) -> StoreResult<Option<Account>> {
        self.run(Mode::Read, |db| reads::account(db, account_id))
    }

    fn list_organizations(&self, scope: &Scope) -> StoreResult<Vec<Organization>> {
        self.run(Mode::Read, |db| reads::list_organizations(db, scope))
    }

    fn list_containers(&self, scope: &Scope) -> StoreResult<Vec<ContainerNode>> {
        self.run(Mode::Read, |db| reads::list_containers(db, scope))
    }

    fn list_users(&self, scope: &Scope) -> StoreResult<Vec<UserRecord>> {
        self.run(Mode::Read, |db| reads::list_users(db, scope))
    }

    fn list_domains(&self, scope: &Scope) -> StoreResult<Vec<Domain>> {
        self.run(Mode::Read, |db| reads::list_domains(db, scope))
    }

    fn status_changes(
        &self,
        scope: &Scope,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> StoreResult<Vec<(Id, Id, OrderStatus)>> {
        self.run(Mode::Read, |db| reads::status_changes(db, scope, from, to))
    }

    fn revocations(&self) -> StoreResult<Vec<Revocation>> {
        self.run(Mode::Read, |db| reads::revocations(db))
    }

    fn certificate_status(
        &self,
        serial: &str,
    ) -> StoreResult<Option<(CertificateStatus, Option<Revocation>)>> {
        self.run(Mode::Read, |db| reads::certificate_status(db, serial))
    }

    fn create_partner_key(&self, account_id: Id, key_hash: &[u8], now: OffsetDateTime) -> StoreResult<Id> {
        self.run(Mode::Read, |db| partner::create_partner_key(db, account_id, key_hash, now))
    }

    fn authenticate_partner(&self, key_hash: &[u8]) -> StoreResult<Option<PartnerPrincipal>> {
        self.run(Mode::Read, |db| partner::authenticate_partner(db, key_hash))
    }

    fn link_subaccount(&self, parent: Id, child: Id) -> StoreResult<()> {
        self.run(Mode::Read, |db| partner::link_subaccount(db, parent, child))
    }

    fn subaccounts(&self, parent: Id) -> StoreResult<Vec<Account>> {
        self.run(Mode::Read, |db| partner::subaccounts(db, parent))
    }

    fn create_contract(
        &self,
        contract: &AcmeContract,
        kid: &str,
        sealed_hmac_key: &[u8],
        now: OffsetDateTime,
    ) -> StoreResult<(Id, Id)> {
        self.run(Mode::Write, |db| partner::create_contract_with_eab(db, contract, kid, sealed_hmac_key, now))
    }

    fn contract(&self, account_id: Option<Id>, id: Id) -> StoreResult<Option<AcmeContract>> {
        self.run(Mode::Read, |db| partner::contract_by_id(db, account_id, id))
    }

    fn contracts(&self, account_id: Id) -> StoreResult<Vec<AcmeContract>> {
        self.run(Mode::Read, |db| partner::contracts(db, account_id))
    }

    fn update_contract(&self, contract: &AcmeContract) -> StoreResult<()> {
        self.run(Mode::Read, |db| partner::update_contract(db, contract))
    }

    fn create_eab(
        &self,
        contract_id: Id,
        kid: &str,
        hmac_key: &[u8],
        now: OffsetDateTime,
    ) -> StoreResult<Id> {
        self.run(Mode::Read, |db| partner::create_eab(db, contract_id, kid, hmac_key, now))
    }

    fn eab_credentials(&self, contract_id: Id) -> StoreResult<Vec<EabCredential>> {
        self.run(Mode::Read, |db| partner::eab_credentials(db, contract_id))
    }

    fn revoke_eab_credentials(&self, contract_id: Id, keep: Option<Id>) -> StoreResult<()> {
        self.run(Mode::Read, |db| partner::revoke_eab_credentials(db, contract_id, keep))
    }

    fn find_eab(&self, kid: &str) -> StoreResult<Option<(EabCredential, AcmeContract)>> {
        self.run(Mode::Read, |db| partner::find_eab(db, kid))
    }

    fn contract_orders(&self, contract_id: Id) -> StoreResult<Vec<OrderSummary>> {
        self.run(Mode::Read, |db| partner::contract_orders(db, contract_id))
    }

    fn create_ncp_key(&self, key: &NewNcpKey, now: OffsetDateTime) -> StoreResult<Option<Id>> {
        self.run(Mode::Write, |db| ncp::create_key(db, key, now))
    }

    fn find_ncp_key(&self, access_key: &str) -> StoreResult<Option<NcpKey>> {
        self.run(Mode::Read, |db| ncp::find_key(db, access_key))
    }

    fn revoke_ncp_key(&self, access_key: &str, now: OffsetDateTime) -> StoreResult<bool> {
        self.run(Mode::Write, |db| ncp::revoke_key(db, access_key, now))
    }

    fn certificate_groups(
        &self,
        scope: &Scope,
        query: &CertificateGroupQuery,
    ) -> StoreResult<CertificateGroupPage> {
        // One snapshot: the total and the page agree.
        self.run(Mode::Snapshot, |db| ncp::certificate_groups(db, scope, query))
    }

    fn acme(&self) -> &dyn certkeep_core::acme::AcmeStore {
        self
    }

    fn ncp_certificate_meta(&self, account_id: Id) -> StoreResult<Vec<NcpCertificateMeta>> {
        self.run(Mode::Read, |db| ncp::certificate_meta(db, account_id))
    }

    fn save_ncp_certificate_meta(&self, meta: &NcpCertificateMeta) -> StoreResult<bool> {
        self.run(Mode::Write, |db| ncp::save_certificate_meta(db, meta))
    }

    fn create_ncp_acme_account(
        &self,
        contract: &AcmeContract,
        kid: &str,
        sealed_hmac_key: &[u8],
        account: &NcpAcmeAccount,
        now: OffsetDateTime,
    ) -> StoreResult<Id> {
        self.run(Mode::Write, |db| {
            ncp::create_acme_account_with_eab(db, contract, kid, sealed_hmac_key, account, now)
        })
    }

    fn import_ncp_external_certificate(
        &self,
        scope: &Scope,
        order: &NewOrder,
        issuer: &str,
        name: &str,
        chain_pem: Option<&str>,
        seal_private_key: &dyn Fn(Id) -> Vec<u8>,
    ) -> StoreResult<certkeep_core::ncp::ExternalImport> {
        self.run(Mode::Write, |db| {
            ncp::import_external(db, scope, order, issuer, name, chain_pem, seal_private_key)
        })
    }

    fn ncp_acme_accounts(&self, account_id: Id) -> StoreResult<Vec<NcpAcmeAccount>> {
        self.run(Mode::Read, |db| ncp::acme_accounts(db, account_id))
    }

    fn count_request(&self, caller: &str, limits: &[(u32, u64)], now: OffsetDateTime) -> StoreResult<bool> {
        let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        self.run(Mode::Write, |db| rate::count_request(db, caller, limits, now_ms))
    }

    fn seal_clear_eab_keys(&self, seal: &dyn Fn(&str, &[u8]) -> Vec<u8>) -> StoreResult<u64> {
        self.run(Mode::Write, |db| partner::seal_clear_eab_keys(db, seal))
    }

    fn reseal_secrets(
        &self,
        reseal: &dyn Fn(certkeep_core::seal::SealedSecret<'_>) -> Option<Vec<u8>>,
    ) -> StoreResult<u64> {
        self.run(Mode::Write, |db| ncp::reseal_secrets(db, reseal))
    }

    fn record_audit(&self, event: &certkeep_core::lifecycle::AuditEvent) -> StoreResult<()> {
        self.run(Mode::Write, |db| audit::insert(db, event))
    }

    fn audit_events(
        &self,
        account_id: Option<Id>,
        query: &certkeep_core::audit::AuditQuery,
    ) -> StoreResult<certkeep_core::audit::AuditPage> {
        self.run(Mode::Snapshot, |db| audit::events(db, account_id, query))
    }
}

/// Loads the full order-info view of one order.
fn detail(db: &mut dyn Db, scope: &Scope, order: &OrderRef) -> DbResult<Option<OrderDetail>> {
    let (lookup, key): (&str, Value) = match order {
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
    let w = SUMMARY_WIDTH;
    let head = db.row_opt(&sql, params![key, scope.account_id], |row| {
        Ok((
            rows::summary(row)?,
            rows::parsed(row, w + 5, certkeep_core::Origin::parse)?,
            row.get::<Option<String>>(w + 6)?.zip(row.get::<Option<String>>(w + 7)?),
            row.get::<String>(w + 9)?,
            (row.get(w)?, row.get(w + 1)?, row.get(w + 2)?, row.get(w + 3)?, row.get(w + 4)?),
            (row.get(w + 8)?, row.get(w + 10)?, row.get(w + 11)?, row.get(w + 12)?),
        ))
    })?;
    let Some((summary, origin, api_key, units, flags, more)) = head else { return Ok(None) };
    if !scope.allows_container(summary.container.id) {
        return Ok(None);
    }
    let (renewed_order_id, auto_reissue, disable_issuance_email, disable_ct, payment_method) = flags;
    let (alternative_order_id, purchased_dns_names, public_id, was_renewed_by_order_id) = more;

    let certificate = db.row(
        &format!("SELECT {CERTIFICATE_COLUMNS} FROM {CERTIFICATE_FROM} WHERE x.id = ?"),
        params![summary.certificate.id],
        rows::certificate,
    )?;
    let organization = match &summary.organization {
        Some((id, _)) => {
            Some(db.row(&format!("{ORGANIZATION_SELECT} WHERE id = ?"), params![id], rows::organization)?)
        }
        None => None,
    };
    let user = db.row(
        "SELECT id, first_name, last_name, email FROM users WHERE id = ?",
        params![summary.user_id],
        |r| {
            Ok(certkeep_core::User {
                id: r.get(0)?,
                first_name: r.get(1)?,
                last_name: r.get(2)?,
                email: r.get(3)?,
            })
        },
    )?;
    let requests = db.rows(
        &format!("{REQUEST_SELECT} WHERE order_id = ? ORDER BY id"),
        params![summary.id],
        rows::request,
    )?;
    let custom_fields = db.rows(
        "SELECT f.metadata_id, m.label, f.value FROM order_custom_fields f \
         JOIN custom_fields m ON m.id = f.metadata_id WHERE f.order_id = ? ORDER BY f.metadata_id",
        params![summary.id],
        |r| {
            Ok(certkeep_core::CustomFieldValue { metadata_id: r.get(0)?, label: r.get(1)?, value: r.get(2)? })
        },
    )?;
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
        api_key,
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

    /// Runs each named test on a fresh SQLite store and, when CERTKEEP_TEST_POSTGRES_URL names
    /// a server, on a fresh PostgreSQL database.
    macro_rules! on_both_engines {
        ($($name:ident),*) => {
            mod on_sqlite {$(
                #[test]
                fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    super::$name(&crate::SqliteStore::open(&dir.path().join("t.db")).unwrap());
                }
            )*}
            mod on_postgres {$(
                #[test]
                fn $name() {
                    if let Some(store) = crate::postgres::scratch_store() {
                        super::$name(&store);
                    }
                }
            )*}
        };
    }

    on_both_engines!(
        copy_covers_every_table,
        copy_moves_every_row_and_refuses_a_full_target,
        audit_events_are_append_only,
        a_failed_transaction_leaves_nothing_behind,
        a_domain_keeps_its_dcv_state_and_counts_only_for_its_account,
        a_panicking_transaction_leaves_nothing_behind,
        request_counts_slide_and_spare_other_callers,
        container_scopes_cover_the_subtree,
        refused_writes_are_logged_and_read_back_per_account_newest_first,
        eab_keys_stored_in_clear_by_older_versions_are_sealed_once,
        an_ncp_acme_account_is_created_whole_or_not_at_all,
        every_sealed_value_is_resealed_in_one_transaction_or_none_is
    );

    /// An account with an administrator, and a contract for it (not yet stored: `id` 0).
    fn account_with_contract<E: Engine>(store: &SqlStore<E>) -> (Id, AcmeContract) {
        let (account, root) = store.create_account("a", NOW).unwrap();
        let user = NewUser {
            account_id: account,
            container_id: root,
            username: "u".into(),
            contact: Contact::default(),
            access_role: AccessRole::Administrator,
        };
        let user_id = store.create_user(&user, NOW).unwrap();
        let contract = AcmeContract {
            id: 0,
            account_id: account,
            container_id: root,
            user_id,
            product_name_id: "ssl_dv_geotrust".into(),
            sans: vec!["example.com".into()],
            organization_id: None,
            auto_renew: false,
            created_at: NOW,
            valid_till: NOW,
            date_canceled: None,
        };
        (account, contract)
    }

    fn an_ncp_acme_account_is_created_whole_or_not_at_all<E: Engine>(store: &SqlStore<E>) {
        let (account, contract) = account_with_contract(store);
        let ncp = NcpAcmeAccount {
            contract_id: 0,
            account_id: account,
            alias: "one".into(),
            validation_mode: "DNS01".into(),
            validity_days: 90,
        };
        let id = store.create_ncp_acme_account(&contract, "kid", b"sealed", &ncp, NOW).unwrap();
        let (credential, bound) = store.find_eab("kid").unwrap().unwrap();
        assert_eq!((credential.sealed_hmac_key.as_slice(), bound.id), (&b"sealed"[..], id));
        assert_eq!(
            store.ncp_acme_accounts(account).unwrap(),
            [NcpAcmeAccount { contract_id: id, ..ncp.clone() }]
        );
        // The credential fails (its key id is taken): no contract or NCP record is left behind.
        let again = NcpAcmeAccount { alias: "two".into(), ..ncp };
        assert!(store.create_ncp_acme_account(&contract, "kid", b"other", &again, NOW).is_err());
        assert_eq!(store.contracts(account).unwrap().len(), 1);
        assert_eq!(store.ncp_acme_accounts(account).unwrap().len(), 1);
        // The same for a Partner contract and its first credential.
        assert!(store.create_contract(&contract, "kid", b"other", NOW).is_err());
        assert_eq!(store.contracts(account).unwrap().len(), 1);
    }

    fn every_sealed_value_is_resealed_in_one_transaction_or_none_is<E: Engine>(store: &SqlStore<E>) {
        use certkeep_core::{ncp::NewNcpKey, seal::SealedSecret};
        let (account, _) = store.create_account("a", NOW).unwrap();
        for (access_key, sealed) in [("AK1", b"one".to_vec()), ("AK2", b"two".to_vec())] {
            let key = NewNcpKey { account_id: account, access_key: access_key.into(), sealed_secret: sealed };
            store.create_ncp_key(&key, NOW).unwrap().unwrap();
        }
        let sealed = |access_key: &str| store.find_ncp_key(access_key).unwrap().unwrap().sealed_secret;
        let bound = |secret: SealedSecret<'_>| match secret {
            SealedSecret::NcpSecretKey { access_key, sealed } => {
                Some([sealed, b"@", access_key.as_bytes()].concat())
            }
            _ => None,
        };
        assert_eq!(store.reseal_secrets(&bound).unwrap(), 2);
        assert_eq!((sealed("AK1"), sealed("AK2")), (b"one@AK1".to_vec(), b"two@AK2".to_vec()));
        // One value that does not open: the error names it, and the other is not resealed.
        let refuse_ak2 = |secret: SealedSecret<'_>| match secret {
            SealedSecret::NcpSecretKey { access_key: "AK2", .. } => None,
            other => Some([other.sealed(), b"+"].concat()),
        };
        let error = store.reseal_secrets(&refuse_ak2).unwrap_err().to_string();
        assert!(error.contains("the secret of NCP access key AK2 does not open"), "{error}");
        assert_eq!((sealed("AK1"), sealed("AK2")), (b"one@AK1".to_vec(), b"two@AK2".to_vec()));
    }

    fn refused_writes_are_logged_and_read_back_per_account_newest_first<E: Engine>(store: &SqlStore<E>) {
        use certkeep_core::audit::AuditQuery;
        let (account, _) = store.create_account("A", NOW).unwrap();
        let event = |account_id, at| AuditEvent {
            account_id,
            user_id: None,
            api_key_id: None,
            action: "auth.refused".into(),
            object: "POST /x".into(),
            detail: "invalid key".into(),
            source: "192.0.2.1".into(),
            at,
            refused: true,
        };
        store.record_audit(&event(Some(account), NOW)).unwrap();
        store.record_audit(&event(None, NOW + time::Duration::hours(1))).unwrap();
        let all = store.audit_events(None, &AuditQuery { limit: 10, ..Default::default() }).unwrap();
        assert_eq!(all.total, 2);
        assert_eq!(all.records[0].event, event(None, NOW + time::Duration::hours(1)), "newest first");
        let mine =
            store.audit_events(Some(account), &AuditQuery { limit: 10, ..Default::default() }).unwrap();
        assert_eq!((mine.total, mine.records[0].event.clone()), (1, event(Some(account), NOW)));
        let since = AuditQuery { since: Some(NOW + time::Duration::minutes(1)), limit: 10, offset: 0 };
        assert_eq!(store.audit_events(None, &since).unwrap().total, 1);
        let paged = store.audit_events(None, &AuditQuery { limit: 1, offset: 1, since: None }).unwrap();
        assert_eq!((paged.total, paged.records.len(), paged.records[0].id), (2, 1, all.records[1].id));
    }

    fn eab_keys_stored_in_clear_by_older_versions_are_sealed_once<E: Engine>(store: &SqlStore<E>) {
        let (_, contract) = account_with_contract(store);
        let (contract_id, _) = store.create_contract(&contract, "new", b"sealed-by-caller", NOW).unwrap();
        // A row as the migration leaves those written before sealing: `sealed` defaults to false.
        store
            .run(Mode::Write, |db| {
                db.execute(
                    "INSERT INTO eab_credentials (contract_id, kid, hmac_key, active, created_at) \
                     VALUES (?, 'old', ?, TRUE, 0)",
                    params![contract_id, vec![1u8, 2]],
                )
            })
            .unwrap();
        let seal = |kid: &str, key: &[u8]| [kid.as_bytes(), b":", key].concat();
        assert_eq!(store.seal_clear_eab_keys(&seal).unwrap(), 1);
        assert_eq!(store.find_eab("old").unwrap().unwrap().0.sealed_hmac_key, b"old:\x01\x02");
        assert_eq!(store.find_eab("new").unwrap().unwrap().0.sealed_hmac_key, b"sealed-by-caller");
        assert_eq!(store.seal_clear_eab_keys(&seal).unwrap(), 0, "sealed once");
    }

    fn audit_events_are_append_only<E: Engine>(store: &SqlStore<E>) {
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
                    account_id: Some(account),
                    user_id: Some(actor.user_id),
                    api_key_id: None,
                    action: "test".into(),
                    object: "order:1".into(),
                    detail: String::new(),
                    source: actor.source.clone(),
                    at: NOW,
                    refused: false,
                })
                .map_err(Into::into)
            })
            .unwrap();
        let execute = |sql: &str| store.run(Mode::Read, |db| db.execute(sql, params![]));
        assert!(execute("UPDATE audit_events SET action = 'x'").is_err());
        assert!(execute("DELETE FROM audit_events").is_err());
        let n: i64 = store
            .run(Mode::Read, |db| db.row("SELECT count(*) FROM audit_events", params![], |r| r.get(0)))
            .unwrap();
        assert_eq!(n, 1);
    }

    fn a_domain_keeps_its_dcv_state_and_counts_only_for_its_account<E: Engine>(store: &SqlStore<E>) {
        use certkeep_core::dcv::{DcvMethod, DcvToken};
        let (a, a_root) = store.create_account("A", NOW).unwrap();
        let (b, b_root) = store.create_account("B", NOW).unwrap();
        let token = DcvToken::generate(NOW);
        let since = NOW - time::Duration::days(1);
        let mut checked = None;
        store
            .transaction(&mut |tx| {
                let new =
                    |account_id, container_id, method, validated_at| certkeep_core::lifecycle::NewDomain {
                        account_id,
                        container_id,
                        organization_id: None,
                        name: "example.com".into(),
                        dcv_method: method,
                        dcv_token: Some(token.clone()),
                        at: NOW,
                        validated_at,
                    };
                let id = tx.insert_domain(&new(a, a_root, DcvMethod::HttpToken, None))?.unwrap();
                assert!(!tx.domain_validated(a, "example.com", since, false)?);
                tx.set_domain_validated(id, DcvMethod::HttpToken, NOW)?;
                // http-token shows control of the exact name only.
                assert!(tx.domain_validated(a, "example.com", since, false)?);
                assert!(!tx.domain_validated(a, "example.com", since, true)?);
                tx.set_domain_dcv(id, DcvMethod::DnsTxtToken, None)?;
                assert!(tx.domain_validated(a, "example.com", since, true)?);
                // Another account registering the same name has its own, pending, domain.
                tx.insert_domain(&new(b, b_root, DcvMethod::DnsTxtToken, None))?.unwrap();
                assert!(!tx.domain_validated(b, "example.com", since, false)?);
                assert!(tx.domain(b, id)?.is_none());
                checked = tx.domain_named(a, "example.com")?;
                Ok(())
            })
            .unwrap();
        let d = checked.unwrap();
        assert_eq!((d.dcv_method, d.dcv_token, d.validated_at), (DcvMethod::DnsTxtToken, None, Some(NOW)));
        let listed = store.list_domains(&Scope { account_id: b, containers: None }).unwrap();
        assert_eq!((listed.len(), listed[0].dcv_token.as_ref()), (1, Some(&token)));
        assert_eq!(listed[0].validated_at, None);
    }

    fn a_failed_transaction_leaves_nothing_behind<E: Engine>(store: &SqlStore<E>) {
        let (account, root) = store.create_account("A", NOW).unwrap();
        let result = store.transaction(&mut |tx| {
            tx.insert_domain(&certkeep_core::lifecycle::NewDomain {
                account_id: account,
                container_id: root,
                organization_id: None,
                name: "example.com".into(),
                dcv_method: certkeep_core::dcv::DcvMethod::Email,
                dcv_token: None,
                at: NOW,
                validated_at: None,
            })?;
            Err(LifecycleError::Conflict("stop".into(), "rolled back".into()))
        });
        assert!(result.is_err());
        assert!(store.list_domains(&Scope { account_id: account, containers: None }).unwrap().is_empty());
    }

    fn container_scopes_cover_the_subtree<E: Engine>(store: &SqlStore<E>) {
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

    fn copy_covers_every_table<E: Engine>(store: &SqlStore<E>) {
        let sql = match store.run(Mode::Read, |db| Ok(db.dialect())).unwrap() {
            db::Dialect::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                 AND name NOT LIKE 'orders_search%' AND name <> 'order_counts'"
            }
            db::Dialect::Postgres => {
                "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = current_schema() \
                 AND table_name NOT IN ('schema_version', 'order_counts')"
            }
        };
        let mut tables: Vec<String> =
            store.run(Mode::Read, |db| db.rows(sql, params![], |r| r.get(0))).unwrap();
        tables.sort();
        let mut listed: Vec<String> = copy::TABLES.iter().map(|t| t.to_string()).collect();
        listed.sort();
        assert_eq!(tables, listed, "a table is missing from copy::TABLES");
    }

    fn copy_moves_every_row_and_refuses_a_full_target<E: Engine>(source: &SqlStore<E>) {
        // A subaccount made before its parent: the copy must not trip over the reference.
        let (child, _) = source.create_account("Child", NOW).unwrap();
        let (parent, root) = source.create_account("Parent", NOW).unwrap();
        source.link_subaccount(parent, child).unwrap();
        let user = source
            .create_user(
                &NewUser {
                    account_id: parent,
                    container_id: root,
                    username: "u".into(),
                    contact: Contact::default(),
                    access_role: AccessRole::Administrator,
                },
                NOW,
            )
            .unwrap();
        source
            .create_api_key(
                &NewApiKey {
                    user_id: user,
                    name: "k".into(),
                    role: ApiKeyRole::Inherit,
                    key_hash: vec![1, 2],
                },
                NOW,
            )
            .unwrap();
        assert!(source.acme().use_nonce("n1", NOW + time::Duration::hours(1), NOW).unwrap());

        let dir = tempfile::tempdir().unwrap();
        let target = crate::SqliteStore::open(&dir.path().join("copy.db")).unwrap();
        let report = copy::copy(source.engine(), target.engine()).unwrap();
        let rows = |table: &str| report.iter().find(|s| s.table == table).unwrap().rows;
        assert_eq!((rows("accounts"), rows("users"), rows("api_keys"), rows("acme_nonces")), (2, 1, 1, 1));
        assert_eq!(target.subaccounts(parent).unwrap().len(), 1);
        assert!(target.authenticate(&[1, 2]).unwrap().is_some());
        // A nonce used before the copy stays used.
        assert!(!target.acme().use_nonce("n1", NOW + time::Duration::hours(1), NOW).unwrap());
        // New rows get new ids.
        let (next, _) = target.create_account("Next", NOW).unwrap();
        assert!(next > parent);
        let again = copy::copy(source.engine(), target.engine()).unwrap_err();
        assert!(again.to_string().contains("not empty"), "{again}");
    }

    fn a_panicking_transaction_leaves_nothing_behind<E: Engine>(store: &SqlStore<E>) {
        let (account, root) = store.create_account("A", NOW).unwrap();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.transaction(&mut |tx| {
                tx.insert_domain(&certkeep_core::lifecycle::NewDomain {
                    account_id: account,
                    container_id: root,
                    organization_id: None,
                    name: "example.com".into(),
                    dcv_method: certkeep_core::dcv::DcvMethod::Email,
                    dcv_token: None,
                    at: NOW,
                    validated_at: None,
                })?;
                panic!("a bug in the middle of a transaction")
            })
        }));
        assert!(panicked.is_err());
        // The connection went back to the pool outside any transaction: work after it commits.
        store.create_account("B", NOW).unwrap();
        let scope = Scope { account_id: account, containers: None };
        for _ in 0..3 {
            assert!(store.list_domains(&scope).unwrap().is_empty());
        }
    }

    fn request_counts_slide_and_spare_other_callers<E: Engine>(store: &SqlStore<E>) {
        let limits = [(3, 10)];
        let count = |caller: &str, secs: i64| {
            store.count_request(caller, &limits, NOW + time::Duration::seconds(secs))
        };
        assert!((0..3).all(|_| count("a", 1).unwrap()));
        assert!(!count("a", 1).unwrap());
        assert!(count("b", 1).unwrap());
        // Halfway through the next window half of the previous window still counts.
        assert!(count("a", 15).unwrap());
        assert!(!count("a", 15).unwrap());
        // Two windows later everything is forgotten.
        assert!((0..3).all(|_| count("a", 40).unwrap()));
    }
}
