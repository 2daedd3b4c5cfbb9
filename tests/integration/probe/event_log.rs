//! See probe/mod.rs. Finding 2 (an anonymous client fills the disk through the event
//! log) and the event log's informational findings: opaque request ids, control
//! characters and tokens in stored paths.

use crate::support::*;
use rusqlite::Connection;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

const MB: u64 = 1024 * 1024;

fn keep_alive(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

fn send(s: &mut TcpStream, raw: &[u8]) -> Resp {
    s.write_all(raw).unwrap();
    read_response(s)
}

/// What the database takes once its write-ahead log is folded in: the data, not the
/// journal SQLite reuses (it grows to about 4 MB, then starts over).
fn data_bytes(db: &Path) -> u64 {
    let conn = Connection::open(db).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    let wal = db.with_extension("db-wal");
    std::fs::metadata(db).unwrap().len() + std::fs::metadata(wal).map_or(0, |m| m.len())
}

/// Rows and the requests they account for (`count`; 1 per row before the fix).
fn accounted(db: &Path, filter: &str) -> (i64, i64) {
    let conn = Connection::open(db).unwrap();
    let has_count: bool = conn
        .query_row(
            "SELECT count(*) FROM pragma_table_info('event_log') WHERE name = 'count'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        > 0;
    let sum = if has_count {
        "coalesce(sum(count), 0)"
    } else {
        "count(*)"
    };
    conn.query_row(
        &format!("SELECT count(*), {sum} FROM event_log WHERE {filter}"),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

#[test]
fn a_huge_method_and_header_values_are_stored_cut_to_their_bounds() {
    let podup = Podup::new("probe-ev-bounds");
    let server = podup.serve(&[]);
    let method = "M".repeat(16_000);
    let r = exchange(
        server.addr,
        format!("{method} /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    assert!(r.status >= 400, "{}", r.head);
    let conn = Connection::open(&server.db).unwrap();
    let (longest, stored): (i64, String) = conn
        .query_row(
            "SELECT length(method), method FROM event_log ORDER BY length(method) DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(longest <= 33, "a {longest}-character method was stored");
    assert!(stored.ends_with('…'), "the cut is marked: {stored}");
    let widest: i64 = conn
        .query_row(
            "SELECT max(length(method) + length(path) + length(coalesce(remote_addr, '')) + length(meta)) FROM event_log",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(widest <= 4096, "a row of {widest} characters was stored");
}

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
fn request_ids_are_opaque_and_unique() {
    let podup = Podup::new("probe-ev-ids");
    let server = podup.serve(&[]);
    let pid = format!("{:x}", server.child.id());
    let ids: Vec<String> = (0..50)
        .map(|_| get(server.addr, "/health").header("x-request-id").unwrap())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    for id in &ids {
        assert!(
            id.len() >= 24 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "not an opaque id: {id}"
        );
        assert!(!id.contains(&format!("-{pid}-")), "the id names the pid {pid}: {id}");
    }
}

#[test]
fn control_and_bidi_characters_in_paths_are_stored_escaped() {
    let podup = Podup::new("probe-ev-bidi");
    let admin = podup.token("ops", "admin");
    let server = podup.serve(&[]);
    // U+202E RIGHT-TO-LEFT OVERRIDE and U+2066 LEFT-TO-RIGHT ISOLATE, raw in the target.
    let mut raw = b"GET /hooks/".to_vec();
    raw.extend_from_slice("\u{202e}buhtig\u{2066}x\u{200f}y\u{61c}".as_bytes());
    // And U+009B, the C1 control introducing a terminal escape sequence, in the query.
    raw.extend_from_slice("?q=\u{9b}31m HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".as_bytes());
    let r = exchange(server.addr, &raw);
    assert!(r.status >= 400, "{}", r.head);
    let listed = exchange(
        server.addr,
        format!("GET /api/v1/events?path=%2Fhooks%2F HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {admin}\r\n\r\n")
            .as_bytes(),
    )
    .json();
    let paths: Vec<String> = listed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paths.len(), 1, "{paths:?}");
    let path = &paths[0];
    let bad = ['\u{202e}', '\u{2066}', '\u{200f}', '\u{61c}', '\u{9b}'];
    assert!(!path.chars().any(|c| bad.contains(&c)), "stored raw: {path:?}");
    assert!(path.contains("%E2%80%AE") && path.contains("%C2%9B"), "{path:?}");
}

#[test]
fn a_token_in_a_path_segment_is_stored_redacted() {
    let podup = Podup::new("probe-ev-token");
    let admin = podup.token("ops", "admin");
    let server = podup.serve(&[]);
    let session = format!("s_{}", "ab12".repeat(16));
    for path in [format!("/api/v1/tasks/{admin}"), format!("/x/{session}/y")] {
        assert!(get(server.addr, &path).status >= 400);
    }
    let conn = Connection::open(&server.db).unwrap();
    let leaked: i64 = conn
        .query_row(
            "SELECT count(*) FROM event_log WHERE instr(path, ?1) > 0 OR instr(path, ?2) > 0",
            [&admin[6..], &session[2..]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(leaked, 0, "a token was stored: {:?}", events(&server.db));
    assert!(
        events(&server.db).iter().any(|e| e.1 == "/api/v1/tasks/REDACTED"),
        "{:?}",
        events(&server.db)
    );
}

// Second round (red team F2, F3): what the budget keeps, and replayed deliveries.

fn used_bytes(db: &Path) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count, pragma_freelist_count, pragma_page_size",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

fn bad_token_guesses(addr: SocketAddr, n: usize) {
    let mut s = keep_alive(addr);
    for i in 0..n {
        let raw = format!("GET /api/v1/services HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer podup_{i:064}\r\n\r\n");
        assert_eq!(send(&mut s, raw.as_bytes()).status, 401);
    }
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

#[test]
fn failed_token_guesses_reach_the_journal_without_the_token() {
    let podup = Podup::new("probe-ev-guess-log");
    let _admin = podup.token("ops", "admin");
    let mut server = podup.serve(&[]);
    bad_token_guesses(server.addr, 5);
    let _ = server.child.kill();
    let _ = server.child.wait();
    let log = server.stderr();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("failed authentication")).collect();
    assert!(
        !lines.is_empty() && lines.len() <= 2,
        "failed token guesses are logged, throttled (got {} lines):\n{log}",
        lines.len()
    );
    assert!(lines[0].contains("token"), "{log}");
    assert!(
        !log.contains(&format!("{:064}", 0)),
        "the guessed token was logged:\n{log}"
    );
}

#[test]
fn a_replayed_signed_delivery_is_filed_prunable_and_folded() {
    let (_fakes, podup) = setup("probe-ev-replay", &[]);
    let server = podup.serve(&[]);
    let ping = fixture("ping.payload.json");
    let signature = sign(SECRET, &ping);
    let package = fixture("package.published.container-tagged.json");
    let package_signature = sign(SECRET, &package);
    let junk = "a".repeat(1000);
    let first = deliver(server.addr, "/hooks/github", "ping", "ping-0", &ping, Some(&signature));
    assert_eq!(first.status, 200, "{}", first.body);
    let made = published(server.addr, "pkg-0");
    assert_eq!(made.status, 202, "{}", made.body);
    // One captured body of each, replayed under fresh (unsigned) ids and query strings.
    let started = Instant::now();
    for i in 1..=100 {
        let path = format!("/hooks/github?x={junk}{i}");
        let r = deliver(
            server.addr,
            &path,
            "ping",
            &format!("ping-{i}"),
            &ping,
            Some(&signature),
        );
        assert_eq!(r.status, 200, "{}", r.body);
        let r = deliver(
            server.addr,
            &path,
            "package",
            &format!("pkg-{i}"),
            &package,
            Some(&package_signature),
        );
        assert_eq!(r.json()["status"], "duplicate", "{}", r.body);
    }
    let seconds = started.elapsed().as_secs() as i64 + 1;
    let conn = Connection::open(&server.db).unwrap();
    let kept: i64 = conn
        .query_row(
            "SELECT count(*) FROM event_log WHERE path LIKE '/hooks/github%' AND tier = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        kept, 2,
        "only the first ping and the first package delivery are kept; {kept} webhook rows are never pruned"
    );
    let (rows, requests) = accounted(&server.db, "path LIKE '/hooks/github?x=%'");
    assert_eq!(requests, 200, "every replay is counted");
    assert!(
        rows <= 22 * (seconds + 1),
        "{rows} rows for 200 replays in {seconds} s: folded past the rate"
    );
}

#[test]
fn an_authenticated_read_keeps_its_row_and_names_its_token() {
    let podup = Podup::new("probe-ev-reader");
    let reader = podup.token("dashboard", "read");
    let server = podup.serve(&[]);
    let junk = "a".repeat(1000);
    let mut s = keep_alive(server.addr);
    for _ in 0..50 {
        let raw = format!("GET /api/v1/tasks?x={junk} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {reader}\r\n\r\n");
        assert_eq!(send(&mut s, raw.as_bytes()).status, 200);
    }
    let conn = Connection::open(&server.db).unwrap();
    let named: i64 = conn
        .query_row(
            "SELECT count(*) FROM event_log WHERE path LIKE '/api/v1/tasks%' AND json_extract(meta, '$.by') = 'dashboard'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(named, 50, "each read keeps its row, naming the token to revoke");
}

/// Third probe, G3: the unsigned `Content-Type` changed so the body no longer parses.
#[test]
fn a_replayed_signed_ping_with_a_form_content_type_is_filed_prunable_and_folded() {
    let (_fakes, podup) = setup("probe-ev-replay-ct", &[]);
    let server = podup.serve(&[]);
    let ping = fixture("ping.payload.json");
    let signature = sign(SECRET, &ping);
    let first = deliver(server.addr, "/hooks/github", "ping", "ping-0", &ping, Some(&signature));
    assert_eq!(first.status, 200, "{}", first.body);
    let junk = "a".repeat(1000);
    let mut s = keep_alive(server.addr);
    let started = Instant::now();
    for i in 1..=100 {
        let mut raw = format!(
            "POST /hooks/github?x={junk}{i} HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nX-GitHub-Event: ping\r\nX-GitHub-Delivery: ping-ct-{i}\r\nX-Hub-Signature-256: {signature}\r\nContent-Length: {}\r\n\r\n",
            ping.len()
        )
        .into_bytes();
        raw.extend_from_slice(&ping);
        let r = send(&mut s, &raw);
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.json()["error"], "invalid_payload", "{}", r.body);
    }
    let seconds = started.elapsed().as_secs() as i64 + 1;
    let conn = Connection::open(&server.db).unwrap();
    let kept: i64 = conn
        .query_row(
            "SELECT count(*) FROM event_log WHERE path LIKE '/hooks/github%' AND tier = 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        kept, 1,
        "only the first ping is kept; {kept} webhook rows are never pruned"
    );
    let (rows, requests) = accounted(&server.db, "path LIKE '/hooks/github?x=%'");
    assert_eq!(requests, 100, "every replay is counted");
    assert!(
        rows <= 21 * (seconds + 1),
        "{rows} rows for 100 replays in {seconds} s: folded past the rate"
    );
    let named: i64 = conn
        .query_row(
            "SELECT count(*) FROM event_log WHERE path LIKE '/hooks/github?x=%' AND json_extract(meta, '$.event') = 'ping' AND json_extract(meta, '$.delivery') LIKE 'ping-ct-%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(named, rows, "each replay row names its event and delivery");
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
