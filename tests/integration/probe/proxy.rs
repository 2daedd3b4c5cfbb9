//! See probe/mod.rs. Finding 3's forward-auth and repeated security headers, and the
//! session findings (red team F5, F7, login CSRF; third probe G5): no oracle in a bad
//! cookie, no sign-in from a foreign origin, a stale cookie past the limit signed out.

use crate::support::probe::*;
use crate::support::*;
use std::time::Duration;

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
