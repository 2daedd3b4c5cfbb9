//! Event rows in group commits. Under load many workers finish requests at once; each
//! used to pay for a commit of its own, one after the other on SQLite's single write
//! lock. Here one thread owns the writing: it takes every row that is waiting, writes
//! them in one transaction and tells each worker how its row fared. A worker waits
//! for that answer before it responds, so every answered request still has its row.

use crate::config::Config;
use crate::ratelimit;
use crate::store::{Db, events, immediate};
use rusqlite::Connection;
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

/// Most rows in one commit; more wait for the next one.
const MAX_BATCH: usize = 256;

/// What one request leaves behind: its event row and, when it failed
/// authentication, a hit against its source address.
pub struct Record {
    pub event: events::Event,
    pub auth_failure_key: Option<String>,
}

impl Record {
    fn write(&self, conn: &Connection, config: &Config) -> rusqlite::Result<()> {
        events::insert(conn, &self.event)?;
        if let Some(key) = &self.auth_failure_key {
            ratelimit::hit(conn, key, &config.limit_auth_failures, self.event.ts_ms)?;
        }
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
    write_all(db, config, std::slice::from_ref(record))
}

/// Writes `records` in one transaction: all of them, or none.
fn write_all(db: &mut Db, config: &Config, records: &[Record]) -> Result<(), NotStored> {
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

struct Pending {
    record: Record,
    /// The answer; a record that was not stored comes back with it.
    done: SyncSender<Result<(), (NotStored, Record)>>,
}

/// The workers' side: hands a record to the writer and waits for its commit.
pub struct Recorder {
    tx: Sender<Pending>,
}

impl Recorder {
    /// The recorder and the loop to run on the writer thread; the loop ends when
    /// every `Recorder` clone is gone.
    pub fn new(db: Db, config: &Config) -> (Recorder, impl FnOnce() + Send + '_) {
        let (tx, rx) = channel::<Pending>();
        (Recorder { tx }, move || write_loop(db, config, rx))
    }

    /// Stores `record` with the next commit; when it could not be, the record comes back.
    pub fn record(&self, record: Record) -> Result<(), (NotStored, Option<Box<Record>>)> {
        let stopped = || NotStored::Unavailable("the event writer has stopped".into());
        let (done, answer) = sync_channel(1);
        self.tx
            .send(Pending { record, done })
            .map_err(|e| (stopped(), Some(Box::new(e.0.record))))?;
        match answer.recv() {
            Ok(result) => result.map_err(|(e, record)| (e, Some(Box::new(record)))),
            Err(_) => Err((stopped(), None)),
        }
    }
}

impl Clone for Recorder {
    fn clone(&self) -> Recorder {
        Recorder { tx: self.tx.clone() }
    }
}

fn write_loop(mut db: Db, config: &Config, rx: Receiver<Pending>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        write_batch(&mut db, config, batch);
    }
}

/// All rows in one commit; when that fails, each is tried alone, so one bad row
/// costs the others nothing and every worker learns its own row's fate.
fn write_batch(db: &mut Db, config: &Config, batch: Vec<Pending>) {
    let (records, answers): (Vec<Record>, Vec<_>) = batch.into_iter().map(|p| (p.record, p.done)).unzip();
    let together = write_all(db, config, &records);
    match together {
        Ok(()) => {
            for done in answers {
                let _ = done.send(Ok(()));
            }
        }
        Err(e) if records.len() == 1 => {
            let record = records.into_iter().next().expect("one record");
            let _ = answers[0].send(Err((e, record)));
        }
        Err(_) => {
            for (record, done) in records.into_iter().zip(answers) {
                let result = write_one(db, config, &record);
                let _ = done.send(result.map_err(|e| (e, record)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn config(dir: &std::path::Path) -> Config {
        let map: BTreeMap<String, String> = [
            ("PODUP_STATE_DIR", dir.to_str().unwrap()),
            ("PODUP_LIMIT_AUTH_FAILURES", "2/1m"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Config::from_lookup(|n| map.get(n).cloned(), 0, map.keys()).unwrap()
    }

    fn record(id: &str, auth_failure: bool) -> Record {
        Record {
            event: events::Event {
                request_id: id.into(),
                ts_ms: 1_000,
                method: "POST".into(),
                path: "/hooks/github".into(),
                status: if auth_failure { 401 } else { 202 },
                action: "github_webhook".into(),
                reason: "x".into(),
                duration_ms: 1,
                remote_addr: None,
                meta: "{}".into(),
                task_id: None,
            },
            auth_failure_key: auth_failure.then(|| ratelimit::auth_failure_key("192.0.2.1")),
        }
    }

    #[test]
    fn rows_from_many_threads_land_each_with_its_own_answer() {
        let dir = std::env::temp_dir().join(format!("podup-recorder-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = config(&dir);
        let path = config.db_path();
        let (recorder, write_loop) = Recorder::new(Db::open(&path), &config);
        let answers: Vec<Result<(), NotStored>> = std::thread::scope(|s| {
            s.spawn(write_loop);
            let handles: Vec<_> = (0..8)
                .map(|t| {
                    let recorder = recorder.clone();
                    s.spawn(move || {
                        (0..50)
                            .map(|n| {
                                // Every thread also sends "dup", which only the first may store.
                                let id = if n == 25 { "dup".to_string() } else { format!("{t}-{n}") };
                                recorder.record(record(&id, n % 10 == 0)).map_err(|(e, _)| e)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            drop(recorder);
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        let refused: Vec<_> = answers.iter().filter_map(|a| a.as_ref().err()).collect();
        assert_eq!(refused.len(), 7, "{refused:?}");
        assert!(
            refused
                .iter()
                .all(|e| matches!(e, NotStored::Row(m) if m.contains("UNIQUE"))),
            "{refused:?}"
        );
        let conn = crate::store::open(&path).unwrap();
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM event_log", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            rows,
            8 * 49 + 1,
            "every accepted row is stored, the refused ones are not"
        );
        let hits: i64 = conn
            .query_row("SELECT count(*) FROM rate_hits", [], |r| r.get(0))
            .unwrap();
        assert_eq!(hits, 8 * 5, "one hit per failed authentication, in its row's commit");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_writer_without_a_database_hands_the_record_back() {
        let dir = std::env::temp_dir().join(format!("podup-recorder-down-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = config(&dir);
        // A directory where the file should be: the writer's handle cannot open.
        let blocked = dir.join("blocked");
        std::fs::create_dir_all(blocked.join("podup.db")).unwrap();
        let (recorder, write_loop) = Recorder::new(Db::open(&blocked.join("podup.db")), &config);
        let answer = std::thread::scope(|s| {
            s.spawn(write_loop);
            let answer = recorder.record(record("r1", true));
            drop(recorder);
            answer
        });
        let (why, back) = answer.unwrap_err();
        assert!(matches!(why, NotStored::Unavailable(_)), "{why:?}");
        let back = back.expect("the record comes back, for the worker to write itself");
        assert_eq!(back.event.request_id, "r1");
        let mut own = Db::open(&config.db_path());
        write_one(&mut own, &config, &back).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
