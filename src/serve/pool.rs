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
//! commit, when the socket takes it at once. When the writer is idle and only a few
//! requests are in flight, the worker commits its row itself and sends the answer so:
//! the hand-off to the writer would be all the answer waits for (`recorder::gate`).
//! An answer the socket does not take at
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
//!
//! The loop is `poll`, one method per step; `conn` is a connection being read and the
//! job it becomes, `reply` an answer on its way, `counts` what the threads count together.

mod conn;
mod counts;
mod poll;
mod reply;
mod share;
mod writing;

use super::exchange::{self, Worker};
use super::ids::RequestIds;
use super::net::Listener;
use super::queue::{Lane, Queue};
use super::recorder::{NotStored, Record, Recorder};
use crate::config::Config;
use crate::host::Backend;
use crate::store::Db;
use crate::sys;
use crate::tasks::host_for;
use conn::Job;
use counts::{Busy, Counts};
use reply::{Kept, Next, Reply, Work};
use std::io;
use std::path::Path;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use writing::{Handoff, Outbox};

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
/// A worker commits its own row only while at most this many requests are in flight
/// (its own included), and the writer is idle: beyond, rows gather for the writer's
/// group commits, and a worker's commit would only make the writer wait for it
/// (measured at 64 connections: 3.0 context switches a request through the writer
/// alone, 4.5 with workers committing whenever it was idle).
const DIRECT_MAX_IN_FLIGHT: usize = 4;
/// On stop, how long answers still waiting for their row may keep the pool open.
const STOP_WAIT: Duration = Duration::from_secs(15);

/// What the poll loop and the workers share.
struct Shared {
    /// In flight, body bytes, shedding, spare workers: changed only through its methods.
    counts: Counts,
    /// Wakes the loop when a kept connection is handed back.
    waker: sys::Waker,
    /// Where kept connections go back to the loop.
    kept: Sender<Kept>,
    /// The work for the workers: requests, and answers the writer thread could not
    /// finish; closed on stop once no request is in flight, which ends the workers.
    queue: Queue<Work>,
    /// Answers the writer thread hands to the poll loop to finish (`writing`).
    handoff: Handoff,
}

impl Shared {
    /// Sends work to the workers in `lane`, counted waiting until a worker takes it;
    /// gives it back (`Some`), counted no more, once the queue is closed.
    fn to_workers(&self, lane: Lane, work: Work) -> Option<Work> {
        self.counts.work_sent();
        let refused = self.queue.push(lane, work).err();
        if refused.is_some() {
            self.counts.work_returned();
        }
        refused
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
        counts: Counts::new(config.workers),
        waker: sys::Waker::new()?,
        kept: kept_tx,
        queue: Queue::new(),
        handoff: Handoff::new(),
    };
    let (recorder, write_loop) = Recorder::new(config.db_path(), config);
    let spare = Mutex::new(Some(opened));
    thread::scope(|scope| {
        thread::Builder::new()
            .name("event-writer".into())
            .spawn_scoped(scope, write_loop)
            .expect("spawning the event writer thread");
        // Workers start as requests need them, up to `config.workers`: one now, the
        // rest when work waits with no worker free (`Counts::short_of_workers`), so a
        // cold start answers its first request without starting them all first. The
        // closure owns the writer's recorder: once it is gone, only workers hold one.
        let (ids, shared_ref, spare) = (&ids, &shared, &spare);
        let start_worker = move || {
            let shared = shared_ref;
            let n = shared.counts.workers();
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
                                unfinished(worker, reply, &record, stored, shared, busy)
                            }
                        }
                    });
                });
            match started_thread {
                Ok(_) => {
                    // Counted free from now: the loop must not start another for work
                    // this one is about to take.
                    shared.counts.worker_started();
                    true
                }
                Err(e) => {
                    log::warn!("could not start worker thread {n}: {e}; going on with {n}");
                    shared.counts.worker_failed(n);
                    false
                }
            }
        };
        if !start_worker() {
            return Err(io::Error::other("could not start a worker thread"));
        }
        let mut outbox = Outbox::new();
        let result = poll::accept_loop(listeners, config, idle, kept_rx, &shared, &mut outbox, &start_worker);
        outbox.close(&shared);
        drop(start_worker);
        // Answers waiting for their rows may still come back to the workers.
        let until = Instant::now() + STOP_WAIT;
        while shared.counts.in_flight() > 0 && Instant::now() < until {
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
    shared.counts.body_dropped(body_bytes);
    let record = Arc::new(record);
    let direct = shared.counts.in_flight() <= DIRECT_MAX_IN_FLIGHT;
    match direct.then(|| recorder.write_now(&mut worker.db, &record)).flatten() {
        // The writer was idle: the row is committed, by this worker, and the answer
        // goes out from here, as the writer would send it.
        Some(Ok(())) => {
            drop(busy);
            reply.settled(Ok(()), record, shared);
            recorder.wrote_now(&mut worker.db);
        }
        Some(stored) => unfinished(worker, reply, &record, stored, shared, busy),
        None => {
            // The writer may send the answer at once: this worker is free before the
            // client can have it and send its next request.
            drop(busy);
            recorder.record(Arc::clone(&record), move |stored| reply.settled(stored, record, shared));
        }
    }
}

/// An answer whose row was not stored: the row is settled (logged, or written through
/// this worker's handle when the writer's was down), then the answer sent, blocking.
fn unfinished(
    worker: &mut Worker<'_>,
    reply: Reply,
    record: &Record,
    stored: Result<(), NotStored>,
    shared: &Shared,
    busy: Busy<'_>,
) {
    exchange::settle(worker, record, stored);
    let Reply {
        stream, answer, next, ..
    } = reply;
    let kept = answer.send(stream);
    // Free before the kept connection can bring its next request.
    drop(busy);
    next.done(kept, shared);
}

/// Takes work until the loop ends and every answer is sent. `each` gets the work and
/// the worker's `Busy`, to drop as soon as the worker is as good as free.
fn work<'a>(shared: &'a Shared, n: usize, mut each: impl FnMut(Work, Busy<'a>)) {
    while let Some(work) = shared.queue.take(|| shared.counts.takes_general(n)) {
        each(work, shared.counts.busy());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_worker_keeps_the_handle_opened_before_serving_and_later_ones_open_their_own() {
        let dir = crate::testing::scratch_dir("pool-spare");
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
