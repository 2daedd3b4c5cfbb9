//! Secrets stay secret: after requests with a wrong signature, a wrong token and a
//! token in the query string, neither the webhook secret, nor any token, nor the
//! signature podup expected appears in the event log, podup's log output (at trace
//! level) or any answer.

use crate::support::*;

#[test]
fn no_secret_token_or_expected_signature_leaks() {
    let (_fakes, podup) = setup("secrets", &[("PODUP_LOG_LEVEL", "trace")]);
    let out = podup.run(&["token", "add", "admin", "--role", "admin"]);
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let mut server = podup.serve(&[]);
    let body = fixture("package.published.container-tagged.json");
    let expected = sign(SECRET, &body);
    let mut answers = Vec::new();
    answers.push(deliver(
        server.addr,
        "/hooks/github",
        "package",
        "s1",
        &body,
        Some(&sign("wrong", &body)),
    ));
    answers.push(deliver(
        server.addr,
        "/hooks/github",
        "package",
        "s2",
        &body,
        Some("sha256="),
    ));
    answers.push(call(
        server.addr,
        "GET",
        "/api/v1/tasks",
        Some("podup_0123456789abcdef0123456789abcdef"),
        "",
    ));
    answers.push(call(
        server.addr,
        "GET",
        &format!("/api/v1/tasks?token={token}"),
        None,
        "",
    ));
    answers.push(call(
        server.addr,
        "GET",
        &format!("/api/v1/tasks?access_token={token}&x=1"),
        Some(&token[..20]),
        "",
    ));
    answers.push(call(
        server.addr,
        "POST",
        "/api/v1/update-all",
        Some(&token),
        r#"{"dry_run": true}"#,
    ));
    for a in &answers {
        assert!(a.status > 0);
    }
    let _ = server.child.kill();
    let _ = server.child.wait();
    let log = server.stderr();
    let conn = rusqlite::Connection::open(&server.db).unwrap();
    let rows: Vec<String> = conn
        .prepare("SELECT request_id || method || path || action || reason || coalesce(remote_addr, '') || meta FROM event_log")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(rows.len() >= 6, "{rows:?}");
    let tasks: Vec<String> = conn
        .prepare("SELECT coalesce(caller, '') || coalesce(message, '') || spec FROM tasks")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let hex = &expected["sha256=".len()..];
    let places: Vec<(&str, String)> = vec![
        ("event log", rows.join("\n")),
        ("tasks", tasks.join("\n")),
        ("podup's log", log.clone()),
        (
            "answers",
            answers
                .iter()
                .map(|a| format!("{}\n{}", a.head, a.body))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    ];
    for (place, text) in &places {
        for (what, secret) in [
            ("webhook secret", SECRET),
            ("token", token.as_str()),
            ("expected signature", hex),
            ("token hash", &token[6..]),
        ] {
            assert!(!text.contains(secret), "the {what} appears in the {place}:\n{text}");
        }
    }
    assert!(
        log.contains("signature"),
        "the log does say why a delivery was refused: {log}"
    );
    assert!(rows.iter().any(|r| r.contains("token=REDACTED")), "{rows:?}");
}
