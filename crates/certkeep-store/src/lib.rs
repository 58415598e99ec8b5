//! Storage engines for the certkeep inventory.
//!
//! [`SqliteStore`] is the embedded engine: one file, WAL journal, migrations applied on open.
//! It implements [`certkeep_core::Store`], so the domain and the HTTP layer never see SQL.

mod sqlite;

pub use sqlite::SqliteStore;
