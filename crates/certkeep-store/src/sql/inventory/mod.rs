//! The CertCentral inventory: accounts, containers, organizations, users and keys; orders with
//! their certificates and requests; domains; the lifecycle's transactions; revocation status.

pub(super) mod reads;
mod tx;
pub(super) mod writes;

use certkeep_core::{
    AccessRole, Account, ApiKeyRole, CertificateKind, CertificateRecord, CertificateStatus, ContainerNode,
    Domain, Id, InventoryStore, NewApiKey, NewContainer, NewOrder, NewOrganization, NewUser,
    OrderCertificates, OrderDetail, OrderFilter, OrderPage, OrderQuery, OrderRef, OrderStatus, OrderSummary,
    Organization, Principal, RequestDetail, RequestQuery, Revocation, Scope, Search, StoreError, StoreResult,
    UserRecord,
    lifecycle::{CertificateRef, LifecycleError, Transaction},
};
use time::OffsetDateTime;

use super::db::{self, Db, DbError, DbResult, Value, params, values};
use super::rows::{
    self, CERTIFICATE_COLUMNS, CERTIFICATE_FROM, ORGANIZATION_SELECT, REQUEST_SELECT, SUMMARY_COLUMNS,
    SUMMARY_JOINS, SUMMARY_WIDTH,
};
use super::{Engine, Mode, SqlStore, query};

impl<E: Engine> InventoryStore for SqlStore<E> {
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
            let scope = user_scope(db, found.4, found.5, found.6)?;
            Ok(Some((found, scope)))
        })?;
        let Some(((api_key_id, api_key_name, role, user_id, _, container_id, _, access), scope)) = found
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
            scope,
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

    fn count_expiring(
        &self,
        scope: Option<&Scope>,
        of: certkeep_core::ExpiryOf,
        edges: &[OffsetDateTime],
    ) -> StoreResult<Vec<certkeep_core::ExpiryCount>> {
        self.run(Mode::Read, |db| reads::count_expiring(db, scope, of, edges))
    }

    fn expiring_orders(
        &self,
        account_id: Option<Id>,
        from: OffsetDateTime,
        till: OffsetDateTime,
    ) -> StoreResult<Vec<(Id, OrderSummary)>> {
        self.run(Mode::Read, |db| reads::expiring_orders(db, account_id, from, till))
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
}

/// What a user in `container_id` (whose parent is `parent_id`) sees: the whole account from
/// its root container, else the subtree under their container.
pub(super) fn user_scope(
    db: &mut dyn Db,
    account_id: Id,
    container_id: Id,
    parent_id: Option<Id>,
) -> DbResult<Scope> {
    let containers = match parent_id {
        None => None,
        Some(_) => Some(container_subtree(db, container_id)?),
    };
    Ok(Scope { account_id, containers })
}

pub(super) fn container_subtree(db: &mut dyn Db, root: Id) -> DbResult<Vec<Id>> {
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
