//! See probe/mod.rs. What a row of the event log holds: fields cut to their bounds,
//! opaque request ids, control characters escaped and tokens redacted in paths, token
//! guesses in the journal, and replayed deliveries filed, prunable and folded.

use crate::support::event_log::*;
use crate::support::*;
use rusqlite::Connection;
use std::time::Instant;

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
