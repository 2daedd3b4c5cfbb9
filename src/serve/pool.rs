//! The Accept=no driver: one thread polls the listening sockets and every open
//! connection, framing requests as bytes arrive, so a client that trickles bytes
//! holds no thread and is cut off at its deadline. Complete requests (or framing
//! errors) go to a small pool of worker threads that finish them. The loop ends on
//! SIGTERM or after the idle time with nothing in flight.

use super::exchange::{self, Received, RequestIds, Worker};
use super::net::{Listener, Stream};
use super::recorder::Recorder;
use crate::config::Config;
use crate::http::framing::{FrameError, Framer, Progress};
use crate::store::Db;
use crate::sys;
use crate::tasks::host_for;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread;
use std::time::{Duration, Instant};

/// Connections open at once (being read, queued or being answered); beyond this,
/// new connections wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 512;
/// Longest single wait in poll, so signals and the idle clock are checked.
const POLL_SLICE_MS: u64 = 1_000;
const READ_CHUNK_BYTES: usize = 16 * 1024;

struct Conn {
    stream: Stream,
    framer: Framer,
    remote: Option<String>,
    accepted: Instant,
    deadline: Instant,
}

struct Job {
    stream: Stream,
    received: Received,
}

/// Serves `listeners` until a stop signal, or until `idle` passes with no request.
pub fn serve(
    listeners: &[Listener],
    config: &Config,
    exe: &Path,
    started: Instant,
    idle: Option<Duration>,
) -> io::Result<()> {
    for l in listeners {
        l.set_nonblocking()?;
    }
    let ids = RequestIds::new();
    let in_flight = AtomicUsize::new(0);
    let (tx, rx) = channel::<Job>();
    let rx = Mutex::new(rx);
    let (recorder, write_loop) = Recorder::new(Db::open(&config.db_path()), config);
    thread::scope(|scope| {
        thread::Builder::new()
            .name("event-writer".into())
            .spawn_scoped(scope, write_loop)
            .expect("spawning the event writer thread");
        for n in 0..config.workers {
            let (rx, ids, in_flight) = (&rx, &ids, &in_flight);
            let recorder = recorder.clone();
            thread::Builder::new()
                .name(format!("worker-{n}"))
                .spawn_scoped(scope, move || {
                    let mut worker = Worker {
                        config,
                        started,
                        ids,
                        db: Db::open(&config.db_path()),
                        host: host_for(config),
                        exe,
                        recorder: Some(recorder),
                    };
                    work(&mut worker, rx, in_flight);
                })
                .expect("spawning a worker thread");
        }
        drop(recorder);
        let result = accept_loop(listeners, config, idle, &tx, &in_flight);
        drop(tx);
        result
    })
}

fn work(worker: &mut Worker<'_>, rx: &Mutex<Receiver<Job>>, in_flight: &AtomicUsize) {
    loop {
        let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(job) = job else { return };
        exchange::finish(worker, job.stream, job.received);
        in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn accept_loop(
    listeners: &[Listener],
    config: &Config,
    idle: Option<Duration>,
    tx: &Sender<Job>,
    in_flight: &AtomicUsize,
) -> io::Result<()> {
    let timeout = Duration::from_millis(config.request_timeout_ms);
    let mut conns: Vec<Conn> = Vec::new();
    let mut last_busy = Instant::now();
    let mut pfds = Vec::new();
    let dispatch = |stream: Stream, received: Received| {
        in_flight.fetch_add(1, Ordering::SeqCst);
        let _ = tx.send(Job { stream, received });
    };
    loop {
        if sys::stop_requested() {
            log::info!("stop requested; finishing the requests in hand");
            return Ok(());
        }
        let now = Instant::now();
        let mut i = 0;
        while i < conns.len() {
            if now >= conns[i].deadline {
                let c = conns.swap_remove(i);
                let received = received(&c, Err(FrameError::Timeout));
                dispatch(c.stream, received);
            } else {
                i += 1;
            }
        }
        let busy = conns.len() + in_flight.load(Ordering::SeqCst);
        if busy > 0 {
            last_busy = now;
        }
        let mut wait = Duration::from_millis(POLL_SLICE_MS);
        if let Some(idle) = idle {
            let quiet = now.duration_since(last_busy);
            if busy == 0 && quiet >= idle {
                log::info!("no request for {} s; exiting until the next connection", idle.as_secs());
                return Ok(());
            }
            wait = wait.min(idle.saturating_sub(quiet));
        }
        if let Some(first) = conns.iter().map(|c| c.deadline).min() {
            wait = wait.min(first.saturating_duration_since(now));
        }
        let accepting = busy < MAX_CONNECTIONS;
        pfds.clear();
        if accepting {
            pfds.extend(listeners.iter().map(|l| sys::pollfd(l.as_raw_fd())));
        }
        pfds.extend(conns.iter().map(|c| sys::pollfd(c.stream.as_raw_fd())));
        // Round up so a deadline a fraction of a millisecond away is not spun on.
        sys::poll(&mut pfds, wait.as_millis().min(i32::MAX as u128) as i32 + 1)?;
        let offset = if accepting { listeners.len() } else { 0 };
        for idx in (0..conns.len()).rev() {
            if pfds[offset + idx].revents == 0 {
                continue;
            }
            // Some(None): the peer closed without sending anything, which is not a request.
            if let Some(result) = read_ready(&mut conns[idx]) {
                let c = conns.swap_remove(idx);
                if let Some(outcome) = result {
                    let received = received(&c, outcome);
                    dispatch(c.stream, received);
                }
            }
        }
        if accepting {
            for (n, l) in listeners.iter().enumerate() {
                if pfds[n].revents != 0 {
                    accept_ready(
                        l,
                        &mut conns,
                        timeout,
                        config.max_body_bytes,
                        MAX_CONNECTIONS.saturating_sub(busy),
                    );
                }
            }
        }
    }
}

fn received(c: &Conn, outcome: Result<crate::http::Request, FrameError>) -> Received {
    let head = c
        .framer
        .head()
        .map(|r| (r.method.clone(), r.path.clone(), r.query.clone()));
    Received {
        outcome,
        head,
        remote: c.remote.clone(),
        accepted: c.accepted,
    }
}

fn accept_ready(l: &Listener, conns: &mut Vec<Conn>, timeout: Duration, max_body: u64, room: usize) {
    for _ in 0..room.min(64) {
        match l.accept() {
            Ok((stream, remote)) => {
                if stream.set_nonblocking(true).is_err() {
                    continue;
                }
                let accepted = Instant::now();
                conns.push(Conn {
                    stream,
                    framer: Framer::new(max_body),
                    remote,
                    accepted,
                    deadline: accepted + timeout,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) => {
                // ECONNABORTED, EMFILE, ...: log and leave the rest for the next round.
                log::warn!("accept failed: {e}");
                return;
            }
        }
    }
}

/// Reads what is there. `None`: keep waiting. `Some(None)`: the peer closed without
/// sending a byte. `Some(Some(outcome))`: hand over.
fn read_ready(c: &mut Conn) -> Option<Option<Result<crate::http::Request, FrameError>>> {
    let mut buf = [0u8; READ_CHUNK_BYTES];
    loop {
        match c.stream.read(&mut buf) {
            Ok(0) => {
                return Some(if c.framer.received() == 0 {
                    None
                } else {
                    Some(Err(FrameError::Incomplete))
                });
            }
            Ok(n) => match c.framer.feed(&buf[..n]) {
                Ok(Progress::Done(req)) => return Some(Some(Ok(*req))),
                Ok(Progress::NeedMore) => {
                    if c.framer.take_continue() {
                        let _ = c.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
                    }
                }
                Err(e) => return Some(Some(Err(e))),
            },
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                return Some(if c.framer.received() == 0 {
                    None
                } else {
                    Some(Err(FrameError::Incomplete))
                });
            }
        }
    }
}
