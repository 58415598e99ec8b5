//! Running the service: health, rate counts shared by replicas, sealed secrets, the audit log.

use certkeep_core::{Id, OperationsStore, StoreResult, store::CommitObserver};
use time::OffsetDateTime;

use super::db::params;
use super::{Engine, Mode, SqlStore, audit, ncp, partner, rate, webhook};

impl<E: Engine> OperationsStore for SqlStore<E> {
    fn ping(&self) -> StoreResult<()> {
        self.run(Mode::Read, |db| db.row("SELECT 1", params![], |_| Ok(())))
    }

    fn observe_commits(&self, observer: CommitObserver) {
        self.engine.observe_commits(observer);
    }

    fn count_request(&self, caller: &str, limits: &[(u32, u64)], now: OffsetDateTime) -> StoreResult<bool> {
        let now_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        self.run(Mode::Write, |db| rate::count_request(db, caller, limits, now_ms))
    }

    fn seal_clear_eab_keys(&self, seal: &dyn Fn(&str, &[u8]) -> Vec<u8>) -> StoreResult<u64> {
        self.run(Mode::Write, |db| partner::seal_clear_eab_keys(db, seal))
    }

    fn reseal_secrets(
        &self,
        reseal: &dyn Fn(certkeep_core::seal::SealedSecret<'_>) -> Option<Vec<u8>>,
    ) -> StoreResult<u64> {
        self.run(
            Mode::Write,
            |db| Ok(ncp::reseal_secrets(db, reseal)? + webhook::reseal_secrets(db, reseal)?),
        )
    }

    fn record_audit(&self, event: &certkeep_core::lifecycle::AuditEvent) -> StoreResult<()> {
        self.run(Mode::Write, |db| audit::insert(db, event))
    }

    fn audit_events(
        &self,
        account_id: Option<Id>,
        query: &certkeep_core::audit::AuditQuery,
    ) -> StoreResult<certkeep_core::audit::AuditPage> {
        self.run(Mode::Snapshot, |db| audit::events(db, account_id, query))
    }
}
