//! The counts the poll loop, the writer thread and the workers share. Each is changed
//! only here, by the method named after the event it counts, so that they stay
//! consistent with one another: a request counted in flight is counted out once, a
//! shed one stops counting as shedding with it, and the signed `spare` count moves in
//! one step at each event.

use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

pub struct Counts {
    /// Requests handed to the workers and not finished yet.
    in_flight: AtomicUsize,
    /// Body bytes of those requests.
    body_bytes: AtomicUsize,
    /// Shed connections not answered yet.
    shedding: AtomicUsize,
    /// Workers free for more work, less the work sent and not yet taken: negative
    /// when work waits with no worker free. One count, changed in one step at each
    /// event (work sent, a worker started, a worker done with its work), so the loop
    /// never sees work a worker has taken as waiting, nor a worker just started as
    /// missing. Taking work from the channel changes nothing: that worker was counted
    /// free and the work as waiting, and the two cancel out.
    spare: AtomicIsize,
    /// Workers started, and how many may be: `PODUP_WORKERS`, or fewer once
    /// starting one failed.
    workers: AtomicUsize,
    max_workers: AtomicUsize,
}

impl Counts {
    pub fn new(max_workers: usize) -> Counts {
        Counts {
            in_flight: AtomicUsize::new(0),
            body_bytes: AtomicUsize::new(0),
            shedding: AtomicUsize::new(0),
            spare: AtomicIsize::new(0),
            workers: AtomicUsize::new(0),
            max_workers: AtomicUsize::new(max_workers),
        }
    }

    /// A request handed to the workers: in flight until `request_done`, its body held
    /// until `body_dropped`, and when it was shed, shedding until it is answered.
    pub fn request_handed(&self, body_bytes: usize, shed: bool) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.body_bytes.fetch_add(body_bytes, Ordering::SeqCst);
        if shed {
            self.shedding.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The handler has run and the request's body is dropped.
    pub fn body_dropped(&self, body_bytes: usize) {
        self.body_bytes.fetch_sub(body_bytes, Ordering::SeqCst);
    }

    /// The answer is sent (or the connection lost).
    pub fn request_done(&self, shed: bool) {
        if shed {
            self.shedding.fetch_sub(1, Ordering::SeqCst);
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    pub fn body_bytes(&self) -> usize {
        self.body_bytes.load(Ordering::SeqCst)
    }

    /// No shed connection is still waiting for its answer.
    pub fn calm(&self) -> bool {
        self.shedding.load(Ordering::SeqCst) == 0
    }

    /// Work sent to the workers: waiting until a worker takes it.
    pub fn work_sent(&self) {
        self.spare.fetch_sub(1, Ordering::SeqCst);
    }

    /// Work the closed queue gave back: nothing waits for it.
    pub fn work_returned(&self) {
        self.spare.fetch_add(1, Ordering::SeqCst);
    }

    /// A worker is busy with one piece of work until the `Busy` is dropped.
    pub fn busy(&self) -> Busy<'_> {
        Busy(self)
    }

    /// Workers started so far: the number of the next one.
    pub fn workers(&self) -> usize {
        self.workers.load(Ordering::SeqCst)
    }

    /// A worker started, counted free from now: the loop must not start another for
    /// work this one is about to take.
    pub fn worker_started(&self) {
        self.spare.fetch_add(1, Ordering::SeqCst);
        self.workers.fetch_add(1, Ordering::SeqCst);
    }

    /// Starting worker `n` failed: the pool goes on with `n`.
    pub fn worker_failed(&self, n: usize) {
        self.max_workers.store(n, Ordering::SeqCst);
    }

    /// Work waits with no worker free to take it, and another worker may start.
    pub fn short_of_workers(&self) -> bool {
        self.spare.load(Ordering::SeqCst) < 0
            && self.workers.load(Ordering::SeqCst) < self.max_workers.load(Ordering::SeqCst)
    }

    /// Whether worker `n` takes requests other than webhook deliveries: every worker
    /// but the last the pool may start, which is kept for them (`queue`). A pool of one
    /// keeps none.
    pub fn takes_general(&self, n: usize) -> bool {
        n == 0 || n + 1 < self.max_workers.load(Ordering::SeqCst)
    }
}

/// A worker busy with one piece of work: counted free again when this is dropped,
/// which `answer` does before its answer can reach the client, so that a client's
/// next request never finds the worker that answered the last one still counted busy.
pub struct Busy<'a>(&'a Counts);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.spare.fetch_add(1, Ordering::SeqCst);
    }
}
