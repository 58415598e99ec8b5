//! Read-only queries behind the request, account, domain and PKI endpoints.

use certkeep_core::{
    AccessRole, Account, CertificateRecord, CertificateStatus, Container, ContainerNode, Domain, Id,
    OrderStatus, Organization, RequestDetail, RequestQuery, RequestRecord, Revocation, Scope, User,
    UserRecord, lifecycle::CertificateRef, ncp::EXTERNAL_PRODUCT,
};
use time::OffsetDateTime;

use crate::sql::db::{Db, DbResult, Row, Value, limit, offset, params, values};
use crate::sql::query::Condition;
use crate::sql::rows::{
    self, CERTIFICATE_COLUMNS, CERTIFICATE_FROM, ORGANIZATION_SELECT, SUMMARY_COLUMNS, SUMMARY_JOINS,
};

pub fn find_certificate(
    db: &mut dyn Db,
    scope: &Scope,
    r: &CertificateRef,
) -> DbResult<Option<(CertificateRecord, Option<Vec<u8>>)>> {
    let (lookup, key): (&str, Value) = match r {
        CertificateRef::Id(id) => ("x.id = ?", (*id).into()),
        CertificateRef::Serial(s) => ("x.serial_number = ?", s.to_uppercase().into()),
    };
    let mut c = Condition::scope_of(scope, "x.account_id", "o.container_id");
    c.push(lookup, [key]);
    let sql = format!(
        "SELECT x.der, {CERTIFICATE_COLUMNS} FROM {CERTIFICATE_FROM} JOIN orders o ON o.id = x.order_id \
         WHERE {}",
        c.sql
    );
    db.row_opt(&sql, &values(&c.params), |row| Ok((rows::certificate_at(row, 1)?, row.get(0)?)))
}

const REQUEST_DETAIL: &str = "SELECT r.id, r.date, r.type, r.status, r.comments, u.id, u.first_name, u.last_name, \
     u.email, r.certificate_id, r.processor_comment";

fn request_detail(row: &Row) -> DbResult<RequestDetail> {
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

/// The FROM clause of request queries and the scope's condition on them.
fn request_from(scope: &Scope) -> (String, Condition) {
    (
        format!(
            "FROM requests r JOIN users u ON u.id = r.user_id JOIN orders o ON o.id = r.order_id {SUMMARY_JOINS}"
        ),
        Condition::scope_of(scope, "r.account_id", "o.container_id"),
    )
}

pub fn list_requests(
    db: &mut dyn Db,
    scope: &Scope,
    q: &RequestQuery,
) -> DbResult<(u64, Vec<RequestDetail>)> {
    let (from, mut c) = request_from(scope);
    if !q.status.is_empty() {
        c.push_in("r.status", &q.status.iter().map(|s| s.as_str().to_owned()).collect::<Vec<_>>());
    }
    if !q.request_type.is_empty() {
        c.push_in("r.type", &q.request_type.iter().map(|t| t.as_str().to_owned()).collect::<Vec<_>>());
    }
    let total: i64 =
        db.row(&format!("SELECT count(*) {from} WHERE {}", c.sql), &values(&c.params), |r| r.get(0))?;
    let sql =
        format!("{REQUEST_DETAIL}, {SUMMARY_COLUMNS} {from} WHERE {} ORDER BY r.id LIMIT ? OFFSET ?", c.sql);
    c.params.extend([limit(q.limit).into(), offset(q.offset).into()]);
    let page = db.rows(&sql, &values(&c.params), request_detail)?;
    Ok((total.max(0) as u64, page))
}

pub fn find_request(db: &mut dyn Db, scope: &Scope, id: Id) -> DbResult<Option<RequestDetail>> {
    let (from, mut c) = request_from(scope);
    c.push("r.id = ?", [Value::Integer(id)]);
    let sql = format!("{REQUEST_DETAIL}, {SUMMARY_COLUMNS} {from} WHERE {}", c.sql);
    db.row_opt(&sql, &values(&c.params), request_detail)
}

pub fn account(db: &mut dyn Db, id: Id) -> DbResult<Option<Account>> {
    db.row_opt("SELECT id, name, created_at FROM accounts WHERE id = ?", params![id], |r| {
        Ok(Account { id: r.get(0)?, name: r.get(1)?, created_at: rows::time_at(r, 2)? })
    })
}

pub fn list_organizations(db: &mut dyn Db, scope: &Scope) -> DbResult<Vec<Organization>> {
    let c = Condition::scope_of(scope, "account_id", "container_id");
    let sql = format!("{ORGANIZATION_SELECT} WHERE {} ORDER BY id", c.sql);
    db.rows(&sql, &values(&c.params), rows::organization)
}

pub fn list_containers(db: &mut dyn Db, scope: &Scope) -> DbResult<Vec<ContainerNode>> {
    let c = Condition::scope_of(scope, "account_id", "id");
    let sql = format!(
        "SELECT id, name, is_active, parent_id, description FROM containers WHERE {} ORDER BY id",
        c.sql
    );
    db.rows(&sql, &values(&c.params), |r| {
        Ok(ContainerNode {
            container: Container { id: r.get(0)?, name: r.get(1)?, is_active: r.get(2)? },
            parent_id: r.get(3)?,
            description: r.get(4)?,
        })
    })
}

pub fn list_users(db: &mut dyn Db, scope: &Scope) -> DbResult<Vec<UserRecord>> {
    let cond = Condition::scope_of(scope, "u.account_id", "u.container_id");
    let sql = format!(
        "SELECT u.id, u.first_name, u.last_name, u.email, u.username, c.id, c.name, c.is_active, u.access_role, \
         u.job_title, u.telephone FROM users u JOIN containers c ON c.id = u.container_id \
         WHERE {} ORDER BY u.id",
        cond.sql
    );
    db.rows(&sql, &values(&cond.params), |r| {
        Ok(UserRecord {
            user: User { id: r.get(0)?, first_name: r.get(1)?, last_name: r.get(2)?, email: r.get(3)? },
            username: r.get(4)?,
            container: Container { id: r.get(5)?, name: r.get(6)?, is_active: r.get(7)? },
            access_role: AccessRole::from_code(r.get(8)?).unwrap_or(AccessRole::StandardUser),
            job_title: r.get(9)?,
            telephone: r.get(10)?,
        })
    })
}

pub fn list_domains(db: &mut dyn Db, scope: &Scope) -> DbResult<Vec<Domain>> {
    let c = Condition::scope_of(scope, "account_id", "container_id");
    let sql = format!("SELECT {} FROM domains WHERE {} ORDER BY id", rows::DOMAIN_COLUMNS, c.sql);
    db.rows(&sql, &values(&c.params), rows::domain)
}

pub fn status_changes(
    db: &mut dyn Db,
    scope: &Scope,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> DbResult<Vec<(Id, Id, OrderStatus)>> {
    let mut c = Condition::scope_of(scope, "account_id", "container_id");
    c.push("status_updated_at >= ?", [from.unix_timestamp().into()]);
    c.push("status_updated_at <= ?", [to.unix_timestamp().into()]);
    let sql = format!(
        "SELECT id, certificate_id, status FROM orders WHERE {} ORDER BY status_updated_at, id",
        c.sql
    );
    db.rows(&sql, &values(&c.params), |r| {
        Ok((r.get(0)?, r.get::<Option<Id>>(1)?.unwrap_or_default(), rows::parsed(r, 2, OrderStatus::parse)?))
    })
}

fn revocation(row: &Row) -> DbResult<Revocation> {
    Ok(Revocation { serial_number: row.get(0)?, revoked_at: rows::time_at(row, 1)?, reason: row.get(2)? })
}

pub fn revocations(db: &mut dyn Db) -> DbResult<Vec<Revocation>> {
    db.rows(
        "SELECT serial_number, revoked_at, revocation_reason FROM certificates WHERE revoked_at IS NOT NULL \
         ORDER BY revoked_at, id",
        params![],
        revocation,
    )
}

/// The status of the certificate certkeep signed with this serial: imported certificates
/// (their order's product is NCP's external one, or NCP's record says so) are left out.
pub fn certificate_status(
    db: &mut dyn Db,
    serial: &str,
) -> DbResult<Option<(CertificateStatus, Option<Revocation>)>> {
    db.row_opt(
        "SELECT c.serial_number, c.revoked_at, c.revocation_reason, c.status FROM certificates c \
         JOIN orders o ON o.id = c.order_id \
         WHERE c.serial_number = ? AND o.product_name_id <> ? AND NOT EXISTS \
         (SELECT 1 FROM ncp_certificates n WHERE n.certificate_id = c.id AND n.external = TRUE)",
        params![serial.to_uppercase(), EXTERNAL_PRODUCT],
        |r| {
            let status = rows::parsed(r, 3, CertificateStatus::parse)?;
            let revoked = match r.get::<Option<i64>>(1)? {
                Some(_) => Some(revocation(r)?),
                None => None,
            };
            Ok((status, revoked))
        },
    )
}

/// Orders (by their current certificate) or duplicates whose notAfter lies in
/// `[edges[0], edges[last])`, counted by stored status and window in one aggregate query.
pub fn count_expiring(
    db: &mut dyn Db,
    scope: Option<&Scope>,
    of: certkeep_core::ExpiryOf,
    edges: &[OffsetDateTime],
) -> DbResult<Vec<certkeep_core::ExpiryCount>> {
    let (Some(first), Some(last)) = (edges.first(), edges.last()) else { return Ok(Vec::new()) };
    let duplicates = of == certkeep_core::ExpiryOf::Duplicates;
    let (from, till, status) = if duplicates {
        ("certificates x JOIN orders o ON o.id = x.order_id", "x.valid_till", "x.status")
    } else {
        ("orders o", "o.valid_till", "o.status")
    };
    let status_of = |s: &str| {
        if duplicates {
            CertificateStatus::parse(s).map(CertificateStatus::as_str)
        } else {
            OrderStatus::parse(s).map(OrderStatus::as_str)
        }
    };
    let mut c = match scope {
        Some(scope) => Condition::scope(scope),
        None => Condition { sql: "1 = 1".into(), params: Vec::new() },
    };
    if duplicates {
        c.push("x.kind = 'duplicate'", []);
    }
    c.push(
        &format!("{till} >= ? AND {till} < ?"),
        [first.unix_timestamp().into(), last.unix_timestamp().into()],
    );
    let inner = &edges[1..edges.len() - 1];
    let mut window = String::from("CASE");
    for (i, _) in inner.iter().enumerate() {
        window.push_str(&format!(" WHEN {till} < ? THEN {i}"));
    }
    window.push_str(&format!(" ELSE {} END", inner.len()));
    let mut params: Vec<Value> = inner.iter().map(|t| t.unix_timestamp().into()).collect();
    params.extend(c.params);
    let sql = format!("SELECT {status}, {window}, COUNT(*) FROM {from} WHERE {} GROUP BY 1, 2", c.sql);
    db.rows(&sql, &values(&params), |row| {
        let stored: String = row.get(0)?;
        let window: i64 = row.get(1)?;
        let count: i64 = row.get(2)?;
        Ok(certkeep_core::ExpiryCount {
            status: status_of(&stored).unwrap_or("unknown"),
            window: usize::try_from(window).unwrap_or_default(),
            count: u64::try_from(count).unwrap_or_default(),
        })
    })
}

/// Issued orders whose current certificate expires in `[from, till)`, soonest first, with their
/// accounts.
pub fn expiring_orders(
    db: &mut dyn Db,
    account_id: Option<Id>,
    from: OffsetDateTime,
    till: OffsetDateTime,
) -> DbResult<Vec<(Id, certkeep_core::OrderSummary)>> {
    let mut c = Condition {
        sql: "o.status = ? AND o.valid_till >= ? AND o.valid_till < ?".into(),
        params: vec![
            OrderStatus::Issued.as_str().to_owned().into(),
            from.unix_timestamp().into(),
            till.unix_timestamp().into(),
        ],
    };
    if let Some(account) = account_id {
        c.push("o.account_id = ?", [account.into()]);
    }
    let sql = format!(
        "SELECT o.account_id, {SUMMARY_COLUMNS} FROM orders o {SUMMARY_JOINS} WHERE {} ORDER BY o.valid_till, o.id",
        c.sql
    );
    db.rows(&sql, &values(&c.params), |row| Ok((row.get(0)?, rows::summary_at(row, 1)?)))
}
