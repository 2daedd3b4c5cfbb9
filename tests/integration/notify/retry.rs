use super::*;
use crate::support::receiver::Receiver;
use std::time::{Duration, Instant};

#[test]
fn a_sink_answering_500_gets_the_message_again_after_the_backoff() {
    let hook = Receiver::start();
    hook.script(&[500]);
    let (fakes, podup) = with_sinks("notify-retry", &[webhook(&hook, "")], &[]);
    let (id, _) = failed_task(&fakes, &podup);
    let rows = outbox(&podup.db_path());
    assert_eq!(rows[0].2, "pending", "{rows:?}");
    assert_eq!(
        rows[0].4.as_deref(),
        Some("the sink answered HTTP 500 Internal Server Error")
    );
    // Not yet due: the first retry waits PODUP_NOTIFY_RETRY (1 s).
    assert!(wait_until(Duration::from_secs(10), || {
        podup.run(&["notify", "--flush"]);
        outbox(&podup.db_path())[0].2 == "delivered"
    }));
    let got = hook.received();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        got[0].body, got[1].body,
        "a retry sends the same message, with the same id"
    );
    let rows = outbox(&podup.db_path());
    assert_eq!((rows[0].0, rows[0].3), (id, 2));
    // The scheduled retry was asked of systemd: a transient timer running the flush.
    let calls = fakes.calls();
    assert!(
        calls.iter().any(|c| c[0] == "systemd-run"
            && c.iter().any(|a| a.starts_with("--on-active="))
            && c.iter().any(|a| a == "--flush")),
        "{calls:?}"
    );
}

#[test]
fn a_sink_that_never_answers_is_cut_at_the_deadline() {
    let hook = Receiver::start();
    hook.hang();
    let (fakes, podup) = with_sinks("notify-hang", &[webhook(&hook, "")], &[]);
    let started = Instant::now();
    let (id, _) = failed_task(&fakes, &podup);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "the worker waited {took:?}");
    let (status, _, _) = crate::support::faults::task_row(&podup.db_path(), id);
    assert_eq!(status, "failed", "the task ended before the delivery was tried");
    let rows = outbox(&podup.db_path());
    assert_eq!(rows[0].2, "pending");
    assert_eq!(rows[0].4.as_deref(), Some("no answer within 2 s"));
}

#[test]
fn a_worker_killed_after_the_commit_leaves_the_message_to_the_next_flush_once() {
    let hook = Receiver::start();
    let (fakes, podup) = with_sinks("notify-kill", &[webhook(&hook, "")], &[]);
    let pause = podup.state.path().join("pause");
    std::fs::create_dir_all(&pause).unwrap();
    let podup = podup
        .env("PODUP_TEST_PAUSE_AT", "notifying")
        .env("PODUP_TEST_PAUSE_DIR", pause.to_str().unwrap());
    let out = podup.run(&["trigger", "app.service"]);
    let id: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    fakes.answer("podman", 125, "", "Error: pull access denied");
    let db = podup.db_path();
    let mut worker = podup
        .command(&["run-task", &id.to_string(), "--db", db.to_str().unwrap()])
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let file = pause.join(format!("task-{id}.notifying"));
    assert!(
        wait_until(Duration::from_secs(30), || file.exists()),
        "the worker never paused"
    );
    // The task's end and its message are committed together; nothing is sent yet.
    let (status, _, _) = crate::support::faults::task_row(&db, id);
    assert_eq!(status, "failed");
    assert_eq!(outbox(&db)[0].2, "pending");
    worker.kill().unwrap();
    worker.wait().unwrap();
    assert!(hook.received().is_empty());
    let flush = podup.run(&["notify", "--flush"]);
    assert!(flush.status.success(), "{}", String::from_utf8_lossy(&flush.stderr));
    podup.run(&["notify", "--flush"]);
    assert_eq!(hook.received().len(), 1, "delivered once");
    assert_eq!(outbox(&db)[0].2, "delivered");
}

#[test]
fn a_sink_down_then_up_gets_the_message_once() {
    // A port nobody listens on yet.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let line = format!("webhook+http://{addr}/hook?secret={HOOK_SECRET}");
    let (fakes, podup) = with_sinks("notify-down", &[line], &[]);
    let (_, out) = failed_task(&fakes, &podup);
    let rows = outbox(&podup.db_path());
    assert_eq!(rows[0].2, "pending");
    assert_eq!(
        rows[0].4.as_deref(),
        Some("cannot talk to the sink: connection refused"),
        "{rows:?}"
    );
    let hook = Receiver::at(addr);
    assert!(wait_until(Duration::from_secs(15), || {
        podup.run(&["notify", "--flush"]);
        outbox(&podup.db_path())[0].2 == "delivered"
    }));
    podup.run(&["notify", "--flush"]);
    assert_eq!(hook.received().len(), 1);
    assert_no_secret(&podup, &[&out]);
}
