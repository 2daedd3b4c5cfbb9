//! Programs podup runs, missing: `systemd-run` for dispatch, `podman` for a task worker
//! and the timer's job.

use crate::support::faults::*;
use crate::support::*;
use rusqlite::OptionalExtension;

/// PATH holding only the fakes, without `name`: the program is not installed.
fn without(fakes: &Fakes, name: &str) -> String {
    std::fs::remove_file(fakes.dir().join(name)).unwrap();
    fakes.dir().to_str().unwrap().to_string()
}

#[test]
fn systemd_run_missing_fails_the_task_with_the_reason_and_answers_500() {
    let (fakes, podup) = setup("fault-no-systemd-run", &[]);
    let path = without(&fakes, "systemd-run");
    let podup = podup.env("PATH", &path);
    let admin = podup.token("admin", "admin");
    let server = podup.serve(&[]);
    let before = rows(&server.db);
    let check = |r: &Resp| {
        assert_error(r, 500, &["dispatch_failed"]);
        let v = r.json();
        let message = v["message"].as_str().unwrap();
        assert!(message.contains("'systemd-run' was not found in PATH"), "{message}");
        let id = v["task_id"].as_i64().unwrap();
        let (status, reason, task_message) = task_row(&server.db, id);
        assert_eq!((status.as_str(), reason.as_str()), ("failed", "dispatch_failed"));
        assert!(task_message.contains("systemd-run"), "{task_message}");
        id
    };
    let id = check(&update(server.addr, &admin));
    check(&call(server.addr, "POST", "/api/v1/update-all", Some(&admin), ""));
    check(&published(server.addr, "no-systemd-run"));
    // The task's log keeps the command and why it could not run.
    let conn = rusqlite::Connection::open(&server.db).unwrap();
    let (argv, stderr_text): (String, String) = conn
        .query_row(
            "SELECT argv, stderr FROM task_logs WHERE task_id = ?1 AND step = 'dispatch'",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(argv.contains("systemd-run"), "{argv}");
    assert!(stderr_text.contains("not found"), "{stderr_text}");
    // Every answer has its event row, linked to its task, with the code as reason.
    let failed: i64 = conn
        .query_row(
            "SELECT count(*) FROM event_log WHERE status = 500 AND reason = 'dispatch_failed' AND task_id IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(failed, 3);
    // A failed delivery runs again when GitHub redelivers it; it fails the same way.
    check(&published(server.addr, "no-systemd-run"));
    // The CLI names the program.
    let out = podup.run(&["trigger", "other.service"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("systemd-run"), "{}", stderr(&out));
    drop(server);
    assert_intact(&podup.db_path(), &before);
    let tasks = rows(&podup.db_path()).tasks;
    assert_eq!(tasks.len(), 5);
    assert!(tasks.iter().all(|(_, s)| s == "failed"), "{tasks:?}");
}

#[test]
fn podman_missing_fails_the_worker_task_with_a_clear_message() {
    let (fakes, podup) = setup("fault-no-podman", &[]);
    let admin = podup.token("admin", "admin");
    let server = podup.serve(&[]);
    let r = update(server.addr, &admin);
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["task_id"].as_i64().unwrap();
    drop(server);
    let before = rows(&podup.db_path());
    // The worker as systemd-run would start it, on a host without podman.
    let path = without(&fakes, "podman");
    let db = podup.db_path();
    let out = podup
        .command(&["run-task", &id.to_string(), "--db", db.to_str().unwrap()])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("'podman' was not found in PATH"),
        "{}",
        stderr(&out)
    );
    let (status, reason, message) = task_row(&db, id);
    assert_eq!(status, "failed", "{reason}: {message}");
    assert!(message.contains("'podman' was not found in PATH"), "{message}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let unit: (String, String) = conn
        .query_row(
            "SELECT status, coalesce(message, '') FROM task_units WHERE task_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(unit.0, "failed", "{unit:?}");
    let lock: Option<String> = conn
        .query_row("SELECT unit FROM unit_locks", [], |r| r.get(0))
        .optional()
        .unwrap();
    assert_eq!(lock, None, "the deploy lock is released");
    drop(conn);
    // The timer's job runs podman in-process: it fails the same way, exit 1.
    let out = podup
        .command(&["auto-update", "--caller", "timer"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (status, message): (String, String) = conn
        .query_row(
            "SELECT status, coalesce(message, '') FROM tasks WHERE kind = 'auto-update'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(status, "failed", "{message}");
    assert!(message.contains("podman"), "{message}");
    drop(conn);
    assert_intact(&db, &before);
}
