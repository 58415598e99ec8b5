//! Moving an inventory from one database to another (either engine to either engine), row for
//! row with the same ids, verified by per-table counts and checksums.

use std::hash::{DefaultHasher, Hash, Hasher};

use super::{
    Engine, Mode,
    db::{Db, DbError, DbResult, Dialect, ToSql, Value, params, values},
};

/// Every table, in an order in which each row's references are already there. A table added
/// by a migration must be added here too (a test compares this list with the schema).
pub const TABLES: &[&str] = &[
    "accounts",
    "containers",
    "organizations",
    "users",
    "api_keys",
    "custom_fields",
    "partner_keys",
    "acme_contracts",
    "eab_credentials",
    "orders",
    "order_names",
    "order_custom_fields",
    "certificates",
    "requests",
    "domains",
    "audit_events",
    "ncp_keys",
    "acme_nonces",
    "acme_accounts",
    "acme_orders",
    "acme_authzs",
    "acme_challenges",
    "acme_order_authzs",
    "ncp_certificates",
    "ncp_acme_accounts",
    "rate_counters",
    "console_logins",
    "console_sessions",
    "webhooks",
    "webhook_deliveries",
    "expiry_notices",
];

/// Tables the target's triggers fill while the others are copied (SQLite), or copied with the
/// triggers off (PostgreSQL); compared either way, zero counts left behind by status changes
/// aside.
const DERIVED: &[(&str, &str)] = &[("order_counts", "n <> 0")];

/// References to rows of the same table that may point forward (a parent account created
/// after its subaccount): copied as NULL, then set once the whole table is there.
const FORWARD_REFERENCES: &[(&str, &str)] = &[("accounts", "parent_account_id")];

/// What one table holds on both sides after the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    /// The table.
    pub table: &'static str,
    /// Its rows.
    pub rows: u64,
    /// A checksum of its rows' values, independent of row order and engine.
    pub checksum: u64,
}

/// Copies every table of `source` into the empty `target` in one transaction, then compares
/// both sides table by table. Refuses a target that holds any row.
pub fn copy(source: &dyn Engine, target: &dyn Engine) -> DbResult<Vec<TableSummary>> {
    let mut report = Vec::new();
    source.run(Mode::Snapshot, &mut |src| {
        target.run(Mode::Write, &mut |dst| {
            for table in TABLES {
                if dst.exists(&format!("SELECT 1 FROM {table}"), params![])? {
                    return Err(DbError::Data(format!("the target database is not empty: {table} has rows")));
                }
            }
            // PostgreSQL takes the counters with the rows instead of counting each row in its
            // trigger: a million updates of a few counter rows in one transaction each walk an
            // ever longer chain of row versions (quadratic; a 1M copy spent 71 % of its time in
            // `heap_hot_search_buffer` and would have taken hours).
            let postgres = dst.dialect() == Dialect::Postgres;
            if postgres {
                dst.execute("ALTER TABLE orders DISABLE TRIGGER USER", params![])?;
            }
            for table in TABLES {
                copy_table(src, dst, table)?;
            }
            if postgres {
                for (table, _) in DERIVED {
                    copy_table(src, dst, table)?;
                }
                dst.execute("ALTER TABLE orders ENABLE TRIGGER USER", params![])?;
                restart_identities(dst)?;
            }
            Ok(())
        })?;
        report.clear();
        let tables = TABLES.iter().map(|t| (*t, "TRUE")).chain(DERIVED.iter().copied());
        for (table, filter) in tables {
            let expected = summary(src, table, filter)?;
            let mut found = None;
            target.run(Mode::Snapshot, &mut |dst| {
                found = Some(summary(dst, table, filter)?);
                Ok(())
            })?;
            if found.as_ref() != Some(&expected) {
                return Err(DbError::Data(format!(
                    "{table} differs after the copy: source {expected:?}, target {found:?}"
                )));
            }
            report.push(expected);
        }
        Ok(())
    })?;
    Ok(report)
}

/// The table's columns, in the engine's order.
fn columns(db: &mut dyn Db, table: &str) -> DbResult<Vec<String>> {
    let sql = match db.dialect() {
        Dialect::Sqlite => "SELECT name FROM pragma_table_info(?) ORDER BY cid",
        Dialect::Postgres => {
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position"
        }
    };
    db.rows(sql, params![table], |r| r.get(0))
}

fn copy_table(src: &mut dyn Db, dst: &mut dyn Db, table: &str) -> DbResult<()> {
    let names = columns(src, table)?;
    let mut theirs = columns(dst, table)?;
    let mut ours = names.clone();
    theirs.sort();
    ours.sort();
    if ours != theirs {
        return Err(DbError::Data(format!("{table} has columns {ours:?} here but {theirs:?} there")));
    }
    let forward: Vec<usize> = FORWARD_REFERENCES
        .iter()
        .filter(|(t, _)| *t == table)
        .filter_map(|(_, column)| names.iter().position(|n| n == column))
        .collect();
    let list = names.join(", ");
    let order = if names.iter().any(|n| n == "id") { " ORDER BY id" } else { "" };
    // As many rows per INSERT as both engines take parameters for.
    let per_insert = (30_000 / names.len()).max(1);
    let mut batch: Vec<Value> = Vec::new();
    let mut later: Vec<(Value, Value, &str)> = Vec::new();
    let flush = |dst: &mut dyn Db, batch: &mut Vec<Value>| -> DbResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let row = format!("({})", vec!["?"; names.len()].join(","));
        let rows = vec![row; batch.len() / names.len()].join(",");
        dst.execute(&format!("INSERT INTO {table} ({list}) VALUES {rows}"), &values(batch))?;
        batch.clear();
        Ok(())
    };
    src.query(&format!("SELECT {list} FROM {table}{order}"), params![], &mut |row| {
        for i in 0..names.len() {
            let value: Value = row.get(i)?;
            if forward.contains(&i) && value != Value::Null {
                later.push((row.get(names.iter().position(|n| n == "id").unwrap_or(0))?, value, &names[i]));
                batch.push(Value::Null);
            } else {
                batch.push(value);
            }
        }
        if batch.len() >= per_insert * names.len() {
            flush(dst, &mut batch)?;
        }
        Ok(true)
    })?;
    flush(dst, &mut batch)?;
    for (id, value, column) in later {
        dst.execute(&format!("UPDATE {table} SET {column} = ? WHERE id = ?"), &[&value as &dyn ToSql, &id])?;
    }
    Ok(())
}

/// Moves each identity past the copied ids, so that new rows do not collide with them.
fn restart_identities(dst: &mut dyn Db) -> DbResult<()> {
    for table in TABLES {
        if columns(dst, table)?.iter().any(|c| c == "id") {
            dst.query(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table} \
                     HAVING max(id) IS NOT NULL"
                ),
                params![],
                &mut |_| Ok(true),
            )?;
        }
    }
    Ok(())
}

/// Counts a table's rows and sums a hash of each (so the row order does not matter). Both
/// engines read a value as the same SQLite value, so equal rows hash equally on either.
fn summary(db: &mut dyn Db, table: &'static str, filter: &str) -> DbResult<TableSummary> {
    let mut names = columns(db, table)?;
    names.sort();
    let (mut rows, mut checksum) = (0u64, 0u64);
    db.query(&format!("SELECT {} FROM {table} WHERE {filter}", names.join(", ")), params![], &mut |row| {
        let mut hasher = DefaultHasher::new();
        for i in 0..names.len() {
            match row.get::<Value>(i)? {
                Value::Null => 0u8.hash(&mut hasher),
                Value::Integer(v) => (1u8, v).hash(&mut hasher),
                Value::Real(v) => (2u8, v.to_bits()).hash(&mut hasher),
                Value::Text(v) => (3u8, v).hash(&mut hasher),
                Value::Blob(v) => (4u8, v).hash(&mut hasher),
            }
        }
        rows += 1;
        checksum = checksum.wrapping_add(hasher.finish());
        Ok(true)
    })?;
    Ok(TableSummary { table, rows, checksum })
}
