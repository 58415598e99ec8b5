//! Read-only queries behind the request, account, domain and PKI endpoints.

use certkeep_core::{
    AccessRole, Account, CertificateRecord, CertificateStatus, Container, ContainerNode, Domain, Id,
    OrderStatus, Organization, RequestDetail, RequestQuery, RequestRecord, Revocation, Scope, User,
    UserRecord, lifecycle::CertificateRef,
};
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter, types::Value};
use time::OffsetDateTime;

use super::rows::{
    self, CERTIFICATE_COLUMNS, CERTIFICATE_FROM, ORGANIZATION_SELECT, SUMMARY_COLUMNS, SUMMARY_JOINS,
};

/// `AND <column> IN (...)` for a container scope, with its parameters.
fn scope_clause(scope: &Scope, column: &str) -> (String, Vec<Value>) {
    match &scope.containers {
        None => (String::new(), vec![]),
        Some(ids) => (
            format!(" AND {column} IN ({})", vec!["?"; ids.len()].join(",")),
            ids.iter().map(|i| Value::Integer(*i)).collect(),
        ),
    }
}

pub fn find_certificate(
    conn: &Connection,
    scope: &Scope,
    r: &CertificateRef,
) -> rusqlite::Result<Option<(CertificateRecord, Option<Vec<u8>>)>> {
    let (lookup, key): (&str, Value) = match r {
        CertificateRef::Id(id) => ("x.id = ?", (*id).into()),
        CertificateRef::Serial(s) => ("x.serial_number = ?", s.to_uppercase().into()),
    };
    let (clause, scope_params) = scope_clause(scope, "o.container_id");
    let sql = format!(
        "SELECT x.der, {CERTIFICATE_COLUMNS} FROM {CERTIFICATE_FROM} JOIN orders o ON o.id = x.order_id \
         WHERE {lookup} AND x.account_id = ?{clause}"
    );
    let params = [key, Value::Integer(scope.account_id)].into_iter().chain(scope_params);
    conn.prepare_cached(&sql)?
        .query_row(params_from_iter(params), |row| Ok((rows::certificate_at(row, 1)?, row.get(0)?)))
        .optional()
}

const REQUEST_DETAIL: &str = "SELECT r.id, r.date, r.type, r.status, r.comments, u.id, u.first_name, u.last_name, \
     u.email, r.certificate_id, r.processor_comment";

fn request_detail(row: &Row) -> rusqlite::Result<RequestDetail> {
    Ok(RequestDetail {
        request: RequestRecord {
            id: row.get(0)?,
            date: rows::time_at(row, 1)?,
            request_type: rows::parsed(row, 2, certkeep_core::RequestType::parse)?,
            status: rows::parsed(row, 3, certkeep_core::RequestStatus::parse)?,
            comments: row.get(4)?,
        },
        requester: User {
            id: row.get(5)?,
            first_name: row.get(6)?,
            last_name: row.get(7)?,
            email: row.get(8)?,
        },
        certificate_id: row.get(9)?,
        processor_comment: row.get(10)?,
        order: rows::summary_at(row, 11)?,
    })
}

fn request_from(scope: &Scope) -> (String, Vec<Value>) {
    let (clause, params) = scope_clause(scope, "o.container_id");
    (
        format!(
            "FROM requests r JOIN users u ON u.id = r.user_id JOIN orders o ON o.id = r.order_id {SUMMARY_JOINS} \
             WHERE r.account_id = ?{clause}"
        ),
        std::iter::once(Value::Integer(scope.account_id)).chain(params).collect(),
    )
}

pub fn list_requests(
    conn: &Connection,
    scope: &Scope,
    q: &RequestQuery,
) -> rusqlite::Result<(u64, Vec<RequestDetail>)> {
    let (mut from, mut params) = request_from(scope);
    if !q.status.is_empty() {
        from.push_str(&format!(" AND r.status IN ({})", vec!["?"; q.status.len()].join(",")));
        params.extend(q.status.iter().map(|s| Value::Text(s.as_str().into())));
    }
    if !q.request_type.is_empty() {
        from.push_str(&format!(" AND r.type IN ({})", vec!["?"; q.request_type.len()].join(",")));
        params.extend(q.request_type.iter().map(|s| Value::Text(s.as_str().into())));
    }
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) {from}"))?
        .query_row(params_from_iter(&params), |r| r.get(0))?;
    let limit = q.limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
    let offset = i64::try_from(q.offset).unwrap_or(i64::MAX);
    let sql = format!("{REQUEST_DETAIL}, {SUMMARY_COLUMNS} {from} ORDER BY r.id LIMIT ? OFFSET ?");
    let page = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(params.into_iter().chain([limit.into(), offset.into()])), request_detail)?
        .collect::<rusqlite::Result<_>>()?;
    Ok((total.max(0) as u64, page))
}

pub fn find_request(conn: &Connection, scope: &Scope, id: Id) -> rusqlite::Result<Option<RequestDetail>> {
    let (from, params) = request_from(scope);
    let sql = format!("{REQUEST_DETAIL}, {SUMMARY_COLUMNS} {from} AND r.id = ?");
    conn.prepare_cached(&sql)?
        .query_row(params_from_iter(params.into_iter().chain([Value::Integer(id)])), request_detail)
        .optional()
}

pub fn account(conn: &Connection, id: Id) -> rusqlite::Result<Option<Account>> {
    conn.prepare_cached("SELECT id, name, created_at FROM accounts WHERE id = ?")?
        .query_row([id], |r| Ok(Account { id: r.get(0)?, name: r.get(1)?, created_at: rows::time_at(r, 2)? }))
        .optional()
}

pub fn list_organizations(conn: &Connection, scope: &Scope) -> rusqlite::Result<Vec<Organization>> {
    let (clause, params) = scope_clause(scope, "container_id");
    let sql = format!("{ORGANIZATION_SELECT} WHERE account_id = ?{clause} ORDER BY id");
    let params = std::iter::once(Value::Integer(scope.account_id)).chain(params);
    conn.prepare_cached(&sql)?.query_map(params_from_iter(params), rows::organization)?.collect()
}

pub fn list_containers(conn: &Connection, scope: &Scope) -> rusqlite::Result<Vec<ContainerNode>> {
    let (clause, params) = scope_clause(scope, "id");
    let sql = format!(
        "SELECT id, name, is_active, parent_id, description FROM containers WHERE account_id = ?{clause} ORDER BY id"
    );
    let params = std::iter::once(Value::Integer(scope.account_id)).chain(params);
    conn.prepare_cached(&sql)?
        .query_map(params_from_iter(params), |r| {
            Ok(ContainerNode {
                container: Container { id: r.get(0)?, name: r.get(1)?, is_active: r.get(2)? },
                parent_id: r.get(3)?,
                description: r.get(4)?,
            })
        })?
        .collect()
}

pub fn list_users(conn: &Connection, scope: &Scope) -> rusqlite::Result<Vec<UserRecord>> {
    let (clause, params) = scope_clause(scope, "u.container_id");
    let sql = format!(
        "SELECT u.id, u.first_name, u.last_name, u.email, u.username, c.id, c.name, c.is_active, u.access_role, \
         u.job_title, u.telephone FROM users u JOIN containers c ON c.id = u.container_id \
         WHERE u.account_id = ?{clause} ORDER BY u.id"
    );
    let params = std::iter::once(Value::Integer(scope.account_id)).chain(params);
    conn.prepare_cached(&sql)?
        .query_map(params_from_iter(params), |r| {
            Ok(UserRecord {
                user: User { id: r.get(0)?, first_name: r.get(1)?, last_name: r.get(2)?, email: r.get(3)? },
                username: r.get(4)?,
                container: Container { id: r.get(5)?, name: r.get(6)?, is_active: r.get(7)? },
                access_role: AccessRole::from_code(r.get(8)?).unwrap_or(AccessRole::StandardUser),
                job_title: r.get(9)?,
                telephone: r.get(10)?,
            })
        })?
        .collect()
}

pub fn list_domains(conn: &Connection, scope: &Scope) -> rusqlite::Result<Vec<Domain>> {
    let (clause, params) = scope_clause(scope, "container_id");
    let sql = format!(
        "SELECT id, name, container_id, organization_id, dcv_method, date_created, validated_at FROM domains \
         WHERE account_id = ?{clause} ORDER BY id"
    );
    let params = std::iter::once(Value::Integer(scope.account_id)).chain(params);
    conn.prepare_cached(&sql)?
        .query_map(params_from_iter(params), |r| {
            Ok(Domain {
                id: r.get(0)?,
                name: r.get(1)?,
                container_id: r.get(2)?,
                organization_id: r.get(3)?,
                dcv_method: r.get(4)?,
                date_created: rows::time_at(r, 5)?,
                validated_at: match r.get::<_, Option<i64>>(6)? {
                    Some(_) => Some(rows::time_at(r, 6)?),
                    None => None,
                },
            })
        })?
        .collect()
}

pub fn status_changes(
    conn: &Connection,
    scope: &Scope,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> rusqlite::Result<Vec<(Id, Id, OrderStatus)>> {
    let (clause, params) = scope_clause(scope, "container_id");
    let sql = format!(
        "SELECT id, certificate_id, status FROM orders WHERE account_id = ? AND status_updated_at >= ? \
         AND status_updated_at <= ?{clause} ORDER BY status_updated_at, id"
    );
    let params = [Value::Integer(scope.account_id), from.unix_timestamp().into(), to.unix_timestamp().into()]
        .into_iter()
        .chain(params);
    conn.prepare_cached(&sql)?
        .query_map(params_from_iter(params), |r| {
            Ok((
                r.get(0)?,
                r.get::<_, Option<Id>>(1)?.unwrap_or_default(),
                rows::parsed(r, 2, OrderStatus::parse)?,
            ))
        })?
        .collect()
}

fn revocation(row: &Row) -> rusqlite::Result<Revocation> {
    Ok(Revocation { serial_number: row.get(0)?, revoked_at: rows::time_at(row, 1)?, reason: row.get(2)? })
}

pub fn revocations(conn: &Connection) -> rusqlite::Result<Vec<Revocation>> {
    conn.prepare_cached(
        "SELECT serial_number, revoked_at, revocation_reason FROM certificates WHERE revoked_at IS NOT NULL \
         ORDER BY revoked_at, id",
    )?
    .query_map([], revocation)?
    .collect()
}

pub fn certificate_status(
    conn: &Connection,
    serial: &str,
) -> rusqlite::Result<Option<(CertificateStatus, Option<Revocation>)>> {
    conn.prepare_cached(
        "SELECT serial_number, revoked_at, revocation_reason, status FROM certificates WHERE serial_number = ?",
    )?
    .query_row(params![serial.to_uppercase()], |r| {
        let status = rows::parsed(r, 3, CertificateStatus::parse)?;
        let revoked = match r.get::<_, Option<i64>>(1)? {
            Some(_) => Some(revocation(r)?),
            None => None,
        };
        Ok((status, revoked))
    })
    .optional()
}
