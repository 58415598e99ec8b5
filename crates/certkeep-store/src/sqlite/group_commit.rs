//! Group commit: the write transactions of this process run one at a time on one connection,
//! each inside a savepoint of a shared SQLite transaction, and the last writer of a run commits
//! them all with one fsync. Nobody is answered before the commit that holds its work.
//!
//! A writer that finishes while others wait to write leaves the transaction open for them; the
//! writer that finds nobody waiting (or fills the batch) commits and wakes the rest. A job that
//! fails rolls back to its savepoint and leaves its batch-mates untouched; a failed commit fails
//! every job in the batch.

use std::{
    panic::{AssertUnwindSafe, catch_unwind, resume_unwind},
    sync::{
        Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
};

use certkeep_core::store::CommitObserver;
use rusqlite::Connection;

use super::SqliteDb;
use crate::sql::db::{Db, DbError, DbResult};

/// The most jobs one commit holds, so that a steady stream of writers still commits (and the
/// first of them is answered) regularly.
const MAX_BATCH: usize = 64;

/// The writer connection and the batch open on it.
pub struct GroupCommit {
    state: Mutex<State>,
    committed: Condvar,
    /// Writers waiting for `state`: while there are some, the transaction stays open for them.
    arriving: AtomicUsize,
    /// Told the size of each committed batch.
    observer: OnceLock<CommitObserver>,
}

struct State {
    conn: Connection,
    /// The connection's `synchronous` level: `FULL` (true) or `NORMAL`.
    durable: bool,
    batch: Option<Batch>,
}

/// The transaction open on the writer connection.
struct Batch {
    /// Set once, when the transaction commits (`Ok`) or fails (the error, for every job in it).
    outcome: Arc<OnceLock<Result<(), String>>>,
    jobs: usize,
    /// Committed with `synchronous = FULL`: relaxed jobs may join it, and a durable job meeting a
    /// batch without it commits that batch first.
    durable: bool,
}

impl GroupCommit {
    /// Commits go through `conn`, which runs with `synchronous = FULL`.
    pub fn new(conn: Connection) -> Self {
        Self {
            state: Mutex::new(State { conn, durable: true, batch: None }),
            committed: Condvar::new(),
            arriving: 0.into(),
            observer: OnceLock::new(),
        }
    }

    /// Tells `observer` the size of every batch committed from now on (the first one set stays).
    pub fn observe(&self, observer: CommitObserver) {
        let _ = self.observer.set(observer);
    }

    /// Runs `work` in the shared transaction and returns once it is committed. `durable: false`
    /// ([`crate::sql::Mode::Relaxed`]) lets a batch that began with such a job commit with
    /// `synchronous = NORMAL` (no fsync; the WAL's order makes it durable with the next full
    /// commit).
    pub fn write(&self, durable: bool, work: &mut dyn FnMut(&mut dyn Db) -> DbResult<()>) -> DbResult<()> {
        self.arriving.fetch_add(1, Ordering::SeqCst);
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        self.arriving.fetch_sub(1, Ordering::SeqCst);
        // SQLite fixes a transaction's durability when it begins: a durable job does not join
        // a relaxed batch but commits it and opens its own.
        if durable && state.batch.as_ref().is_some_and(|b| !b.durable) {
            self.commit(&mut state);
        }
        if state.batch.is_none() {
            if state.durable != durable {
                run(
                    &state.conn,
                    if durable { "PRAGMA synchronous = FULL" } else { "PRAGMA synchronous = NORMAL" },
                )?;
                state.durable = durable;
            }
            run(&state.conn, "BEGIN IMMEDIATE")?;
            state.batch = Some(Batch { outcome: Arc::default(), jobs: 0, durable });
        }
        // The first job of a batch runs in the transaction itself: if it fails, rolling back the
        // whole transaction undoes it alone. Later jobs run in a savepoint each, which SQLite
        // makes costly for big jobs (every statement then keeps a statement journal).
        let alone = state.batch.as_ref().is_some_and(|b| b.jobs == 0);
        let result = if alone {
            Ok(catch_unwind(AssertUnwindSafe(|| work(&mut SqliteDb(&state.conn)))))
        } else {
            run(&state.conn, "SAVEPOINT job").and_then(|()| {
                let done = catch_unwind(AssertUnwindSafe(|| work(&mut SqliteDb(&state.conn))));
                let kept = matches!(done, Ok(Ok(())));
                let closed = if kept { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
                run(&state.conn, closed).map(|()| done)
            })
        };
        let batch = state.batch.as_mut().expect("a batch is open");
        batch.jobs += 1;
        let (outcome, full) = (batch.outcome.clone(), batch.jobs >= MAX_BATCH);
        let failed_alone = alone && !matches!(result, Ok(Ok(Ok(()))));
        if result.is_err() || failed_alone || state.conn.is_autocommit() {
            // The job failed alone, or the transaction is broken (SQLite rolls it back itself on
            // I/O errors, a full disk...) and takes every job in it along.
            let why =
                result.as_ref().err().map_or("the transaction was rolled back".into(), |e| e.to_string());
            let _ = run(&state.conn, "ROLLBACK");
            self.finish(&mut state, Err(why));
        } else if full || self.arriving.load(Ordering::SeqCst) == 0 {
            self.commit(&mut state);
        }
        match result? {
            Err(panic) => resume_unwind(panic),
            Ok(Err(e)) => Err(e),
            Ok(Ok(())) => {
                while outcome.get().is_none() {
                    state = self.committed.wait(state).unwrap_or_else(PoisonError::into_inner);
                }
                drop(state);
                outcome.get().expect("set").clone().map_err(|e| DbError::Data(format!("commit failed: {e}")))
            }
        }
    }

    fn commit(&self, state: &mut MutexGuard<'_, State>) {
        let committed = run(&state.conn, "COMMIT");
        if committed.is_err() && !state.conn.is_autocommit() {
            let _ = run(&state.conn, "ROLLBACK");
        }
        if let (Ok(()), Some(observe), Some(batch)) = (&committed, self.observer.get(), &state.batch) {
            observe(batch.jobs);
        }
        self.finish(state, committed.map_err(|e| e.to_string()));
    }

    fn finish(&self, state: &mut MutexGuard<'_, State>, outcome: Result<(), String>) {
        if let Some(batch) = state.batch.take() {
            let _ = batch.outcome.set(outcome);
        }
        self.committed.notify_all();
    }
}

/// Runs statements that take no parameters, cached after their first use.
fn run(conn: &Connection, sql: &str) -> DbResult<()> {
    if sql.contains(';') {
        return Ok(conn.execute_batch(sql)?);
    }
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::{sync::Barrier, thread};

    use super::*;
    use crate::sql::db::params;

    fn open(dir: &tempfile::TempDir) -> (Arc<GroupCommit>, Connection) {
        let path = dir.path().join("t.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
             CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE);",
        )
        .unwrap();
        (Arc::new(GroupCommit::new(conn)), Connection::open(&path).unwrap())
    }

    fn insert(db: &mut dyn Db, v: &str) -> DbResult<()> {
        db.execute("INSERT INTO t (v) VALUES (?)", params![v]).map(drop)
    }

    fn count(reader: &Connection) -> i64 {
        reader.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn concurrent_writers_are_all_committed_before_they_return() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, _) = open(&dir);
        let start = Arc::new(Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (writer, start, path) = (writer.clone(), start.clone(), dir.path().join("t.db"));
                thread::spawn(move || {
                    let reader = Connection::open(path).unwrap();
                    start.wait();
                    for i in 0..50 {
                        let v = format!("{t}-{i}");
                        writer.write(i % 2 == 0, &mut |db| insert(db, &v)).unwrap();
                        // Acknowledged means committed: another connection sees it.
                        let seen: i64 = reader
                            .query_row("SELECT count(*) FROM t WHERE v = ?", [&v], |r| r.get(0))
                            .unwrap();
                        assert_eq!(seen, 1, "{v}");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(count(&Connection::open(dir.path().join("t.db")).unwrap()), 400);
    }

    #[test]
    fn a_job_failing_in_a_shared_batch_leaves_its_batch_mates_committed() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reader) = open(&dir);
        let mut second = None;
        writer
            .write(true, &mut |db| {
                insert(db, "first")?;
                // A second writer queues up meanwhile, so this batch stays open for it; it joins
                // in a savepoint, fails, and commits the batch as the last writer of the run.
                let other = writer.clone();
                second = Some(thread::spawn(move || {
                    other.write(true, &mut |db| {
                        insert(db, "second")?;
                        insert(db, "first")
                    })
                }));
                while writer.arriving.load(Ordering::SeqCst) == 0 {
                    thread::yield_now();
                }
                Ok(())
            })
            .unwrap();
        assert!(second.unwrap().join().unwrap().is_err());
        let values: Vec<String> = reader
            .prepare("SELECT v FROM t")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(values, ["first"]);
    }

    #[test]
    fn a_failed_or_panicking_job_takes_only_its_own_writes_back() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, reader) = open(&dir);
        writer.write(true, &mut |db| insert(db, "a")).unwrap();
        let failed = writer.write(true, &mut |db| {
            insert(db, "b")?;
            insert(db, "a") // unique violation
        });
        assert!(failed.is_err());
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            writer.write(true, &mut |db| {
                insert(db, "c").unwrap();
                panic!("boom")
            })
        }));
        assert!(panicked.is_err());
        writer.write(false, &mut |db| insert(db, "d")).unwrap();
        let values: Vec<String> = reader
            .prepare("SELECT v FROM t ORDER BY v")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(values, ["a", "d"]);
        // A durable job after a relaxed one runs at full durability again, in a fresh transaction.
        writer.write(true, &mut |db| insert(db, "e")).unwrap();
        let state = writer.state.lock().unwrap_or_else(PoisonError::into_inner);
        let sync: i64 = state.conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert_eq!((sync, state.conn.is_autocommit()), (2, true));
    }
}
