//! Floods against `podup.socket` (Accept=no) + `podup.service` as shipped, on the real
//! manager: a burst of 10,000 connections, 1,000 slow clients that never finish their
//! request (podup cuts them off), 1,000 oversized requests, and 10,000 junk requests
//! (which must grow the state database by less than 1 MB). After each, the socket is still
//! `active` and serves, the same podup process served the whole flood, its peak memory
//! stayed bounded, requests sent while the flood ran were answered, and every answered
//! request of the flood is accounted for in the event log: by its own row, or, for refused
//! ones past 20 a second, by the `count` of a folded row.
//!
//! The clients are non-blocking sockets driven by `poll` on a few threads, so the test
//! process holds thousands of connections with a handful of threads.

/// Checks after a flood: legitimate requests, the process, the event log.
mod checks;
/// Poll-driven flood clients.
mod clients;

use crate::harness::{Harness, SECRET, Served, answer_complete, parse_head, request_ids, serve, shout, sign, state_db};
use checks::*;
use clients::*;
use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// podup's peak resident memory (VmHWM) must stay below this, whatever the flood.
const MEMORY_BOUND_BYTES: u64 = 64 * 1024 * 1024;
/// Client threads of a flood; each drives its share of the connections with `poll`.
const FLOOD_THREADS: usize = 4;
/// A flood client gives up after this long without an answer (counted as unanswered).
const CLIENT_LIMIT: Duration = Duration::from_secs(50);
/// Between two legitimate requests sent while a flood runs.
const LEGIT_EVERY: Duration = Duration::from_millis(500);

on_kinds!(a_burst_of_10000_connections);
fn a_burst_of_10000_connections() {
    let Some((bed, served)) = setup("flood-burst") else {
        return;
    };
    let request = b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n".to_vec();
    let r = flood_and_check(&bed, &served, "burst", scripts(10_000, request, None));
    let ok = r.outcomes.iter().filter(|o| o.status == 200).count();
    let late = r.outcomes.iter().filter(|o| o.status == 408).count();
    let shed = r.outcomes.iter().filter(|o| o.status == 503).count();
    // All 10,000 cannot wait in a 1,024 backlog: the kernel drops handshakes and TCP
    // retries them. A client whose handshake completed on its side only resends its
    // request on its own backoff, which can land after podup's 10 s deadline (a 408) or,
    // while every slot is taken, after it has waited the second that gets it shed (a
    // 503 `overloaded`, the documented answer then): TCP's doing, but it must stay rare.
    assert_eq!(
        ok + late + shed,
        10_000,
        "every connection of the burst is answered 200 (or 408, or 503 when shed)"
    );
    // Shedding is the designed answer to a burst past every slot; it must stay rare.
    assert!(ok >= 9_500, "only {ok} of 10,000 answered 200");
}

on_kinds!(a_thousand_slow_clients_are_cut_off_or_shed);
fn a_thousand_slow_clients_are_cut_off_or_shed() {
    let Some((bed, served)) = setup("flood-slow") else {
        return;
    };
    let mut head = b"GET /health HTTP/1.1\r\nHost: t\r\nX-Slow: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', 64));
    let r = flood_and_check(
        &bed,
        &served,
        "slow",
        scripts(1_000, head, Some((Duration::from_millis(500), 1))),
    );
    // 408 at podup's deadline, or 503 when it was shed earlier to make room for others.
    let cut = r.outcomes.iter().filter(|o| o.status == 408 || o.status == 503).count();
    assert_eq!(cut, 1_000, "each slow client is cut off with 408 or 503");
    // The slow clients take every slot; the waiting requests make room by shedding them,
    // instead of waiting for their whole 10 s deadline.
    let waited = r.legit.iter().map(|(_, _, o)| o.elapsed).max().unwrap();
    assert!(
        waited < Duration::from_secs(8),
        "a legitimate request waited {waited:?} behind the slow clients"
    );
}

on_kinds!(a_thousand_oversized_requests_are_refused);
fn a_thousand_oversized_requests_are_refused() {
    let Some((bed, served)) = setup("flood-oversized") else {
        return;
    };
    // A declared body far above the 1 MiB cap, followed by some of it.
    let mut declared = b"POST /hooks/github HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000000\r\n\r\n".to_vec();
    declared.extend(std::iter::repeat_n(b'x', 64 * 1024));
    // A head over 16 KiB.
    let mut head = b"GET /health HTTP/1.1\r\nHost: t\r\nX-Big: ".to_vec();
    head.extend(std::iter::repeat_n(b'h', 20 * 1024));
    head.extend_from_slice(b"\r\n\r\n");
    // A chunked body that runs past the cap, sent at 128 KiB/s: podup reads each for about
    // 8 s before the cap is reached, so a third of the flood is being buffered at once.
    let mut chunked = b"POST /hooks/github HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..(1024 + 64) / 16 {
        chunked.extend_from_slice(b"4000\r\n");
        chunked.extend(std::iter::repeat_n(b'c', 16 * 1024));
        chunked.extend_from_slice(b"\r\n");
    }
    let kinds = [
        (Arc::new(declared), None),
        (Arc::new(head), None),
        (Arc::new(chunked), Some((Duration::from_millis(250), 32 * 1024))),
    ];
    let list: Vec<Script> = (0..1_000)
        .map(|n| Script {
            bytes: kinds[n % 3].0.clone(),
            pace: kinds[n % 3].1,
        })
        .collect();
    let r = flood_and_check(&bed, &served, "oversized", list);
    let refused = r.outcomes.iter().filter(|o| o.status == 413 || o.status == 431).count();
    assert_eq!(refused, 1_000, "each oversized request is refused with 413 or 431");
}

on_kinds!(ten_thousand_junk_requests_grow_the_state_database_by_less_than_a_megabyte);
fn ten_thousand_junk_requests_grow_the_state_database_by_less_than_a_megabyte() {
    let Some((bed, served)) = setup("flood-junk") else {
        return;
    };
    let db = state_db(&bed);
    let before = data_bytes(&db);
    let junk = "J".repeat(600);
    let kinds = [
        format!("{junk} /x HTTP/1.1\r\nHost: t\r\n\r\n"),
        format!("GET /junk?q={junk} HTTP/1.1\r\nHost: t\r\n\r\n"),
        // Nothing that fails authentication: the failure limit is finding 1's, not this test's.
        "GET /hooks/github HTTP/1.1\r\nHost: t\r\n\r\n".to_string(),
        "GET /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n".to_string(),
    ]
    .map(|k| Arc::new(k.into_bytes()));
    let list: Vec<Script> = (0..10_000)
        .map(|n| Script {
            bytes: kinds[n % kinds.len()].clone(),
            pace: None,
        })
        .collect();
    let r = flood_and_check(&bed, &served, "junk", list);
    let refused = r.outcomes.iter().filter(|o| o.status >= 400).count();
    assert_eq!(refused, 10_000, "each junk request is refused");
    let after = data_bytes(&db);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (rows, requests): (i64, i64) = conn
        .query_row(
            &format!(
                "SELECT count(*), sum({}) FROM event_log WHERE status >= 400",
                count_of(&conn)
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    shout(&format!(
        "flood junk: {rows} rows account for {requests} refused requests; the database grew from {before} to {after} bytes"
    ));
    assert!(requests >= 10_000, "every junk request is accounted for: {requests}");
    assert!(
        after.saturating_sub(before) < 1024 * 1024,
        "10,000 junk requests grew the state database from {before} to {after} bytes ({rows} rows)"
    );
}
