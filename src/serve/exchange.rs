//! The end of every request, whatever the driver: run the handler (or turn a framing
//! error into its answer), write the one `event_log` row, then write the response.
//! The row goes in before the response, so every answered request has its row.
//! `finish` does all three in turn; the pool calls `prepare` and sends the answer
//! once the writer thread has committed the row.

use super::ids::RequestIds;
use super::net::Stream;
use super::recorder::{self, NotStored, Record};
use crate::auth::client;
use crate::clock::now_ms;
use crate::config::Config;
use crate::host::Host;
use crate::http::context::Ctx;
use crate::http::framing::FrameError;
use crate::http::routes;
use crate::http::{Request, Response, redact, redact_target};
use crate::store::fold::{self, Filing};
use crate::store::{Db, events};
use serde_json::json;
use std::io::{self, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long writing a whole response may take before the client is dropped: one
/// deadline for the answer, not one per write call, so that a client reading a few
/// bytes at a time cannot stretch it (red-team F1 of issue 17).
pub const WRITE_TIMEOUT: Duration = Duration::from_millis(5_000);
/// How often a closing connection's kernel queue is looked at while it drains.
pub const LINGER_CHECK: Duration = Duration::from_millis(20);
/// Unread bytes drained (without waiting) before closing, so that the client sees
/// the answer rather than a reset.
const DRAIN_LIMIT_BYTES: usize = 256 * 1024;

/// What a worker needs to finish requests: shared settings, its own DB handle and
/// its own host (which records the commands it runs).
pub struct Worker<'a> {
    pub config: &'a Config,
    pub started: Instant,
    pub ids: &'a RequestIds,
    pub db: Db,
    pub host: Host,
    pub exe: &'a Path,
}

/// A request as the driver hands it over: framed, or why it could not be.
pub struct Received {
    pub outcome: Result<Request, FrameError>,
    /// Method and target, when the head was parsed before the error.
    pub head: Option<(String, String, String)>,
    pub remote: Option<String>,
    pub accepted: Instant,
}

/// An answer ready to send, and what becomes of its connection afterwards.
pub struct Answer {
    request_id: String,
    bytes: Vec<u8>,
    written: usize,
    keep: bool,
    /// The request was not read to its end: read what the client sent before closing.
    drain: bool,
}

impl Answer {
    /// Whether sending can end without waiting on the client: no unread request to drain.
    pub fn quick(&self) -> bool {
        !self.drain
    }

    /// Writes what the socket takes without waiting: true once all of it is written.
    pub fn try_send(&mut self, stream: &mut Stream) -> io::Result<bool> {
        while self.written < self.bytes.len() {
            match stream.write(&self.bytes[self.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Every byte is written, the connection is to close, and the kernel still holds
    /// some of them (red-team G2 of issue 17): closing now would leave an orphaned
    /// socket keeping them, outside every limit, for as long as a client that never
    /// reads keeps its window shut. Such a connection is kept open, its slot taken,
    /// until the kernel's queue drains (`closes`) or its deadline passes (`abandon`).
    /// Its end is sent at once, so a client reading to the close sees it as before.
    pub fn lingers(&self, stream: &Stream) -> bool {
        if self.keep || self.written < self.bytes.len() || stream.unsent() == 0 {
            return false;
        }
        stream.shutdown_write();
        true
    }

    /// Every byte is written to the socket.
    pub fn written_all(&self) -> bool {
        self.written >= self.bytes.len()
    }

    /// A lingering connection's queue has drained: it closes as `sent` would.
    pub fn closes(stream: &Stream) -> bool {
        stream.unsent() == 0
    }

    /// Writes the rest, waiting up to `WRITE_TIMEOUT` for all of it, and for the kernel
    /// to be done with it when the connection closes; then as `sent`.
    pub fn send(mut self, mut stream: Stream) -> Option<Stream> {
        let _ = stream.set_nonblocking(false);
        let deadline = Instant::now() + WRITE_TIMEOUT;
        while self.written < self.bytes.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            // A zero timeout would mean none at all (SO_SNDTIMEO, socket(7)).
            let wrote = if left.is_zero() {
                Err(io::ErrorKind::TimedOut.into())
            } else {
                let _ = stream.set_write_timeout(Some(left));
                stream.write(&self.bytes[self.written..])
            };
            match wrote {
                Ok(0) => return self.abandon(stream, &io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.abandon(stream, &e),
            }
        }
        if self.keep && stream.set_nonblocking(true).is_err() {
            self.keep = false;
        }
        if self.lingers(&stream) {
            while !Answer::closes(&stream) {
                if Instant::now() >= deadline {
                    return self.abandon(stream, &io::ErrorKind::TimedOut.into());
                }
                std::thread::sleep(LINGER_CHECK);
            }
        }
        self.sent(stream)
    }

    /// Once every byte is written: the connection, non-blocking, when it is kept;
    /// else it is closed.
    pub fn sent(self, mut stream: Stream) -> Option<Stream> {
        if self.keep {
            return Some(stream);
        }
        stream.shutdown_write();
        if self.drain {
            drain(&mut stream);
        }
        None
    }

    /// The client went away or stopped reading: the connection is dropped.
    pub fn failed(&self, e: &io::Error) {
        log::debug!(request_id = self.request_id.as_str(); "could not write the response: {e}");
    }

    /// Gives up on the answer: the connection is reset, so that what the kernel still
    /// holds of it is freed now rather than kept for a client that does not read.
    pub fn abandon(&self, stream: Stream, e: &io::Error) -> Option<Stream> {
        self.failed(e);
        stream.abort();
        None
    }
}

/// Answers one received request on `stream`, records it and closes the connection
/// (the one-request drivers).
pub fn finish(worker: &mut Worker<'_>, stream: Stream, received: &Received) {
    let (record, answer) = prepare(worker, received, false);
    let stored = recorder::write_one(&mut worker.db, worker.config, &record);
    report(worker, &record, stored);
    answer.send(stream);
    // One request per process here: each looks at the budget once it has answered.
    recorder::keep_budget(&mut worker.db, worker.config);
}

/// Runs the request's handler: its row, and the answer to send once the row is stored.
/// With `may_keep`, a request that allows it keeps its connection: the answer does
/// not say `Connection: close`, and sending it gives the stream back (non-blocking).
pub fn prepare(worker: &mut Worker<'_>, received: &Received, may_keep: bool) -> (Record, Answer) {
    let request_id = worker.ids.next();
    let ip = client_ip(received.remote.as_deref());
    let mut authenticated = false;
    // Who refused rows count against: the peer, or the client a trusted proxy reports.
    let mut source = ip.clone();
    let (mut response, method, path, head_only, read_all) = match &received.outcome {
        Ok(req) => {
            let mut ctx = Ctx {
                config: worker.config,
                started: worker.started,
                db: &mut worker.db,
                host: &worker.host,
                exe: worker.exe,
                request_id: &request_id,
                client_ip: ip.clone(),
                authenticated: false,
                identity: None,
            };
            let mut response = catch_unwind(AssertUnwindSafe(|| routes::handle(&mut ctx, req))).unwrap_or_else(|_| {
                Response::error(
                    500,
                    "internal_error",
                    "internal_error",
                    "podup failed while handling this request; see its log",
                )
            });
            authenticated = ctx.authenticated;
            if let (Some(name), Some(meta)) = (ctx.identity.take(), response.meta.as_object_mut()) {
                meta.entry("by").or_insert(json!(name));
            }
            // `remote_addr` stays the connection's peer; the client a trusted proxy
            // reports (`auth::client`) goes beside it.
            let forwarded = client::forwarded(
                &ip,
                req.headers_named("x-forwarded-for"),
                &worker.config.trusted_proxies,
            );
            if let Some(client) = forwarded {
                // Refused requests fold per client, not per proxy.
                source = client.to_string();
                if let Some(meta) = response.meta.as_object_mut() {
                    meta.insert("client".into(), json!(source));
                }
            }
            (
                response,
                req.method.clone(),
                redact_target(&req.path, &req.query),
                req.method == "HEAD",
                true,
            )
        }
        Err(e) => {
            let (method, path, query) = received.head.clone().unwrap_or_default();
            let response = Response::error(e.status(), "request_rejected", e.code(), e.message());
            (response, method, redact_target(&path, &query), false, false)
        }
    };
    response.headers.push(("X-Request-Id", request_id.clone()));
    let duration_ms = received.accepted.elapsed().as_millis() as i64;
    let meta = merge_meta(&response, received);
    // Every field bounded: the path by `redact_target`, the rest here.
    let event = events::Event {
        request_id: request_id.clone(),
        ts_ms: now_ms(),
        method: redact::bound(&redact::escape_controls(&method), redact::MAX_METHOD_CHARS),
        path,
        status: response.status,
        action: response.action.to_string(),
        reason: response.reason.to_string(),
        duration_ms,
        remote_addr: received
            .remote
            .as_deref()
            .map(|r| redact::bound(&redact::escape_controls(r), redact::MAX_REMOTE_CHARS)),
        meta,
        task_id: response.task_id,
    };
    let source = fold::source_of(&source);
    let filing = if response.auth_failed {
        Filing::failed_credential(&source)
    } else if response.repeated {
        Filing::repeated(&source)
    } else {
        Filing::of(response.status, authenticated, response.task_id, &source)
    };
    log::debug!(
        request_id = event.request_id.as_str(), action = event.action.as_str(), reason = event.reason.as_str(), status = event.status;
        "{} '{}' -> {}", event.method, event.path, event.status
    );
    // A framing error leaves the connection's bytes out of step: it always closes.
    let keep = may_keep && received.outcome.as_ref().is_ok_and(|r| r.keep_alive) && !crate::sys::stop_requested();
    let answer = Answer {
        request_id,
        bytes: response.to_bytes(head_only, keep),
        written: 0,
        keep,
        drain: !read_all,
    };
    let record = Record { event, filing };
    (record, answer)
}

/// The address part of `1.2.3.4:5` / `[::1]:5` (the rate-limit key); `local` for
/// Unix sockets.
fn client_ip(remote: Option<&str>) -> String {
    let Some(r) = remote else { return "local".into() };
    match r.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host.trim_matches(['[', ']']).to_string(),
        _ => r.to_string(),
    }
}

fn merge_meta(response: &Response, received: &Received) -> String {
    let mut meta = match &response.meta {
        serde_json::Value::Object(m) => m.clone(),
        _ => serde_json::Map::new(),
    };
    if let Err(e) = &received.outcome {
        meta.insert("error".into(), json!(e.message()));
    }
    redact::bound_meta(serde_json::Value::Object(meta))
}

/// What the writer thread's attempt at a row came to, settled: when its handle was
/// down and not due to reopen, this worker's own handle (which reopens on its own
/// clock) writes the row.
pub fn settle(worker: &mut Worker<'_>, record: &Record, stored: Result<(), NotStored>) {
    let stored = match stored {
        Err(NotStored::Unavailable(_)) => recorder::write_one(&mut worker.db, worker.config, record),
        other => other,
    };
    report(worker, record, stored);
}

/// A row that was not stored is logged whole, so nothing is lost silently, and marks
/// the database failed for `/health`.
fn report(worker: &mut Worker<'_>, record: &Record, stored: Result<(), NotStored>) {
    if let Err(e) = stored {
        let event = &record.event;
        log::error!(
            error_kind = "event_not_stored", request_id = event.request_id.as_str();
            "could not store the event row ({}): {} '{}' -> {} {}/{}",
            e.message(), event.method, event.path, event.status, event.action, event.reason
        );
        if let NotStored::Db(error) = e {
            if worker.db.get().is_ok() {
                worker.db.fail(error);
            }
        }
    }
}

/// Reads what the client already sent and we did not read, without waiting.
fn drain(stream: &mut Stream) {
    let _ = stream.set_nonblocking(true);
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0;
    while total < DRAIN_LIMIT_BYTES {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
}
