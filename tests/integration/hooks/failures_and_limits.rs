//! Deliveries again and in excess: duplicates answer the original task, a failing
//! `systemd-run` fails the task, no secret means 503, limits answer 429, refusals log
//! sparingly.

use crate::support::*;

#[test]
fn duplicates_answer_the_original_task_and_a_failed_delivery_runs_again() {
    let (fakes, podup) = setup("hook-dup", &[]);
    let server = podup.serve(&[]);
    let first = published(server.addr, "dup-1");
    let id = first.json()["task_id"].as_i64().unwrap();
    let again = published(server.addr, "dup-1");
    assert_eq!(
        (again.status, again.json()["task_id"].as_i64()),
        (200, Some(id)),
        "{}",
        again.body
    );
    assert_eq!(again.json()["status"], "duplicate");
    // A redelivery is recognised by its id before its body is parsed.
    let unparsed = b"{ not json";
    let sig = sign(SECRET, unparsed);
    let early = deliver(server.addr, "/hooks/github", "package", "dup-1", unparsed, Some(&sig));
    assert_eq!(
        (early.status, early.json()["task_id"].as_i64()),
        (200, Some(id)),
        "{}",
        early.body
    );
    // Another delivery of the same digest while the task is open joins it.
    let joined = published_again(server.addr, "dup-2");
    assert_eq!((joined.status, joined.json()["task_id"].as_i64()), (202, Some(id)));
    assert_eq!(joined.json()["status"], "joined");
    assert_eq!(fakes.calls_of("systemd-run").len(), 1, "nothing else dispatched");
    let conn = rusqlite::Connection::open(&server.db).unwrap();
    conn.execute("UPDATE tasks SET status = 'failed' WHERE id = ?1", [id])
        .unwrap();
    let redelivered = published(server.addr, "dup-1");
    assert_eq!(redelivered.status, 202);
    assert_ne!(
        redelivered.json()["task_id"].as_i64(),
        Some(id),
        "a failed delivery runs again"
    );
    assert_eq!(fakes.calls_of("systemd-run").len(), 2);
}

#[test]
fn a_failing_systemd_run_marks_the_task_failed_and_answers_500() {
    let (fakes, podup) = setup("hook-dispatch-fail", &[]);
    fakes.answer(
        "systemd-run",
        1,
        "",
        "Failed to start transient service unit: Access denied\n",
    );
    let server = podup.serve(&[]);
    let r = published(server.addr, "f");
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (500, Some("dispatch_failed")),
        "{}",
        r.body
    );
    assert!(r.json()["message"].as_str().unwrap().contains("Access denied"));
    let id = r.json()["task_id"].as_i64().unwrap();
    let conn = rusqlite::Connection::open(&server.db).unwrap();
    let (status, reason): (String, String) = conn
        .query_row("SELECT status, reason FROM tasks WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((status.as_str(), reason.as_str()), ("failed", "dispatch_failed"));
    let stderr: String = conn
        .query_row("SELECT stderr FROM task_logs WHERE task_id = ?1", [id], |r| r.get(0))
        .unwrap();
    assert!(stderr.contains("Access denied"));
    // The answer has its event row, linked to the failed task (tests/integration/faults.rs
    // covers systemd-run missing from PATH, the API and the CLI).
    let (status, reason, task): (u16, String, Option<i64>) = conn
        .query_row(
            "SELECT status, reason, task_id FROM event_log ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((status, reason.as_str(), task), (500, "dispatch_failed", Some(id)));
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    // The next delivery, with systemd-run working again, is dispatched.
    fakes.answer("systemd-run", 0, "", "");
    assert_eq!(published(server.addr, "f").status, 202, "a failed delivery runs again");
}

#[test]
fn no_secret_means_503_and_health_says_so() {
    let (_fakes, podup) = setup("hook-nosecret", &[]);
    let podup = podup.env("PODUP_GITHUB_SECRET", "");
    let server = podup.serve(&[]);
    let r = published(server.addr, "x");
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (503, Some("webhook_not_configured"))
    );
    assert_eq!(get(server.addr, "/health").json()["webhook"], "not_configured");
}

#[test]
fn the_per_image_limit_answers_429_with_retry_after() {
    let (fakes, podup) = setup("hook-limit", &[("PODUP_LIMIT_IMAGE", "1/10m")]);
    let server = podup.serve(&[]);
    assert_eq!(published(server.addr, "l1").status, 202);
    let conn = rusqlite::Connection::open(&server.db).unwrap();
    conn.execute("UPDATE tasks SET status = 'succeeded'", []).unwrap();
    let r = published_again(server.addr, "l2");
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (429, Some("image_rate_limited")),
        "{}",
        r.body
    );
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((590..=600).contains(&retry), "{retry}");
    assert_eq!(fakes.calls_of("systemd-run").len(), 1);
    let rows = events(&server.db);
    assert_eq!(rows.last().unwrap().4, "image_rate_limited");
}

#[test]
fn failed_signatures_are_limited_per_address_and_never_block_a_signed_delivery() {
    let (_fakes, podup) = setup("hook-authlimit", &[("PODUP_LIMIT_AUTH_FAILURES", "3/1m")]);
    let server = podup.serve(&[]);
    let body = fixture("package.published.container-tagged.json");
    for _ in 0..3 {
        assert_eq!(
            deliver(server.addr, "/hooks/github", "package", "a", &body, Some("sha256=00")).status,
            401
        );
    }
    let r = deliver(server.addr, "/hooks/github", "package", "a", &body, Some("sha256=00"));
    assert_eq!((r.status, r.json()["error"].as_str()), (429, Some("auth_rate_limited")));
    assert!(r.header("retry-after").is_some());
    // A correctly signed delivery is still checked, and served.
    let r = deliver(
        server.addr,
        "/hooks/github",
        "package",
        "a",
        &body,
        Some(&sign(SECRET, &body)),
    );
    assert_eq!(r.status, 202, "{}", r.body);
}

#[test]
fn refused_deliveries_log_at_most_one_warning_a_second_and_store_every_row() {
    let (_fakes, podup) = setup("hook-refusal-log", &[]);
    let mut server = podup.serve(&[]);
    let body = fixture("package.published.container-tagged.json");
    let started = std::time::Instant::now();
    for n in 0..5 {
        let delivery = format!("refused-{n}");
        let r = deliver(
            server.addr,
            "/hooks/github",
            "package",
            &delivery,
            &body,
            Some("sha256=00"),
        );
        assert_eq!(r.status, 401);
    }
    let seconds = started.elapsed().as_secs() as usize;
    let _ = server.child.kill();
    let _ = server.child.wait();
    let log = server.stderr();
    let warnings = log.lines().filter(|l| l.contains("github webhook refused")).count();
    assert!(
        (1..=1 + seconds).contains(&warnings),
        "one warning per second at most, {warnings} in {seconds} s:\n{log}"
    );
    let refused = events(&server.db).iter().filter(|e| e.2 == 401).count();
    assert_eq!(refused, 5, "the event log has every refusal");
}
