//! The panel's HTTP side against the built binary: the embedded files' headers,
//! sign-in sessions (cookie flags, CSRF token, Origin, sign-out, revocation),
//! trusted proxies (`Secure` cookies, forward auth) and what never reaches the log.

use crate::support::*;
use std::net::SocketAddr;

/// Sends a request with `headers` (Host is `t`).
fn send(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    let mut raw = format!(
        "{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    raw.push_str(body);
    exchange(addr, raw.as_bytes())
}

/// Signs in with `token`; returns the `Cookie` header value, the CSRF token and the `Set-Cookie`.
fn sign_in(addr: SocketAddr, token: &str, headers: &[(&str, &str)]) -> (String, String, String) {
    let r = send(
        addr,
        "POST",
        "/api/v1/session",
        headers,
        &format!(r#"{{"token": "{token}"}}"#),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let set = r.header("set-cookie").expect("Set-Cookie");
    let cookie = set.split(';').next().unwrap().to_string();
    (cookie, r.json()["csrf_token"].as_str().unwrap().to_string(), set)
}

#[test]
fn panel_files_are_served_with_strict_headers() {
    let podup = Podup::new("panel-files");
    let server = podup.serve(&[]);
    let page = get(server.addr, "/tasks?status=failed&task=3");
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type").as_deref(), Some("text/html; charset=utf-8"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.starts_with("default-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(page.header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    let end = page.body.find("/js/main.js").unwrap() + "/js/main.js".len();
    let js = &page.body[page.body[..end].rfind('"').unwrap() + 1..end];
    assert!(js.ends_with("/js/main.js"), "{js}");
    let asset = get(server.addr, js);
    assert_eq!(asset.status, 200);
    assert_eq!(
        asset.header("content-type").as_deref(),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        asset.header("cache-control").as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(asset.header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(
        get(server.addr, &js.replace("main.js", "app.css").replace("/js/", "/"))
            .header("content-type")
            .as_deref(),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(get(server.addr, "/assets/0.0.1-old/js/main.js").status, 404);
    assert_eq!(send(server.addr, "POST", "/tasks", &[], "").status, 405);
}

#[test]
fn a_session_needs_its_csrf_token_and_our_origin_for_changes() {
    let podup = Podup::new("panel-session");
    let admin = podup.token("alice", "admin");
    let server = podup.serve(&[]);
    let (cookie, csrf, set) = sign_in(server.addr, &admin, &[]);
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(flag), "{set}");
    }
    assert!(!set.contains("Secure"), "not over HTTPS: {set}");
    let who = send(server.addr, "GET", "/api/v1/session", &[("Cookie", &cookie)], "");
    assert_eq!(
        (who.json()["name"].as_str(), who.json()["csrf_token"].as_str()),
        (Some("alice"), Some(csrf.as_str()))
    );
    assert_eq!(
        send(server.addr, "GET", "/api/v1/tasks", &[("Cookie", &cookie)], "").status,
        200
    );

    let stop = |headers: &[(&str, &str)]| send(server.addr, "POST", "/api/v1/tasks/99/stop", headers, "");
    for headers in [
        vec![("Cookie", cookie.as_str()), ("Origin", "http://t")],
        vec![
            ("Cookie", cookie.as_str()),
            ("X-CSRF-Token", "0000"),
            ("Origin", "http://t"),
        ],
        vec![("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())],
        vec![
            ("Cookie", cookie.as_str()),
            ("X-CSRF-Token", csrf.as_str()),
            ("Origin", "http://evil.example"),
        ],
        vec![
            ("Cookie", cookie.as_str()),
            ("X-CSRF-Token", csrf.as_str()),
            ("Origin", "https://t"),
        ],
    ] {
        let r = stop(&headers);
        assert_eq!(
            (r.status, r.json()["error"].as_str()),
            (403, Some("csrf_failed")),
            "{headers:?}"
        );
    }
    let r = stop(&[("Cookie", &cookie), ("X-CSRF-Token", &csrf), ("Origin", "http://t")]);
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (404, Some("unknown_task")),
        "authorized: {}",
        r.body
    );
    let bearer = format!("Bearer {admin}");
    assert_eq!(
        stop(&[("Authorization", bearer.as_str())]).status,
        404,
        "bearer tokens need no CSRF token"
    );

    let out = send(
        server.addr,
        "DELETE",
        "/api/v1/session",
        &[("Cookie", &cookie), ("Origin", "http://t")],
        "",
    );
    assert_eq!(out.status, 403, "signing out is a change too");
    let out = send(
        server.addr,
        "DELETE",
        "/api/v1/session",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf), ("Origin", "http://t")],
        "",
    );
    assert_eq!(out.status, 200);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        send(server.addr, "GET", "/api/v1/tasks", &[("Cookie", &cookie)], "").status,
        401
    );
    let after = send(server.addr, "GET", "/api/v1/session", &[("Cookie", &cookie)], "");
    assert_eq!((after.status, after.json()["signed_in"].as_bool()), (200, Some(false)));

    let conn = rusqlite::Connection::open(&server.db).unwrap();
    let stored: String = conn
        .query_row("SELECT group_concat(path || meta, ' ') FROM event_log", [], |r| {
            r.get(0)
        })
        .unwrap();
    for secret in [admin.as_str(), &cookie[14..], csrf.as_str()] {
        assert!(!stored.contains(secret), "a secret reached the event log");
    }
}

#[test]
fn roles_revocation_and_a_host_without_tokens() {
    let podup = Podup::new("panel-roles");
    let server = podup.serve(&[]);
    let none = send(server.addr, "POST", "/api/v1/session", &[], r#"{"token": "podup_x"}"#);
    assert_eq!(none.status, 401);
    let shown = send(server.addr, "GET", "/api/v1/session", &[], "");
    assert_eq!(
        shown.json()["tokens_configured"],
        false,
        "the panel explains how to create a token"
    );
    let empty = send(server.addr, "POST", "/api/v1/session", &[], "");
    assert_eq!((empty.status, empty.json()["error"].as_str()), (401, Some("no_tokens")));
    assert!(empty.json()["message"].as_str().unwrap().contains("podup token add"));

    let ci = podup.token("ci", "trigger");
    let viewer = podup.token("viewer", "read");
    let r = send(
        server.addr,
        "POST",
        "/api/v1/session",
        &[],
        &format!(r#"{{"token": "{ci}"}}"#),
    );
    assert_eq!(r.status, 403, "trigger tokens are for automation: {}", r.body);
    let (cookie, csrf, _) = sign_in(server.addr, &viewer, &[]);
    let r = send(
        server.addr,
        "POST",
        "/api/v1/update-all",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf), ("Origin", "http://t")],
        "",
    );
    assert_eq!((r.status, r.json()["error"].as_str()), (403, Some("forbidden")));
    assert!(podup.run(&["token", "revoke", "viewer"]).status.success());
    assert_eq!(
        send(server.addr, "GET", "/api/v1/tasks", &[("Cookie", &cookie)], "").status,
        401,
        "revoking the token ends its sessions"
    );
}

#[test]
fn proxies_are_believed_only_when_trusted() {
    let trusted = Podup::new("panel-proxy")
        .env("PODUP_TRUSTED_PROXIES", "127.0.0.0/8")
        .env("PODUP_FORWARD_AUTH_HEADER", "X-Forwarded-User:read")
        .env("PODUP_FORWARD_AUTH_SECRET", "panel-proxy-secret-0123");
    let admin = trusted.token("alice", "admin");
    let server = trusted.serve(&[]);
    let (_, _, set) = sign_in(server.addr, &admin, &[("X-Forwarded-Proto", "https")]);
    assert!(set.ends_with("; Secure"), "{set}");
    let fwd = send(
        server.addr,
        "POST",
        "/api/v1/session",
        &[
            ("X-Forwarded-User", "bob@example.com"),
            ("X-Podup-Proxy-Secret", "panel-proxy-secret-0123"),
        ],
        "",
    );
    assert_eq!(fwd.status, 200, "{}", fwd.body);
    assert_eq!(
        (
            fwd.json()["name"].as_str(),
            fwd.json()["role"].as_str(),
            fwd.json()["via"].as_str()
        ),
        (Some("bob@example.com"), Some("read"), Some("forward_auth"))
    );
    let cookie = fwd.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    let csrf = fwd.json()["csrf_token"].as_str().unwrap().to_string();
    let origin = send(
        server.addr,
        "POST",
        "/api/v1/update-all",
        &[
            ("Cookie", &cookie),
            ("X-CSRF-Token", &csrf),
            ("Origin", "https://t"),
            ("X-Forwarded-Proto", "https"),
        ],
        "",
    );
    assert_eq!(
        origin.json()["error"],
        "forbidden",
        "https://t is our origin behind the proxy; the read role decides"
    );

    let untrusted = Podup::new("panel-noproxy")
        .env("PODUP_TRUSTED_PROXIES", "10.0.0.0/8")
        .env("PODUP_FORWARD_AUTH_HEADER", "X-Forwarded-User");
    let admin = untrusted.token("alice", "admin");
    let server = untrusted.serve(&[]);
    let (_, _, set) = sign_in(server.addr, &admin, &[("X-Forwarded-Proto", "https")]);
    assert!(!set.contains("Secure"), "{set}");
    let fwd = send(
        server.addr,
        "POST",
        "/api/v1/session",
        &[("X-Forwarded-User", "mallory")],
        "",
    );
    assert_eq!(fwd.status, 401, "{}", fwd.body);
    let bad = Podup::new("panel-badproxy").env("PODUP_TRUSTED_PROXIES", "proxy.example.com");
    let out = bad.run(&["tasks"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PODUP_TRUSTED_PROXIES"));
}
