//! Event rows in group commits. Under load many workers finish requests at once; each
//! used to pay for a commit of its own, one after the other on SQLite's single write
//! lock. Here one thread owns the writing: it takes every row that is waiting, writes
//! them in one transaction, and then runs, for each row, what its worker left to do
//! once the row's fate is known (the pool sends the answer then), so every answered
//! request still has its row. Workers do not wait: while one commit is written, the
//! rows of the next gather. When the writer is idle, a worker writes its own row
//! instead (`Recorder::write_now`, `gate`).

mod gate;

use crate::config::Config;
use crate::store::{Db, events, fold, immediate};
use gate::Gate;
use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SendError, Sender, channel};

/// Most rows in one commit; more wait for the next one.
const MAX_BATCH: usize = 256;
/// Most batches of rows one look at the budget removes (`fold::enforce_budget`).
const BUDGET_BATCHES: usize = 4;
/// One warning a minute while the budget cannot be kept.
static BUDGET_WARNINGS: crate::logging::Throttle = crate::logging::Throttle::new(60_000);

/// What one request leaves behind: its event row. (A failed authentication was
/// counted by its handler before it was answered: `http::auth_limit`.)
pub struct Record {
    pub event: events::Event,
    /// What the size budget may do with the row, and whether it may be folded.
    pub filing: fold::Filing,
}

impl Record {
    fn write(&self, conn: &Connection, _config: &Config) -> rusqlite::Result<()> {
        fold::store(conn, &self.event, &self.filing)?;
        Ok(())
    }
}

/// Why a record was not stored.
#[derive(Debug)]
pub enum NotStored {
    /// The row itself was refused (a constraint); the database is fine.
    Row(String),
    /// Writing failed just now: the handle is marked failed (`/health` says why).
    Db(String),
    /// The handle had failed before and is not due to reopen yet; nothing was tried.
    Unavailable(String),
}

impl NotStored {
    pub fn message(&self) -> &str {
        match self {
            NotStored::Row(m) | NotStored::Db(m) | NotStored::Unavailable(m) => m,
        }
    }
}

/// Writes one record in a transaction of its own (no writer thread: one-shot drivers).
pub fn write_one(db: &mut Db, config: &Config, record: &Record) -> Result<(), NotStored> {
    write_all(db, config, &[record])
}

/// Writes `records` in one transaction: all of them, or none.
fn write_all(db: &mut Db, config: &Config, records: &[&Record]) -> Result<(), NotStored> {
    let conn = db.get_mut().map_err(|e| NotStored::Unavailable(e.to_string()))?;
    let result = immediate(conn).and_then(|tx| {
        for r in records {
            r.write(&tx, config)?;
        }
        tx.commit()
    });
    result.map_err(|e| {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) {
            return NotStored::Row(e.to_string());
        }
        db.fail(&e);
        NotStored::Db(e.to_string())
    })
}

/// What runs on the writer thread once a row's fate is known.
type Then<'a> = Box<dyn FnOnce(Result<(), NotStored>) + Send + 'a>;

struct Pending<'a> {
    record: Arc<Record>,
    then: Then<'a>,
}

/// The workers' side: hands a record to the writer with what to do after its commit.
#[derive(Clone)]
pub struct Recorder<'a> {
    tx: Sender<Pending<'a>>,
    gate: Arc<Gate>,
    config: &'a Config,
}

impl<'a> Recorder<'a> {
    /// The recorder and the loop to run on the writer thread, which opens its own
    /// handle to `path` (on that thread, not on the way to the first answer); the
    /// loop ends when every `Recorder` clone is gone and every row is written. The
    /// database must exist: like every handle opened while serving, this one never
    /// creates it (`Db::open_existing`).
    pub fn new(path: PathBuf, config: &'a Config) -> (Recorder<'a>, impl FnOnce() + Send + 'a) {
        let (tx, rx) = channel::<Pending<'a>>();
        let gate = Arc::new(Gate::new());
        let writer_gate = Arc::clone(&gate);
        (Recorder { tx, gate, config }, move || {
            write_loop(&path, config, &writer_gate, rx)
        })
    }

    /// Stores `record` with the next commit, then calls `then` with how that went, on
    /// the writer thread; `then` should be quick, as the next commit waits for it. The
    /// caller may keep its own reference to the record, to write it itself when the
    /// writer cannot. When the writer has stopped, `then` runs here and now.
    pub fn record(&self, record: Arc<Record>, then: impl FnOnce(Result<(), NotStored>) + Send + 'a) {
        let pending = Pending {
            record,
            then: Box::new(then),
        };
        self.gate.queued();
        if let Err(SendError(p)) = self.tx.send(pending) {
            self.gate.unqueued(1);
            (p.then)(Err(NotStored::Unavailable("the event writer has stopped".into())));
        }
    }

    /// Writes `record` here and now through `db`, in a commit of its own, when the
    /// writer thread is idle (no row waits for it, no commit under way); `None` when
    /// it is not, or when `db` is down and not due to reopen (nothing was tried):
    /// hand the row to `record` then. Once it returns `Some(Ok)`, the row is committed.
    pub fn write_now(&self, db: &mut Db, record: &Record) -> Option<Result<(), NotStored>> {
        let _held = self.gate.idle()?;
        let stored = write_one(db, self.config, record);
        if matches!(stored, Err(NotStored::Unavailable(_))) {
            return None;
        }
        Some(stored)
    }

    /// After a row of `write_now`, once its answer is on its way: the look at the size
    /// budget, when it is due, through `db` (as the writer does after a commit).
    pub fn wrote_now(&self, db: &mut Db) {
        if self.gate.written(1) {
            let _held = self.gate.hold();
            keep_budget(db, self.config);
        }
    }
}

/// Whatever waits is the next commit: the rows that came while one was written go
/// in together, so the batches grow with the load and a lone row never waits.
/// The gate is held from the first row taken until the batch is written and its
/// rows counted out: workers see a busy writer and queue their rows meanwhile.
fn write_loop(path: &std::path::Path, config: &Config, gate: &Gate, rx: Receiver<Pending<'_>>) {
    let mut db = {
        let _held = gate.hold();
        let mut db = Db::open_existing(path);
        start_log(&mut db);
        keep_budget(&mut db, config);
        gate.started();
        db
    };
    while let Ok(first) = rx.recv() {
        let _held = gate.hold();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let rows = batch.len();
        write_batch(&mut db, config, batch);
        gate.unqueued(rows);
        if gate.written(rows) {
            keep_budget(&mut db, config);
        }
    }
}

/// Keeps the database within `PODUP_EVENTS_MAX_MB` (`fold::enforce_budget`): a look
/// at two numbers in the database header, and when over, a few batches of the oldest
/// anonymous rows removed; the rows that wait meanwhile go in with the next commit.
pub fn keep_budget(db: &mut Db, config: &Config) {
    let Ok(conn) = db.get() else { return };
    let max = i64::try_from(config.events_max_bytes).unwrap_or(i64::MAX);
    match fold::enforce_budget(conn, max, BUDGET_BATCHES) {
        Ok(t) if t.refused + t.anonymous + t.failed > 0 => {
            log::warn!(
                error_kind = "events_over_budget";
                "the state database outgrew PODUP_EVENTS_MAX_MB ({} MiB): removed the oldest {} refused, {} anonymous and {} failed-authentication event rows",
                config.events_max_bytes >> 20, t.refused, t.anonymous, t.failed
            );
        }
        Ok(t) if !t.within => {
            if BUDGET_WARNINGS.admit(crate::clock::now_ms()).is_some() {
                log::warn!(
                    error_kind = "events_over_budget";
                    "the state database is over PODUP_EVENTS_MAX_MB ({} MiB) with no anonymous event rows left to remove; authenticated events and tasks are kept (PODUP_RETENTION_EVENTS, podup prune)",
                    config.events_max_bytes >> 20
                );
            }
        }
        Ok(_) => {}
        Err(e) => log::warn!(error_kind = "events_over_budget"; "could not keep the event log within its budget: {e}"),
    }
}

/// The first commit after a start creates the write-ahead log (the last process to
/// close the database removed it) and syncs its header: an fsync, which the first
/// request's answer waited for on a cold start (0.65 ms of a 4 ms start here). The
/// writer starts the log as soon as it has its handle, while that request is still
/// read and handled, by writing back the schema version the database has: a commit
/// that changes no row. Failing is harmless: the first row's commit starts it then.
fn start_log(db: &mut Db) {
    let Ok(conn) = db.get_mut() else { return };
    let _ = crate::store::probe::write_back_version(conn);
}

/// All rows in one commit; when that fails and there are several, each is tried
/// alone, so one bad row costs the others nothing and every worker learns its own
/// row's fate.
fn write_batch(db: &mut Db, config: &Config, batch: Vec<Pending<'_>>) {
    let records: Vec<&Record> = batch.iter().map(|p| &*p.record).collect();
    match write_all(db, config, &records) {
        Err(e) if batch.len() == 1 => {
            let p = batch.into_iter().next().expect("one row");
            (p.then)(Err(e));
        }
        Err(_) => {
            for p in batch {
                let stored = write_one(db, config, &p.record);
                (p.then)(stored);
            }
        }
        Ok(()) => {
            for p in batch {
                (p.then)(Ok(()));
            }
        }
    }
}

#[cfg(test)]
impl Recorder<'_> {
    /// Stores `record` and waits for the commit.
    fn record_and_wait(&self, record: Arc<Record>) -> Result<(), NotStored> {
        let (done, answer) = std::sync::mpsc::sync_channel(1);
        self.record(record, move |stored| {
            let _ = done.send(stored);
        });
        answer.recv().expect("the writer answers every row")
    }
}

#[cfg(test)]
mod tests;
