//! See probe/mod.rs. Findings 6 (unbounded `caller` and `reason`) and 7 (a prune age
//! that overflowed), and three informational ones: what a down database tells
//! strangers, unit names that look like options, and `podup demo --state` over a real
//! database.

use crate::support::probe::*;
use crate::support::*;
use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn caller_and_reason_are_bounded_in_the_api_and_the_cli() {
    let podup = Podup::new("probe-fields");
    let admin = podup.token("alice", "admin");
    let server = podup.serve(&[]);
    let auth = format!("Bearer {admin}");
    let post = |path: &str, body: String| {
        send(
            server.addr,
            "POST",
            path,
            &[("Host", "t"), ("Authorization", &auth)],
            &body,
        )
    };
    let long_caller = "c".repeat(201);
    let long_reason = "r".repeat(2001);
    for path in ["/api/v1/update-all", "/api/v1/services/app.service/update"] {
        let r = post(path, format!(r#"{{"caller": "{long_caller}"}}"#));
        assert_eq!(
            (r.status, error(&r)),
            (400, "field_too_long".into()),
            "{path}: {}",
            r.body
        );
        assert!(r.json()["message"].as_str().unwrap().contains("caller"), "{}", r.body);
        let r = post(path, format!(r#"{{"reason": "{long_reason}"}}"#));
        assert_eq!(
            (r.status, error(&r)),
            (400, "field_too_long".into()),
            "{path}: {}",
            r.body
        );
        assert!(r.json()["message"].as_str().unwrap().contains("reason"), "{}", r.body);
    }
    // At the limit (in characters, not bytes) they pass on to the next check.
    let at_limit = format!(
        r#"{{"caller": "{}", "reason": "{}"}}"#,
        "é".repeat(200),
        "é".repeat(2000)
    );
    let r = post("/api/v1/update-all", at_limit);
    assert_eq!(error(&r), "no_services", "{}", r.body);
    drop(server);
    let everything = std::fs::read(podup.db_path()).unwrap_or_default();
    assert!(!String::from_utf8_lossy(&everything).contains(&long_reason));

    let cli = Podup::new("probe-fields-cli").env("PODUP_SERVICES", "app.service");
    for (flag, value) in [("--caller", &long_caller), ("--reason", &long_reason)] {
        let out = cli.run(&["trigger", "--all", "--dry-run", flag, value]);
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains(flag), "{}", stderr_of(&out));
    }
    let out = cli.run(&["auto-update", "--dry-run", "--caller", &long_caller]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("--caller"), "{}", stderr_of(&out));
}

#[test]
fn a_huge_prune_age_is_refused_and_deletes_nothing() {
    let podup = Podup::new("probe-prune");
    let admin = podup.token("alice", "admin");
    let server = podup.serve(&[]);
    for _ in 0..3 {
        assert_eq!(get(server.addr, "/health").status, 200);
    }
    let before = event_count(&server.db);
    let auth = format!("Bearer {admin}");
    for age in ["9223372036854775808s", "18446744073709551615", "106751991167d"] {
        let r = send(
            server.addr,
            "POST",
            "/api/v1/maintenance/prune",
            &[("Host", "t"), ("Authorization", &auth)],
            &format!(r#"{{"older_than": "{age}"}}"#),
        );
        assert_eq!(
            (r.status, error(&r)),
            (400, "duration_out_of_range".into()),
            "{age}: {}",
            r.body
        );
        assert!(
            r.json()["message"].as_str().unwrap().contains("older_than"),
            "{}",
            r.body
        );
    }
    assert!(event_count(&server.db) >= before + 3, "no event was pruned");
    let r = send(
        server.addr,
        "POST",
        "/api/v1/maintenance/prune",
        &[("Host", "t"), ("Authorization", &auth)],
        r#"{"older_than": "36500d", "dry_run": true}"#,
    );
    assert_eq!(r.status, 200, "a century is in range: {}", r.body);
    assert_eq!(r.json()["counts"]["events"], 0, "{}", r.body);
    drop(server);
    let out = podup.run(&["prune", "--older-than", "9223372036854775808s"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("--older-than"), "{}", stderr_of(&out));
    assert!(event_count(&podup.db_path()) >= before + 3);
}

#[test]
fn a_down_database_tells_strangers_no_path_and_no_uid() {
    let podup = Podup::new("probe-dbinfo");
    let file = podup.state.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let podup = podup.env("PODUP_STATE_DIR", file.join("state").to_str().unwrap());
    let server = podup.serve(&[]);
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = format!("uid {}", unsafe { libc::geteuid() });
    for path in ["/health", "/api/v1/tasks", "/api/v1/session"] {
        let r = get(server.addr, path);
        assert_eq!((r.status, error(&r)), (503, "db_unavailable".into()), "{path}");
        assert!(
            !r.body.contains("not-a-dir") && !r.body.contains(&uid) && !r.body.contains("podup.db"),
            "{path}: {}",
            r.body
        );
    }
    // The operator still learns everything on the host.
    let out = podup.run(&["check"]);
    assert!(stderr_of(&out).contains("not-a-dir") || String::from_utf8_lossy(&out.stdout).contains("not-a-dir"));
}

#[test]
fn a_unit_name_that_looks_like_an_option_is_refused_at_start() {
    for (var, value) in [
        ("PODUP_SERVICES", "-H.service"),
        ("PODUP_SERVICES", "app.service,--machine=x.service=ghcr.io/a/b:1"),
        ("PODUP_EXCLUDE", "-x.service"),
    ] {
        let out = Podup::new("probe-dash").env(var, value).run(&["tasks"]);
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains(var), "{}", stderr_of(&out));
    }
}

/// Starts `podup demo --state DIR` and returns its exit code, or None when it was
/// still running (serving) after it printed its banner or `limit` passed; it is then stopped.
fn demo(dir: &std::path::Path, limit: Duration) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(PODUP)
        .args(["demo", "--listen", "127.0.0.1:0", "--state", dir.to_str().unwrap()])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.parent().unwrap())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            return (status.code(), err);
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            return (None, String::new());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn demo_refuses_a_state_directory_holding_a_database_it_did_not_create() {
    let podup = Podup::new("probe-demo");
    podup.token("keep-me", "admin");
    let real = podup.db_path();
    let dir = real.parent().unwrap().to_path_buf();
    let (code, err) = demo(&dir, Duration::from_secs(5));
    let tokens = podup.run(&["token", "list"]);
    let tokens = String::from_utf8_lossy(&tokens.stdout).to_string();
    assert!(
        tokens.contains("keep-me"),
        "podup demo replaced {}: {tokens}",
        real.display()
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("podup.db") && err.contains("--state"), "{err}");
    // A directory the demo made itself is reused, run after run.
    let own = podup.state.path().join("demo-state");
    for _ in 0..2 {
        let (code, err) = demo(&own, Duration::from_secs(4));
        assert_eq!(code, None, "the demo serves: {err}");
        assert!(own.join("podup.db").exists());
    }
}

#[test]
fn control_and_bidi_characters_in_caller_and_reason_are_refused_before_anything_is_stored() {
    let (_fakes, podup) = setup("probe-fields-controls", &[]);
    let admin = podup.token("alice", "admin");
    let server = podup.serve(&[]);
    let auth = format!("Bearer {admin}");
    let cases = [
        ("caller", r#"{"caller": "x\n--property=ExecStartPre=/bin/sh"}"#),
        ("reason", r#"{"reason": "--help \u202e\u0000"}"#),
        ("reason", r#"{"reason": "tab\there"}"#),
        ("caller", r#"{"caller": "ok\u2066"}"#),
    ];
    for path in ["/api/v1/services/app.service/update", "/api/v1/update-all"] {
        for (field, body) in cases {
            let r = send(
                server.addr,
                "POST",
                path,
                &[("Host", "t"), ("Authorization", &auth)],
                body,
            );
            assert_eq!(
                (r.status, error(&r)),
                (400, "invalid_field".into()),
                "{path} {body}: {}",
                r.body
            );
            assert!(r.json()["message"].as_str().unwrap().contains(field), "{}", r.body);
        }
    }
    let conn = rusqlite::Connection::open(&server.db).unwrap();
    let tasks: i64 = conn.query_row("SELECT count(*) FROM tasks", [], |r| r.get(0)).unwrap();
    assert_eq!(tasks, 0, "a task was stored for a refused field");
    drop(server);

    let cli = Podup::new("probe-fields-controls-cli").env("PODUP_SERVICES", "app.service");
    for (flag, value) in [("--caller", "x\u{1b}[31m"), ("--reason", "a\u{202e}b")] {
        let out = cli.run(&["trigger", "--all", "--dry-run", flag, value]);
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", stderr_of(&out));
        assert!(stderr_of(&out).contains(flag), "{}", stderr_of(&out));
    }
    let out = cli.run(&["auto-update", "--dry-run", "--caller", "a\u{7f}b"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
}
