//! The one connection interface both engines implement, so that every query is written once.
//!
//! Statements use SQLite's placeholders (`?`, `?N`); the PostgreSQL engine rewrites them to `$N`.
//! Parameters are rusqlite values (`params![...]`) and rows are read with rusqlite's `FromSql`,
//! so a column maps to the same Rust value on both engines.

use std::fmt;

use certkeep_core::{Id, StoreError};
pub use rusqlite::{
    ToSql, params,
    types::{FromSql, Value, ValueRef},
};

/// Which SQL dialect a connection speaks, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite (FTS5 trigram search).
    Sqlite,
    /// PostgreSQL (pg_trgm search).
    Postgres,
}

/// A failure of either engine, or a value that does not fit its Rust type.
#[derive(Debug)]
pub enum DbError {
    /// From the engine, in its words (each engine's `From` conversion writes them).
    Engine(String),
    /// A stored value that cannot be read back.
    Data(String),
    /// The caller's closure gave up; its own error is kept by the caller.
    Aborted,
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Engine(m) | DbError::Data(m) => f.write_str(m),
            DbError::Aborted => f.write_str("aborted"),
        }
    }
}

impl std::error::Error for DbError {}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        StoreError(e.to_string())
    }
}

/// Result of a statement.
pub type DbResult<T> = Result<T, DbError>;

/// A column as an engine hands it over: borrowed from its row, or converted to SQLite's types.
pub enum Column<'a> {
    /// Read in place (SQLite).
    Borrowed(ValueRef<'a>),
    /// Converted (PostgreSQL).
    Owned(Value),
}

/// One result row, as each engine's row type implements it.
pub trait EngineRow {
    /// Column `index` (from 0).
    fn column(&self, index: usize) -> DbResult<Column<'_>>;
}

/// One result row of either engine.
pub struct Row<'a>(pub &'a dyn EngineRow);

impl Row<'_> {
    /// Reads column `index` (from 0) as `T`.
    pub fn get<T: FromSql>(&self, index: usize) -> DbResult<T> {
        let column = self.0.column(index)?;
        let value = match &column {
            Column::Borrowed(v) => *v,
            Column::Owned(v) => ValueRef::from(v),
        };
        T::column_result(value).map_err(|e| DbError::Data(format!("column {index}: {e}")))
    }
}

/// A connection, or a transaction on one.
pub trait Db {
    /// The dialect it speaks.
    fn dialect(&self) -> Dialect;
    /// Runs a statement; returns the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[&dyn ToSql]) -> DbResult<usize>;
    /// Runs a query, handing its rows to `f` in order until `f` returns false.
    fn query(
        &mut self,
        sql: &str,
        params: &[&dyn ToSql],
        f: &mut dyn FnMut(&Row) -> DbResult<bool>,
    ) -> DbResult<()>;
}

impl dyn Db + '_ {
    /// Every row, mapped.
    pub fn rows<T>(
        &mut self,
        sql: &str,
        params: &[&dyn ToSql],
        map: impl Fn(&Row) -> DbResult<T>,
    ) -> DbResult<Vec<T>> {
        let mut out = Vec::new();
        self.query(sql, params, &mut |r| {
            out.push(map(r)?);
            Ok(true)
        })?;
        Ok(out)
    }

    /// The first row, mapped, if there is one.
    pub fn row_opt<T>(
        &mut self,
        sql: &str,
        params: &[&dyn ToSql],
        map: impl Fn(&Row) -> DbResult<T>,
    ) -> DbResult<Option<T>> {
        let mut out = None;
        self.query(sql, params, &mut |r| {
            out = Some(map(r)?);
            Ok(false)
        })?;
        Ok(out)
    }

    /// The first row, mapped; an error when there is none.
    pub fn row<T>(
        &mut self,
        sql: &str,
        params: &[&dyn ToSql],
        map: impl Fn(&Row) -> DbResult<T>,
    ) -> DbResult<T> {
        self.row_opt(sql, params, map)?.ok_or_else(|| DbError::Data(format!("no row: {sql}")))
    }

    /// Whether the query returns a row.
    pub fn exists(&mut self, sql: &str, params: &[&dyn ToSql]) -> DbResult<bool> {
        Ok(self.row_opt(sql, params, |_| Ok(()))?.is_some())
    }

    /// Runs an INSERT and returns the new row's `id` (none when the insert inserted nothing).
    pub fn insert(&mut self, sql: &str, params: &[&dyn ToSql]) -> DbResult<Option<Id>> {
        self.row_opt(&format!("{sql} RETURNING id"), params, |r| r.get(0))
    }

    /// Runs an INSERT that always inserts one row and returns its `id`.
    pub fn insert_one(&mut self, sql: &str, params: &[&dyn ToSql]) -> DbResult<Id> {
        self.insert(sql, params)?.ok_or_else(|| DbError::Data(format!("nothing inserted: {sql}")))
    }
}

/// Borrows values as statement parameters.
pub fn values(values: &[Value]) -> Vec<&dyn ToSql> {
    values.iter().map(|v| v as &dyn ToSql).collect()
}

/// `LIMIT` for "no limit", understood by both engines (SQLite's -1 is an error on PostgreSQL).
pub fn limit(limit: Option<u64>) -> i64 {
    limit.map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX))
}

/// `OFFSET` in the engines' type.
pub fn offset(offset: u64) -> i64 {
    i64::try_from(offset).unwrap_or(i64::MAX)
}
