//! A connection the poll loop is reading a request from, and the job it becomes once
//! that request is complete or cannot be.

use super::share::{self, Source};
use super::writing::SEND_BUFFER_BYTES;
use super::{READ_CHUNK_BYTES, SHED_AFTER, SHED_BATCH};
use crate::http::Request;
use crate::http::framing::{FrameError, Framer, Progress};
use crate::serve::exchange::Received;
use crate::serve::net::{Listener, Stream};
use crate::serve::queue::Lane;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

pub struct Conn {
    pub stream: Stream,
    pub framer: Framer,
    pub remote: Option<String>,
    /// Who its body bytes count against (`share`).
    pub source: Source,
    /// When this request began: the accept, or its first byte on a kept connection.
    pub accepted: Instant,
    pub deadline: Instant,
    /// Requests already answered on this connection.
    pub served: u32,
}

/// What a request read so far came to: `None` while more is needed.
pub type Outcome = Option<Result<Request, FrameError>>;

impl Conn {
    /// Kept alive and waiting for a next request that has not begun: closing it
    /// loses nothing.
    pub fn idle(&self) -> bool {
        self.served > 0 && self.framer.received() == 0
    }

    pub fn job(mut self, outcome: Result<Request, FrameError>) -> Job {
        // The head is still in the framer only when the request failed after it.
        let head = self
            .framer
            .head()
            .map(|r| (r.method.clone(), r.path.clone(), r.query.clone()));
        Job {
            stream: self.stream,
            received: Received {
                outcome,
                head,
                remote: self.remote,
                accepted: self.accepted,
            },
            leftover: self.framer.take_leftover(),
            served: self.served,
        }
    }

    /// Feeds `data` to the connection's framer: `Some` once the request is complete or
    /// cannot be. The first byte of a request on a kept connection starts its deadline.
    pub fn take(&mut self, data: &[u8], timeout: Duration) -> Outcome {
        if data.is_empty() {
            return None;
        }
        if self.idle() {
            self.accepted = Instant::now();
            self.deadline = self.accepted + timeout;
        }
        match self.framer.feed(data) {
            Ok(Progress::Done(req)) => Some(Ok(*req)),
            Ok(Progress::NeedMore) => {
                if self.framer.take_continue() {
                    let _ = self.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
                }
                None
            }
            Err(e) => Some(Err(e)),
        }
    }

    /// Reads what is there, but once the head is parsed no more than about `allowance`
    /// body bytes (one read more at most). `None`: keep waiting. `Some(None)`: the peer
    /// closed without sending a byte. `Some(Some(outcome))`: hand over.
    pub fn read_ready(&mut self, allowance: usize, timeout: Duration) -> Option<Outcome> {
        let mut buf = [0u8; READ_CHUNK_BYTES];
        let start = self.framer.body_len();
        loop {
            if self.framer.head().is_some() && self.framer.body_len() - start >= allowance {
                return None;
            }
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    return Some(if self.framer.received() == 0 {
                        None
                    } else {
                        Some(Err(FrameError::Incomplete))
                    });
                }
                Ok(n) => {
                    if let Some(outcome) = self.take(&buf[..n], timeout) {
                        return Some(Some(outcome));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    return Some(if self.framer.received() == 0 {
                        None
                    } else {
                        Some(Err(FrameError::Incomplete))
                    });
                }
            }
        }
    }
}

/// Takes out the connections to shed: idle kept connections first, then the oldest of
/// those open at least `SHED_AFTER`, `SHED_BATCH` in all.
pub fn shed(conns: &mut Vec<Conn>, now: Instant) -> Vec<Conn> {
    let mut old: Vec<usize> = (0..conns.len())
        .filter(|&i| conns[i].idle() || now.duration_since(conns[i].accepted) >= SHED_AFTER)
        .collect();
    old.sort_by_key(|&i| (!conns[i].idle(), conns[i].accepted));
    old.truncate(SHED_BATCH);
    // From the back, so that swap_remove moves only connections that stay.
    old.sort_unstable_by(|a, b| b.cmp(a));
    old.into_iter().map(|i| conns.swap_remove(i)).collect()
}

pub fn accept_ready(l: &Listener, conns: &mut Vec<Conn>, timeout: Duration, max_body: u64, room: usize) {
    for _ in 0..room.min(64) {
        match l.accept() {
            Ok((stream, remote)) => {
                if stream.set_nonblocking(true).is_err() {
                    continue;
                }
                stream.limit_send_buffer(SEND_BUFFER_BYTES);
                let accepted = Instant::now();
                conns.push(Conn {
                    stream,
                    framer: Framer::new(max_body),
                    source: share::source_of(remote.as_deref()),
                    remote,
                    accepted,
                    deadline: accepted + timeout,
                    served: 0,
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

pub struct Job {
    pub stream: Stream,
    pub received: Received,
    /// Bytes that came after the request: the start of the next one.
    pub leftover: Vec<u8>,
    pub served: u32,
}

impl Job {
    /// Body bytes the job holds, counted in `Counts::body_bytes` until it is finished.
    pub fn body_bytes(&self) -> usize {
        self.received.outcome.as_ref().map_or(0, |r| r.body.len())
    }

    /// Shed to make room: counted in `Counts::shedding` until it is answered.
    pub fn shed(&self) -> bool {
        matches!(self.received.outcome, Err(FrameError::Overloaded))
    }

    /// A webhook delivery may take the worker other requests leave free.
    pub fn lane(&self) -> Lane {
        let path = match &self.received.outcome {
            Ok(request) => Some(request.path.as_str()),
            Err(_) => self.received.head.as_ref().map(|(_, path, _)| path.as_str()),
        };
        if path.is_some_and(|p| p.starts_with("/hooks/")) {
            Lane::Urgent
        } else {
            Lane::General
        }
    }
}
