use super::*;
use crate::support::faults::update;
use crate::support::receiver::Receiver;
use std::time::Duration;

#[test]
fn serve_never_sends_it_schedules_a_flush_that_delivers() {
    let hook = Receiver::start();
    let (fakes, podup) = with_sinks("notify-serve", &[webhook(&hook, "")], &[]);
    // systemd-run fails for the task's unit: serve ends the task failed itself.
    fakes.answer("systemd-run", 1, "", "Failed to start transient service unit");
    let admin = podup.token("admin", "admin");
    let server = podup.serve(&[]);
    let r = update(server.addr, &admin);
    assert_eq!(r.status, 500, "{}", r.body);
    let id = r.json()["task_id"].as_i64().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(hook.received().is_empty(), "podup serve sent a notification");
    let rows = outbox(&podup.db_path());
    assert_eq!((rows[0].0, rows[0].2.as_str(), rows[0].3), (id, "pending", 0));
    // It asked systemd for a flush instead (which the fake does not run).
    let flush_asked = fakes.calls().iter().any(|c| {
        c[0] == "systemd-run"
            && c.iter().any(|a| a.starts_with("--unit=podup-notify-"))
            && c.ends_with(&[
                "notify".into(),
                "--flush".into(),
                "--db".into(),
                podup.db_path().display().to_string(),
            ])
    });
    assert!(flush_asked, "{:?}", fakes.calls());
    drop(server);
    let out = podup.run(&["notify", "--flush"]);
    assert!(out.status.success());
    assert_eq!(hook.received().len(), 1);
    assert_eq!(hook.received()[0].json()["task"]["id"], id);
}

#[test]
fn failed_authentications_make_one_message_per_window() {
    let hook = Receiver::start();
    let (_fakes, podup) = with_sinks(
        "notify-auth",
        &[webhook(&hook, "&events=auth_failures")],
        &[("PODUP_NOTIFY_AUTH_WINDOW", "2s")],
    );
    let server = podup.serve(&[]);
    for i in 0..3 {
        let r = call(
            server.addr,
            "GET",
            "/api/v1/tasks",
            Some(&format!("podup_wrong{i}")),
            "",
        );
        assert_eq!(r.status, 401, "{}", r.body);
    }
    let rows = outbox(&podup.db_path());
    assert_eq!(rows.len(), 1, "one window: {rows:?}");
    assert_eq!((rows[0].1.as_str(), rows[0].2.as_str()), ("auth_failures", "pending"));
    // Not due before the window ends.
    podup.run(&["notify", "--flush"]);
    assert!(hook.received().is_empty());
    assert!(wait_until(Duration::from_secs(10), || {
        podup.run(&["notify", "--flush"]);
        !hook.received().is_empty()
    }));
    let v = hook.received()[0].json();
    assert_eq!(v["event"], "auth_failures");
    assert_eq!(v["auth_failures"]["count"], 3, "{v}");
    assert_eq!(v["auth_failures"]["routes"]["/api/v1/tasks"], 3, "{v}");
    // The next failure opens a new window.
    call(server.addr, "GET", "/api/v1/tasks", Some("podup_wrong9"), "");
    assert_eq!(outbox(&podup.db_path()).len(), 2);
    let text = format!("{:?}", hook.received()[0].body);
    assert!(!text.contains("podup_wrong"), "the tokens tried are never sent");
}
