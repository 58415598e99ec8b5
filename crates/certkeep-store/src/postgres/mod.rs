//! The PostgreSQL engine: several certkeep processes (replicas) on one database.
//!
//! Connections are tokio-postgres clients whose connection tasks run on a small runtime owned
//! by the engine; callers block on them with a plain thread-parking executor. So the store
//! can be called from any thread, inside an async runtime or not, like the SQLite store.
//!
//! Write transactions are SERIALIZABLE and retried on serialization failures, which gives
//! the lifecycle the same one-writer-at-a-time semantics SQLite's IMMEDIATE transactions give
//! it, across processes.

mod schema;

use std::{
    collections::HashMap,
    future::Future,
    pin::pin,
    sync::Arc,
    task::{Context, Poll, Wake, Waker},
    time::Duration,
};

use bytes::BytesMut;
use certkeep_core::{StoreError, StoreResult};
use futures_util::StreamExt;
use r2d2::{ManageConnection, Pool};
use rusqlite::types::{ToSqlOutput, ValueRef};
use tokio_postgres::{
    Client, Config, NoTls, Statement,
    error::SqlState,
    types::{IsNull, ToSql as PgToSql, Type, to_sql_checked},
};

use crate::sql::{
    Engine, Mode, SqlStore,
    db::{Column, Db, DbError, DbResult, Dialect, EngineRow, Row, ToSql, Value},
};

/// A pool of connections to one PostgreSQL database.
pub struct Postgres {
    pool: Pool<Manager>,
    /// This process's [`Mode::Write`] transactions take turns here. They all update the same few
    /// `order_counts` rows, so concurrent ones fail serialization and retry in storms (8
    /// concurrent issuers: a few exhausted their retries, p99 ~400 ms). Other replicas still
    /// conflict and retry; relaxed ACME bookkeeping, which rarely conflicts, runs alongside.
    writer: std::sync::Mutex<()>,
    /// Told of each committed write transaction.
    observer: std::sync::OnceLock<certkeep_core::store::CommitObserver>,
    /// Runs the connection tasks; `None` once dropped.
    runtime: Option<tokio::runtime::Runtime>,
}

/// The inventory in a PostgreSQL database, shared by any number of certkeep processes.
pub type PostgresStore = SqlStore<Postgres>;

impl Drop for Postgres {
    fn drop(&mut self) {
        // Dropping the runtime in place would block, which an async caller may not do.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Attempts of a write transaction that keeps meeting serialization failures.
const WRITE_ATTEMPTS: u32 = 30;

impl SqlStore<Postgres> {
    /// Connects to the database a `postgres://` URL (or `key=value` connection string) names
    /// and migrates it to the newest schema.
    pub fn connect(url: &str) -> StoreResult<Self> {
        let config: Config = url.parse().map_err(|e| StoreError(format!("database URL: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("certkeep-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError(format!("runtime: {e}")))?;
        let manager = Manager { config, runtime: runtime.handle().clone() };
        let pool = Pool::builder()
            .max_size(16)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(30))
            .build_unchecked(manager);
        let engine = Postgres {
            pool,
            writer: std::sync::Mutex::new(()),
            observer: Default::default(),
            runtime: Some(runtime),
        };
        let conn = engine.pool.get().map_err(pool_error)?;
        schema::migrate(&conn.client).map_err(DbError::from)?;
        drop(conn);
        Ok(SqlStore::new(engine))
    }
}

/// Creates the database `name` on the server `url` names, and returns the URL of the new
/// database (for tests and tools that need a fresh, empty database).
pub fn create_database(url: &str, name: &str) -> StoreResult<String> {
    on_server(url, name, &format!("CREATE DATABASE \"{name}\""))?;
    Ok(with_database(url, name))
}

/// Drops the database `name` (made by [`create_database`]) on the server `url` names, if it
/// exists, disconnecting whoever is still on it (PostgreSQL 13 and newer; older servers drop it
/// only when nobody is).
pub fn drop_database(url: &str, name: &str) -> StoreResult<()> {
    on_server(url, name, &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .or_else(|_| on_server(url, name, &format!("DROP DATABASE IF EXISTS \"{name}\"")))
}

/// Runs `statement` about the database `name` on the server `url` names, from its default
/// database.
fn on_server(url: &str, name: &str, statement: &str) -> StoreResult<()> {
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StoreError(format!("unusable database name {name:?}")));
    }
    let config: Config = url.parse().map_err(|e| StoreError(format!("database URL: {e}")))?;
    let run = async {
        let (client, connection) = config.connect(NoTls).await?;
        let connection = tokio::spawn(connection);
        client.batch_execute(statement).await?;
        drop(client);
        let _ = connection.await;
        Ok::<_, tokio_postgres::Error>(())
    };
    // On a thread and runtime of its own: the caller may be inside an async runtime, where
    // neither blocking on nor dropping another is allowed.
    std::thread::scope(|s| {
        s.spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| StoreError(format!("runtime: {e}")))?;
            runtime.block_on(run).map_err(|e| StoreError::from(DbError::from(e)))
        })
        .join()
    })
    .map_err(|_| StoreError("database statement: panicked".into()))?
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return format!("{url} dbname={name}");
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, format!("?{q}")),
        None => (rest, String::new()),
    };
    let authority = rest.split_once('/').map_or(rest, |(a, _)| a);
    format!("{scheme}://{authority}/{name}{query}")
}

fn pool_error(e: r2d2::Error) -> DbError {
    DbError::Data(format!("connection pool: {e}"))
}

/// Runs a future to completion on the calling thread, parking it while the future waits.
/// (The futures here only wait for replies from connection tasks on the engine's runtime.)
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::park();
    }
}

/// A client and the statements prepared on it.
struct PgConn {
    client: Client,
    statements: HashMap<String, Statement>,
}

/// Prepared statements a connection keeps before it starts over (lists with many values make
/// many distinct statements).
const STATEMENT_CACHE: usize = 512;

struct Manager {
    config: Config,
    runtime: tokio::runtime::Handle,
}

impl ManageConnection for Manager {
    type Connection = PgConn;
    type Error = DbError;

    fn connect(&self) -> Result<PgConn, DbError> {
        let config = self.config.clone();
        let task = self.runtime.spawn(async move {
            let (client, connection) = config.connect(NoTls).await?;
            tokio::spawn(connection);
            Ok::<_, tokio_postgres::Error>(client)
        });
        let client = block_on(task).map_err(|e| DbError::Data(format!("connect: {e}")))??;
        Ok(PgConn { client, statements: HashMap::new() })
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), DbError> {
        block_on(conn.client.simple_query(""))?;
        Ok(())
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.client.is_closed()
    }
}

impl From<tokio_postgres::Error> for DbError {
    /// The server's SQLSTATE and message, not just "db error".
    fn from(e: tokio_postgres::Error) -> Self {
        DbError::Engine(match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => e.to_string(),
        })
    }
}

fn retryable(e: &tokio_postgres::Error) -> bool {
    matches!(e.code(), Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED)
}

impl Engine for Postgres {
    fn run(&self, mode: Mode, work: &mut dyn FnMut(&mut dyn Db) -> DbResult<()>) -> DbResult<()> {
        // The turn before the connection, so that queued writers do not hold the pool's.
        let _turn = (mode == Mode::Write)
            .then(|| self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let mut conn = self.pool.get().map_err(pool_error)?;
        let begin = match mode {
            Mode::Read => return work(&mut PgDb { conn: &mut conn, retry: false }),
            Mode::Snapshot => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            Mode::Write => "BEGIN ISOLATION LEVEL SERIALIZABLE",
            Mode::Relaxed => "BEGIN ISOLATION LEVEL SERIALIZABLE; SET LOCAL synchronous_commit = off",
        };
        let mut attempt = 1;
        loop {
            block_on(conn.client.batch_execute(begin))?;
            let mut db = PgDb { conn: &mut conn, retry: false };
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&mut db)));
            let mut retry = db.retry;
            // A panicking caller must not hand the connection back to the pool mid-transaction
            // (SQLite's transactions roll back when dropped; this is the same).
            let mut result = outcome.unwrap_or_else(|panic| {
                let _ = block_on(conn.client.batch_execute("ROLLBACK"));
                std::panic::resume_unwind(panic)
            });
            if result.is_ok() {
                match block_on(conn.client.batch_execute("COMMIT")) {
                    Ok(()) => {
                        if let (Mode::Write | Mode::Relaxed, Some(observe)) = (mode, self.observer.get()) {
                            observe(1);
                        }
                        return Ok(());
                    }
                    Err(e) => {
                        retry = retryable(&e);
                        result = Err(e.into());
                    }
                }
            } else {
                block_on(conn.client.batch_execute("ROLLBACK"))?;
            }
            if !retry || attempt == WRITE_ATTEMPTS {
                return result;
            }
            // Another transaction won; let it finish before trying again (spread out a bit, so
            // that the losers do not collide again in step).
            let jitter = u64::from(std::process::id() ^ attempt.wrapping_mul(2_654_435_761)) % 5;
            std::thread::sleep(Duration::from_millis(u64::from(attempt) * 2 + jitter));
            attempt += 1;
        }
    }

    fn observe_commits(&self, observer: certkeep_core::store::CommitObserver) {
        let _ = self.observer.set(observer);
    }
}

/// A connection (in or out of a transaction) seen through [`Db`].
struct PgDb<'a> {
    conn: &'a mut PgConn,
    /// A statement failed with a serialization failure or deadlock: the transaction may be
    /// retried.
    retry: bool,
}

impl PgDb<'_> {
    fn statement(&mut self, sql: &str) -> DbResult<Statement> {
        if let Some(s) = self.conn.statements.get(sql) {
            return Ok(s.clone());
        }
        let statement = self.check(block_on(self.conn.client.prepare(&placeholders(sql))))?;
        if self.conn.statements.len() >= STATEMENT_CACHE {
            self.conn.statements.clear();
        }
        self.conn.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    fn check<T>(&mut self, result: Result<T, tokio_postgres::Error>) -> DbResult<T> {
        result.map_err(|e| {
            self.retry |= retryable(&e);
            e.into()
        })
    }
}

impl Db for PgDb<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[&dyn ToSql]) -> DbResult<usize> {
        let statement = self.statement(sql)?;
        let params = pg_params(params)?;
        let changed =
            block_on(self.conn.client.execute_raw(&statement, params.iter().map(|p| p as &dyn PgToSql)));
        Ok(self.check(changed)? as usize)
    }

    fn query(
        &mut self,
        sql: &str,
        params: &[&dyn ToSql],
        f: &mut dyn FnMut(&Row) -> DbResult<bool>,
    ) -> DbResult<()> {
        let statement = self.statement(sql)?;
        let params = pg_params(params)?;
        let rows = block_on(self.conn.client.query_raw(&statement, params.iter().map(|p| p as &dyn PgToSql)));
        let mut rows = pin!(self.check(rows)?);
        while let Some(row) = block_on(rows.next()) {
            let row = self.check(row)?;
            if !f(&Row(&row))? {
                break;
            }
        }
        Ok(())
    }
}

/// Rewrites SQLite placeholders (`?`, `?N`) to PostgreSQL's (`$N`). A bare `?` takes the
/// number after the largest one so far, as in SQLite.
fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.chars().peekable();
    let (mut quoted, mut largest) = (false, 0u32);
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c != '?' || quoted {
            out.push(c);
            continue;
        }
        let mut n = 0u32;
        let mut numbered = false;
        while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
            n = n * 10 + d;
            numbered = true;
            chars.next();
        }
        if !numbered {
            n = largest + 1;
        }
        largest = largest.max(n);
        out.push('$');
        out.push_str(&n.to_string());
    }
    out
}

/// A statement parameter as a SQLite value, written as whatever type PostgreSQL expects there.
#[derive(Debug)]
struct PgParam(Value);

fn pg_params(params: &[&dyn ToSql]) -> DbResult<Vec<PgParam>> {
    params
        .iter()
        .map(|p| match p.to_sql()? {
            ToSqlOutput::Borrowed(v) => Ok(PgParam(owned(v))),
            ToSqlOutput::Owned(v) => Ok(PgParam(v)),
            _ => Err(DbError::Data("unsupported statement parameter".into())),
        })
        .collect()
}

fn owned(v: ValueRef) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

impl PgToSql for PgParam {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match &self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(i) if *ty == Type::INT8 => PgToSql::to_sql(&i, ty, out),
            Value::Integer(i) if *ty == Type::INT4 => PgToSql::to_sql(&i32::try_from(*i)?, ty, out),
            Value::Integer(i) if *ty == Type::INT2 => PgToSql::to_sql(&i16::try_from(*i)?, ty, out),
            Value::Integer(i) if *ty == Type::BOOL => PgToSql::to_sql(&(*i != 0), ty, out),
            Value::Integer(i) if *ty == Type::TEXT => PgToSql::to_sql(&i.to_string(), ty, out),
            Value::Real(f) if *ty == Type::FLOAT8 => PgToSql::to_sql(&f, ty, out),
            Value::Text(s) => PgToSql::to_sql(&s, ty, out),
            Value::Blob(b) if *ty == Type::BYTEA => PgToSql::to_sql(&b, ty, out),
            other => Err(format!("cannot pass {other:?} as {ty}").into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl EngineRow for tokio_postgres::Row {
    fn column(&self, index: usize) -> DbResult<Column<'_>> {
        value(self, index).map(Column::Owned)
    }
}

/// Column `index` of a row as the SQLite value the SQLite store would have read there.
fn value(row: &tokio_postgres::Row, index: usize) -> DbResult<Value> {
    let ty = row.columns().get(index).ok_or_else(|| DbError::Data(format!("no column {index}")))?.type_();
    let value = if *ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(index)?.map(Value::Integer)
    } else if *ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(index)?.map(|v| Value::Integer(v.into()))
    } else if *ty == Type::INT2 {
        row.try_get::<_, Option<i16>>(index)?.map(|v| Value::Integer(v.into()))
    } else if *ty == Type::BOOL {
        row.try_get::<_, Option<bool>>(index)?.map(|v| Value::Integer(v.into()))
    } else if *ty == Type::BYTEA {
        row.try_get::<_, Option<Vec<u8>>>(index)?.map(Value::Blob)
    } else if *ty == Type::FLOAT8 {
        row.try_get::<_, Option<f64>>(index)?.map(Value::Real)
    } else if [Type::TEXT, Type::VARCHAR, Type::BPCHAR, Type::NAME].contains(ty) {
        row.try_get::<_, Option<String>>(index)?.map(Value::Text)
    } else {
        return Err(DbError::Data(format!("column {index}: unsupported type {ty}")));
    };
    Ok(value.unwrap_or(Value::Null))
}

/// A store on a new database of the server CERTKEEP_TEST_POSTGRES_URL names; `None` (saying
/// so) when the variable is not set.
#[cfg(test)]
pub(crate) fn scratch_store() -> Option<PostgresStore> {
    let Ok(url) = std::env::var("CERTKEEP_TEST_POSTGRES_URL") else {
        eprintln!("CERTKEEP_TEST_POSTGRES_URL is not set: skipped on PostgreSQL");
        return None;
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let name = format!("t_unit_{}_{nanos}", std::process::id());
    Some(PostgresStore::connect(&create_database(&url, &name).unwrap()).unwrap())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_even_when_processes_start_together() {
        let Ok(url) = std::env::var("CERTKEEP_TEST_POSTGRES_URL") else { return };
        let url = create_database(&url, &format!("t_migrate_{}", std::process::id())).unwrap();
        let version = |store: &PostgresStore| {
            let conn = store.engine().pool.get().unwrap();
            block_on(conn.client.query_one("SELECT version FROM schema_version", &[]))
                .unwrap()
                .get::<_, i64>(0)
        };
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                std::thread::spawn(move || PostgresStore::connect(&url).map(|s| version(&s)))
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap().unwrap(), schema::MIGRATIONS.len() as i64);
        }
    }

    #[test]
    fn placeholders_are_numbered_as_sqlite_numbers_them() {
        assert_eq!(placeholders("a = ? AND b = ?"), "a = $1 AND b = $2");
        assert_eq!(placeholders("a = ?2 OR ?1 IS NULL AND c = ?"), "a = $2 OR $1 IS NULL AND c = $3");
        assert_eq!(placeholders("x LIKE ? ESCAPE '\\' AND y = '?'"), "x LIKE $1 ESCAPE '\\' AND y = '?'");
    }

    #[test]
    fn a_database_is_replaced_in_either_url_form() {
        assert_eq!(
            with_database("postgres://u@h:5/old?sslmode=disable", "n"),
            "postgres://u@h:5/n?sslmode=disable"
        );
        assert_eq!(with_database("postgresql://u@%2Ftmp", "n"), "postgresql://u@%2Ftmp/n");
        assert_eq!(with_database("host=/tmp user=postgres", "n"), "host=/tmp user=postgres dbname=n");
    }

    #[test]
    fn a_database_is_dropped_with_its_connections_and_only_once() {
        let Ok(server) = std::env::var("CERTKEEP_TEST_POSTGRES_URL") else { return };
        let name = format!("t_drop_{}", std::process::id());
        let store = PostgresStore::connect(&create_database(&server, &name).unwrap()).unwrap();
        let conn = store.engine().pool.get().unwrap();
        drop_database(&server, &name).unwrap();
        drop(conn);
        // Gone: its name is free again, and dropping what is not there is no error.
        create_database(&server, &name).unwrap();
        drop_database(&server, &name).unwrap();
        drop_database(&server, &name).unwrap();
        assert!(drop_database(&server, "bad;name").is_err());
    }
}
