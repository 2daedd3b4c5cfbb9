//! Findings 1 and 4: the failed-authentication limit slows down guessing and nothing
//! else. A request whose signature, token or session verifies is always served; a
//! failing one is counted (per source and per kind of credential) before it is
//! answered, so a burst cannot overrun the limit; behind a trusted proxy the source is
//! the client the proxy reports, and IPv6 sources share a limit per /64. A webhook
//! secret too short to resist guessing stops podup at start. See docs/security.md.

use crate::support::*;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A well-formed signature made with the wrong secret.
fn bad_signature(body: &[u8]) -> String {
    sign("not the secret, not at all", body)
}

/// A request sent from the loopback address `from` (say 127.0.0.2), as a second host
/// would: the client socket is bound to it before it connects.
fn exchange_from(from: [u8; 4], addr: SocketAddr, raw: &[u8]) -> Resp {
    let SocketAddr::V4(to) = addr else {
        panic!("podup listens on IPv4 here")
    };
    // SAFETY: plain socket calls on a descriptor this function owns; it is handed to
    // `TcpStream` (which closes it) as soon as it is connected, or closed on failure.
    let stream = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let sockaddr = |ip: [u8; 4], port: u16| libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(ip),
            },
            sin_zero: [0; 8],
        };
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let local = sockaddr(from, 0);
        let remote = sockaddr(to.ip().octets(), to.port());
        if libc::bind(fd, (&raw const local).cast(), len) != 0
            || libc::connect(fd, (&raw const remote).cast(), len) != 0
        {
            let e = std::io::Error::last_os_error();
            libc::close(fd);
            panic!("binding to {from:?} and connecting: {e}");
        }
        TcpStream::from_raw_fd(fd)
    };
    let mut s = stream;
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(raw).unwrap();
    read_response(&mut s)
}

/// A GitHub delivery of `body` with `signature`, and extra header lines.
fn delivery(body: &[u8], signature: &str, id: &str, extra: &str) -> Vec<u8> {
    let mut raw = format!(
        "POST /hooks/github HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nX-GitHub-Event: package\r\nX-GitHub-Delivery: {id}\r\nX-Hub-Signature-256: {signature}\r\n{extra}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    raw
}

/// `GET /api/v1/services` with a bearer token, and extra header lines.
fn services_call(token: &str, extra: &str) -> Vec<u8> {
    format!("GET /api/v1/services HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n{extra}\r\n").into_bytes()
}

/// A webhook answer that means "served": accepted, joined, duplicate or ignored.
fn served(r: &Resp) -> bool {
    matches!(r.status, 200 | 202) && r.json().get("error").is_none()
}

fn is_limited(r: &Resp) -> bool {
    r.status == 429 && r.json()["error"] == "auth_rate_limited" && r.header("retry-after").is_some()
}

#[test]
fn bad_signatures_lock_out_no_valid_credential_from_the_same_address() {
    let (_fakes, podup) = setup("probe-auth-lockout", &[]);
    let admin = podup.token("admin", "admin");
    let server = podup.serve(&[]);
    let body = fixture("package.published.container-tagged.json");
    let refused: Vec<u16> = (0..25)
        .map(|n| {
            let id = format!("bad-{n}");
            deliver(
                server.addr,
                "/hooks/github",
                "package",
                &id,
                &body,
                Some(&bad_signature(&body)),
            )
            .status
        })
        .collect();
    assert_eq!(refused.iter().filter(|s| **s == 401).count(), 20, "{refused:?}");
    assert_eq!(refused.iter().filter(|s| **s == 429).count(), 5, "{refused:?}");
    let signed = published(server.addr, "good-1");
    assert!(
        served(&signed),
        "a signed delivery after 25 bad ones: {} {}",
        signed.status,
        signed.body
    );
    let listed = call(server.addr, "GET", "/api/v1/services", Some(&admin), "");
    assert_eq!(listed.status, 200, "a valid admin token: {}", listed.body);
    let body_in = format!(r#"{{"token": "{admin}"}}"#);
    let signed_in = call(server.addr, "POST", "/api/v1/session", None, &body_in);
    assert_eq!(signed_in.status, 200, "a panel sign-in: {}", signed_in.body);
    // The guesser stays slowed down, and only at guessing signatures.
    let again = deliver(
        server.addr,
        "/hooks/github",
        "package",
        "bad-x",
        &body,
        Some(&bad_signature(&body)),
    );
    assert!(is_limited(&again), "{} {}", again.status, again.body);
    let wrong_token = call(server.addr, "GET", "/api/v1/services", Some("podup_wrong"), "");
    assert_eq!(
        (wrong_token.status, wrong_token.json()["error"].as_str()),
        (401, Some("invalid_token")),
        "guessing signatures does not use up the token limit"
    );
}

/// Bad requests each flood sends: three seconds' worth at the pace of `flood_while`.
const FLOOD: usize = 150;

/// Sends bad requests with `bad(n)` on a thread of its own, at most ~50 a second (one,
/// then 20 ms), while `legit(n)` runs every ~100 ms on this one, until the flood has
/// sent `FLOOD` and at least ten legitimate requests were made: a count, not a time,
/// so a loaded machine makes the flood slower, not smaller. Every legitimate answer
/// must be served. Returns how many bad requests were sent.
fn flood_while(bad: impl Fn(usize) -> Resp + Sync, legit: impl Fn(usize) -> (bool, String)) -> usize {
    let stop = AtomicBool::new(false);
    let sent = AtomicUsize::new(0);
    let give_up = Instant::now() + Duration::from_secs(120);
    let failures = std::thread::scope(|s| {
        s.spawn(|| {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) && Instant::now() < give_up {
                let r = bad(n);
                assert!(matches!(r.status, 401 | 429), "a bad request: {} {}", r.status, r.body);
                n += 1;
                sent.store(n, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let mut failures = Vec::new();
        let mut n = 0;
        while (n < 10 || sent.load(Ordering::Relaxed) < FLOOD) && Instant::now() < give_up {
            let (ok, what) = legit(n);
            if !ok {
                failures.push(what);
            }
            n += 1;
            std::thread::sleep(Duration::from_millis(100));
        }
        stop.store(true, Ordering::Relaxed);
        failures
    });
    assert!(
        failures.is_empty(),
        "legitimate requests refused during the flood: {failures:#?}"
    );
    sent.into_inner()
}

#[test]
fn another_address_keeps_working_while_one_floods() {
    let (_fakes, podup) = setup("probe-auth-flood", &[]);
    let admin = podup.token("admin", "admin");
    let server = podup.serve(&[]);
    let body = fixture("package.published.container-tagged.json");
    let bad = |n: usize| {
        exchange(
            server.addr,
            &delivery(&body, &bad_signature(&body), &format!("f{n}"), ""),
        )
    };
    let legit = |n: usize| {
        let r = if n % 2 == 0 {
            exchange_from(
                [127, 0, 0, 2],
                server.addr,
                &delivery(&body, &sign(SECRET, &body), &format!("l{n}"), ""),
            )
        } else {
            exchange_from([127, 0, 0, 2], server.addr, &services_call(&admin, ""))
        };
        (served(&r), format!("{n}: {} {}", r.status, r.body))
    };
    let sent = flood_while(bad, legit);
    assert!(sent >= FLOOD, "the flood sent {sent} bad requests in two minutes");
}

#[test]
fn behind_a_trusted_proxy_another_client_keeps_working_while_one_floods() {
    let (_fakes, podup) = setup("probe-auth-flood-xff", &[("PODUP_TRUSTED_PROXIES", "127.0.0.1")]);
    let admin = podup.token("admin", "admin");
    let server = podup.serve(&[]);
    let body = fixture("package.published.container-tagged.json");
    let (attacker, client) = ("X-Forwarded-For: 203.0.113.66\r\n", "X-Forwarded-For: 198.51.100.7\r\n");
    let bad = |n: usize| {
        exchange(
            server.addr,
            &delivery(&body, &bad_signature(&body), &format!("f{n}"), attacker),
        )
    };
    let legit = |n: usize| {
        let r = if n % 2 == 0 {
            exchange(
                server.addr,
                &delivery(&body, &sign(SECRET, &body), &format!("l{n}"), client),
            )
        } else {
            exchange(server.addr, &services_call(&admin, client))
        };
        (served(&r), format!("{n}: {} {}", r.status, r.body))
    };
    let sent = flood_while(bad, legit);
    assert!(sent >= FLOOD, "the flood sent {sent} bad requests in two minutes");
    // The attacker is limited; the client's own mistakes are still its own.
    let again = exchange(server.addr, &delivery(&body, &bad_signature(&body), "f-last", attacker));
    assert!(is_limited(&again), "{} {}", again.status, again.body);
    let typo = exchange(server.addr, &delivery(&body, &bad_signature(&body), "typo", client));
    assert_eq!(typo.status, 401, "the client's limit is its own: {}", typo.body);
    // The event row keeps the connection's peer (the proxy) and names the client beside it.
    let conn = rusqlite::Connection::open(&server.db).unwrap();
    let (remote, meta): (String, String) = conn
        .query_row(
            "SELECT remote_addr, meta FROM event_log WHERE reason = 'accepted' ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(remote.starts_with("127.0.0.1:"), "{remote}");
    let meta: serde_json::Value = serde_json::from_str(&meta).unwrap();
    assert_eq!(meta["client"], "198.51.100.7", "{meta}");
}

#[test]
fn a_concurrent_burst_gets_at_most_the_limit_of_401s() {
    let (_fakes, podup) = setup("probe-auth-burst", &[]);
    let server = podup.serve(&[]);
    let body = fixture("package.published.container-tagged.json");
    let answers = at_once(100, |n| {
        exchange(
            server.addr,
            &delivery(&body, &bad_signature(&body), &format!("b{n}"), ""),
        )
    });
    let unauthorized = answers.iter().filter(|r| r.status == 401).count();
    let limited = answers.iter().filter(|r| is_limited(r)).count();
    assert!(unauthorized <= 20, "{unauthorized} × 401 against a limit of 20");
    assert_eq!(
        unauthorized + limited,
        100,
        "every other answer is 429 auth_rate_limited"
    );
}

#[test]
fn ipv6_clients_share_a_limit_per_64() {
    let (_fakes, podup) = setup(
        "probe-auth-v6",
        &[
            ("PODUP_TRUSTED_PROXIES", "127.0.0.1"),
            ("PODUP_LIMIT_AUTH_FAILURES", "3/1m"),
        ],
    );
    let server = podup.serve(&[]);
    let body = fixture("package.published.container-tagged.json");
    let bad_from = |client: &str, id: &str| {
        let xff = format!("X-Forwarded-For: {client}\r\n");
        exchange(server.addr, &delivery(&body, &bad_signature(&body), id, &xff))
    };
    for n in 0..3 {
        assert_eq!(bad_from("2001:db8:1:2::a", &format!("a{n}")).status, 401);
    }
    let neighbour = bad_from("2001:db8:1:2:ffff:ffff:ffff:b", "b");
    assert!(
        is_limited(&neighbour),
        "same /64: {} {}",
        neighbour.status,
        neighbour.body
    );
    let elsewhere = bad_from("2001:db8:1:3::c", "c");
    assert_eq!(elsewhere.status, 401, "another /64: {}", elsewhere.body);
}

#[test]
fn a_local_process_naming_a_new_client_each_time_is_still_limited_through_the_proxy() {
    // Behind a proxy on the same host, any local process can connect as the proxy and
    // write X-Forwarded-For itself: a new client each time dodges the per-client limit.
    // The proxy as a whole takes ten times the limit (3/1m here: 30), then only 429s;
    // a valid credential through it is still served.
    let (_fakes, podup) = setup(
        "probe-auth-xff-rotate",
        &[
            ("PODUP_TRUSTED_PROXIES", "127.0.0.1"),
            ("PODUP_LIMIT_AUTH_FAILURES", "3/1m"),
        ],
    );
    let admin = podup.token("admin", "admin");
    let server = podup.serve(&[]);
    let body = fixture("package.published.container-tagged.json");
    let answers: Vec<Resp> = (0..40)
        .map(|n| {
            let xff = format!("X-Forwarded-For: 198.51.100.{}\r\n", n + 1);
            exchange(
                server.addr,
                &delivery(&body, &bad_signature(&body), &format!("r{n}"), &xff),
            )
        })
        .collect();
    let unauthorized = answers.iter().filter(|r| r.status == 401).count();
    assert_eq!(
        unauthorized, 30,
        "bad signatures from 40 claimed clients through one proxy: 401s before the proxy's limit"
    );
    assert!(answers[30..].iter().all(is_limited), "then 429 auth_rate_limited");
    let signed = exchange(
        server.addr,
        &delivery(
            &body,
            &sign(SECRET, &body),
            "rotate-ok",
            "X-Forwarded-For: 198.51.100.200\r\n",
        ),
    );
    assert!(
        served(&signed),
        "a signed delivery is served: {} {}",
        signed.status,
        signed.body
    );
    let listed = exchange(
        server.addr,
        &services_call(&admin, "X-Forwarded-For: 198.51.100.201\r\n"),
    );
    assert!(
        served(&listed),
        "a valid token is served: {} {}",
        listed.status,
        listed.body
    );
}

#[test]
fn a_short_webhook_secret_stops_podup_at_start() {
    let dir = TempDir::new("probe-short-secret");
    let file = dir.path().join("github-secret");
    std::fs::write(&file, "tiny5\n").unwrap();
    let file = file.display().to_string();
    for (var, value) in [
        ("PODUP_GITHUB_SECRET", "abcde"),
        ("PODUP_GITHUB_SECRET_FILE", file.as_str()),
    ] {
        let podup = Podup::new("probe-short-secret").env(var, value);
        let mut server = podup.serve(&[]);
        let status = server.wait_exit(Duration::from_secs(10));
        let err = server.stderr();
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(2),
            "{var}: podup kept running: {err}"
        );
        assert!(err.contains(var) && err.contains("16"), "{var}: {err}");
        assert!(!err.contains("abcde") && !err.contains("tiny5"), "{err}");
    }
}
