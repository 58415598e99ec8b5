//! The append-only audit log: appending (in a lifecycle transaction or on its own) and reading.

use certkeep_core::{
    Id,
    audit::{AuditPage, AuditQuery, AuditRecord},
    lifecycle::AuditEvent,
};

use super::{
    db::{Db, DbResult, Value, limit, offset, params, values},
    query::Condition,
    rows::time_at,
};

/// Appends one event.
pub fn insert(db: &mut dyn Db, e: &AuditEvent) -> DbResult<()> {
    db.execute(
        "INSERT INTO audit_events \
         (account_id, user_id, api_key_id, action, object, detail, source, at, refused) \
         VALUES (?,?,?,?,?,?,?,?,?)",
        params![
            e.account_id,
            e.user_id,
            e.api_key_id,
            e.action,
            e.object,
            e.detail,
            e.source,
            e.at.unix_timestamp(),
            e.refused
        ],
    )
    .map(drop)
}

/// One page of the log, newest first: one account's events, or every event.
pub fn events(db: &mut dyn Db, account_id: Option<Id>, q: &AuditQuery) -> DbResult<AuditPage> {
    let mut cond = Condition { sql: "TRUE".into(), params: vec![] };
    if let Some(account) = account_id {
        cond.push("account_id = ?", [Value::Integer(account)]);
    }
    if let Some(since) = q.since {
        cond.push("at >= ?", [Value::Integer(since.unix_timestamp())]);
    }
    let total: i64 = db.row(
        &format!("SELECT count(*) FROM audit_events WHERE {}", cond.sql),
        &values(&cond.params),
        |r| r.get(0),
    )?;
    let mut params = cond.params.clone();
    params.extend([Value::Integer(limit(Some(q.limit))), Value::Integer(offset(q.offset))]);
    let records = db.rows(
        &format!(
            "SELECT id, account_id, user_id, api_key_id, action, object, detail, source, at, refused \
             FROM audit_events WHERE {} ORDER BY id DESC LIMIT ? OFFSET ?",
            cond.sql
        ),
        &values(&params),
        |r| {
            Ok(AuditRecord {
                id: r.get(0)?,
                event: AuditEvent {
                    account_id: r.get(1)?,
                    user_id: r.get(2)?,
                    api_key_id: r.get(3)?,
                    action: r.get(4)?,
                    object: r.get(5)?,
                    detail: r.get(6)?,
                    source: r.get(7)?,
                    at: time_at(r, 8)?,
                    refused: r.get(9)?,
                },
            })
        },
    )?;
    Ok(AuditPage { total: total.max(0) as u64, records })
}
