//! See probe/mod.rs. Findings 3 (forward-auth, origins, the Host header, repeated
//! security headers), 6 (unbounded `caller` and `reason`), 7 (a prune age that
//! overflowed), and three informational ones: what a down database tells strangers,
//! unit names that look like options, and `podup demo --state` over a real database.

use crate::support::*;
use std::io::Read;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

const PROXY_SECRET: &str = "proxy-secret-0123456789abcdef";

/// Sends a request with exactly these headers (Host included) and body.
fn send(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    raw.push_str(body);
    exchange(addr, raw.as_bytes())
}

fn error(r: &Resp) -> String {
    r.json()["error"].as_str().unwrap_or_default().to_string()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// The documented same-host setup: a proxy on 127.0.0.1 names the user.
fn same_host_proxy(name: &str) -> Podup {
    Podup::new(name)
        .env("PODUP_TRUSTED_PROXIES", "127.0.0.1")
        .env("PODUP_FORWARD_AUTH_HEADER", "X-Forwarded-User")
        .env("PODUP_FORWARD_AUTH_SECRET", PROXY_SECRET)
}

#[test]
fn a_local_process_cannot_forge_the_forward_auth_header() {
    let podup = same_host_proxy("probe-fwd-forge");
    let server = podup.serve(&[]);
    let forged = send(
        server.addr,
        "POST",
        "/api/v1/session",
        &[("Host", "127.0.0.1"), ("X-Forwarded-User", "admin")],
        "",
    );
    assert_eq!(
        forged.status, 401,
        "curl -H 'X-Forwarded-User: admin' got: {}",
        forged.body
    );
    assert!(forged.header("set-cookie").is_none());
    let guessed = send(
        server.addr,
        "POST",
        "/api/v1/session",
        &[
            ("Host", "127.0.0.1"),
            ("X-Forwarded-User", "admin"),
            ("X-Podup-Proxy-Secret", "proxy-secret-0123456789abcdeX"),
        ],
        "",
    );
    assert_eq!(guessed.status, 401, "{}", guessed.body);
    let proxied = send(
        server.addr,
        "POST",
        "/api/v1/session",
        &[
            ("Host", "127.0.0.1"),
            ("X-Forwarded-User", "alice"),
            ("X-Podup-Proxy-Secret", PROXY_SECRET),
        ],
        "",
    );
    assert_eq!(proxied.status, 200, "{}", proxied.body);
    assert_eq!(proxied.json()["via"], "forward_auth");
    drop(server);
    let everything = std::fs::read(podup.db_path()).unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&everything).contains(PROXY_SECRET),
        "the proxy secret is never stored"
    );
}

#[test]
fn forward_auth_trusting_local_peers_without_a_secret_does_not_start() {
    for proxies in ["127.0.0.1", "127.0.0.0/8", "::1", "unix", "0.0.0.0/0"] {
        let podup = Podup::new("probe-fwd-nosecret")
            .env("PODUP_TRUSTED_PROXIES", proxies)
            .env("PODUP_FORWARD_AUTH_HEADER", "X-Forwarded-User");
        let out = podup.run(&["tasks"]);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{proxies}: {err}");
        assert!(
            err.contains("PODUP_FORWARD_AUTH_SECRET") && err.contains("PODUP_TRUSTED_PROXIES"),
            "{proxies}: {err}"
        );
    }
    let remote = Podup::new("probe-fwd-remote")
        .env("PODUP_TRUSTED_PROXIES", "10.0.0.0/8")
        .env("PODUP_FORWARD_AUTH_HEADER", "X-Forwarded-User");
    let out = remote.run(&["tasks"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let short = same_host_proxy("probe-fwd-short").env("PODUP_FORWARD_AUTH_SECRET", "tiny-s3cret");
    let out = short.run(&["tasks"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("PODUP_FORWARD_AUTH_SECRET"));
    assert!(!stderr_of(&out).contains("tiny-s3cret"), "the secret is never printed");
}

#[test]
fn with_a_public_url_a_rebound_host_and_a_foreign_origin_are_refused() {
    let podup = same_host_proxy("probe-rebind").env("PODUP_PUBLIC_URL", "https://podup.example.com");
    let admin = podup.token("alice", "admin");
    let server = podup.serve(&[]);
    // DNS rebinding: the attacker's name now points at 127.0.0.1.
    let rebound = send(
        server.addr,
        "POST",
        "/api/v1/session",
        &[
            ("Host", "rebind.attacker.example"),
            ("X-Forwarded-User", "admin"),
            ("X-Podup-Proxy-Secret", PROXY_SECRET),
        ],
        "",
    );
    assert_eq!(
        (rebound.status, error(&rebound)),
        (421, "misdirected_request".into()),
        "{}",
        rebound.body
    );
    let health = send(
        server.addr,
        "GET",
        "/health",
        &[("Host", "rebind.attacker.example:8777")],
        "",
    );
    assert_eq!(health.status, 421, "{}", health.body);
    // The public name (any case, default port) and direct local addresses are served.
    let port = server.addr.port().to_string();
    for host in ["podup.example.com", "PODUP.example.com:443", "127.0.0.1", "localhost"] {
        let r = send(server.addr, "GET", "/health", &[("Host", host)], "");
        assert_eq!(r.status, 200, "{host}: {}", r.body);
    }
    let local = format!("127.0.0.1:{port}");
    let r = send(server.addr, "GET", "/health", &[("Host", &local)], "");
    assert_eq!(r.status, 200, "{}", r.body);
    // A session made on the local address: only the public origin may change things.
    let body = format!(r#"{{"token": "{admin}"}}"#);
    let signed = send(server.addr, "POST", "/api/v1/session", &[("Host", &local)], &body);
    assert_eq!(signed.status, 200, "{}", signed.body);
    let cookie = signed
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = signed.json()["csrf_token"].as_str().unwrap().to_string();
    let own_origin = format!("http://{local}");
    let change = |origin: &str| {
        send(
            server.addr,
            "POST",
            "/api/v1/update-all",
            &[
                ("Host", &local),
                ("Cookie", &cookie),
                ("X-CSRF-Token", &csrf),
                ("Origin", origin),
            ],
            "",
        )
    };
    let r = change(&own_origin);
    assert_eq!((r.status, error(&r)), (403, "csrf_failed".into()), "{}", r.body);
    let r = change("https://podup.example.com");
    assert_eq!(error(&r), "no_services", "the public origin passes: {}", r.body);
}

type Headers<'a> = Vec<(&'a str, &'a str)>;

#[test]
fn a_repeated_security_header_is_refused_before_any_credential() {
    let podup = same_host_proxy("probe-dup").env("PODUP_GITHUB_SECRET", "0123456789abcdef0123");
    let admin = podup.token("alice", "admin");
    let server = podup.serve(&[]);
    let bearer = format!("Bearer {admin}");
    let cases: Vec<(&str, &str, Headers)> = vec![
        (
            "GET",
            "/api/v1/tasks",
            vec![("Authorization", bearer.as_str()), ("Authorization", "Bearer nope")],
        ),
        (
            "POST",
            "/api/v1/session",
            vec![
                ("X-Podup-Proxy-Secret", PROXY_SECRET),
                ("X-Forwarded-User", "alice"),
                ("X-Forwarded-User", "admin"),
            ],
        ),
        (
            "POST",
            "/api/v1/session",
            vec![
                ("X-Podup-Proxy-Secret", PROXY_SECRET),
                ("X-Podup-Proxy-Secret", "other"),
                ("X-Forwarded-User", "alice"),
            ],
        ),
        (
            "GET",
            "/api/v1/session",
            vec![("Cookie", "podup_session=a"), ("Cookie", "podup_session=b")],
        ),
        (
            "POST",
            "/hooks/github",
            vec![
                ("X-GitHub-Event", "ping"),
                ("X-GitHub-Delivery", "d-1"),
                ("X-GitHub-Delivery", "d-2"),
                ("X-Hub-Signature-256", "sha256=00"),
            ],
        ),
        (
            "POST",
            "/hooks/github",
            vec![
                ("X-GitHub-Event", "ping"),
                ("X-GitHub-Delivery", "d-3"),
                ("X-Hub-Signature-256", "sha256=00"),
                ("X-Hub-Signature-256", "sha256=11"),
            ],
        ),
    ];
    for (method, path, extra) in cases {
        let mut headers = vec![("Host", "127.0.0.1")];
        headers.extend(extra.iter().copied());
        let r = send(server.addr, method, path, &headers, "{}");
        assert_eq!(
            (r.status, error(&r)),
            (400, "duplicate_header".into()),
            "{method} {path} {extra:?}: {}",
            r.body
        );
    }
}

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

// ---- Red-team finding 6: a Host the PODUP_PUBLIC_URL check must read whole. ----

#[test]
fn with_a_public_url_a_host_with_junk_around_an_address_is_refused() {
    let podup = Podup::new("probe-host-tricks").env("PODUP_PUBLIC_URL", "https://podup.example.com");
    let server = podup.serve(&[]);
    let status = |host: &str| {
        let r = send(server.addr, "GET", "/health", &[("Host", host)], "");
        (r.status, error(&r))
    };
    for bad in [
        "[127.0.0.1]evil.com",
        "[::1]evil.example",
        "[::1]:8777evil",
        "[::1]:",
        "[127.0.0.1]",
        "::1",
        "podup.example.com:",
        "podup.example.com:99999",
        "podup.example.com:80:80",
        "user@podup.example.com",
        "podup.example.com@evil.example",
        "podup.example.com..",
        "podup..example.com",
        "podup.example.com/x",
    ] {
        assert_eq!(status(bad), (421, "misdirected_request".into()), "Host: {bad}");
    }
    // The same name: any case, one trailing dot (the absolute form of the name), a port.
    for good in [
        "podup.example.com",
        "PODUP.Example.COM",
        "podup.example.com.",
        "podup.example.com.:443",
        "[::1]",
        "[::1]:8777",
        "127.0.0.1:8777",
        "localhost.",
    ] {
        assert_eq!(status(good), (200, String::new()), "Host: {good}");
    }
}

#[test]
fn a_misdirected_request_is_answered_with_its_reason_phrase() {
    let podup = Podup::new("probe-421-phrase").env("PODUP_PUBLIC_URL", "https://podup.example.com");
    let server = podup.serve(&[]);
    let r = send(
        server.addr,
        "GET",
        "/health",
        &[("Host", "rebind.attacker.example")],
        "",
    );
    assert!(
        r.head.starts_with("HTTP/1.1 421 Misdirected Request\r\n"),
        "{}",
        r.head.lines().next().unwrap_or_default()
    );
}

// Second round (red team F5, F7, login CSRF).

/// Third probe (G5): past the limit a bad cookie is answered 200 signed-out with the
/// cookie cleared, not 429 (the panel then shows its sign-in form). Still no oracle:
/// past the limit the answer is the same whatever the cookie, and every failure is
/// still counted and recorded.
#[test]
fn get_session_counts_a_bad_cookie_and_past_the_limit_answers_alike_for_every_cookie() {
    let podup = Podup::new("probe-session-oracle");
    let _admin = podup.token("alice", "admin");
    let server = podup.serve(&[]);
    let get = |cookie: &str| {
        send(
            server.addr,
            "GET",
            "/api/v1/session",
            &[("Host", "t"), ("Cookie", cookie)],
            "",
        )
    };
    let answers: Vec<Resp> = (0..25).map(|i| get(&format!("podup_session=s_{i:064}"))).collect();
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    // Past the limit, two other bad cookies: the same answer, byte for byte.
    let (a, b) = (get("podup_session=s_x"), get(&format!("podup_session=s_{:064}", 99)));
    assert_eq!((a.status, &a.body), (b.status, &b.body));
    assert_eq!(a.body, answers[0].body, "past the limit as under it");
    assert!(a.header("retry-after").is_none() && cleared(&a), "{}", a.head);
    // Without a cookie it is not a guess: answered the same.
    let plain = send(server.addr, "GET", "/api/v1/session", &[("Host", "t")], "");
    assert_eq!(plain.status, 200, "{}", plain.body);
    // Each failure is recorded, and those past the limit say so.
    let conn = rusqlite::Connection::open(podup.db_path()).unwrap();
    let rows = |reason: &str| -> i64 {
        conn.query_row(
            "SELECT coalesce(sum(count), 0) FROM event_log WHERE path = '/api/v1/session' AND tier = 3 AND reason = ?1",
            [reason],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert!(
        wait_until(Duration::from_secs(5), || rows("auth_rate_limited") == 7),
        "the 7 bad cookies past the limit are recorded as limited: {}",
        rows("auth_rate_limited")
    );
    assert_eq!(
        rows("signed_out"),
        20,
        "the 20 under the limit are recorded as failures"
    );
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

#[test]
fn sign_in_from_a_foreign_origin_is_refused() {
    let podup = Podup::new("probe-login-csrf");
    let admin = podup.token("alice", "admin");
    let server = podup.serve(&[]);
    let body = format!(r#"{{"token": "{admin}"}}"#);
    let host = server.addr.to_string();
    let foreign = send(
        server.addr,
        "POST",
        "/api/v1/session",
        &[("Host", &host), ("Origin", "https://evil.example")],
        &body,
    );
    assert_eq!(
        (foreign.status, error(&foreign)),
        (403, "csrf_failed".into()),
        "a sign-in from another site: {}",
        foreign.body
    );
    assert!(foreign.header("set-cookie").is_none());
    let own = format!("http://{host}");
    for headers in [
        vec![("Host", host.as_str()), ("Origin", own.as_str())],
        vec![("Host", host.as_str())],
    ] {
        let r = send(server.addr, "POST", "/api/v1/session", &headers, &body);
        assert_eq!(r.status, 200, "{headers:?}: {}", r.body);
    }
    // With PODUP_PUBLIC_URL only its origin passes.
    let public = Podup::new("probe-login-csrf-public").env("PODUP_PUBLIC_URL", "https://podup.example.com");
    let admin = public.token("alice", "admin");
    let server = public.serve(&[]);
    let body = format!(r#"{{"token": "{admin}"}}"#);
    let local = format!("127.0.0.1:{}", server.addr.port());
    let r = send(
        server.addr,
        "POST",
        "/api/v1/session",
        &[("Host", &local), ("Origin", &format!("http://{local}"))],
        &body,
    );
    assert_eq!((r.status, error(&r)), (403, "csrf_failed".into()), "{}", r.body);
    let r = send(
        server.addr,
        "POST",
        "/api/v1/session",
        &[("Host", &local), ("Origin", "https://podup.example.com")],
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

// Third probe, G5: the proxy-wide failure limit and the panel's stale cookie.

fn cleared(r: &Resp) -> bool {
    r.header("set-cookie")
        .is_some_and(|c| c.starts_with("podup_session=;") && c.contains("Max-Age=0"))
}

#[test]
fn a_stale_cookie_past_the_proxy_wide_limit_gets_the_sign_in_form_not_429() {
    let podup = same_host_proxy("probe-session-stale");
    let _admin = podup.token("alice", "admin");
    let server = podup.serve(&[]);
    // A local process names a new client each time: 205 bad cookies "through the proxy".
    for i in 0..205 {
        let client = format!("10.66.{}.{}", i / 200, i % 200 + 1);
        let cookie = format!("podup_session=s_{i:064}");
        let r = send(
            server.addr,
            "GET",
            "/api/v1/session",
            &[("Host", "t"), ("X-Forwarded-For", &client), ("Cookie", &cookie)],
            "",
        );
        assert!(r.status == 200 || r.status == 429, "{}", r.body);
    }
    // A remote user whose browser still holds a stale cookie gets the sign-in form.
    let stale = format!("podup_session=s_{:064}", 7);
    let user = send(
        server.addr,
        "GET",
        "/api/v1/session",
        &[("Host", "t"), ("X-Forwarded-For", "203.0.113.9"), ("Cookie", &stale)],
        "",
    );
    assert_eq!(user.status, 200, "{}", user.body);
    assert_eq!(user.json()["signed_in"], false, "{}", user.body);
    assert!(cleared(&user), "the stale cookie is cleared: {}", user.head);
    // The same with a valid forward-auth identity: the identity is used, not the cookie.
    let proxied = send(
        server.addr,
        "GET",
        "/api/v1/session",
        &[
            ("Host", "t"),
            ("X-Forwarded-For", "203.0.113.9"),
            ("X-Forwarded-User", "alice"),
            ("X-Podup-Proxy-Secret", PROXY_SECRET),
            ("Cookie", &stale),
        ],
        "",
    );
    assert_eq!(proxied.status, 200, "{}", proxied.body);
    assert_eq!(proxied.json()["forward_auth"], true, "{}", proxied.body);
    assert!(cleared(&proxied), "{}", proxied.head);
}
