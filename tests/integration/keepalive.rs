//! Kept-alive connections: several requests on one connection, each with its own
//! limits, answer and event row; when podup closes instead, and that idle kept
//! connections give way to new ones.

use crate::support::*;
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

fn connect(server: &Server) -> TcpStream {
    let s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

fn send(s: &mut TcpStream, raw: &str) -> Resp {
    s.write_all(raw.as_bytes()).unwrap();
    read_response(s)
}

/// (status, reason, duration_ms) of each event row, oldest first.
fn rows(server: &Server) -> Vec<(u16, String, i64)> {
    let conn = rusqlite::Connection::open(&server.db).unwrap();
    let mut st = conn
        .prepare("SELECT status, reason, duration_ms FROM event_log ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn requests_on_one_connection_are_answered_in_turn_each_with_its_row() {
    let podup = Podup::new("keep-turns");
    let server = podup.serve(&[]);
    let mut s = connect(&server);
    let first = send(&mut s, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(first.status, 200);
    assert_eq!(first.header("connection"), None, "kept: {}", first.head);
    // The wait between requests is not the next request's duration.
    std::thread::sleep(Duration::from_millis(1500));
    let second = send(&mut s, "GET /missing HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!((second.status, second.header("connection")), (404, None));
    let last = send(&mut s, "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_eq!(
        (last.status, last.header("connection").as_deref()),
        (200, Some("close"))
    );
    assert!(
        closes_within(&s, Duration::from_secs(5)),
        "closed after Connection: close"
    );
    let ids: Vec<_> = [&first, &second, &last]
        .map(|r| r.header("x-request-id").unwrap())
        .into();
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2], "{ids:?}");
    let rows = rows(&server);
    let reasons: Vec<_> = rows.iter().map(|r| (r.0, r.1.as_str())).collect();
    assert_eq!(reasons, [(200, "ok"), (404, "unknown_route"), (200, "ok")]);
    assert!(rows[1].2 < 1000, "the idle wait counted in the duration: {rows:?}");
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let podup = Podup::new("keep-pipeline");
    let server = podup.serve(&[]);
    let mut s = connect(&server);
    s.write_all(
        b"POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc\
          POST /nope2 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n\
          GET /health HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .unwrap();
    let statuses: Vec<u16> = (0..3).map(|_| read_response(&mut s).status).collect();
    assert_eq!(statuses, [404, 404, 200]);
    assert_eq!(event_count(&server.db) as usize, 3);
}

#[test]
fn http_1_0_and_framing_errors_close_the_connection() {
    let podup = Podup::new("keep-close");
    let server = podup.serve(&[]);
    let mut old = connect(&server);
    let r = send(&mut old, "GET /health HTTP/1.0\r\n\r\n");
    assert_eq!((r.status, r.header("connection").as_deref()), (200, Some("close")));
    assert!(closes_within(&old, Duration::from_secs(5)));

    let mut s = connect(&server);
    assert_eq!(send(&mut s, "GET /health HTTP/1.1\r\n\r\n").status, 200);
    let bad = send(&mut s, "GET /health HTTP/1.1\r\nContent-Length: x\r\n\r\n");
    assert_eq!((bad.status, bad.header("connection").as_deref()), (400, Some("close")));
    assert!(closes_within(&s, Duration::from_secs(5)));
}

#[test]
fn an_idle_kept_connection_is_closed_after_its_idle_time() {
    let podup = Podup::new("keep-idle");
    let server = podup.serve(&[]);
    let mut s = connect(&server);
    assert_eq!(send(&mut s, "GET /health HTTP/1.1\r\n\r\n").status, 200);
    assert!(!closes_within(&s, Duration::from_secs(2)), "kept for a while");
    assert!(closes_within(&s, Duration::from_secs(8)), "closed after its idle time");
    assert_eq!(
        event_count(&server.db) as usize,
        1,
        "closing an idle connection is not a request"
    );
}

#[test]
fn after_its_request_limit_a_connection_is_closed() {
    let podup = Podup::new("keep-limit");
    let server = podup.serve(&[]);
    let mut s = connect(&server);
    for n in 1..1000 {
        let r = send(&mut s, "GET /health HTTP/1.1\r\n\r\n");
        assert_eq!((r.status, r.header("connection")), (200, None), "request {n}");
    }
    let last = send(&mut s, "GET /health HTTP/1.1\r\n\r\n");
    assert_eq!(last.header("connection").as_deref(), Some("close"), "request 1000");
    assert!(closes_within(&s, Duration::from_secs(5)));
    assert_eq!(event_count(&server.db) as usize, 1000);
}

#[test]
fn idle_kept_connections_make_room_for_new_ones_without_an_answer() {
    let podup = Podup::new("keep-room");
    let server = podup.serve(&[]);
    // Every slot (512) held by a kept connection waiting for its next request.
    let idle: Vec<TcpStream> = (0..512)
        .map(|_| {
            let mut s = connect(&server);
            assert_eq!(send(&mut s, "GET /health HTTP/1.1\r\n\r\n").status, 200);
            s
        })
        .collect();
    let started = std::time::Instant::now();
    let r = get(server.addr, "/health");
    assert_eq!(r.status, 200);
    // At once, not when the idle connections time out (`KEEP_ALIVE_IDLE`, 5 s).
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    // The one closed for it got no 503 and left no row: it had asked nothing.
    std::thread::sleep(Duration::from_millis(200));
    let closed = idle
        .iter()
        .filter(|s| {
            s.set_nonblocking(true).unwrap();
            let mut s: &TcpStream = s;
            matches!(std::io::Read::read(&mut s, &mut [0u8; 1]), Ok(0))
        })
        .count();
    assert!((1..512).contains(&closed), "{closed} idle connections were closed");
    let rows = rows(&server);
    assert_eq!(
        rows.len(),
        513,
        "{:?}",
        rows.iter().filter(|r| r.0 != 200).collect::<Vec<_>>()
    );
    assert!(rows.iter().all(|r| r.0 == 200));
}

#[test]
fn pipelined_answers_that_overfill_the_socket_all_arrive_in_order() {
    let podup = Podup::new("keep-overfill");
    let server = podup.serve(&[]);
    let index = get(server.addr, "/").body;
    let at = index.find("/assets/").expect("index.html names its assets") + "/assets/".len();
    let stamp = index[at..].split('/').next().unwrap();
    let css = format!("/assets/{stamp}/app.css");
    let size = get(server.addr, &css).body.len();
    assert!(size > 10_000, "{css}: {size} bytes");
    // 800 answers of 12 KB, asked for at once and read only afterwards: far more
    // than the socket buffers hold, so most cannot be written when they are ready.
    let n = 800;
    let mut s = connect(&server);
    s.write_all(format!("GET {css} HTTP/1.1\r\nHost: t\r\n\r\n").repeat(n).as_bytes())
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let mut ids = std::collections::HashSet::new();
    for i in 0..n {
        let r = read_response(&mut s);
        assert_eq!((r.status, r.body.len()), (200, size), "answer {i}: {}", r.head);
        assert!(ids.insert(r.header("x-request-id").unwrap()), "answer {i} repeated");
    }
    assert_eq!(event_count(&server.db) as usize, n + 2, "one row per answer");
}
