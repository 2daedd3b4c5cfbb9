//! The poll loop, one named step after another each round: start the workers that
//! waiting work needs, take back kept-alive connections, finish the answers being
//! written, time out connections, exit when idle, poll, write, read the ready
//! connections and hand their finished requests to the workers, then accept new
//! connections, or shed old ones when every slot is taken.

use super::conn::{self, Conn};
use super::reply::{Kept, Work};
use super::share::Shares;
use super::writing::Outbox;
use super::{BODY_BUDGET_REQUESTS, FULL_POLL, KEEP_ALIVE_IDLE, MAX_CONNECTIONS, POLL_SLICE_MS, SHED_AFTER, Shared};
use crate::config::Config;
use crate::http::Request;
use crate::http::framing::{FrameError, Framer};
use crate::serve::net::Listener;
use crate::sys;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// What the loop holds between rounds.
struct Loop<'a> {
    listeners: &'a [Listener],
    idle: Option<Duration>,
    kept: Receiver<Kept>,
    shared: &'a Shared,
    outbox: &'a mut Outbox,
    timeout: Duration,
    max_body: u64,
    budget: usize,
    conns: Vec<Conn>,
    last_busy: Instant,
    pfds: Vec<libc::pollfd>,
}

/// What one round found before it polls.
struct Round {
    /// Connections open: being read here, or handed to the workers.
    busy: usize,
    /// Every connection slot is taken.
    full: bool,
    /// The connection that has waited longest for its request.
    oldest: Option<usize>,
    /// Whether the listeners are in the poll set.
    watching: bool,
    wait: Duration,
}

/// Body bytes the connections being read hold, in all and per source (`share`).
struct Held {
    bytes: usize,
    shares: Shares,
}

pub fn accept_loop(
    listeners: &[Listener],
    config: &Config,
    idle: Option<Duration>,
    kept: Receiver<Kept>,
    shared: &Shared,
    outbox: &mut Outbox,
    start_worker: &dyn Fn() -> bool,
) -> io::Result<()> {
    let mut l = Loop {
        listeners,
        idle,
        kept,
        shared,
        outbox,
        timeout: Duration::from_millis(config.request_timeout_ms),
        max_body: config.max_body_bytes,
        budget: usize::try_from(config.max_body_bytes)
            .unwrap_or(usize::MAX)
            .saturating_mul(BODY_BUDGET_REQUESTS),
        conns: Vec::new(),
        last_busy: Instant::now(),
        pfds: Vec::new(),
    };
    loop {
        // For what the last round dispatched (or the writer sent back) and found no
        // worker free to take.
        while shared.counts.short_of_workers() && start_worker() {}
        if sys::stop_requested() {
            log::info!("stop requested; finishing the requests in hand");
            return Ok(());
        }
        let now = Instant::now();
        l.take_back_kept(now);
        l.finish_writing(now);
        l.time_out(now);
        let busy = l.busy(now);
        if l.idle_over(now, busy) {
            return Ok(());
        }
        let round = l.round(now, busy);
        let mut held = l.held();
        let writing_at = l.poll_set(&round, &held);
        // Round up so a deadline a fraction of a millisecond away is not spun on.
        sys::poll(&mut l.pfds, round.wait.as_millis().min(i32::MAX as u128) as i32 + 1)?;
        if l.pfds[0].revents != 0 {
            shared.waker.reset();
        }
        let offset = if round.watching { 1 + listeners.len() } else { 1 };
        let waiting = l.pfds[1..offset].iter().any(|p| p.revents != 0);
        l.outbox.write_ready(&l.pfds[writing_at..], shared);
        l.read_ready(&round, offset, &mut held);
        if waiting && round.full {
            l.shed();
        } else if waiting {
            l.accept(round.busy);
        }
    }
}

impl Loop<'_> {
    /// Hands a finished request (or why it could not be one) to the workers.
    fn dispatch(&self, c: Conn, outcome: Result<Request, FrameError>) {
        let job = c.job(outcome);
        self.shared.counts.request_handed(job.body_bytes(), job.shed());
        let lane = job.lane();
        // Open until the loop has ended: this cannot fail.
        let _ = self.shared.to_workers(lane, Work::Request(job));
    }

    /// Connections the workers kept alive; what came after their last request
    /// starts the next one.
    fn take_back_kept(&mut self, now: Instant) {
        while let Ok((stream, next)) = self.kept.try_recv() {
            let mut c = Conn {
                stream,
                framer: Framer::new(self.max_body),
                source: super::share::source_of(next.remote.as_deref()),
                remote: next.remote,
                accepted: now,
                deadline: now + KEEP_ALIVE_IDLE,
                served: next.served + 1,
            };
            match c.take(&next.leftover, self.timeout) {
                Some(outcome) => self.dispatch(c, outcome),
                None => self.conns.push(c),
            }
        }
    }

    /// Answers the writer thread could not finish, closing the lingering ones whose
    /// kernel queue drained, and those out of time.
    fn finish_writing(&mut self, now: Instant) {
        self.outbox.collect(self.shared, now);
        self.outbox.closed(self.shared);
        self.outbox.expire(now, self.shared);
    }

    fn time_out(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.conns.len() {
            if now >= self.conns[i].deadline {
                let c = self.conns.swap_remove(i);
                // A kept connection that never began another request just closes.
                if !c.idle() {
                    self.dispatch(c, Err(FrameError::Timeout));
                }
            } else {
                i += 1;
            }
        }
    }

    /// Connections open, being read or with the workers; now is the last busy time
    /// when there are some.
    fn busy(&mut self, now: Instant) -> usize {
        let busy = self.conns.len() + self.shared.counts.in_flight();
        if busy > 0 {
            self.last_busy = now;
        }
        busy
    }

    /// Nothing was open for the whole idle time: the loop ends.
    fn idle_over(&self, now: Instant, busy: usize) -> bool {
        let Some(idle) = self.idle else { return false };
        let over = busy == 0 && now.duration_since(self.last_busy) >= idle;
        if over {
            log::info!("no request for {} s; exiting until the next connection", idle.as_secs());
        }
        over
    }

    /// How long to poll, and whether to watch the listeners.
    fn round(&self, now: Instant, busy: usize) -> Round {
        let mut wait = Duration::from_millis(POLL_SLICE_MS);
        if let Some(idle) = self.idle {
            wait = wait.min(idle.saturating_sub(now.duration_since(self.last_busy)));
        }
        let deadlines = self.conns.iter().map(|c| c.deadline);
        if let Some(first) = deadlines.chain(self.outbox.first_deadline(now)).min() {
            wait = wait.min(first.saturating_duration_since(now));
        }
        let conns = &self.conns;
        let oldest = (0..conns.len()).min_by_key(|&i| conns[i].accepted);
        let full = busy >= MAX_CONNECTIONS;
        // Full: watch the listeners only when a connection could be closed or shed for
        // one waiting there, and look again soon, when the workers may have freed a slot.
        let mut watching = !full;
        if full {
            let calm = self.shared.counts.calm();
            let age = oldest.map(|i| now.duration_since(conns[i].accepted));
            watching = conns.iter().any(Conn::idle)
                || calm && age.is_some_and(|a| a >= SHED_AFTER)
                || self.outbox.sheddable(now);
            if let Some(age) = age.filter(|_| calm && !watching) {
                wait = wait.min(SHED_AFTER - age);
            }
            if busy > conns.len() {
                wait = wait.min(FULL_POLL);
            }
        }
        Round {
            busy,
            full,
            oldest,
            watching,
            wait,
        }
    }

    /// Bodies held now; over the budget only heads and the oldest connection are read,
    /// and over its share of it, no more of one source's bodies (`share`).
    fn held(&self) -> Held {
        let reading = self.conns.iter().map(|c| c.framer.body_len()).sum::<usize>();
        Held {
            bytes: self.shared.counts.body_bytes() + reading,
            shares: Shares::new(self.budget, self.conns.iter().map(|c| (c.source, c.framer.body_len()))),
        }
    }

    /// Fills the poll set: the waker, the listeners when watched, the connections
    /// being read, then the answers being written, from the index returned.
    fn poll_set(&mut self, round: &Round, held: &Held) -> usize {
        self.pfds.clear();
        self.pfds.push(sys::pollfd(self.shared.waker.as_raw_fd()));
        if round.watching {
            self.pfds
                .extend(self.listeners.iter().map(|l| sys::pollfd(l.as_raw_fd())));
        }
        self.pfds.extend(self.conns.iter().enumerate().map(|(i, c)| {
            let full = held.bytes >= self.budget || held.shares.room(c.source) == 0;
            let paused = full && c.framer.head().is_some() && Some(i) != round.oldest;
            // poll ignores a negative descriptor: a paused connection is left unread.
            sys::pollfd(if paused { -1 } else { c.stream.as_raw_fd() })
        }));
        let writing_at = self.pfds.len();
        self.pfds.extend(self.outbox.pollfds());
        writing_at
    }

    /// Reads the connections poll found ready (from `offset` in the poll set), within
    /// the budget and their source's share, and hands over the finished requests.
    fn read_ready(&mut self, round: &Round, offset: usize, held: &mut Held) {
        for idx in (0..self.conns.len()).rev() {
            if self.pfds[offset + idx].revents == 0 {
                continue;
            }
            let source = self.conns[idx].source;
            let allowance = if Some(idx) == round.oldest {
                usize::MAX
            } else {
                self.budget.saturating_sub(held.bytes).min(held.shares.room(source))
            };
            let before = self.conns[idx].framer.body_len();
            // Some(None): the peer closed without sending anything, which is not a request.
            match self.conns[idx].read_ready(allowance, self.timeout) {
                None => {
                    let more = self.conns[idx].framer.body_len() - before;
                    held.bytes += more;
                    held.shares.add(source, more);
                }
                Some(result) => {
                    let c = self.conns.swap_remove(idx);
                    held.bytes -= before;
                    held.shares.remove(source, before);
                    if let Some(outcome) = result {
                        held.bytes += outcome.as_ref().map_or(0, |r| r.body.len());
                        self.dispatch(c, outcome);
                    }
                }
            }
        }
    }

    /// Every slot is taken and connections wait in the backlog: makes room.
    fn shed(&mut self) {
        // Clients that have not taken their answer for `SHED_AFTER` go first: they
        // hold a slot and the kernel's memory, and wait for nothing.
        self.outbox.shed(Instant::now(), self.shared);
        for c in conn::shed(&mut self.conns, Instant::now()) {
            if !c.idle() {
                self.dispatch(c, Err(FrameError::Overloaded));
            }
        }
    }

    /// Accepts what the ready listeners hold, up to the free slots.
    fn accept(&mut self, busy: usize) {
        for (n, l) in self.listeners.iter().enumerate() {
            if self.pfds[1 + n].revents != 0 {
                conn::accept_ready(
                    l,
                    &mut self.conns,
                    self.timeout,
                    self.max_body,
                    MAX_CONNECTIONS.saturating_sub(busy),
                );
            }
        }
    }
}
