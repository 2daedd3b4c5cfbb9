//! See probe/mod.rs. Finding 5 (slow host probes behind a read token), the replay
//! findings (a captured delivery under a new id, an old digest), and clients that hold
//! workers: never reading answers, closing without reading, holding the body budget.

use crate::support::*;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

fn signed_delivery(delivery: &str, body: &[u8]) -> Vec<u8> {
    let mut raw = format!(
        "POST /hooks/github HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nX-GitHub-Event: package\r\n\
         X-GitHub-Delivery: {delivery}\r\nX-Hub-Signature-256: {}\r\nContent-Length: {}\r\n\r\n",
        sign(SECRET, body),
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    raw
}

fn read_call(addr: SocketAddr, path: &str, token: &str, limit: Duration) -> Resp {
    let raw = format!("GET {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\r\n");
    exchange_within(addr, raw.as_bytes(), limit)
}

#[test]
fn a_hanging_podman_behind_read_tokens_does_not_hold_back_a_signed_webhook() {
    // The probe's setup: the default 16 workers, `podman --version` that never answers.
    let (fakes, podup) = setup("probe-slow-podman", &[("PODUP_WORKERS", "16")]);
    let read = podup.token("viewer", "read");
    let hanging = fakes.dir().join("podman");
    std::fs::write(&hanging, "#!/bin/sh\nexec sleep 120\n").unwrap();
    let server = podup.serve(&[]);
    let body = fixture("package.published.container-tagged.json");
    let (overviews, hook) = std::thread::scope(|s| {
        let overviews: Vec<_> = (0..16)
            .map(|_| s.spawn(|| read_call(server.addr, "/api/v1/overview", &read, GITHUB_TIMEOUT)))
            .collect();
        // The overviews are on their way (whether or not every one has reached a worker,
        // the delivery must be answered in time: that is what GitHub sees).
        std::thread::sleep(Duration::from_millis(500));
        let hook = exchange_within(server.addr, &signed_delivery("probe-slow-1", &body), GITHUB_TIMEOUT);
        let overviews: Vec<Resp> = overviews.into_iter().map(|h| h.join().unwrap()).collect();
        (overviews, hook)
    });
    assert_eq!(hook.status, 202, "{}", hook.body);
    assert_eq!(hook.json()["status"], "accepted", "{}", hook.body);
    for o in &overviews {
        assert_eq!(o.status, 200, "{}", o.body);
        let checks = o.json()["checks"].as_array().cloned().unwrap();
        let podman = checks.iter().find(|c| c["name"] == "podman").unwrap();
        assert_eq!(podman["ok"], false, "{podman}");
        let marker = podman["probe"].as_str().unwrap_or("none");
        assert!(
            ["probing", "timed_out"].contains(&marker),
            "the podman check says it is still probing or timed out: {podman}"
        );
    }
    // Every overview shared one probe: podman ran once, not once per request.
    let runs = fakes.calls_of("podman").len();
    assert!(runs <= 1, "podman ran {runs} times for 16 overviews");
}

// ---- Replay: a captured delivery under a new id, and an old digest. ----

fn task_count(db: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM tasks", [], |r| r.get(0)).unwrap()
}

/// What a finished deploy leaves: the task and its unit succeeded, `from` replaced.
fn finish(db: &std::path::Path, task: i64, from: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute("UPDATE tasks SET status = 'succeeded' WHERE id = ?1", [task])
        .unwrap();
    conn.execute(
        "UPDATE task_units SET status = 'succeeded', from_digest = ?2 WHERE task_id = ?1",
        rusqlite::params![task, from],
    )
    .unwrap();
}

#[test]
fn a_captured_delivery_replayed_under_a_new_delivery_id_is_a_duplicate() {
    let (_fakes, podup) = setup("probe-replay", &[]);
    let server = podup.serve(&[]);
    let body = fixture("package.published.container-tagged.json");
    let first = exchange_within(server.addr, &signed_delivery("real-1", &body), GITHUB_TIMEOUT);
    assert_eq!(first.status, 202, "{}", first.body);
    let task = first.json()["task_id"].as_i64().unwrap();
    // The deploy ran and finished; later the attacker sends the captured bytes again,
    // with a delivery id of their own (it is not signed).
    finish(&podup.db_path(), task, "sha256:before");
    let replay = exchange_within(server.addr, &signed_delivery("replayed-2", &body), GITHUB_TIMEOUT);
    assert_eq!(replay.status, 200, "{}", replay.body);
    assert_eq!(replay.json()["status"], "duplicate", "{}", replay.body);
    assert_eq!(replay.json()["task_id"], task, "{}", replay.body);
    assert_eq!(task_count(&podup.db_path()), 1, "no second deploy");
}

#[test]
fn an_old_digest_that_a_later_deploy_replaced_is_not_deployed_again_by_a_webhook() {
    let (_fakes, podup) = setup("probe-downgrade", &[]);
    let admin = podup.token("admin", "admin");
    let server = podup.serve(&[]);
    let old_body = fixture("package.published.container-tagged.json");
    let newer = format!("sha256:{}", "b".repeat(64));
    let new_body = String::from_utf8(old_body.clone())
        .unwrap()
        .replace(DIGEST, &newer)
        .into_bytes();
    // The old digest was deployed, then a newer one replaced it.
    let old = exchange_within(server.addr, &signed_delivery("old-1", &old_body), GITHUB_TIMEOUT);
    assert_eq!(old.status, 202, "{}", old.body);
    finish(
        &podup.db_path(),
        old.json()["task_id"].as_i64().unwrap(),
        "sha256:before",
    );
    let new = exchange_within(server.addr, &signed_delivery("new-1", &new_body), GITHUB_TIMEOUT);
    assert_eq!(new.status, 202, "{}", new.body);
    finish(&podup.db_path(), new.json()["task_id"].as_i64().unwrap(), DIGEST);
    // Days later (past the redelivery window the body is remembered for), the old
    // delivery comes back under a new id: a downgrade.
    let conn = rusqlite::Connection::open(podup.db_path()).unwrap();
    // (On a build without the table there is nothing to age.)
    let _ = conn.execute("UPDATE webhook_bodies SET received_ms = received_ms - 8 * 86400000", []);
    let replay = exchange_within(server.addr, &signed_delivery("old-again", &old_body), GITHUB_TIMEOUT);
    assert_eq!(replay.status, 409, "{}", replay.body);
    assert_eq!(replay.json()["error"], "stale_digest", "{}", replay.body);
    assert_eq!(task_count(&podup.db_path()), 2, "no third deploy");
    // Asked explicitly, an operator may still go back (the API deploys what the tag
    // points to when it runs, by hand).
    let by_hand = call(
        server.addr,
        "POST",
        "/api/v1/services/app.service/update",
        Some(&admin),
        "",
    );
    assert_eq!(by_hand.status, 202, "{}", by_hand.body);
}

// ---- Second round, F1: clients that never read their answers. ----

/// `GET /` names the panel's stylesheet under its stamp: the file the probe asked for.
fn stylesheet(addr: SocketAddr) -> String {
    let page = get(addr, "/");
    let at = page.body.find("/assets/").expect("the page links its assets") + "/assets/".len();
    let stamp = page.body[at..].split('/').next().unwrap_or_default();
    let css = format!("/assets/{stamp}/app.css");
    assert_eq!(get(addr, &css).status, 200, "{css}");
    css
}

/// A connection that pipelines `count` requests for `path` and then never reads: with a
/// small receive window, as the probe had, so the answers pile up at the server.
fn non_reader(addr: SocketAddr, path: &str, count: usize) -> Option<TcpStream> {
    use std::os::fd::AsRawFd;
    let s = TcpStream::connect(addr).ok()?;
    let small: libc::c_int = 1024;
    // SAFETY: a valid socket and a c_int option of the size given.
    unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&small as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
    s.set_write_timeout(Some(Duration::from_secs(2))).ok()?;
    let one = format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n");
    // What the server does not read yet stays in the kernel; a full one only ends the send.
    let _ = (&s).write_all(one.repeat(count).as_bytes());
    Some(s)
}

fn signed_ping(delivery: &str) -> Vec<u8> {
    let body = fixture("ping.payload.json");
    let mut raw = format!(
        "POST /hooks/github HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nX-GitHub-Event: ping\r\n\
         X-GitHub-Delivery: {delivery}\r\nX-Hub-Signature-256: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        sign(SECRET, &body),
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(&body);
    raw
}

#[test]
fn clients_that_never_read_their_answers_do_not_hold_back_a_signed_webhook() {
    let (_fakes, podup) = setup("probe-non-readers", &[("PODUP_WORKERS", "16")]);
    let server = podup.serve(&[]);
    let css = stylesheet(server.addr);
    // The probe's attack, bounded: 150 connections from one address, each asking for the
    // stylesheet 400 times at once and reading none of it.
    let attackers: Vec<TcpStream> = (0..150).filter_map(|_| non_reader(server.addr, &css, 400)).collect();
    assert!(
        attackers.len() >= 100,
        "only {} attacking connections opened",
        attackers.len()
    );
    // GitHub's view while the answers pile up: every delivery answered within 10 s.
    let until = std::time::Instant::now() + Duration::from_secs(8);
    let mut n = 0;
    while std::time::Instant::now() < until {
        n += 1;
        let ping = exchange_within(
            server.addr,
            &signed_ping(&format!("probe-nonread-ping-{n}")),
            GITHUB_TIMEOUT,
        );
        assert_eq!(ping.status, 200, "ping {n}: {}", ping.body);
        std::thread::sleep(Duration::from_millis(250));
    }
    let body = fixture("package.published.container-tagged.json");
    let hook = exchange_within(server.addr, &signed_delivery("probe-nonread-1", &body), GITHUB_TIMEOUT);
    assert_eq!(hook.status, 202, "{}", hook.body);
    assert_eq!(hook.json()["status"], "accepted", "{}", hook.body);
    // The attackers still hold their connections; a normal client is answered too.
    let health = exchange_within(server.addr, b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n", GITHUB_TIMEOUT);
    assert_eq!(health.status, 200, "{}", health.body);
    drop(attackers);
    let health = exchange_within(server.addr, b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n", GITHUB_TIMEOUT);
    assert_eq!(health.status, 200, "{}", health.body);
}

// ---- Third probe, G2: answers left in the kernel of a closed connection. ----

/// The `orphan` count of /proc/net/sockstat: TCP sockets closed by their program whose
/// kernel still holds unsent bytes for them (host-wide, so other tests may add a few).
fn orphans() -> i64 {
    let stat = std::fs::read_to_string("/proc/net/sockstat").unwrap_or_default();
    let tcp = stat.lines().find(|l| l.starts_with("TCP:")).unwrap_or_default();
    let mut words = tcp.split_whitespace();
    while let Some(w) = words.next() {
        if w == "orphan" {
            return words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        }
    }
    0
}

#[test]
fn answers_to_a_client_that_closes_without_reading_leave_no_orphaned_sockets() {
    let (_fakes, podup) = setup("probe-orphans", &[]);
    let server = podup.serve(&[]);
    let css = stylesheet(server.addr);
    let before = orphans();
    // The probe's attack, bounded: 200 connections each pipelining 8 stylesheet requests,
    // the last saying `Connection: close`, with a tiny receive window, never reading.
    let close = format!("GET {css} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let attackers: Vec<TcpStream> = (0..200)
        .filter_map(|_| {
            let s = non_reader(server.addr, &css, 7)?;
            (&s).write_all(close.as_bytes()).ok()?;
            Some(s)
        })
        .collect();
    assert!(attackers.len() >= 150, "only {} connections opened", attackers.len());
    // Long enough for podup to have answered every request, well under `WRITE_TIMEOUT`.
    std::thread::sleep(Duration::from_millis(1_500));
    let during = orphans();
    println!("orphaned sockets: {before} before, {during} with 200 non-readers");
    assert!(
        during - before < 50,
        "{} sockets orphaned with unsent answers (before {before}, now {during})",
        during - before
    );
    let health = exchange_within(server.addr, b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n", GITHUB_TIMEOUT);
    assert_eq!(health.status, 200, "{}", health.body);
    // Past the whole-answer deadline the connections are reset: nothing is left behind.
    std::thread::sleep(Duration::from_millis(5_500));
    let after = orphans();
    println!("orphaned sockets {after} after the deadline");
    assert!(after - before < 50, "{} orphans past the deadline", after - before);
    drop(attackers);
}

// ---- Third probe, G1: one source holding the whole body budget. ----

/// A TCP connection to `addr` from the loopback address `from`: another source, as
/// podup counts them.
fn connect_from(from: [u8; 4], addr: SocketAddr) -> TcpStream {
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(to) = addr else {
        panic!("podup listens on IPv4 here")
    };
    // SAFETY: plain socket calls on a descriptor this function owns; it is handed to
    // `TcpStream` (which closes it) once connected, or closed on failure.
    unsafe {
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
        let (local, remote) = (sockaddr(from, 0), sockaddr(to.ip().octets(), to.port()));
        if libc::bind(fd, (&raw const local).cast(), len) != 0
            || libc::connect(fd, (&raw const remote).cast(), len) != 0
        {
            let e = std::io::Error::last_os_error();
            libc::close(fd);
            panic!("binding to {from:?} and connecting: {e}");
        }
        TcpStream::from_raw_fd(fd)
    }
}

#[test]
fn one_address_holding_unfinished_bodies_does_not_hold_back_a_signed_webhook_from_another() {
    // A request deadline longer than GitHub's wait: the attackers' bodies are not freed
    // by their own timeouts while the delivery waits (the probe re-opened them instead).
    let (_fakes, podup) = setup("probe-body-budget", &[("PODUP_REQUEST_TIMEOUT_MS", "20000")]);
    let server = podup.serve(&[]);
    // The probe's attack, bounded: 40 connections from 127.0.0.1, each declaring a
    // 1 MiB body and sending all of it but the last byte.
    const MIB: usize = 1024 * 1024;
    let mut held = Vec::new();
    let mut threads = Vec::new();
    for _ in 0..40 {
        let Ok(s) = TcpStream::connect(server.addr) else {
            continue;
        };
        let Ok(mut writer) = s.try_clone() else { continue };
        held.push(s);
        threads.push(std::thread::spawn(move || {
            let _ = writer.set_write_timeout(Some(Duration::from_secs(15)));
            let head = format!(
                "POST /api/v1/session HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {MIB}\r\n\r\n"
            );
            let _ = writer.write_all(head.as_bytes());
            let _ = writer.write_all(&vec![b' '; MIB - 1]);
        }));
    }
    assert!(held.len() >= 30, "only {} attacking connections opened", held.len());
    // Long enough for podup to have read what its budget takes of those bodies.
    std::thread::sleep(Duration::from_millis(1_500));
    // A signed delivery from another address, its body in a later segment, as over
    // the internet or from a proxy.
    let raw = signed_delivery("probe-budget-1", &fixture("package.published.container-tagged.json"));
    let at = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let started = std::time::Instant::now();
    let mut hook = connect_from([127, 0, 0, 2], server.addr);
    hook.set_read_timeout(Some(GITHUB_TIMEOUT)).unwrap();
    hook.write_all(&raw[..at]).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    hook.write_all(&raw[at..]).unwrap();
    let answer = read_response(&mut hook);
    println!(
        "delivery answered in {:?} beside 40 unfinished 1 MiB bodies",
        started.elapsed()
    );
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(answer.json()["status"], "accepted", "{}", answer.body);
    for s in &held {
        let _ = s.shutdown(std::net::Shutdown::Both);
    }
    for t in threads {
        let _ = t.join();
    }
}
