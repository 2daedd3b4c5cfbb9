//! An answer on its way from a worker to its client, and what becomes of the
//! connection after it.

use super::Shared;
use super::conn::Job;
use crate::serve::exchange::Answer;
use crate::serve::net::Stream;
use crate::serve::queue::Lane;
use crate::serve::recorder::{NotStored, Record};
use std::sync::Arc;

/// What the pool's threads are given.
pub enum Work {
    Request(Job),
    /// An answer whose row the writer thread could not store: with how that went.
    Unfinished(Reply, Arc<Record>, Result<(), NotStored>),
    /// An answer stored, to write blocking: only once the poll loop has ended.
    Send(Reply),
}

/// An answer on its way: sent once its row is committed.
pub struct Reply {
    pub stream: Stream,
    pub answer: Answer,
    pub next: Next,
    /// Its request's lane: a worker that finishes it takes it from there.
    pub lane: Lane,
}

/// What becomes of a connection once its answer is sent.
pub struct Next {
    pub remote: Option<String>,
    pub leftover: Vec<u8>,
    pub served: u32,
    pub shed: bool,
}

/// A connection handed back to the loop after its answer, with what comes next on it.
pub type Kept = (Stream, Next);

impl Reply {
    /// On the writer thread, once the row's fate is known: sends the answer when the
    /// row is stored and the socket takes every byte now; else the poll loop finishes
    /// it as the client reads (`writing`), holding no worker; a worker only when the
    /// row was not stored, which needs its database handle.
    pub fn settled(mut self, stored: Result<(), NotStored>, record: Arc<Record>, shared: &Shared) {
        if stored.is_err() {
            return self.unfinished(record, stored, shared);
        }
        if self.answer.quick() {
            match self.answer.try_send(&mut self.stream) {
                Ok(false) => {}
                // Closing with bytes still in the kernel: the loop waits for them.
                Ok(true) if self.answer.lingers(&self.stream) => {}
                Ok(true) => {
                    let kept = self.answer.sent(self.stream);
                    return self.next.done(kept, shared);
                }
                Err(e) => {
                    self.answer.failed(&e);
                    return self.next.done(None, shared);
                }
            }
        }
        self.hand_to_loop(shared);
    }

    fn unfinished(self, record: Arc<Record>, stored: Result<(), NotStored>, shared: &Shared) {
        let lane = self.lane;
        let work = Work::Unfinished(self, record, stored);
        // In its request's lane: the worker kept for webhooks never writes to a client
        // that is not one (red-team F1 of issue 17).
        let refused = shared.to_workers(lane, work);
        // The loop starts another worker when none is free to take it.
        shared.waker.wake();
        // Only after `STOP_WAIT` on a stop: the connection is dropped unanswered.
        if let Some(Work::Unfinished(reply, ..)) = refused {
            reply.next.done(None, shared);
        }
    }
}

impl Next {
    /// The answer is sent (or the connection lost): a kept connection goes back to the
    /// loop, before the counts drop, so the loop never sees it nowhere.
    pub fn done(self, kept: Option<Stream>, shared: &Shared) {
        let shed = self.shed;
        if let Some(stream) = kept {
            if self.served == 0 {
                stream.set_nodelay();
            }
            if shared.kept.send((stream, self)).is_ok() {
                shared.waker.wake();
            }
        }
        shared.counts.request_done(shed);
    }
}
