//! The Accept=no driver: one thread polls the listening sockets and every open
//! connection, framing requests as bytes arrive, so a client that trickles bytes
//! holds no thread and is cut off at its deadline. Complete requests (or framing
//! errors) go to a small pool of worker threads that finish them, through a queue
//! (`queue`) that always leaves one worker for webhook deliveries. The loop ends on
//! SIGTERM or after the idle time with nothing in flight.
//!
//! Memory is bounded by two limits: at most `MAX_CONNECTIONS` connections, each with
//! a head of at most `MAX_HEAD_BYTES` (plus one read), and the bodies of all of them
//! together (being read, or framed and waiting for a worker) within a budget of
//! `BODY_BUDGET_REQUESTS` full-size bodies. Over the budget, connections are not read
//! (TCP holds their senders back) until bodies are answered, except the oldest
//! connection, so that one always makes progress; the others still meet their deadline.
//! One source's connections being read hold at most a share of the budget (`share`),
//! so that one address cannot keep every other's bodies unread.
//!
//! When all `MAX_CONNECTIONS` are taken and more wait in the backlog, the connections
//! that have waited longest for their request (at least `SHED_AFTER`) are answered
//! 503 `overloaded` to make room, so that slow clients filling every slot cannot keep
//! a quick request waiting for a whole deadline.
//!
//! A worker does not wait for its request's row: it hands the row to the writer
//! thread (`Recorder`) with the answer, and the writer sends the answer after the
//! commit, when the socket takes it at once. An answer the socket does not take at
//! once (the client is not reading), or whose request must be drained, goes to the
//! poll loop, which writes it as the client reads, within one deadline (`writing`): a
//! client that does not read holds no worker. Only an answer whose row was not stored
//! comes back to a worker (`Work::Unfinished`), in its request's lane.
//!
//! A connection whose request allows it is kept alive: after the answer it goes back
//! to the loop (woken through an eventfd), which waits for the next request, with
//! the same limits, for at most `KEEP_ALIVE_IDLE`. A kept connection that has sent
//! nothing yet is closed without an answer whenever its slot is wanted, and after
//! `MAX_REQUESTS_PER_CONNECTION` requests the answer says close.

mod share;
mod writing;

use super::exchange::{self, Answer, Received, RequestIds, Worker};
use super::net::{Listener, Stream};
use super::queue::{Lane, Queue};
use super::recorder::{NotStored, Record, Recorder};
use crate::config::Config;
use crate::host::Backend;
use crate::http::Request;
use crate::http::framing::{FrameError, Framer, Progress};
use crate::store::Db;
use crate::sys;
use crate::tasks::host_for;
use share::{Shares, Source};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use writing::{Handoff, Outbox, SEND_BUFFER_BYTES};

/// Connections open at once (being read, queued or being answered); beyond this,
/// new connections wait in the kernel's backlog.
pub const MAX_CONNECTIONS: usize = 512;
/// Longest single wait in poll, so signals and the idle clock are checked.
const POLL_SLICE_MS: u64 = 1_000;
const READ_CHUNK_BYTES: usize = 16 * 1024;
/// Bodies held at once, in `PODUP_MAX_BODY_BYTES` units: 16 MiB with the default cap.
pub const BODY_BUDGET_REQUESTS: usize = 16;
/// A connection has this long to send its request before it may be shed to make room.
const SHED_AFTER: Duration = Duration::from_secs(1);
/// Connections shed at once; more only after these have been answered.
const SHED_BATCH: usize = 16;
/// While every slot is taken, how often to look whether the workers freed one: a
/// closed connection does not wake the poll.
const FULL_POLL: Duration = Duration::from_millis(10);
/// How long a kept-alive connection may wait for its next request.
pub const KEEP_ALIVE_IDLE: Duration = Duration::from_secs(5);
/// Requests answered on one connection; the last answer says `Connection: close`.
pub const MAX_REQUESTS_PER_CONNECTION: u32 = 1_000;
/// On stop, how long answers still waiting for their row may keep the pool open.
const STOP_WAIT: Duration = Duration::from_secs(15);

struct Conn {
    stream: Stream,
    framer: Framer,
    remote: Option<String>,
    /// Who its body bytes count against (`share`).
    source: Source,
    /// When this request began: the accept, or its first byte on a kept connection.
    accepted: Instant,
    deadline: Instant,
    /// Requests already answered on this connection.
    served: u32,
}

impl Conn {
    /// Kept alive and waiting for a next request that has not begun: closing it
    /// loses nothing.
    fn idle(&self) -> bool {
        self.served > 0 && self.framer.received() == 0
    }
}

struct Job {
    stream: Stream,
    received: Received,
    /// Bytes that came after the request: the start of the next one.
    leftover: Vec<u8>,
    served: u32,
}

impl Job {
    /// Body bytes the job holds, counted in `Shared::body_bytes` until it is finished.
    fn body_bytes(&self) -> usize {
        self.received.outcome.as_ref().map_or(0, |r| r.body.len())
    }

    /// Shed to make room: counted in `Shared::shedding` until it is answered.
    fn shed(&self) -> bool {
        matches!(self.received.outcome, Err(FrameError::Overloaded))
    }

    /// A webhook delivery may take the worker other requests leave free.
    fn lane(&self) -> Lane {
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

/// What the pool's threads are given.
enum Work {
    Request(Job),
    /// An answer whose row the writer thread could not store: with how that went.
    Unfinished(Reply, Arc<Record>, Result<(), NotStored>),
    /// An answer stored, to write blocking: only once the poll loop has ended.
    Send(Reply),
}

/// An answer on its way: sent once its row is committed.
struct Reply {
    stream: Stream,
    answer: Answer,
    next: Next,
    /// Its request's lane: a worker that finishes it takes it from there.
    lane: Lane,
}

/// What becomes of a connection once its answer is sent.
struct Next {
    remote: Option<String>,
    leftover: Vec<u8>,
    served: u32,
    shed: bool,
}

impl Reply {
    /// On the writer thread, once the row's fate is known: sends the answer when the
    /// row is stored and the socket takes every byte now; else the poll loop finishes
    /// it as the client reads (`writing`), holding no worker; a worker only when the
    /// row was not stored, which needs its database handle.
    fn settled(mut self, stored: Result<(), NotStored>, record: Arc<Record>, shared: &Shared) {
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
        shared.spare.fetch_sub(1, Ordering::SeqCst);
        // In its request's lane: the worker kept for webhooks never writes to a client
        // that is not one (red-team F1 of issue 17).
        let sent = shared.queue.push(lane, work);
        // The loop starts another worker when none is free to take it.
        shared.waker.wake();
        // Only after `STOP_WAIT` on a stop: the connection is dropped unanswered.
        if let Err(Work::Unfinished(reply, ..)) = sent {
            shared.spare.fetch_add(1, Ordering::SeqCst);
            reply.next.done(None, shared);
        }
    }
}

impl Next {
    /// The answer is sent (or the connection lost): a kept connection goes back to the
    /// loop, before the counts drop, so the loop never sees it nowhere.
    fn done(self, kept: Option<Stream>, shared: &Shared) {
        let shed = self.shed;
        if let Some(stream) = kept {
            if self.served == 0 {
                stream.set_nodelay();
            }
            if shared.kept.send((stream, self)).is_ok() {
                shared.waker.wake();
            }
        }
        if shed {
            shared.shedding.fetch_sub(1, Ordering::SeqCst);
        }
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A connection handed back to the loop after its answer, with what comes next on it.
type Kept = (Stream, Next);

/// What a request read so far came to: `None` while more is needed.
type Outcome = Option<Result<Request, FrameError>>;

/// What the poll loop and the workers share.
struct Shared {
    /// Requests handed to the workers and not finished yet.
    in_flight: AtomicUsize,
    /// Body bytes of those requests.
    body_bytes: AtomicUsize,
    /// Shed connections not answered yet.
    shedding: AtomicUsize,
    /// Wakes the loop when a kept connection is handed back.
    waker: sys::Waker,
    /// Where kept connections go back to the loop.
    kept: Sender<Kept>,
    /// The work for the workers: requests, and answers the writer thread could not
    /// finish; closed on stop once no request is in flight, which ends the workers.
    queue: Queue<Work>,
    /// Workers free for more work, less the work sent and not yet taken: negative
    /// when work waits with no worker free. One count, changed in one step at each
    /// event (work sent, a worker started, a worker done with its work), so the loop
    /// never sees work a worker has taken as waiting, nor a worker just started as
    /// missing. Taking work from the channel changes nothing: that worker was counted
    /// free and the work as waiting, and the two cancel out.
    spare: AtomicIsize,
    /// Answers the writer thread hands to the poll loop to finish (`writing`).
    handoff: Handoff,
    /// Workers started, and how many may be: `PODUP_WORKERS`, or fewer once
    /// starting one failed.
    workers: AtomicUsize,
    max_workers: AtomicUsize,
}

impl Shared {
    /// Work waits with no worker free to take it, and another worker may start.
    fn short_of_workers(&self) -> bool {
        self.spare.load(Ordering::SeqCst) < 0
            && self.workers.load(Ordering::SeqCst) < self.max_workers.load(Ordering::SeqCst)
    }

    /// Whether worker `n` takes requests other than webhook deliveries: every worker
    /// but the last the pool may start, which is kept for them (`queue`). A pool of one
    /// keeps none.
    fn takes_general(&self, n: usize) -> bool {
        n == 0 || n + 1 < self.max_workers.load(Ordering::SeqCst)
    }
}

/// A worker busy with one piece of work: counted free again when this is dropped,
/// which `answer` does before its answer can reach the client, so that a client's
/// next request never finds the worker that answered the last one still counted busy.
struct Busy<'a>(&'a Shared);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.spare.fetch_add(1, Ordering::SeqCst);
    }
}

/// Serves `listeners` until a stop signal, or until `idle` passes with no request.
/// `opened` is the handle the caller opened (and migrated) before serving: the first
/// worker to get a request uses it rather than opening another.
pub fn serve(
    listeners: &[Listener],
    config: &Config,
    backend: &Backend,
    exe: &Path,
    started: Instant,
    idle: Option<Duration>,
    opened: Db,
) -> io::Result<()> {
    for l in listeners {
        l.set_nonblocking()?;
    }
    let ids = RequestIds::new();
    let (kept_tx, kept_rx) = channel::<Kept>();
    let shared = Shared {
        in_flight: AtomicUsize::new(0),
        body_bytes: AtomicUsize::new(0),
        shedding: AtomicUsize::new(0),
        waker: sys::Waker::new()?,
        kept: kept_tx,
        queue: Queue::new(),
        spare: AtomicIsize::new(0),
        handoff: Handoff::new(),
        workers: AtomicUsize::new(0),
        max_workers: AtomicUsize::new(config.workers),
    };
    let (recorder, write_loop) = Recorder::new(config.db_path(), config);
    let spare = Mutex::new(Some(opened));
    thread::scope(|scope| {
        thread::Builder::new()
            .name("event-writer".into())
            .spawn_scoped(scope, write_loop)
            .expect("spawning the event writer thread");
        // Workers start as requests need them, up to `config.workers`: one now, the
        // rest when work waits with no worker free (`Shared::short_of_workers`), so a
        // cold start answers its first request without starting them all first. The
        // closure owns the writer's recorder: once it is gone, only workers hold one.
        let (ids, shared_ref, spare) = (&ids, &shared, &spare);
        let start_worker = move || {
            let shared = shared_ref;
            let n = shared.workers.load(Ordering::SeqCst);
            let recorder = recorder.clone();
            let started_thread = thread::Builder::new()
                .name(format!("worker-{n}"))
                .spawn_scoped(scope, move || {
                    // Each worker gets its handle when its first request arrives, not
                    // at start: on a cold start the workers would otherwise all open
                    // the database at once, on the way to the first answer.
                    let mut worker = None;
                    work(shared, n, |work, busy| {
                        let worker = worker.get_or_insert_with(|| Worker {
                            config,
                            started,
                            ids,
                            db: take_or_open(spare, &config.db_path()),
                            host: host_for(config).on(backend),
                            exe,
                        });
                        match work {
                            Work::Request(job) => answer(worker, job, &recorder, shared, busy),
                            Work::Send(Reply {
                                stream, answer, next, ..
                            }) => {
                                let kept = answer.send(stream);
                                drop(busy);
                                next.done(kept, shared);
                            }
                            Work::Unfinished(reply, record, stored) => {
                                exchange::settle(worker, &record, stored);
                                let Reply {
                                    stream, answer, next, ..
                                } = reply;
                                let kept = answer.send(stream);
                                // Free before the kept connection can bring its next request.
                                drop(busy);
                                next.done(kept, shared);
                            }
                        }
                    });
                });
            match started_thread {
                Ok(_) => {
                    // Counted free from now: the loop must not start another for work
                    // this one is about to take.
                    shared.spare.fetch_add(1, Ordering::SeqCst);
                    shared.workers.fetch_add(1, Ordering::SeqCst);
                    true
                }
                Err(e) => {
                    log::warn!("could not start worker thread {n}: {e}; going on with {n}");
                    shared.max_workers.store(n, Ordering::SeqCst);
                    false
                }
            }
        };
        if !start_worker() {
            return Err(io::Error::other("could not start a worker thread"));
        }
        let mut outbox = Outbox::new();
        let result = accept_loop(listeners, config, idle, kept_rx, &shared, &mut outbox, &start_worker);
        outbox.close(&shared);
        drop(start_worker);
        // Answers waiting for their rows may still come back to the workers.
        let until = Instant::now() + STOP_WAIT;
        while shared.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < until {
            thread::sleep(Duration::from_millis(1));
        }
        shared.queue.close();
        result
    })
}

/// The handle opened before serving, the first time; a new one after that, which
/// never creates the file: missing, it was deleted while serving, and the handles
/// open on it restore it.
fn take_or_open(spare: &Mutex<Option<Db>>, path: &Path) -> Db {
    let opened = spare.lock().unwrap_or_else(|p| p.into_inner()).take();
    opened.unwrap_or_else(|| Db::open_existing(path))
}

/// Runs one request's handler and hands its row, with the answer, to the writer.
fn answer<'a>(worker: &mut Worker<'_>, job: Job, recorder: &Recorder<'a>, shared: &'a Shared, busy: Busy<'_>) {
    let (shed, body_bytes) = (job.shed(), job.body_bytes());
    let may_keep = job.served + 1 < MAX_REQUESTS_PER_CONNECTION;
    let lane = job.lane();
    let (record, answer) = exchange::prepare(worker, &job.received, may_keep);
    let reply = Reply {
        stream: job.stream,
        answer,
        next: Next {
            remote: job.received.remote,
            leftover: job.leftover,
            served: job.served,
            shed,
        },
        lane,
    };
    drop(job.received.outcome);
    shared.body_bytes.fetch_sub(body_bytes, Ordering::SeqCst);
    let record = Arc::new(record);
    // The writer may send the answer at once: this worker is free before the client
    // can have it and send its next request.
    drop(busy);
    recorder.record(Arc::clone(&record), move |stored| reply.settled(stored, record, shared));
}

/// Takes work until the loop ends and every answer is sent. `each` gets the work and
/// the worker's `Busy`, to drop as soon as the worker is as good as free.
fn work<'a>(shared: &'a Shared, n: usize, mut each: impl FnMut(Work, Busy<'a>)) {
    while let Some(work) = shared.queue.take(|| shared.takes_general(n)) {
        each(work, Busy(shared));
    }
}

fn accept_loop(
    listeners: &[Listener],
    config: &Config,
    idle: Option<Duration>,
    kept: Receiver<Kept>,
    shared: &Shared,
    outbox: &mut Outbox,
    start_worker: &dyn Fn() -> bool,
) -> io::Result<()> {
    let timeout = Duration::from_millis(config.request_timeout_ms);
    let budget = usize::try_from(config.max_body_bytes)
        .unwrap_or(usize::MAX)
        .saturating_mul(BODY_BUDGET_REQUESTS);
    let mut conns: Vec<Conn> = Vec::new();
    let mut last_busy = Instant::now();
    let mut pfds = Vec::new();
    let dispatch = |c: Conn, outcome: Result<Request, FrameError>| {
        let job = job(c, outcome);
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        shared.body_bytes.fetch_add(job.body_bytes(), Ordering::SeqCst);
        if job.shed() {
            shared.shedding.fetch_add(1, Ordering::SeqCst);
        }
        shared.spare.fetch_sub(1, Ordering::SeqCst);
        let lane = job.lane();
        // Open until the loop has ended: this cannot fail.
        let _ = shared.queue.push(lane, Work::Request(job));
    };
    loop {
        // For what the last round dispatched (or the writer sent back) and found no
        // worker free to take.
        while shared.short_of_workers() && start_worker() {}
        if sys::stop_requested() {
            log::info!("stop requested; finishing the requests in hand");
            return Ok(());
        }
        let now = Instant::now();
        // Connections the workers kept alive; what came after their last request
        // starts the next one.
        while let Ok((stream, next)) = kept.try_recv() {
            let mut c = Conn {
                stream,
                framer: Framer::new(config.max_body_bytes),
                source: share::source_of(next.remote.as_deref()),
                remote: next.remote,
                accepted: now,
                deadline: now + KEEP_ALIVE_IDLE,
                served: next.served + 1,
            };
            match take(&mut c, &next.leftover, timeout) {
                Some(outcome) => dispatch(c, outcome),
                None => conns.push(c),
            }
        }
        // Answers the writer thread could not finish, and those out of time.
        outbox.collect(shared, now);
        outbox.closed(shared);
        outbox.expire(now, shared);
        let mut i = 0;
        while i < conns.len() {
            if now >= conns[i].deadline {
                let c = conns.swap_remove(i);
                // A kept connection that never began another request just closes.
                if !c.idle() {
                    dispatch(c, Err(FrameError::Timeout));
                }
            } else {
                i += 1;
            }
        }
        let busy = conns.len() + shared.in_flight.load(Ordering::SeqCst);
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
        if let Some(first) = conns.iter().map(|c| c.deadline).chain(outbox.first_deadline(now)).min() {
            wait = wait.min(first.saturating_duration_since(now));
        }
        let oldest = (0..conns.len()).min_by_key(|&i| conns[i].accepted);
        let full = busy >= MAX_CONNECTIONS;
        // Full: watch the listeners only when a connection could be closed or shed for
        // one waiting there, and look again soon, when the workers may have freed a slot.
        let mut watching = !full;
        if full {
            let calm = shared.shedding.load(Ordering::SeqCst) == 0;
            let age = oldest.map(|i| now.duration_since(conns[i].accepted));
            watching =
                conns.iter().any(Conn::idle) || calm && age.is_some_and(|a| a >= SHED_AFTER) || outbox.sheddable(now);
            if let Some(age) = age.filter(|_| calm && !watching) {
                wait = wait.min(SHED_AFTER - age);
            }
            if busy > conns.len() {
                wait = wait.min(FULL_POLL);
            }
        }
        // Bodies held now; over the budget only heads and the oldest connection are read,
        // and over its share of it, no more of one source's bodies (`share`).
        let mut held =
            shared.body_bytes.load(Ordering::SeqCst) + conns.iter().map(|c| c.framer.body_len()).sum::<usize>();
        let mut shares = Shares::new(budget, conns.iter().map(|c| (c.source, c.framer.body_len())));
        pfds.clear();
        pfds.push(sys::pollfd(shared.waker.as_raw_fd()));
        if watching {
            pfds.extend(listeners.iter().map(|l| sys::pollfd(l.as_raw_fd())));
        }
        pfds.extend(conns.iter().enumerate().map(|(i, c)| {
            let full = held >= budget || shares.room(c.source) == 0;
            let paused = full && c.framer.head().is_some() && Some(i) != oldest;
            // poll ignores a negative descriptor: a paused connection is left unread.
            sys::pollfd(if paused { -1 } else { c.stream.as_raw_fd() })
        }));
        let writing_at = pfds.len();
        pfds.extend(outbox.pollfds());
        // Round up so a deadline a fraction of a millisecond away is not spun on.
        sys::poll(&mut pfds, wait.as_millis().min(i32::MAX as u128) as i32 + 1)?;
        if pfds[0].revents != 0 {
            shared.waker.reset();
        }
        let offset = if watching { 1 + listeners.len() } else { 1 };
        let waiting = pfds[1..offset].iter().any(|p| p.revents != 0);
        outbox.write_ready(&pfds[writing_at..], shared);
        for idx in (0..conns.len()).rev() {
            if pfds[offset + idx].revents == 0 {
                continue;
            }
            let source = conns[idx].source;
            let allowance = if Some(idx) == oldest {
                usize::MAX
            } else {
                budget.saturating_sub(held).min(shares.room(source))
            };
            let before = conns[idx].framer.body_len();
            // Some(None): the peer closed without sending anything, which is not a request.
            match read_ready(&mut conns[idx], allowance, timeout) {
                None => {
                    let more = conns[idx].framer.body_len() - before;
                    held += more;
                    shares.add(source, more);
                }
                Some(result) => {
                    let c = conns.swap_remove(idx);
                    held -= before;
                    shares.remove(source, before);
                    if let Some(outcome) = result {
                        held += outcome.as_ref().map_or(0, |r| r.body.len());
                        dispatch(c, outcome);
                    }
                }
            }
        }
        if waiting && full {
            // Clients that have not taken their answer for `SHED_AFTER` go first: they
            // hold a slot and the kernel's memory, and wait for nothing.
            outbox.shed(Instant::now(), shared);
            for c in shed(&mut conns, Instant::now()) {
                if !c.idle() {
                    dispatch(c, Err(FrameError::Overloaded));
                }
            }
        } else if waiting {
            for (n, l) in listeners.iter().enumerate() {
                if pfds[1 + n].revents != 0 {
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

/// Takes out the connections to shed: idle kept connections first, then the oldest of
/// those open at least `SHED_AFTER`, `SHED_BATCH` in all.
fn shed(conns: &mut Vec<Conn>, now: Instant) -> Vec<Conn> {
    let mut old: Vec<usize> = (0..conns.len())
        .filter(|&i| conns[i].idle() || now.duration_since(conns[i].accepted) >= SHED_AFTER)
        .collect();
    old.sort_by_key(|&i| (!conns[i].idle(), conns[i].accepted));
    old.truncate(SHED_BATCH);
    // From the back, so that swap_remove moves only connections that stay.
    old.sort_unstable_by(|a, b| b.cmp(a));
    old.into_iter().map(|i| conns.swap_remove(i)).collect()
}

fn job(mut c: Conn, outcome: Result<Request, FrameError>) -> Job {
    // The head is still in the framer only when the request failed after it.
    let head = c
        .framer
        .head()
        .map(|r| (r.method.clone(), r.path.clone(), r.query.clone()));
    Job {
        stream: c.stream,
        received: Received {
            outcome,
            head,
            remote: c.remote,
            accepted: c.accepted,
        },
        leftover: c.framer.take_leftover(),
        served: c.served,
    }
}

fn accept_ready(l: &Listener, conns: &mut Vec<Conn>, timeout: Duration, max_body: u64, room: usize) {
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

/// Feeds `data` to the connection's framer: `Some` once the request is complete or
/// cannot be. The first byte of a request on a kept connection starts its deadline.
fn take(c: &mut Conn, data: &[u8], timeout: Duration) -> Outcome {
    if data.is_empty() {
        return None;
    }
    if c.idle() {
        c.accepted = Instant::now();
        c.deadline = c.accepted + timeout;
    }
    match c.framer.feed(data) {
        Ok(Progress::Done(req)) => Some(Ok(*req)),
        Ok(Progress::NeedMore) => {
            if c.framer.take_continue() {
                let _ = c.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
            }
            None
        }
        Err(e) => Some(Err(e)),
    }
}

/// Reads what is there, but once the head is parsed no more than about `allowance`
/// body bytes (one read more at most). `None`: keep waiting. `Some(None)`: the peer
/// closed without sending a byte. `Some(Some(outcome))`: hand over.
fn read_ready(c: &mut Conn, allowance: usize, timeout: Duration) -> Option<Outcome> {
    let mut buf = [0u8; READ_CHUNK_BYTES];
    let start = c.framer.body_len();
    loop {
        if c.framer.head().is_some() && c.framer.body_len() - start >= allowance {
            return None;
        }
        match c.stream.read(&mut buf) {
            Ok(0) => {
                return Some(if c.framer.received() == 0 {
                    None
                } else {
                    Some(Err(FrameError::Incomplete))
                });
            }
            Ok(n) => {
                if let Some(outcome) = take(c, &buf[..n], timeout) {
                    return Some(Some(outcome));
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_worker_keeps_the_handle_opened_before_serving_and_later_ones_open_their_own() {
        let dir = std::env::temp_dir().join(format!("podup-pool-spare-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("podup.db");
        let mut opened = Db::open(&path);
        // A temporary table lives in one connection only: it tells the handles apart.
        opened
            .get()
            .unwrap()
            .execute_batch("CREATE TEMP TABLE marker (x)")
            .unwrap();
        let spare = Mutex::new(Some(opened));
        let has_marker = |db: &mut Db| {
            db.get()
                .unwrap()
                .query_row(
                    "SELECT count(*) FROM temp.sqlite_master WHERE name = 'marker'",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap()
                == 1
        };
        let mut first = take_or_open(&spare, &path);
        assert!(
            has_marker(&mut first),
            "the first worker must get the handle opened before serving"
        );
        let mut second = take_or_open(&spare, &path);
        assert!(!has_marker(&mut second), "later workers open their own handle");
        assert!(second.get().is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
