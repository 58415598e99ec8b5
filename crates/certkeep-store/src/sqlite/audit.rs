//! The append-only audit log: appending (in a lifecycle transaction or on its own) and reading.

use certkeep_core::{
    Id,
    audit::{AuditPage, AuditQuery, AuditRecord},
    lifecycle::AuditEvent,
};
use rusqlite::{Connection, params, params_from_iter, types::Value};

use super::{query::Condition, rows::time_at};

pub fn insert(conn: &Connection, e: &AuditEvent) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_events \
         (account_id, user_id, api_key_id, action, object, detail, source, at, refused) \
         VALUES (?,?,?,?,?,?,?,?,?)",
    )?
    .execute(params![
        e.account_id,
        e.user_id,
        e.api_key_id,
        e.action,
        e.object,
        e.detail,
        e.source,
        e.at.unix_timestamp(),
        e.refused
    ])
    .map(drop)
}

pub fn events(conn: &Connection, account_id: Option<Id>, q: &AuditQuery) -> rusqlite::Result<AuditPage> {
    let mut cond = Condition { sql: "1".into(), params: vec![] };
    if let Some(account) = account_id {
        cond.push("account_id = ?", [Value::Integer(account)]);
    }
    if let Some(since) = q.since {
        cond.push("at >= ?", [Value::Integer(since.unix_timestamp())]);
    }
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM audit_events WHERE {}", cond.sql))?
        .query_row(params_from_iter(&cond.params), |r| r.get(0))?;
    let window = [q.limit, q.offset].map(|n| Value::Integer(i64::try_from(n).unwrap_or(i64::MAX)));
    let records = conn
        .prepare_cached(&format!(
            "SELECT id, account_id, user_id, api_key_id, action, object, detail, source, at, refused \
             FROM audit_events WHERE {} ORDER BY id DESC LIMIT ? OFFSET ?",
            cond.sql
        ))?
        .query_map(params_from_iter(cond.params.iter().chain(&window)), |r| {
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
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(AuditPage { total: total.max(0) as u64, records })
}
