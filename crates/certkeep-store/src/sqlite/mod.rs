//! The embedded SQLite engine: one database file in WAL mode behind a connection pool.

mod group_commit;
mod schema;

use std::path::Path;

use certkeep_core::StoreResult;
use group_commit::GroupCommit;
use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;

use crate::sql::{
    Engine, Mode, SqlStore,
    db::{Column, Db, DbError, DbResult, Dialect, EngineRow, Row, ToSql},
};

/// Connections to one SQLite database file.
pub struct Sqlite {
    pool: Pool<SqliteConnectionManager>,
    /// Write transactions of this process take turns on one connection and share commits
    /// (group commit). SQLite admits one writer at a time and makes the others poll with sleeps
    /// of up to 100 ms (the busy handler); queueing in the process hands the turn over at once,
    /// and one fsync serves every writer that queued meanwhile (BENCHMARKS.md). Other processes
    /// sharing the file still meet the busy handler.
    writer: GroupCommit,
}

/// The inventory in one SQLite database file.
pub type SqliteStore = SqlStore<Sqlite>;

fn pool_error(e: r2d2::Error) -> DbError {
    DbError::Data(format!("connection pool: {e}"))
}

impl SqlStore<Sqlite> {
    /// Opens (creating if needed) the database at `path` and migrates it to the newest schema.
    pub fn open(path: &Path) -> StoreResult<Self> {
        // Memory stays bounded: each of the (at most 16) connections caches 8 MiB of pages, and
        // the database is read with pread, not mapped, so the rest of it lives in the kernel's
        // page cache rather than in the process (a mapping would grow the RSS with every page a
        // scan such as the CSV export touches).
        let manager = SqliteConnectionManager::file(path).with_init(|c| configure(c));
        let pool = Pool::builder().max_size(16).build(manager).map_err(pool_error)?;
        schema::migrate(&mut *pool.get().map_err(pool_error)?).map_err(DbError::from)?;
        let writer = Connection::open(path).and_then(|c| configure(&c).map(|()| c)).map_err(DbError::from)?;
        Ok(SqlStore::new(Sqlite { pool, writer: GroupCommit::new(writer) }))
    }
}

/// Every connection's settings. The statement cache holds every statement the store runs
/// (rusqlite's default of 16 made the ACME path re-parse SQL: 15 % of its CPU in
/// `sqlite3_prepare`).
fn configure(c: &Connection) -> rusqlite::Result<()> {
    c.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    c.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
         PRAGMA busy_timeout = 10000; PRAGMA cache_size = -8192; PRAGMA temp_store = MEMORY; \
         PRAGMA mmap_size = 0;",
    )
}

/// Prepared statements kept per connection: more than the distinct statements of the store.
const STATEMENT_CACHE: usize = 512;

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError::Engine(e.to_string())
    }
}

impl EngineRow for rusqlite::Row<'_> {
    fn column(&self, index: usize) -> DbResult<Column<'_>> {
        Ok(Column::Borrowed(self.get_ref(index)?))
    }
}

/// A SQLite connection (or transaction) seen through [`Db`].
struct SqliteDb<'a>(&'a Connection);

impl Db for SqliteDb<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[&dyn ToSql]) -> DbResult<usize> {
        Ok(self.0.prepare_cached(sql)?.execute(params)?)
    }

    fn query(
        &mut self,
        sql: &str,
        params: &[&dyn ToSql],
        f: &mut dyn FnMut(&Row) -> DbResult<bool>,
    ) -> DbResult<()> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let mut rows = stmt.query(params)?;
        while let Some(row) = rows.next()? {
            if !f(&Row(row))? {
                break;
            }
        }
        Ok(())
    }
}

impl Engine for Sqlite {
    fn run(&self, mode: Mode, work: &mut dyn FnMut(&mut dyn Db) -> DbResult<()>) -> DbResult<()> {
        match mode {
            Mode::Write => self.writer.write(true, work),
            Mode::Relaxed => self.writer.write(false, work),
            Mode::Read => work(&mut SqliteDb(&*self.pool.get().map_err(pool_error)?)),
            Mode::Snapshot => {
                let mut conn = self.pool.get().map_err(pool_error)?;
                let tx = conn.transaction()?;
                work(&mut SqliteDb(&tx))?;
                Ok(tx.commit()?)
            }
        }
    }

    fn observe_commits(&self, observer: certkeep_core::store::CommitObserver) {
        self.writer.observe(observer);
    }
}

#[cfg(test)]
mod tests {
    use certkeep_core::OperationsStore;

    use super::*;

    fn version(store: &SqliteStore) -> usize {
        let conn = store.engine().pool.get().unwrap();
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).unwrap() as usize
    }

    #[test]
    fn statements_every_issuance_runs_find_their_rows_by_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let conn = store.engine().pool.get().unwrap();
        // A scan here costs every order placed in a large inventory a pass over all of it.
        for sql in [
            "DELETE FROM order_names WHERE order_id = 1",
            "UPDATE order_counts SET n = n - 1 WHERE account_id = 1 AND container_id = 1 AND status = 'x'",
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map([], |r| r.get(3))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert!(plan.iter().all(|step| !step.starts_with("SCAN")), "{sql}: {plan:?}");
        }
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
    fn the_audit_rebuild_keeps_old_events_and_stays_append_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let rebuild = schema::MIGRATIONS
            .iter()
            .position(|m| m.contains("CREATE TABLE audit_events_v2"))
            .expect("the audit rebuild migration");
        let conn = Connection::open(&path).unwrap();
        for sql in &schema::MIGRATIONS[..rebuild] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", rebuild as i64).unwrap();
        conn.execute_batch(
            "INSERT INTO accounts (id, name, created_at) VALUES (1, 'A', 0); \
             INSERT INTO audit_events (account_id, user_id, action, object, detail, source, at) \
             VALUES (1, 2, 'order.create', 'order:100001', '', '10.0.0.1', 5);",
        )
        .unwrap();
        drop(conn);
        let store = SqliteStore::open(&path).unwrap();
        let page =
            store.audit_events(Some(1), &certkeep_core::audit::AuditQuery { limit: 5, ..Default::default() });
        let record = &page.unwrap().records[0];
        assert_eq!(
            (record.event.action.as_str(), record.event.source.as_str()),
            ("order.create", "10.0.0.1")
        );
        assert!(!record.event.refused);
        let conn = store.engine().pool.get().unwrap();
        assert!(conn.execute("UPDATE audit_events SET action = 'x'", []).is_err());
        assert!(conn.execute("DELETE FROM audit_events", []).is_err());
    }
}
