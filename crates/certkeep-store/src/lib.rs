//! Storage engines for the certkeep inventory.
//!
//! [`SqliteStore`] is the embedded engine: one file, WAL journal. [`PostgresStore`] keeps the
//! inventory in a PostgreSQL database that several certkeep processes share. Both implement
//! [`certkeep_core::Store`] with the same code (the `sql` module, written over one connection
//! interface); an engine only brings connections, transactions and its schema. Migrations
//! are applied on open. [`open`] picks the engine by URL.

mod postgres;
mod sql;
mod sqlite;

use std::{path::Path, sync::Arc};

use certkeep_core::{Store, StoreError, StoreResult};

pub use postgres::{PostgresStore, create_database, drop_database};
pub use sql::copy::TableSummary;
pub use sqlite::SqliteStore;

/// Opens the store a database URL names, migrating it to the newest schema:
/// `sqlite:///path/to/certkeep.db`, or PostgreSQL's `postgres://user@host/db` (also
/// `postgresql://`, or a `host=... dbname=...` connection string).
pub fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    match Kind::of(url)? {
        Kind::Sqlite(path) => Ok(Arc::new(SqliteStore::open(path)?)),
        Kind::Postgres => Ok(Arc::new(PostgresStore::connect(url)?)),
    }
}

/// Copies the whole inventory of the database `from` into the empty database `to` (either
/// engine to either engine, ids unchanged), then checks every table's row count and checksum
/// on both sides. Both are migrated first; a target holding any row is refused.
pub fn copy_database(from: &str, to: &str) -> StoreResult<Vec<TableSummary>> {
    let (source, target) = (engine(from)?, engine(to)?);
    Ok(sql::copy::copy(&*source, &*target)?)
}

fn engine(url: &str) -> StoreResult<Box<dyn sql::Engine>> {
    Ok(match Kind::of(url)? {
        Kind::Sqlite(path) => Box::new(SqliteStore::open(path)?.into_engine()),
        Kind::Postgres => Box::new(PostgresStore::connect(url)?.into_engine()),
    })
}

/// The engine a database URL names.
enum Kind<'a> {
    Sqlite(&'a Path),
    Postgres,
}

impl<'a> Kind<'a> {
    fn of(url: &'a str) -> StoreResult<Self> {
        if let Some(path) = url.strip_prefix("sqlite://").filter(|p| !p.is_empty()) {
            Ok(Kind::Sqlite(Path::new(path)))
        } else if url.starts_with("postgres://")
            || url.starts_with("postgresql://")
            || !url.contains("://") && url.contains('=')
        {
            Ok(Kind::Postgres)
        } else {
            Err(StoreError(format!(
                "unsupported database URL {url:?}: use sqlite:///path/to/certkeep.db or postgres://user@host/database"
            )))
        }
    }
}

/// A database URL for one test: a new, empty PostgreSQL database on the server
/// `CERTKEEP_TEST_POSTGRES_URL` names when that is set (so that the whole suite runs on
/// PostgreSQL, each test isolated), else a SQLite file in `dir`.
pub fn scratch_database_url(dir: &Path) -> StoreResult<String> {
    match std::env::var("CERTKEEP_TEST_POSTGRES_URL") {
        Ok(server) if !server.is_empty() => {
            use std::sync::atomic::{AtomicU32, Ordering};
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let name = format!("t_{}_{}_{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
            create_database(&server, &name)
        }
        _ => Ok(format!("sqlite://{}", dir.join("certkeep.db").display())),
    }
}
