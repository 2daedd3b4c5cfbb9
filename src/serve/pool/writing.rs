//! Answers the socket would not take at once, finished by the poll loop rather than a
//! worker (red-team F1 of issue 17). A client that pipelines requests and never reads
//! its answers used to hold a worker in a blocking write for each of its connections,
//! and since those writes went to the lane open to every worker, the one kept for
//! webhooks too: 150 such connections kept a signed delivery waiting past 30 s. Here
//! such an answer costs an entry in the loop's poll set: it is written as the socket
//! takes it (POLLOUT), within one deadline for the whole answer, `WRITE_TIMEOUT`. Past
//! that, or when every connection slot is taken and it has waited `SHED_AFTER`, the
//! connection is reset, which frees what the kernel still holds for it.
//!
//! A connection stays out of the loop's reading set while its answer is here, so the
//! requests it pipelined behind are not framed, and not answered, until this one is
//! sent: with the send buffer capped (`SEND_BUFFER_BYTES`), that bounds what one
//! connection can make the host hold to one answer plus that buffer.
//!
//! An answer after which the connection closes stays here once written, while the
//! kernel still holds some of it (red-team G2 of issue 17): closed at once, its socket
//! would be orphaned with those bytes, outside `MAX_CONNECTIONS`, for as long as a
//! client that never reads keeps its window shut. Here it keeps its slot until the
//! kernel's queue drains, looked at every `LINGER_CHECK`, or the same deadline resets it.

use super::reply::{Reply, Work};
use super::{SHED_AFTER, SHED_BATCH, Shared};
use crate::serve::exchange::{Answer, LINGER_CHECK, WRITE_TIMEOUT};
use std::io;
use std::os::fd::AsRawFd;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// What a client's kernel send buffer is capped at (Linux books twice this).
pub const SEND_BUFFER_BYTES: usize = 128 * 1024;

struct Writing {
    reply: Reply,
    since: Instant,
}

impl Writing {
    /// Written whole, and waiting for the kernel to be done with it before the close.
    fn closing(&self) -> bool {
        self.reply.answer.written_all()
    }
}

/// Where the writer thread hands answers to the loop: `None` once the loop has ended,
/// when answers go to the workers instead.
pub struct Handoff(Mutex<Option<Vec<Reply>>>);

impl Handoff {
    pub fn new() -> Handoff {
        Handoff(Mutex::new(Some(Vec::new())))
    }

    fn lock(&self) -> MutexGuard<'_, Option<Vec<Reply>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Reply {
    /// For the loop to finish; to a worker once the loop has ended.
    pub(super) fn hand_to_loop(self, shared: &Shared) {
        let mut handoff = shared.handoff.lock();
        match handoff.as_mut() {
            Some(replies) => {
                replies.push(self);
                drop(handoff);
                shared.waker.wake();
            }
            None => {
                drop(handoff);
                self.hand_to_worker(shared);
            }
        }
    }

    /// A worker writes it, blocking, within `WRITE_TIMEOUT`: only once the loop has
    /// ended. In the lane of its request, so a webhook's reserved worker never does it
    /// for another request.
    fn hand_to_worker(self, shared: &Shared) {
        let lane = self.lane;
        if let Some(Work::Send(reply)) = shared.to_workers(lane, Work::Send(self)) {
            reply.next.done(None, shared);
        }
    }
}

/// The answers the loop is writing.
pub struct Outbox(Vec<Writing>);

impl Outbox {
    pub fn new() -> Outbox {
        Outbox(Vec::new())
    }

    /// Takes what the writer thread handed over.
    pub fn collect(&mut self, shared: &Shared, now: Instant) {
        if let Some(replies) = shared.handoff.lock().as_mut() {
            self.0
                .extend(replies.drain(..).map(|reply| Writing { reply, since: now }));
        }
    }

    /// When the first answer runs out of time, or a closing one is looked at again.
    pub fn first_deadline(&self, now: Instant) -> Option<Instant> {
        let look = self.0.iter().any(Writing::closing).then_some(now + LINGER_CHECK);
        self.0.iter().map(|w| w.since + WRITE_TIMEOUT).chain(look).min()
    }

    /// Closes the connections whose answer the kernel is done with.
    pub fn closed(&mut self, shared: &Shared) {
        for i in (0..self.0.len()).rev() {
            if self.0[i].closing() && Answer::closes(&self.0[i].reply.stream) {
                let Reply {
                    stream, answer, next, ..
                } = self.0.swap_remove(i).reply;
                answer.sent(stream);
                next.done(None, shared);
            }
        }
    }

    /// Some answer has waited `SHED_AFTER` and may be dropped for a waiting connection.
    pub fn sheddable(&self, now: Instant) -> bool {
        self.0.iter().any(|w| now.duration_since(w.since) >= SHED_AFTER)
    }

    /// One descriptor per answer, waiting for room to write; none (-1, which poll
    /// ignores) for a closing one, which is looked at on a clock instead.
    pub fn pollfds(&self) -> impl Iterator<Item = libc::pollfd> + '_ {
        self.0.iter().map(|w| libc::pollfd {
            fd: if w.closing() { -1 } else { w.reply.stream.as_raw_fd() },
            events: libc::POLLOUT,
            revents: 0,
        })
    }

    /// Writes what the sockets marked ready in `pfds` (one per answer, in order) take.
    pub fn write_ready(&mut self, pfds: &[libc::pollfd], shared: &Shared) {
        for i in (0..self.0.len().min(pfds.len())).rev() {
            if pfds[i].revents == 0 {
                continue;
            }
            let reply = &mut self.0[i].reply;
            match reply.answer.try_send(&mut reply.stream) {
                Ok(false) => {}
                Ok(true) if reply.answer.lingers(&reply.stream) => {}
                Ok(true) => {
                    let Reply {
                        stream, answer, next, ..
                    } = self.0.swap_remove(i).reply;
                    let kept = answer.sent(stream);
                    next.done(kept, shared);
                }
                Err(e) => {
                    let Reply {
                        stream, answer, next, ..
                    } = self.0.swap_remove(i).reply;
                    answer.abandon(stream, &e);
                    next.done(None, shared);
                }
            }
        }
    }

    /// Resets the connections whose answer is past its deadline.
    pub fn expire(&mut self, now: Instant, shared: &Shared) {
        self.drop_where(shared, usize::MAX, |w| now >= w.since + WRITE_TIMEOUT);
    }

    /// Every slot is taken and connections wait: resets up to `SHED_BATCH` of those
    /// whose client has not taken its answer for `SHED_AFTER`, oldest first.
    pub fn shed(&mut self, now: Instant, shared: &Shared) {
        self.0.sort_by_key(|w| w.since);
        self.drop_where(shared, SHED_BATCH, |w| now.duration_since(w.since) >= SHED_AFTER);
    }

    fn drop_where(&mut self, shared: &Shared, at_most: usize, due: impl Fn(&Writing) -> bool) {
        let mut dropped = 0;
        let mut i = 0;
        while i < self.0.len() && dropped < at_most {
            if due(&self.0[i]) {
                let Reply {
                    stream, answer, next, ..
                } = self.0.remove(i).reply;
                answer.abandon(stream, &io::ErrorKind::TimedOut.into());
                next.done(None, shared);
                dropped += 1;
            } else {
                i += 1;
            }
        }
    }

    /// The loop has ended: what it was writing, and what is handed over from now on,
    /// goes to the workers.
    pub fn close(self, shared: &Shared) {
        let handed = shared.handoff.lock().take().unwrap_or_default();
        for reply in self.0.into_iter().map(|w| w.reply).chain(handed) {
            reply.hand_to_worker(shared);
        }
    }
}
