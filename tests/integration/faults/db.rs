//! The state database under faults: read-only, deleted while serving (also under a
//! task worker), and a full disk.

use crate::support::faults::*;
use crate::support::*;
use std::time::Duration;

#[test]
fn a_read_only_state_db_is_refused_with_its_path_and_fix_and_loses_nothing() {
    let Some((_fakes, podup, mount, admin)) = on_tmpfs("fault-ro", "8m", &[]) else {
        return;
    };
    let db = podup.db_path();
    let id = {
        let server = podup.serve(&[]);
        let r = update(server.addr, &admin);
        assert_eq!(r.status, 202, "{}", r.body);
        assert_eq!(get(server.addr, "/health").status, 200);
        r.json()["task_id"].as_i64().unwrap()
    };
    let before = rows(&db);
    assert_eq!(before.events.len(), 2);

    // (a) The file immutable: root itself cannot write it.
    let flag = Immutable::set(&db);
    let out = podup.run(&["token", "add", "late", "--role", "read"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(db.to_str().unwrap()) && err.contains("read-only") && err.contains("lsattr"),
        "{err}"
    );
    let out = podup.run(&["run-task", &id.to_string(), "--db", db.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(db.to_str().unwrap()), "{}", stderr(&out));
    let server = podup.serve(&[]);
    let r = get(server.addr, "/health");
    assert_error(&r, 503, &["db_unavailable"]);
    let v = r.json();
    // The path and the fix are the operator's (the CLI above, the journal), not a stranger's.
    assert!(
        !r.body.contains(db.to_str().unwrap()) && v["db"]["fix"].is_null(),
        "{v}"
    );
    assert!(v["db"]["error"].as_str().unwrap().contains("read-only"), "{v}");
    assert_error(&update(server.addr, &admin), 503, &["db_unavailable"]);
    assert_error(&published(server.addr, "ro-1"), 503, &["db_unavailable"]);
    // Fixed while serving: podup opens it again within a few seconds.
    drop(flag);
    assert!(wait_until(Duration::from_secs(6), || get(server.addr, "/health")
        .status
        == 200));
    // Each worker thread reopens on its own clock: the others follow within moments.
    assert!(wait_until(Duration::from_secs(6), || call(
        server.addr,
        "GET",
        "/api/v1/tasks",
        Some(&admin),
        ""
    )
    .status
        == 200));
    drop(server);
    assert_intact(&db, &before);
    assert_eq!(task_row(&db, id).0, "pending", "the refused worker changed nothing");

    // (b) The file system read-only (remounted while podup is not running).
    let before = rows(&db);
    mount.remount("ro");
    let server = podup.serve(&[]);
    let r = get(server.addr, "/health");
    assert_error(&r, 503, &["db_unavailable"]);
    let out = podup.run(&["token", "add", "late", "--role", "read"]);
    assert!(stderr(&out).contains("read-only mount"), "{}", stderr(&out));
    assert_error(
        &call(server.addr, "GET", "/api/v1/tasks", Some(&admin), ""),
        503,
        &["db_unavailable"],
    );
    mount.remount("rw");
    assert!(wait_until(Duration::from_secs(6), || get(server.addr, "/health")
        .status
        == 200));
    drop(server);
    assert_intact(&db, &before);
}

#[test]
fn deleting_the_db_while_serving_restores_it_with_every_row() {
    let (_fakes, podup) = setup("fault-deleted", &[("PODUP_WORKERS", "4")]);
    let admin = podup.token("admin", "admin");
    let server = podup.serve(&[]);
    let db = server.db.clone();
    let r = update(server.addr, &admin);
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["task_id"].as_i64().unwrap();
    for _ in 0..5 {
        assert_eq!(get(server.addr, "/health").status, 200);
    }
    for round in ["podup.db alone", "podup.db with its -wal and -shm"] {
        let before = rows(&db);
        std::fs::remove_file(&db).unwrap();
        if round.contains("-wal") {
            let _ = std::fs::remove_file(db.with_extension("db-wal"));
            let _ = std::fs::remove_file(db.with_extension("db-shm"));
        }
        // Several workers, each with its own connection to the deleted file.
        let answers = at_once(12, |i| {
            let path = if i % 2 == 0 { "/health" } else { "/nope" };
            get(server.addr, path).status
        });
        assert!(answers.iter().all(|s| *s == 200 || *s == 404), "{round}: {answers:?}");
        // Other processes see the same database again.
        let out = podup.run(&["tasks"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("manual"),
            "{round}: the task is listed"
        );
        let r = call(server.addr, "GET", &format!("/api/v1/tasks/{id}"), Some(&admin), "");
        assert_eq!(r.status, 200, "{round}: {}", r.body);
        assert_intact(&db, &before);
        let after = rows(&db);
        assert_eq!(
            after.events.len(),
            before.events.len() + 12 + 1,
            "{round}: every request after the deletion has its row"
        );
    }
    let mut server = server;
    let _ = server.child.kill();
    let _ = server.child.wait();
    assert!(server.stderr().contains("restored it from the open connection"));
}

#[test]
fn a_worker_first_used_after_the_db_was_deleted_does_not_create_an_empty_one() {
    // Workers open their handle on their first request. One that had never served
    // used to create a new, empty database at the deleted file's path, which then
    // kept the others from restoring theirs, and they took the empty one: every
    // earlier row was gone.
    let (_fakes, podup) = setup("fault-deleted-fresh", &[("PODUP_WORKERS", "16")]);
    let admin = podup.token("admin", "admin");
    let server = podup.serve(&[]);
    let db = server.db.clone();
    assert_eq!(update(server.addr, &admin).status, 202);
    let before = rows(&db);
    std::fs::remove_file(&db).unwrap();
    // More at once than the workers that have served: most get their first request.
    let answers = at_once(32, |_| {
        let r = get(server.addr, "/health");
        (r.status, r.body)
    });
    for (status, body) in &answers {
        assert!(
            *status == 200 || (*status == 503 && body.contains("db_unavailable")),
            "{status} {body}"
        );
    }
    // Soon all 32 at once are answered again: the workers that found the file
    // missing open it once it is back. (That they did not replace it with an empty
    // one is `assert_intact`'s to say: /health is 200 on an empty database too.)
    let healthy = || {
        at_once(32, |_| get(server.addr, "/health").status)
            .iter()
            .all(|s| *s == 200)
    };
    assert!(
        wait_until(Duration::from_secs(8), healthy),
        "32 requests at once answered again"
    );
    assert_intact(&db, &before);
    let r = call(server.addr, "GET", "/api/v1/tasks", Some(&admin), "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["tasks"].as_array().map(Vec::len), Some(1), "{}", r.body);
}

#[test]
fn a_full_disk_answers_503_and_serving_resumes_when_space_is_freed() {
    let Some((fakes, podup, mount, admin)) = on_tmpfs("fault-full", "2m", &[]) else {
        return;
    };
    let server = podup.serve(&[]);
    let db = server.db.clone();
    let r = update(server.addr, &admin);
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["task_id"].as_i64().unwrap();
    conn_exec(&db, "UPDATE tasks SET status = 'succeeded', reason = 'ok'");
    let before = rows(&db);

    // An empty write-ahead log, so that every write needs new blocks (SQLite reuses
    // the space of a log it has restarted: some writes succeed on a full disk), then
    // fill the file system to the last block.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let busy: i64 = conn
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
        .unwrap();
    assert_eq!(busy, 0, "the checkpoint ran");
    drop(conn);
    let filler = mount.fill();
    let runs = fakes.calls_of("systemd-run").len();
    let mut seen = Vec::new();
    for n in 0..4 {
        let r = update(server.addr, &admin);
        seen.push(assert_error(&r, 503, &["store_failed", "db_unavailable"]));
        let r = published(server.addr, &format!("full-{n}"));
        seen.push(assert_error(&r, 503, &["store_failed", "db_unavailable"]));
    }
    assert!(seen.iter().any(|c| c == "store_failed"), "{seen:?}");
    let r = get(server.addr, "/health");
    assert!(r.status == 200 || r.status == 503, "{}", r.body);
    if r.status == 503 {
        assert!(r.json()["db"]["error"].as_str().unwrap().contains("full"), "{}", r.body);
    }
    assert_eq!(fakes.calls_of("systemd-run").len(), runs, "nothing was dispatched");
    let out = podup.run(&["trigger", "other.service"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("full"), "{}", stderr(&out));

    // Space again: serving resumes by itself.
    std::fs::remove_file(&filler).unwrap();
    let resumed = wait_until(Duration::from_secs(8), || update(server.addr, &admin).status == 202);
    assert!(resumed, "serving resumed after the disk was freed");
    // A worker that saw the failure opens the database again after at most 2 s.
    let healthy = wait_until(Duration::from_secs(5), || {
        (0..4).all(|_| get(server.addr, "/health").status == 200)
    });
    assert!(healthy, "every worker is healthy again");
    drop(server);
    assert_intact(&db, &before);
    assert_eq!(task_row(&db, id).0, "succeeded");
    let tasks = rows(&db).tasks;
    assert_eq!(tasks.len(), 2, "no half-written task from the full disk: {tasks:?}");
}

const SHOW_LOADED: &str = "LoadState=loaded\nActiveState=active\nSubState=running\nResult=success\nMainPID=7\nNRestarts=0\nInvocationID=a\nActiveEnterTimestampMonotonic=1\n";
const SHOW_GONE: &str = "LoadState=not-found\nActiveState=inactive\nSubState=dead\nResult=success\nMainPID=0\nNRestarts=0\nInvocationID=\nActiveEnterTimestampMonotonic=0\n";

#[test]
fn a_task_worker_holding_the_deleted_db_leaves_the_restored_one_alone() {
    // One worker thread: after the restore no connection of the server is left on
    // the deleted file, so the task worker's is the last one there.
    let (fakes, podup) = setup("fault-deleted-worker", &[("PODUP_WORKERS", "1")]);
    let admin = podup.token("admin", "admin");
    let server = podup.serve(&[]);
    let db = server.db.clone();
    let first = update(server.addr, &admin).json()["task_id"].as_i64().unwrap();
    let r = call(server.addr, "POST", "/api/v1/update-all", Some(&admin), "");
    assert_eq!(r.status, 202, "{}", r.body);
    let waiting = r.json()["task_id"].as_i64().unwrap();
    // Task `first` holds app.service and its unit is loaded: the worker of `waiting`
    // keeps the database open while it waits for the lock.
    conn_exec(
        &db,
        &format!("INSERT INTO unit_locks (unit, task_id, acquired_ms) VALUES ('app.service', {first}, 1)"),
    );
    fakes.answer("systemctl", 0, SHOW_LOADED, "");
    let mut worker = podup
        .command(&["run-task", &waiting.to_string(), "--db", db.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let waits = wait_until(Duration::from_secs(10), || {
        conn.query_row(
            "SELECT count(*) FROM task_logs WHERE task_id = ?1 AND step = 'wait'",
            [waiting],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
            > 0
    });
    drop(conn);
    assert!(waits, "the worker waits for the lock");

    std::fs::remove_file(&db).unwrap();
    assert_eq!(get(server.addr, "/health").status, 200, "restored");
    let before = rows(&db);
    // The worker is stopped: it records `cancelled` in the deleted file and closes it.
    // SAFETY: kill(2) on the pid of a child this test started and has not reaped.
    unsafe { libc::kill(worker.id() as i32, libc::SIGTERM) };
    let status = worker.wait().unwrap();
    assert!(status.code().is_some(), "{status:?}");
    for _ in 0..3 {
        assert_eq!(get(server.addr, "/nope").status, 404);
    }
    // Another process sees every row, the ones written after the worker closed too.
    assert_intact(&db, &before);
    assert_eq!(rows(&db).events.len(), before.events.len() + 3);
    // The worker's end went to the deleted file: once its unit is gone the task is
    // unknown, not pending for ever.
    fakes.answer("systemctl", 0, SHOW_GONE, "");
    conn_exec(&db, "UPDATE tasks SET created_ms = created_ms - 60000"); // past the dispatch grace
    let t = call(
        server.addr,
        "GET",
        &format!("/api/v1/tasks/{waiting}"),
        Some(&admin),
        "",
    );
    let v = t.json();
    assert_eq!(
        (v["task"]["status"].as_str(), v["task"]["reason"].as_str()),
        (Some("unknown"), Some("worker_lost")),
        "{v:#}"
    );
    drop(server);
    assert_eq!(rows(&db).events.len(), before.events.len() + 4);
}

#[test]
fn a_db_deleted_on_a_full_disk_is_restored_once_there_is_space() {
    let Some((_fakes, podup, mount, admin)) = on_tmpfs("fault-deleted-full", "2m", &[("PODUP_WORKERS", "1")]) else {
        return;
    };
    let server = podup.serve(&[]);
    let db = server.db.clone();
    assert_eq!(update(server.addr, &admin).status, 202);
    let before = rows(&db);
    let filler = mount.fill();
    // The deleted file keeps its blocks while podup has it open: no room for the copy.
    std::fs::remove_file(&db).unwrap();
    let r = get(server.addr, "/health");
    assert_error(&r, 503, &["db_unavailable"]);
    let error = r.json()["db"]["error"].as_str().unwrap().to_string();
    assert!(error.contains("deleted") && error.contains("tries again"), "{error}");
    assert_error(&update(server.addr, &admin), 503, &["db_unavailable"]);
    std::fs::remove_file(&filler).unwrap();
    assert!(wait_until(Duration::from_secs(6), || get(server.addr, "/health")
        .status
        == 200));
    drop(server);
    assert_intact(&db, &before);
}
