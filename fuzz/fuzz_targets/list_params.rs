//! CertCentral list parameters (filters, sort, offset, limit) from any query string; every
//! query the parser accepts must run against a real SQLite store (values are bound, never
//! spliced into SQL), and everything else must be a clean CertCentral error.
#![no_main]

use std::sync::LazyLock;

use certkeep_core::{InventoryStore, Scope};
use certkeep_server::certcentral::params::{MAX_LIMIT, parse_list};
use certkeep_store::SqliteStore;
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

static STORE: LazyLock<(tempfile::TempDir, SqliteStore, Scope)> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("fuzz.db")).unwrap();
    let (account_id, _) = store.create_account("Fuzz", OffsetDateTime::UNIX_EPOCH).unwrap();
    (dir, store, Scope { account_id, containers: None })
});

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    for max in [Some(MAX_LIMIT), None] {
        match parse_list(&raw, max) {
            Ok(params) => {
                let (_, store, scope) = &*STORE;
                if let Err(e) = store.list_orders(scope, &params.query, OffsetDateTime::UNIX_EPOCH) {
                    panic!("accepted query {raw:?} failed in the store: {e}");
                }
            }
            Err(e) => assert!(e.status.is_client_error(), "{raw:?}: {e:?}"),
        }
    }
});
