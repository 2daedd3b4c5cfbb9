//! What a flood must leave: legitimate requests answered while it ran, the socket active
//! and served by the same process, bounded memory, and every answer accounted for.

use super::*;
/// A legitimate request sent while a flood runs: what it is and what must come back.
pub(super) struct Legit {
    pub(super) what: &'static str,
    pub(super) request: Vec<u8>,
    pub(super) status: u16,
}

pub(super) fn legit_requests(served: &Served) -> Vec<Legit> {
    let health = b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n".to_vec();
    let api = format!(
        "GET /api/v1/tasks HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {}\r\n\r\n",
        served.token
    )
    .into_bytes();
    let body = br#"{"zen":"Keep it logically awesome.","hook_id":1}"#;
    let sig = sign(body);
    let mut ping = format!(
        "POST /hooks/github HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
         X-GitHub-Event: ping\r\nX-GitHub-Delivery: flood-ping\r\n\
         X-Hub-Signature-256: {sig}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    ping.extend_from_slice(body);
    vec![
        Legit {
            what: "GET /health",
            request: health,
            status: 200,
        },
        Legit {
            what: "GET /api/v1/tasks (token)",
            request: api,
            status: 200,
        },
        Legit {
            what: "signed ping",
            request: ping,
            status: 200,
        },
    ]
}

/// One blocking request with generous limits: a flood may delay it, it must not lose it.
pub(super) fn send_legit(addr: SocketAddr, request: &[u8]) -> Outcome {
    let started = Instant::now();
    let run = || -> io::Result<Vec<u8>> {
        let mut s = TcpStream::connect_timeout(&addr, CLIENT_LIMIT)?;
        s.set_read_timeout(Some(CLIENT_LIMIT))?;
        s.set_write_timeout(Some(CLIENT_LIMIT))?;
        s.write_all(request)?;
        crate::harness::read_answer(&mut s, Vec::new())
    };
    match run() {
        Ok(out) => {
            let (status, request_id) = parse_head(&out);
            Outcome {
                status,
                request_id,
                elapsed: started.elapsed(),
                error: None,
            }
        }
        Err(e) => Outcome {
            elapsed: started.elapsed(),
            error: Some(e.to_string()),
            ..Outcome::default()
        },
    }
}

/// What a flood left: its figures, checked and printed by `check`.
pub(super) struct Report {
    pub(super) name: &'static str,
    pub(super) outcomes: Vec<Outcome>,
    pub(super) duration: Duration,
    pub(super) legit: Vec<(&'static str, u16, Outcome)>,
    /// How many of `legit` were sent while the flood was running.
    pub(super) legit_during: usize,
}

/// A bed with podup serving through the shipped podup.socket + podup.service; the process
/// stays for the whole test (no idle exit), so one process's memory covers the flood.
pub(super) fn setup(name: &str) -> Option<(Harness, Served)> {
    let bed = Harness::up(name)?;
    let served = serve(
        &bed,
        &[("PODUP_GITHUB_SECRET", SECRET), ("PODUP_IDLE_EXIT_SECS", "600")],
    );
    Some((bed, served))
}

/// Floods `served` with `scripts` while a legitimate request goes out every
/// `LEGIT_EVERY`, then checks and prints everything the module header promises.
pub(super) fn flood_and_check(bed: &Harness, served: &Served, name: &'static str, scripts: Vec<Script>) -> Report {
    raise_nofile(scripts.len() as u64 + 1024);
    let pid = bed.unit_property("podup.service", "MainPID");
    assert_ne!(pid, "0", "podup.service runs before the flood");
    let legit = legit_requests(served);
    let running = Arc::new(AtomicBool::new(true));
    let addr = served.addr;
    let legit_thread = {
        let running = running.clone();
        std::thread::spawn(move || {
            let (mut answers, mut during) = (Vec::new(), 0);
            // Let the flood start before the first one.
            std::thread::sleep(LEGIT_EVERY);
            for l in legit.iter().cycle() {
                let flooding = running.load(Ordering::SeqCst);
                if !flooding && answers.len() >= legit.len() {
                    break;
                }
                during += usize::from(flooding);
                answers.push((l.what, l.status, send_legit(addr, &l.request)));
                std::thread::sleep(LEGIT_EVERY);
            }
            (answers, during)
        })
    };
    let start = Instant::now();
    let outcomes = flood(served.addr, scripts);
    let duration = start.elapsed();
    running.store(false, Ordering::SeqCst);
    let (legit, legit_during) = legit_thread.join().unwrap();
    let report = Report {
        name,
        outcomes,
        duration,
        legit,
        legit_during,
    };
    check(bed, served, &report, &pid);
    report
}

pub(super) fn check(bed: &Harness, served: &Served, r: &Report, pid: &str) {
    let answered: Vec<&Outcome> = r.outcomes.iter().filter(|o| o.status != 0).collect();
    let mut statuses: Vec<(u16, usize)> = Vec::new();
    for o in &answered {
        match statuses.iter_mut().find(|(s, _)| *s == o.status) {
            Some((_, n)) => *n += 1,
            None => statuses.push((o.status, 1)),
        }
    }
    statuses.sort();
    let slowest = answered.iter().map(|o| o.elapsed).max().unwrap_or_default();
    let mut errors: Vec<&str> = r.outcomes.iter().filter_map(|o| o.error.as_deref()).collect();
    errors.sort();
    errors.dedup();
    let legit_ok = r.legit.iter().filter(|(_, want, o)| o.status == *want).count();
    let legit_slowest = r.legit.iter().map(|(_, _, o)| o.elapsed).max().unwrap_or_default();
    let hwm = memory_peak(pid);
    let nofile = open_files_limit(pid);
    shout(&format!(
        "flood {}: {} connections in {:.1} s, {} answered {:?} (slowest {:.1} s), peak memory {:.1} MiB, \
         legit {}/{} answered as expected (slowest {:.2} s), podup's open-files limit {nofile}",
        r.name,
        r.outcomes.len(),
        r.duration.as_secs_f64(),
        answered.len(),
        statuses,
        slowest.as_secs_f64(),
        hwm as f64 / (1024.0 * 1024.0),
        legit_ok,
        r.legit.len(),
        legit_slowest.as_secs_f64(),
    ));
    if !errors.is_empty() {
        shout(&format!("flood {}: client errors: {errors:?}", r.name));
    }
    assert_eq!(bed.unit_property("podup.socket", "ActiveState"), "active");
    assert_eq!(bed.unit_property("podup.service", "ActiveState"), "active");
    assert_eq!(
        bed.unit_property("podup.service", "MainPID"),
        pid,
        "one podup process served the whole flood"
    );
    assert_eq!(bed.unit_property("podup.service", "NRestarts"), "0");
    assert!(
        hwm < MEMORY_BOUND_BYTES,
        "podup's peak memory {hwm} bytes is over {MEMORY_BOUND_BYTES}"
    );
    for (what, want, o) in &r.legit {
        assert_eq!(o.status, *want, "{what} during the flood: {o:?}");
    }
    assert!(r.legit_during >= 1, "legitimate requests went out during the flood");
    assert!(
        nofile >= 1024,
        "podup.service may open {nofile} files: not enough for 512 connections and its own"
    );
    let after = send_legit(served.addr, b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(after.status, 200, "podup serves after the flood: {after:?}");
    let stored: HashSet<String> = request_ids(&state_db(bed)).into_iter().collect();
    let ids = answered
        .iter()
        .copied()
        .chain(r.legit.iter().map(|(_, _, o)| o))
        .filter(|o| o.status != 0);
    let mut missing = Vec::new();
    for o in ids {
        assert!(!o.request_id.is_empty(), "an answer without X-Request-Id: {o:?}");
        // Past 20 a second, refused requests are counted in a folded row instead.
        if !stored.contains(&o.request_id) {
            assert!(o.status >= 400, "an answered {} has no event row: {o:?}", o.status);
            missing.push(o.request_id.clone());
        }
    }
    let folded = folded_requests(&state_db(bed));
    assert!(
        missing.len() as i64 <= folded,
        "{} answered requests have no event row, and folded rows count only {folded}: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
}

/// Requests counted in folded rows beyond the row's own (`count` - 1 each).
pub(super) fn folded_requests(db: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    let sql = format!("SELECT coalesce(sum({} - 1), 0) FROM event_log", count_of(&conn));
    conn.query_row(&sql, [], |r| r.get(0)).unwrap()
}

/// The column that says how many requests a row stands for (none before migration 6:
/// one each), so the flood tests also run against older podups.
pub(super) fn count_of(conn: &rusqlite::Connection) -> &'static str {
    let has: i64 = conn
        .query_row(
            "SELECT count(*) FROM pragma_table_info('event_log') WHERE name = 'count'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    if has > 0 { "count" } else { "1" }
}

/// The data in the state database once its write-ahead log is folded in (what stays
/// on disk; the log itself is a journal SQLite reuses).
pub(super) fn data_bytes(db: &std::path::Path) -> u64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let wal = db.with_extension("db-wal");
    std::fs::metadata(db).unwrap().len() + std::fs::metadata(wal).map_or(0, |m| m.len())
}

/// The soft `Max open files` of the process.
pub(super) fn open_files_limit(pid: &str) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Max open files in /proc/{pid}/limits"))
}

/// Peak resident memory of the process, from `/proc/PID/status` (same pid namespace).
pub(super) fn memory_peak(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/{pid}/status"));
    kib * 1024
}

pub(super) fn scripts(n: usize, bytes: Vec<u8>, pace: Option<(Duration, usize)>) -> Vec<Script> {
    let bytes = Arc::new(bytes);
    (0..n)
        .map(|_| Script {
            bytes: bytes.clone(),
            pace,
        })
        .collect()
}
