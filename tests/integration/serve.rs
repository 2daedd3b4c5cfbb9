//! `podup serve` with a listening socket handed over (Accept=no) or a connected one
//! (Accept=yes): routes, limits, deadlines, the event log and idle exit.

use crate::support::*;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

#[test]
fn health_answers_200_with_version_and_db_state() {
    let podup = Podup::new("health");
    let server = podup.serve(&[]);
    let r = get(server.addr, "/health");
    assert_eq!(r.status, 200, "{r:?}");
    let v = r.json();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["db"]["state"], "ok");
    assert!(r.header("x-request-id").is_some());
}

#[test]
fn unknown_path_is_a_json_404() {
    let podup = Podup::new("notfound");
    let server = podup.serve(&[]);
    let r = get(server.addr, "/nope?token=hunter2hunter2");
    assert_eq!(r.status, 404);
    let v = r.json();
    assert_eq!(v["error"], "unknown_route");
    assert!(v["message"].as_str().unwrap().contains("/nope"));
    let rows = events(&server.db);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].1, "/nope?token=REDACTED", "secret query values are redacted");
    assert_eq!((rows[0].3.as_str(), rows[0].4.as_str()), ("not_found", "unknown_route"));
}

#[test]
fn huge_content_length_gets_413_and_the_next_request_is_served() {
    let podup = Podup::new("huge");
    let server = podup.serve(&[]);
    let r = exchange(
        server.addr,
        b"POST /hooks/github HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000000\r\n\r\n",
    );
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"], "body_too_large");
    assert_eq!(get(server.addr, "/health").status, 200);
    let rows = events(&server.db);
    assert_eq!(rows[0].0, "POST");
    assert_eq!(rows[0].1, "/hooks/github", "the refused request names its route");
    assert_eq!((rows[0].2, rows[0].4.as_str()), (413, "body_too_large"));
}

#[test]
fn limits_on_head_size_header_count_and_chunked_bodies() {
    let podup = Podup::new("limits").env("PODUP_MAX_BODY_BYTES", "100");
    let server = podup.serve(&[]);
    let big = format!("GET /health HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(17 * 1024));
    assert_eq!(exchange(server.addr, big.as_bytes()).status, 431);
    let mut many = String::from("GET /health HTTP/1.1\r\n");
    for i in 0..65 {
        many += &format!("X-H{i}: v\r\n");
    }
    many += "\r\n";
    let r = exchange(server.addr, many.as_bytes());
    assert_eq!((r.status, r.json()["error"].as_str()), (431, Some("too_many_headers")));
    let chunked = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    assert_eq!(
        exchange(server.addr, chunked).status,
        404,
        "a chunked body within the cap is decoded"
    );
    let long = format!(
        "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n{}\r\n0\r\n\r\n",
        "a".repeat(101)
    );
    assert_eq!(exchange(server.addr, long.as_bytes()).status, 413);
    assert_eq!(exchange(server.addr, b"\x16\x03\x01garbage\r\n\r\n").status, 400);
    assert_eq!(event_count(&server.db), 5, "every refused request has its row");
}

#[test]
fn a_stalled_client_does_not_delay_others_and_is_cut_off_at_the_deadline() {
    let podup = Podup::new("stall")
        .env("PODUP_REQUEST_TIMEOUT_MS", "1500")
        .env("PODUP_WORKERS", "1");
    let server = podup.serve(&[]);
    assert_eq!(get(server.addr, "/health").status, 200);
    let start = Instant::now();
    let mut stalled = TcpStream::connect(server.addr).unwrap();
    stalled.write_all(b"GET /health HTTP/1.1\r\nHo").unwrap();
    // Several more stalled clients than there are workers.
    let others: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = TcpStream::connect(server.addr).unwrap();
            s.write_all(b"GET /he").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    assert_eq!(get(server.addr, "/health").status, 200);
    let took = t.elapsed();
    assert!(took < Duration::from_millis(300), "second client waited {took:?}");
    stalled.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let r = read_response(&mut stalled);
    let cut = start.elapsed();
    assert_eq!(r.status, 408);
    assert_eq!(r.json()["error"], "request_timeout");
    assert!(
        cut >= Duration::from_millis(1400) && cut < Duration::from_millis(3000),
        "cut off after {cut:?}"
    );
    drop(others);
    assert!(wait_until(Duration::from_secs(5), || event_count(&server.db) == 7));
}

#[test]
fn over_the_body_budget_only_the_oldest_connection_is_read() {
    // The budget is 16 full-size bodies: 16,000 bytes here.
    let podup = Podup::new("budget")
        .env("PODUP_MAX_BODY_BYTES", "1000")
        .env("PODUP_REQUEST_TIMEOUT_MS", "3000");
    let server = podup.serve(&[]);
    assert_eq!(get(server.addr, "/health").status, 200);
    // Twenty requests, each one byte short of its body: 19,980 body bytes held.
    let mut held: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = TcpStream::connect(server.addr).unwrap();
            let mut request = b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n".to_vec();
            request.extend(std::iter::repeat_n(b'a', 999));
            s.write_all(&request).unwrap();
            // accepted in this order
            std::thread::sleep(Duration::from_millis(20));
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let (mut oldest, mut youngest) = (held.remove(0), held.pop().unwrap());
    // The youngest is not read while the budget is spent: its last byte goes unseen ...
    youngest.write_all(b"a").unwrap();
    youngest.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut byte = [0u8; 1];
    let early = std::io::Read::read(&mut youngest, &mut byte);
    assert!(early.is_err(), "answered over the budget: {early:?}");
    // ... the oldest still is, so one request always progresses ...
    oldest.write_all(b"a").unwrap();
    oldest.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(read_response(&mut oldest).status, 404);
    // ... and once the others' deadlines free the budget, the youngest is read after all.
    youngest.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(read_response(&mut youngest).status, 404);
    drop(held);
}

#[test]
fn slow_clients_holding_every_slot_are_shed_for_a_waiting_request() {
    let podup = Podup::new("shed");
    let server = podup.serve(&[]);
    // 512 clients (podup's limit) that never finish their head.
    let mut slow: Vec<TcpStream> = (0..512)
        .map(|_| {
            let mut s = TcpStream::connect(server.addr).unwrap();
            s.write_all(b"GET /health HTTP/1.1\r\nX-Slow: ").unwrap();
            s
        })
        .collect();
    // Once they have had their second, a new request makes the oldest of them go ...
    std::thread::sleep(Duration::from_millis(1500));
    let t = Instant::now();
    assert_eq!(get(server.addr, "/health").status, 200);
    let took = t.elapsed();
    assert!(took < Duration::from_secs(5), "waited {took:?} behind the slow clients");
    // ... with a 503 that says why, long before their 10 s deadline.
    let first = &mut slow[0];
    first.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let r = read_response(first);
    assert_eq!((r.status, r.json()["error"].as_str()), (503, Some("overloaded")));
    drop(slow);
}

#[test]
fn five_hundred_requests_are_each_accounted_for() {
    let podup = Podup::new("five-hundred");
    let server = podup.serve(&[]);
    for i in 0..500 {
        let path = if i % 2 == 0 { "/health" } else { "/missing" };
        let r = get(server.addr, path);
        assert!(r.status == 200 || r.status == 404);
    }
    // Each answered one has its row; the refused ones past 20 a second share rows
    // that count them (docs/security.md, finding 2).
    let conn = rusqlite::Connection::open(&server.db).unwrap();
    let (rows, requests, distinct, health): (i64, i64, i64, i64) = conn
        .query_row(
            "SELECT count(*), sum(count), count(DISTINCT request_id), count(*) FILTER (WHERE status = 200) FROM event_log",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!((requests, distinct, health), (500, rows, 250));
}

#[test]
fn idle_exit_ends_the_process_by_itself() {
    let podup = Podup::new("idle").env("PODUP_IDLE_EXIT_SECS", "1");
    let mut server = podup.serve(&[]);
    assert_eq!(get(server.addr, "/health").status, 200);
    let status = server
        .wait_exit(Duration::from_secs(6))
        .expect("podup exits after its idle time");
    assert!(status.success(), "{status:?}: {}", server.stderr());
    let err = server.stderr();
    assert!(err.contains("no request for 1 s"), "{err}");
}

#[test]
fn idle_exit_flag_overrides_the_variable() {
    let podup = Podup::new("idle-flag").env("PODUP_IDLE_EXIT_SECS", "600");
    let mut server = podup.serve(&["--idle-exit", "1"]);
    assert!(server.wait_exit(Duration::from_secs(6)).is_some());
}

#[test]
fn a_connected_socket_is_served_once_and_the_process_exits() {
    let podup = Podup::new("accept-yes");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (conn, _) = listener.accept().unwrap();
    let child = podup.spawn_with_fd(conn.as_raw_fd(), &[]);
    drop(conn);
    client.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    client.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let r = read_response(&mut client);
    assert_eq!(r.status, 200);
    let mut server = Server {
        child,
        addr: listener.local_addr().unwrap(),
        db: podup.db_path(),
    };
    let status = server
        .wait_exit(Duration::from_secs(5))
        .expect("exits after one connection");
    assert!(status.success());
    let rows = events(&podup.db_path());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].5.as_deref().map(|a| a.starts_with("127.0.0.1:")), Some(true));
}

#[test]
fn an_inherited_unix_socket_is_served() {
    let podup = Podup::new("unix");
    let path = podup.state.path().join("podup.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let child = podup.spawn_with_fd(listener.as_raw_fd(), &["-v"]);
    let mut server = Server {
        child,
        addr: "127.0.0.1:9".parse().unwrap(),
        db: podup.db_path(),
    };
    let mut s = std::os::unix::net::UnixStream::connect(&path).unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let answer = read_response(&mut s);
    let _ = server.child.kill();
    assert_eq!(answer.status, 200, "{}", server.stderr());
}

#[test]
fn an_unusable_state_dir_gives_503_and_only_the_host_learns_path_and_fix() {
    let podup = Podup::new("bad-db");
    let file = podup.state.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let bad = file.join("state");
    let podup = podup.env("PODUP_STATE_DIR", bad.to_str().unwrap());
    let server = podup.serve(&[]);
    let r = get(server.addr, "/health");
    assert_eq!(r.status, 503);
    let v = r.json();
    assert_eq!(v["error"], "db_unavailable");
    assert!(!r.body.contains("not-a-dir") && v["db"]["fix"].is_null(), "{v}");
    let out = podup.run(&["check"]);
    let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("not-a-dir/state/podup.db") && said.contains("PODUP_STATE_DIR"),
        "{said}"
    );
    let r = get(server.addr, "/anything");
    assert_eq!((r.status, r.json()["error"].as_str()), (503, Some("db_unavailable")));
}

/// Threads of `pid` whose name starts with `prefix`.
fn threads(pid: u32, prefix: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.unwrap().path().join("comm")).ok())
        .filter(|name| name.starts_with(prefix))
        .count()
}

#[test]
fn workers_start_as_requests_need_them_up_to_the_limit() {
    let (fakes, podup) = setup("workers-on-demand", &[("PODUP_WORKERS", "4")]);
    let admin = podup.token("admin", "admin");
    let server = podup.serve(&[]);
    let pid = server.child.id();
    // Each request waits for the last answer: one worker is always free for it.
    for _ in 0..20 {
        assert_eq!(get(server.addr, "/health").status, 200);
    }
    assert_eq!(threads(pid, "worker-"), 1, "one worker answers requests one at a time");
    // A podman that takes a second and logs when it runs: each discovery (admin, run
    // on every request, unlike the overview's shared probes) holds a worker that long,
    // and the log shows how many ran at once.
    let log = fakes.dir().join("podman-runs.log");
    let slow = fakes.dir().join("podman");
    let script = format!(
        "#!/bin/sh\necho start >> {log}\nsleep 1\necho end >> {log}\necho 5.0.0\n",
        log = log.display()
    );
    std::fs::write(&slow, script).unwrap();
    let (overviews, health) = std::thread::scope(|s| {
        let slow: Vec<_> = (0..6)
            .map(|_| s.spawn(|| call(server.addr, "POST", "/api/v1/discover", Some(&admin), "").status))
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let health = get(server.addr, "/health").status;
        (slow.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>(), health)
    });
    assert_eq!(overviews, [200; 6]);
    assert_eq!(health, 200, "a quick request is answered beside slow ones");
    assert_eq!(
        threads(pid, "worker-"),
        4,
        "more workers started, no more than PODUP_WORKERS"
    );
    let runs = std::fs::read_to_string(&log).unwrap();
    let (mut at_once, mut most) = (0i32, 0i32);
    for line in runs.lines() {
        at_once += if line == "start" { 1 } else { -1 };
        most = most.max(at_once);
    }
    assert_eq!(runs.lines().filter(|l| *l == "start").count(), 6, "{runs}");
    assert!(
        (2..=3).contains(&most),
        "slow requests ran {most} at once: more than one, and one worker fewer than PODUP_WORKERS (kept for webhooks)"
    );
}
