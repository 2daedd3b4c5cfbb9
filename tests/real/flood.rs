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

use crate::harness::{Harness, SECRET, Served, answer_complete, parse_head, request_ids, serve, shout, sign, state_db};
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

/// What one flood client sends, and how fast.
#[derive(Clone)]
struct Script {
    bytes: Arc<Vec<u8>>,
    /// `None`: as fast as the socket takes them. `Some((every, n))`: `n` bytes each `every`.
    pace: Option<(Duration, usize)>,
}

/// What came back on one connection; `status` 0 when nothing did.
#[derive(Debug, Clone, Default)]
struct Outcome {
    status: u16,
    request_id: String,
    elapsed: Duration,
    error: Option<String>,
}

/// One connection of a flood, driven by `drive`.
struct Client {
    stream: Option<TcpStream>,
    script: Script,
    connected: bool,
    sent: usize,
    next_byte: Instant,
    response: Vec<u8>,
    started: Instant,
    outcome: Option<Outcome>,
}

impl Client {
    fn new(addr: SocketAddr, script: Script) -> Client {
        let started = Instant::now();
        let mut client = Client {
            stream: None,
            script,
            connected: false,
            sent: 0,
            next_byte: started,
            response: Vec::new(),
            started,
            outcome: None,
        };
        match connect_nonblocking(addr) {
            Ok(s) => client.stream = Some(s),
            Err(e) => client.end(Some(format!("connect: {e}"))),
        }
        client
    }

    fn done(&self) -> bool {
        self.outcome.is_some()
    }

    /// Bytes still to send: none once an answer began.
    fn to_send(&self) -> usize {
        if !self.response.is_empty() {
            return 0;
        }
        self.script.bytes.len() - self.sent
    }

    fn wants_write(&self, now: Instant) -> bool {
        !self.connected || (self.to_send() > 0 && (self.script.pace.is_none() || now >= self.next_byte))
    }

    fn end(&mut self, error: Option<String>) {
        let (status, request_id) = parse_head(&self.response);
        self.outcome = Some(Outcome {
            status,
            request_id,
            elapsed: self.started.elapsed(),
            error: if status == 0 { error } else { None },
        });
        self.stream = None;
    }

    fn on_writable(&mut self, now: Instant) {
        let Some(stream) = self.stream.as_ref() else { return };
        if !self.connected {
            match stream.take_error() {
                Ok(None) => self.connected = true,
                Ok(Some(e)) | Err(e) => return self.end(Some(format!("connect: {e}"))),
            }
        }
        while self.to_send() > 0 {
            if self.script.pace.is_some() && now < self.next_byte {
                return;
            }
            let end = match self.script.pace {
                Some((_, n)) => (self.sent + n).min(self.script.bytes.len()),
                None => self.script.bytes.len(),
            };
            let Some(mut stream) = self.stream.as_ref() else { return };
            match stream.write(&self.script.bytes[self.sent..end]) {
                Ok(n) => {
                    self.sent += n;
                    if let Some((every, _)) = self.script.pace {
                        self.next_byte = now + every;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // podup answered and closed while we were still sending: read the answer.
                Err(_) => {
                    self.sent = self.script.bytes.len();
                    return;
                }
            }
        }
    }

    fn on_readable(&mut self) {
        let Some(stream) = self.stream.as_mut() else { return };
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return self.end(Some("closed without an answer".into())),
                Ok(n) => {
                    // The head is all we look at; the body of an error is small anyway.
                    if self.response.len() < 64 * 1024 {
                        self.response.extend_from_slice(&buf[..n]);
                    }
                    // A whole answer on a connection podup keeps: done, as an HTTP
                    // client would be, without waiting for a close that need not come.
                    if answer_complete(&self.response) {
                        return self.end(None);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.end(Some(format!("read: {e}"))),
            }
        }
    }
}

/// `connect(2)` on a non-blocking socket: returns at once, the connection completes (or
/// fails) when the socket turns writable.
fn connect_nonblocking(addr: SocketAddr) -> io::Result<TcpStream> {
    let SocketAddr::V4(v4) = addr else {
        return Err(io::Error::other("IPv4 only"));
    };
    // SAFETY: plain system calls on a descriptor this function owns until it is wrapped.
    unsafe {
        let fd = libc::socket(
            libc::AF_INET,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        );
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let stream = TcpStream::from_raw_fd(fd);
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*v4.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::connect(
            fd,
            (&sa as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINPROGRESS) {
                return Err(e);
            }
        }
        Ok(stream)
    }
}

/// Drives `clients` until each has its outcome or `limit` passed.
fn drive(mut clients: Vec<Client>, limit: Duration) -> Vec<Outcome> {
    let deadline = Instant::now() + limit;
    let mut pfds: Vec<libc::pollfd> = Vec::new();
    let mut index: Vec<usize> = Vec::new();
    loop {
        let now = Instant::now();
        pfds.clear();
        index.clear();
        let mut wake = now + Duration::from_millis(200);
        for (i, c) in clients.iter().enumerate() {
            let Some(stream) = c.stream.as_ref() else { continue };
            let mut events = libc::POLLIN;
            if c.wants_write(now) {
                events |= libc::POLLOUT;
            } else if c.to_send() > 0 {
                wake = wake.min(c.next_byte);
            }
            pfds.push(libc::pollfd {
                fd: stream.as_raw_fd(),
                events,
                revents: 0,
            });
            index.push(i);
        }
        if pfds.is_empty() {
            break;
        }
        if now >= deadline {
            for i in index.iter().copied() {
                clients[i].end(Some("no answer within the client's limit".into()));
            }
            break;
        }
        let wait = wake.min(deadline).saturating_duration_since(now).as_millis() as i32 + 1;
        // SAFETY: pfds is a valid array of pollfd for the duration of the call.
        let rc = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, wait) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            assert_eq!(e.kind(), io::ErrorKind::Interrupted, "poll: {e}");
            continue;
        }
        let now = Instant::now();
        for (p, &i) in pfds.iter().zip(&index) {
            let c = &mut clients[i];
            if p.revents & (libc::POLLOUT | libc::POLLERR) != 0 && !c.done() {
                c.on_writable(now);
            }
            if p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 && !c.done() {
                c.on_readable();
            }
        }
    }
    clients.into_iter().map(|c| c.outcome.unwrap_or_default()).collect()
}

/// Runs one client per script on `FLOOD_THREADS` threads, every connection opened at once.
fn flood(addr: SocketAddr, scripts: Vec<Script>) -> Vec<Outcome> {
    let per_thread = scripts.len().div_ceil(FLOOD_THREADS);
    let mut scripts = scripts.into_iter();
    let handles: Vec<_> = (0..FLOOD_THREADS)
        .map(|_| {
            let mine: Vec<Script> = scripts.by_ref().take(per_thread).collect();
            std::thread::spawn(move || {
                let clients = mine.into_iter().map(|s| Client::new(addr, s)).collect();
                drive(clients, CLIENT_LIMIT)
            })
        })
        .collect();
    handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
}

/// The test process holds thousands of sockets at once: raise its soft descriptor limit
/// to the hard one.
fn raise_nofile(needed: u64) {
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
        }
        assert!(
            lim.rlim_cur >= needed,
            "the flood needs {needed} descriptors; RLIMIT_NOFILE allows {}",
            lim.rlim_cur
        );
    }
}

/// A legitimate request sent while a flood runs: what it is and what must come back.
struct Legit {
    what: &'static str,
    request: Vec<u8>,
    status: u16,
}

fn legit_requests(served: &Served) -> Vec<Legit> {
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
fn send_legit(addr: SocketAddr, request: &[u8]) -> Outcome {
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
struct Report {
    name: &'static str,
    outcomes: Vec<Outcome>,
    duration: Duration,
    legit: Vec<(&'static str, u16, Outcome)>,
    /// How many of `legit` were sent while the flood was running.
    legit_during: usize,
}

/// A bed with podup serving through the shipped podup.socket + podup.service; the process
/// stays for the whole test (no idle exit), so one process's memory covers the flood.
fn setup(name: &str) -> Option<(Harness, Served)> {
    let bed = Harness::up(name)?;
    let served = serve(
        &bed,
        &[("PODUP_GITHUB_SECRET", SECRET), ("PODUP_IDLE_EXIT_SECS", "600")],
    );
    Some((bed, served))
}

/// Floods `served` with `scripts` while a legitimate request goes out every
/// `LEGIT_EVERY`, then checks and prints everything the module header promises.
fn flood_and_check(bed: &Harness, served: &Served, name: &'static str, scripts: Vec<Script>) -> Report {
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

fn check(bed: &Harness, served: &Served, r: &Report, pid: &str) {
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
fn folded_requests(db: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    let sql = format!("SELECT coalesce(sum({} - 1), 0) FROM event_log", count_of(&conn));
    conn.query_row(&sql, [], |r| r.get(0)).unwrap()
}

/// The column that says how many requests a row stands for (none before migration 6:
/// one each), so the flood tests also run against older podups.
fn count_of(conn: &rusqlite::Connection) -> &'static str {
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
fn data_bytes(db: &std::path::Path) -> u64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    let wal = db.with_extension("db-wal");
    std::fs::metadata(db).unwrap().len() + std::fs::metadata(wal).map_or(0, |m| m.len())
}

/// The soft `Max open files` of the process.
fn open_files_limit(pid: &str) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Max open files in /proc/{pid}/limits"))
}

/// Peak resident memory of the process, from `/proc/PID/status` (same pid namespace).
fn memory_peak(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/{pid}/status"));
    kib * 1024
}

fn scripts(n: usize, bytes: Vec<u8>, pace: Option<(Duration, usize)>) -> Vec<Script> {
    let bytes = Arc::new(bytes);
    (0..n)
        .map(|_| Script {
            bytes: bytes.clone(),
            pace,
        })
        .collect()
}

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
