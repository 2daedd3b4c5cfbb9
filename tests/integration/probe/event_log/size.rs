//! See probe/mod.rs. Finding 2: an anonymous client cannot fill the disk through the
//! event log; junk is folded, the size budget prunes refused rows first, and failed
//! token guesses outlive junk and floods.

use crate::support::event_log::*;
use crate::support::*;
use rusqlite::Connection;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[test]
fn ten_thousand_junk_requests_grow_the_database_by_less_than_a_megabyte() {
    let podup = Podup::new("probe-ev-flood");
    let server = podup.serve(&[]);
    assert_eq!(get(server.addr, "/health").status, 200);
    let before = data_bytes(&server.db);
    let started = Instant::now();
    let junk = "J".repeat(600);
    let answered: Vec<usize> = at_once(4, |t| {
        let mut s = keep_alive(server.addr);
        let mut n = 0;
        for i in 0..2_500 {
            let raw = match i % 3 {
                0 => format!("{junk} /x HTTP/1.1\r\nHost: t\r\n\r\n"),
                1 => format!("GET /junk/{t}/{i}?q={junk} HTTP/1.1\r\nHost: t\r\n\r\n"),
                _ => format!("DELETE /api/v1/locks/{i} HTTP/1.1\r\nHost: t\r\n\r\n"),
            };
            let r = send(&mut s, raw.as_bytes());
            assert!(r.status >= 400, "{}", r.head);
            n += 1;
            if r.header("connection").as_deref() == Some("close") {
                s = keep_alive(server.addr);
            }
        }
        n
    });
    let elapsed = started.elapsed();
    assert_eq!(answered.iter().sum::<usize>(), 10_000);
    let after = data_bytes(&server.db);
    let (rows, requests) = accounted(&server.db, "status >= 400");
    assert_eq!(requests, 10_000, "every request is accounted for ({rows} rows)");
    eprintln!("10,000 junk requests in {elapsed:?}: {rows} rows, {before} -> {after} bytes");
    assert!(
        after - before < MB,
        "10,000 junk requests in {elapsed:?} grew the database from {before} to {after} bytes ({rows} rows)"
    );
}

#[test]
fn refused_requests_past_the_rate_are_folded_but_answered_and_authenticated_ones_keep_their_rows() {
    let podup = Podup::new("probe-ev-fold");
    let admin = podup.token("ops", "admin");
    let server = podup.serve(&[]);
    let mut s = keep_alive(server.addr);
    let started = Instant::now();
    for i in 0..300 {
        assert_eq!(
            send(&mut s, format!("GET /nope/{i} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes()).status,
            404
        );
        if i % 3 == 0 {
            assert_eq!(send(&mut s, b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n").status, 200);
            let authed = format!(
                "GET /api/v1/tasks/{} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {admin}\r\n\r\n",
                1000 + i
            );
            assert_eq!(send(&mut s, authed.as_bytes()).status, 404);
        }
    }
    let seconds = started.elapsed().as_secs() as i64 + 1;
    let (rows, requests) = accounted(&server.db, "reason = 'unknown_route'");
    assert_eq!(requests, 300, "every refused request is counted");
    assert!(
        rows <= 21 * (seconds + 1),
        "{rows} rows for 300 refused requests in {seconds} s: at most 20 a second of their own, the rest folded"
    );
    assert_eq!(
        accounted(&server.db, "action = 'health'"),
        (100, 100),
        "every answered health check keeps its row"
    );
    assert_eq!(
        accounted(&server.db, "reason = 'unknown_task'"),
        (100, 100),
        "every authenticated request keeps its row"
    );
    // The API shows the count of a folded row.
    let listed = exchange(
        server.addr,
        format!("GET /api/v1/events?reason=unknown_route&limit=500 HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {admin}\r\n\r\n").as_bytes(),
    )
    .json();
    let total: i64 = listed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["count"].as_i64().expect("each event has a count"))
        .sum();
    assert_eq!(total, 300);
}

#[test]
fn the_size_budget_prunes_refused_rows_first_and_keeps_authenticated_ones() {
    let podup = Podup::new("probe-ev-budget").env("PODUP_EVENTS_MAX_MB", "1");
    let admin = podup.token("ops", "admin");
    {
        // 3 MB of refused requests from long ago, then ones an operator made.
        let server = podup.serve(&[]);
        let mut s = keep_alive(server.addr);
        for i in 0..50 {
            let r = send(
                &mut s,
                format!(
                    "GET /api/v1/tasks/{} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {admin}\r\n\r\n",
                    5000 + i
                )
                .as_bytes(),
            );
            assert_eq!(r.status, 404);
        }
    }
    let conn = Connection::open(podup.db_path()).unwrap();
    let pad = "p".repeat(900);
    for i in 0..3_000 {
        conn.execute(
            "INSERT INTO event_log (request_id, ts_ms, method, path, status, action, reason, duration_ms, remote_addr, meta)
             VALUES (?1, ?2, 'GET', ?3, 404, 'not_found', 'unknown_route', 0, '192.0.2.7:1', '{}')",
            rusqlite::params![format!("old-{i}"), 1_000 + i, format!("/junk/{i}/{pad}")],
        )
        .unwrap();
    }
    // Marks them as the server marks refused rows, where the schema has that.
    let _ = conn.execute("UPDATE event_log SET tier = 2 WHERE request_id LIKE 'old-%'", []);
    drop(conn);
    let server = podup.serve(&[]);
    for _ in 0..300 {
        assert_eq!(get(server.addr, "/nope").status, 404);
    }
    let ok = wait_until(Duration::from_secs(20), || {
        accounted(&server.db, "request_id LIKE 'old-%'").0 < 3_000 / 2
    });
    let conn = Connection::open(&server.db).unwrap();
    let used: i64 = conn
        .query_row(
            "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count, pragma_freelist_count, pragma_page_size",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        ok,
        "over a 1 MB budget ({used} bytes of data), the old refused rows were not pruned: {} left",
        accounted(&server.db, "request_id LIKE 'old-%'").0
    );
    assert_eq!(
        accounted(&server.db, "reason = 'unknown_task'").0,
        50,
        "authenticated rows are never pruned for the budget"
    );
}

#[test]
fn failed_token_guesses_outlive_anonymous_junk_under_the_size_budget() {
    let podup = Podup::new("probe-ev-guesses").env("PODUP_EVENTS_MAX_MB", "1");
    let _admin = podup.token("ops", "admin");
    let server = podup.serve(&[]);
    bad_token_guesses(server.addr, 20);
    // The cheapest request there is, with a 1,000-byte query, 3,000 times: 3 MB of rows.
    let junk = "a".repeat(1000);
    at_once(3, |_| {
        let mut s = keep_alive(server.addr);
        for _ in 0..1_000 {
            let r = send(
                &mut s,
                format!("GET /health?x={junk} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(),
            );
            assert_eq!(r.status, 200);
        }
    });
    let pruned = wait_until(Duration::from_secs(20), || {
        accounted(&server.db, "action = 'health'").0 < 3_000
    });
    assert!(
        pruned,
        "the budget removed no health check ({} bytes of data)",
        used_bytes(&server.db)
    );
    let (rows, guesses) = accounted(&server.db, "reason = 'invalid_token'");
    assert_eq!(
        (rows, guesses),
        (20, 20),
        "the 20 failed token guesses were pruned before anonymous health checks"
    );
}

/// `n` requests with bogus bearer tokens through the same-host proxy for `client`.
fn bogus_tokens_via_proxy(addr: SocketAddr, client: &str, query: &str, n: usize) {
    let mut s = keep_alive(addr);
    for i in 0..n {
        let raw = format!(
            "GET /api/v1/services?{query} HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: {client}\r\nAuthorization: Bearer podup_{i:064}\r\n\r\n"
        );
        let status = send(&mut s, raw.as_bytes()).status;
        assert!(status == 401 || status == 429, "{status}");
    }
}

/// Third probe, G4: junk that itself presents a credential, spread over 60 sources.
#[test]
fn a_guessers_rows_outlive_a_bogus_credential_flood_from_many_sources() {
    let podup = Podup::new("probe-ev-tier3-fair")
        .env("PODUP_EVENTS_MAX_MB", "1")
        .env("PODUP_TRUSTED_PROXIES", "127.0.0.1");
    let _admin = podup.token("ops", "admin");
    let server = podup.serve(&[]);
    bogus_tokens_via_proxy(server.addr, "198.51.100.5", "guess=REAL", 20);
    let junk = format!("x={}", "a".repeat(1000));
    // Whether the budget acted: rows removed (the requests counted fall short of
    // those sent) or compacted (a row counting a source's failures names the last).
    let acted = |server: &Server, sent: i64| -> bool {
        let conn = Connection::open(&server.db).unwrap();
        conn.query_row(
            "SELECT coalesce(sum(count), 0) < ?1 OR count(json_extract(meta, '$.last_ts_ms')) > 0 FROM event_log WHERE tier = 3",
            [sent],
            |r| r.get(0),
        )
        .unwrap()
    };
    // 1,800 bogus tokens from 60 sources; again until the budget has removed some
    // (one look at it every 1,000 rows written).
    let mut sent: i64 = 20;
    for round in 0..4 {
        for k in 0..60 {
            bogus_tokens_via_proxy(server.addr, &format!("203.0.{round}.{}", k + 1), &junk, 30);
        }
        sent += 1_800;
        // The rows are written after the answers: wait for the last source's.
        let last = format!("source = '203.0.{round}.60'");
        assert!(wait_until(Duration::from_secs(10), || accounted(&server.db, &last).1 == 30));
        if acted(&server, sent) {
            break;
        }
    }
    assert!(
        acted(&server, sent),
        "the budget removed nothing: the test proves nothing"
    );
    let (rows, guesses) = accounted(&server.db, "path LIKE '%guess=REAL%'");
    assert_eq!(
        guesses, 20,
        "the guesser's 20 failed tokens ({rows} rows) outlive junk from 60 other sources"
    );
}
