//! Everything both engines share: the [`Store`] implementation, one file per context
//! (`inventory/`, `partner.rs`, `ncp.rs`, `acme.rs`, `operations.rs`, `console.rs`,
//! `webhook.rs`), written once over the
//! [`Db`] connection interface. This file holds the engine seam and the transaction modes; an
//! engine (SQLite, PostgreSQL) only supplies connections, transactions and its schema.

mod acme;
mod audit;
mod console;
pub mod copy;
pub mod db;
mod inventory;
mod ncp;
mod notice;
mod operations;
mod partner;
pub mod query;
mod rate;
pub mod rows;
#[cfg(test)]
mod tests;
pub(crate) mod webhook;

use certkeep_core::{Store, StoreError, StoreResult};

use db::{Db, DbResult};

/// How a unit of work meets the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Statements on their own (each one atomic).
    Read,
    /// Several reads from one consistent snapshot.
    Snapshot,
    /// A write transaction, serializable with every other one (on any replica): committed when
    /// the work succeeds, rolled back when it fails.
    Write,
    /// A [`Mode::Write`] whose commit does not wait for the disk, for bookkeeping a client redoes
    /// if lost (ACME nonce uses and object states): SQLite commits it with `synchronous =
    /// NORMAL`, PostgreSQL with `synchronous_commit = off`. Both logs are written in order, so
    /// the next ordinary commit makes it durable too; a power loss before then forgets it, a
    /// crash of the process does not, and neither corrupts.
    Relaxed,
}

/// A database engine: hands out connections in the requested [`Mode`].
pub trait Engine: Send + Sync + 'static {
    /// Runs `work` on a connection. In [`Mode::Write`] an engine may run it again after a
    /// serialization failure, so `work` must not keep effects of a failed attempt.
    fn run(&self, mode: Mode, work: &mut dyn FnMut(&mut dyn Db) -> DbResult<()>) -> DbResult<()>;
    /// Tells `observer` of every commit of write transactions from now on, with how many it
    /// held; the first observer set stays.
    fn observe_commits(&self, observer: certkeep_core::store::CommitObserver);
}

/// The inventory in a SQL database: one implementation of [`Store`] for every engine.
pub struct SqlStore<E> {
    engine: E,
}

impl<E: Engine> SqlStore<E> {
    /// A store over an engine whose schema is up to date.
    pub(crate) fn new(engine: E) -> Self {
        Self { engine }
    }

    /// The engine.
    #[cfg(test)]
    pub(crate) fn engine(&self) -> &E {
        &self.engine
    }

    /// The engine, without the store around it.
    pub(crate) fn into_engine(self) -> E {
        self.engine
    }

    /// Runs `work` in `mode` and returns its result.
    pub(crate) fn run<T>(
        &self,
        mode: Mode,
        mut work: impl FnMut(&mut dyn Db) -> DbResult<T>,
    ) -> StoreResult<T> {
        let mut out = None;
        self.engine.run(mode, &mut |db| {
            out = Some(work(db)?);
            Ok(())
        })?;
        out.ok_or_else(|| StoreError("the engine did not run the work".into()))
    }
}

impl<E: Engine> Store for SqlStore<E> {
    fn acme(&self) -> &dyn certkeep_core::acme::AcmeStore {
        self
    }
}
