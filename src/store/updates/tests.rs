use super::*;
use crate::store::schema::{MIGRATIONS, migrate};

fn db(name: &str) -> (std::path::PathBuf, Connection) {
    let d = crate::testing::scratch_dir(name);
    let conn = crate::store::open(&d.join("podup.db")).unwrap();
    (d, conn)
}

fn verdict(unit: &str, status: UpdateStatus) -> Verdict {
    Verdict {
        unit: unit.into(),
        image: Some("localhost:5000/acme/app:latest".into()),
        status,
        remote_digest: Some(format!("sha256:{}", "b".repeat(64))),
        remote_created: None,
        local_digests: vec![format!("sha256:{}", "a".repeat(64))],
        reason: None,
        message: Some("a newer image".into()),
        endpoint: Some("localhost:5000/acme/app:latest".into()),
        checked_ms: 1000,
        fetched_ms: Some(900),
        task_id: Some(7),
        remote_tag: None,
    }
}

#[test]
fn a_verdict_round_trips_and_the_latest_wins() {
    let (d, conn) = db("updates-verdict");
    record(&conn, &verdict("app.service", UpdateStatus::Available)).unwrap();
    let mut later = verdict("app.service", UpdateStatus::UpToDate);
    later.checked_ms = 2000;
    record(&conn, &later).unwrap();
    record(&conn, &verdict("db.service", UpdateStatus::Unknown)).unwrap();
    let all = all(&conn).unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0], later);
    assert_eq!(all[1].status, UpdateStatus::Unknown);
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn stored_texts_are_bounded() {
    let (d, conn) = db("updates-bounded");
    let mut v = verdict("app.service", UpdateStatus::Unknown);
    v.message = Some("x".repeat(100_000));
    v.local_digests = vec!["d".repeat(1000); 100];
    record(&conn, &v).unwrap();
    let got = &all(&conn).unwrap()[0];
    assert!(got.message.as_ref().unwrap().chars().count() <= MAX_TEXT + 1);
    assert_eq!(got.local_digests.len(), MAX_DIGESTS);
    assert!(got.local_digests.iter().all(|d| d.chars().count() <= 201));
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn the_cache_answers_only_while_fresh() {
    let (d, conn) = db("updates-cache");
    let c = Cached {
        digest: "sha256:1".into(),
        created: None,
        endpoint: "r/a:t".into(),
        fetched_ms: 5000,
    };
    cache(&conn, "r/a:t", &c).unwrap();
    assert_eq!(cached(&conn, "r/a:t", 4000).unwrap(), Some(c.clone()));
    assert_eq!(cached(&conn, "r/a:t", 5001).unwrap(), None);
    assert_eq!(cached(&conn, "r/b:t", 0).unwrap(), None);
    assert_eq!(forget_before(&conn, 6000, 0).unwrap(), 1);
    assert_eq!(cached(&conn, "r/a:t", 0).unwrap(), None);
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_hold_keeps_its_latest_end_and_lapses() {
    let (d, conn) = db("updates-holds");
    hold(&conn, "registry.example", 9000).unwrap();
    hold(&conn, "registry.example", 5000).unwrap();
    assert_eq!(
        holds(&conn, 1000).unwrap(),
        vec![("registry.example".to_string(), 9000)]
    );
    assert!(holds(&conn, 9000).unwrap().is_empty());
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_digest_is_announced_once_per_unit() {
    let (d, conn) = db("updates-notices");
    assert!(first_notice(&conn, "app.service", "sha256:1", 1).unwrap());
    assert!(!first_notice(&conn, "app.service", "sha256:1", 2).unwrap());
    assert!(first_notice(&conn, "app.service", "sha256:2", 3).unwrap());
    assert!(first_notice(&conn, "db.service", "sha256:1", 4).unwrap());
    std::fs::remove_dir_all(d).unwrap();
}

/// The rebuild of `tasks` (migration 11) keeps every task with its units and logs, its
/// triggers and its foreign keys, and lets a task be a `check`.
#[test]
fn migration_11_keeps_tasks_units_and_triggers() {
    let d = crate::testing::scratch_dir("updates-migration");
    std::fs::create_dir_all(&d).unwrap();
    let mut conn = Connection::open(d.join("podup.db")).unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    for sql in &MIGRATIONS[..10] {
        conn.execute_batch(sql).unwrap();
    }
    conn.pragma_update(None, "user_version", 10).unwrap();
    conn.execute_batch(
        "INSERT INTO tasks (id, kind, status, created_ms, source, spec, runner) VALUES
             (1, 'manual', 'succeeded', 1, 'cli', '{}', 'podup-auto-update.service'),
             (2, 'webhook', 'running', 2, 'github', '{}', NULL);
         INSERT INTO task_units (task_id, unit) VALUES (1, 'a.service'), (2, 'b.service');
         INSERT INTO task_logs (task_id, ts_ms, level, step, message) VALUES (1, 1, 'info', 's', 'm');",
    )
    .unwrap();
    migrate(&mut conn).unwrap();
    let keys: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
    assert_eq!(keys, 1, "foreign keys are on again");
    let n: i64 = conn
        .query_row("SELECT count(*) FROM task_units", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 2);
    let runner: Option<String> = conn
        .query_row("SELECT runner FROM tasks WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(runner.as_deref(), Some("podup-auto-update.service"));
    conn.execute(
        "INSERT INTO tasks (kind, created_ms, source, spec) VALUES ('check', 3, 'cli', '{}')",
        [],
    )
    .unwrap();
    assert!(
        conn.execute(
            "INSERT INTO tasks (kind, created_ms, source, spec) VALUES ('bogus', 3, 'cli', '{}')",
            []
        )
        .is_err()
    );
    let e = conn
        .execute("UPDATE tasks SET status = 'failed' WHERE id = 1", [])
        .unwrap_err();
    assert!(e.to_string().contains("terminal"), "{e}");
    conn.execute("DELETE FROM tasks WHERE id = 1", []).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM task_logs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0, "deleting a task still cascades to its log");
    std::fs::remove_dir_all(d).unwrap();
}
