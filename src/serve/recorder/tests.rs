//! The writer thread and the direct path beside it.

use super::*;

/// An empty scratch directory named for the test, and a configuration keeping the
/// state database in it.
fn scratch(name: &str) -> (PathBuf, Config) {
    let dir = crate::testing::scratch_dir(&format!("recorder-{name}"));
    let pairs = [
        ("PODUP_STATE_DIR", dir.to_str().unwrap()),
        ("PODUP_LIMIT_AUTH_FAILURES", "2/1m"),
    ];
    let config = Config::from_pairs(&pairs, 0).unwrap();
    (dir, config)
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
        filing: fold::Filing::KEPT,
    }
}

/// Whether the row is in the database, seen through a connection of its own: only
/// what is committed.
fn committed(path: &std::path::Path, id: &str) -> bool {
    let conn = crate::store::open(path).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM event_log WHERE request_id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    n == 1
}

#[test]
fn with_the_writer_idle_a_worker_commits_its_own_row_and_with_it_busy_queues_it() {
    let (dir, config) = scratch("direct");
    let path = config.db_path();
    let mut own = Db::open(&path);
    let (recorder, write_loop) = Recorder::new(path.clone(), &config);
    // The writer is starting: the first rows wait for it rather than meet its
    // first commit.
    assert!(recorder.write_now(&mut own, &record("early", false)).is_none());
    std::thread::scope(|s| {
        s.spawn(write_loop);
        recorder.record_and_wait(Arc::new(record("r0", false))).unwrap();
        // The writer has written its row and let go: it is idle now.
        drop(recorder.gate.hold());
        let stored = recorder.write_now(&mut own, &record("r1", false));
        assert!(matches!(stored, Some(Ok(()))), "{stored:?}");
        assert!(committed(&path, "r1"), "committed by the time the answer may go");
        // The writer busy (a commit under way): the row is not taken here; handed to
        // the writer, it is stored with its next commit.
        let busy = recorder.gate.hold();
        assert!(recorder.write_now(&mut own, &record("r2", false)).is_none());
        assert!(!committed(&path, "r2"));
        let (done, answer) = std::sync::mpsc::sync_channel(1);
        recorder.record(Arc::new(record("r2", false)), move |stored| {
            let _ = done.send((stored, std::thread::current().id()));
        });
        drop(busy);
        let (stored, on) = answer.recv().unwrap();
        stored.unwrap();
        assert_ne!(on, std::thread::current().id(), "answered on the writer thread");
        assert!(committed(&path, "r2"));
        drop(recorder);
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_worker_whose_handle_is_down_leaves_its_row_to_the_writer() {
    let (dir, config) = scratch("direct-down");
    let path = config.db_path();
    drop(Db::open(&path));
    let blocked = dir.join("blocked");
    std::fs::create_dir_all(blocked.join("podup.db")).unwrap();
    let mut down = Db::open_existing(&blocked.join("podup.db"));
    let (recorder, write_loop) = Recorder::new(path.clone(), &config);
    std::thread::scope(|s| {
        s.spawn(write_loop);
        recorder.record_and_wait(Arc::new(record("r0", false))).unwrap();
        drop(recorder.gate.hold());
        assert!(recorder.write_now(&mut down, &record("r1", false)).is_none());
        recorder.record_and_wait(Arc::new(record("r1", false))).unwrap();
        assert!(committed(&path, "r1"));
        drop(recorder);
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rows_from_many_threads_land_each_with_its_own_answer() {
    let (dir, config) = scratch("many");
    let path = config.db_path();
    drop(Db::open(&path));
    let (recorder, write_loop) = Recorder::new(path.clone(), &config);
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
                            recorder.record_and_wait(Arc::new(record(&id, n % 10 == 0)))
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
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_writer_starts_the_log_at_once_and_changes_nothing() {
    let (dir, config) = scratch("log");
    let path = config.db_path();
    let mut db = Db::open(&path);
    let conn = db.get().unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    let before: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    let wal = dir.join("podup.db-wal");
    assert_eq!(
        std::fs::metadata(&wal).unwrap().len(),
        0,
        "an empty log, as after a restart"
    );
    start_log(&mut db);
    assert!(std::fs::metadata(&wal).unwrap().len() > 0, "the log is started");
    let conn = db.get().unwrap();
    let after: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(after, before);
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM event_log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_writer_without_a_database_answers_unavailable_and_the_worker_writes_the_row() {
    let (dir, config) = scratch("down");
    // A directory where the file should be: the writer's handle cannot open.
    let blocked = dir.join("blocked");
    std::fs::create_dir_all(blocked.join("podup.db")).unwrap();
    let (recorder, write_loop) = Recorder::new(blocked.join("podup.db"), &config);
    let kept = Arc::new(record("r1", true));
    let answer = std::thread::scope(|s| {
        s.spawn(write_loop);
        let answer = recorder.record_and_wait(Arc::clone(&kept));
        drop(recorder);
        answer
    });
    let why = answer.unwrap_err();
    assert!(matches!(why, NotStored::Unavailable(_)), "{why:?}");
    assert_eq!(kept.event.request_id, "r1");
    let mut own = Db::open(&config.db_path());
    write_one(&mut own, &config, &kept).unwrap();
    let conn = crate::store::open(&config.db_path()).unwrap();
    let rows: i64 = conn
        .query_row("SELECT count(*) FROM event_log WHERE request_id = 'r1'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(rows, 1, "the worker's own handle stored the row");
    std::fs::remove_dir_all(&dir).unwrap();
}
