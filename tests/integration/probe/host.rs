//! See probe/mod.rs. Finding 3's Host and Origin checks under `PODUP_PUBLIC_URL`: a
//! rebound host, a foreign origin, junk around an address (red-team finding 6), and a
//! misdirected request answered with its reason phrase.

use crate::support::probe::*;
use crate::support::*;

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
