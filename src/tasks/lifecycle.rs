//! One task's life, for every trigger (API update and update-all, webhook, CLI
//! trigger, auto-update, maintenance, retry): `create` records it under its checks,
//! `start` launches its worker, the worker (or a stop) calls `finish`, and a task
//! whose worker vanished is `mark_lost`.

use super::dispatch::Dispatcher;
use super::transient_unit;
use crate::clock::now_ms;
use crate::model::{TaskKind, TaskSpec, TaskStatus, UnitStatus};
use crate::notify;
use crate::ratelimit::{self, Limited, Rule};
use crate::store::tasks::{self, Hold, NewTask};
use crate::store::{immediate, replay};
use rusqlite::Connection;

/// Who asked for a task and why.
pub struct Origin<'a> {
    pub source: &'a str,
    pub caller: &'a str,
    pub reason: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

/// A webhook delivery a task comes from.
pub struct Delivery<'a> {
    /// GitHub's `X-GitHub-Delivery`, stored on the task.
    pub id: Option<&'a str>,
    /// SHA-256 of the body: a redelivery under another id is known by it.
    pub body_sha: &'a str,
}

/// What a trigger asks for.
pub struct Trigger<'a> {
    pub kind: TaskKind,
    pub origin: Origin<'a>,
    /// A rate limit (key and rules) checked, and counted, in the same transaction.
    pub limit: Option<(&'a str, &'a [Rule])>,
    /// The task this one repeats.
    pub retry_of: Option<i64>,
    /// For a webhook: a redelivery answers with its task; a unit already on its way to
    /// the digest joins that open task; a digest a verified deploy has since replaced
    /// is not deployed again.
    pub delivery: Option<Delivery<'a>>,
    /// The task waits for an approval or a time (the service's policy said so) instead
    /// of starting at once.
    pub hold: Option<Hold>,
}

/// What `create` did.
#[derive(Debug, PartialEq)]
pub enum Created {
    /// A new task, not started yet.
    New(i64),
    /// The delivery already made this task (which has not failed).
    Duplicate(i64),
    /// Every unit joined this open task for the same digest.
    Joined(i64),
    /// No task: every one of these units has since run a newer, verified digest.
    Stale(Vec<String>),
    /// No task: the limit refused it.
    Limited(Limited),
}

/// Records the task `trigger` asks for, in one transaction with its checks. A
/// webhook's units that join an open task are left out of the new task's spec.
pub fn create(conn: &mut Connection, trigger: &Trigger<'_>, spec: &TaskSpec) -> rusqlite::Result<Created> {
    let now = now_ms();
    let tx = immediate(conn)?;
    let mut spec = std::borrow::Cow::Borrowed(spec);
    if let Some(delivery) = &trigger.delivery {
        // The webhook handler answered redeliveries it knew of; this catches one that
        // made its task meanwhile.
        if let Some(id) = duplicate_of(&tx, delivery.id, delivery.body_sha, now)? {
            return Ok(Created::Duplicate(id));
        }
        let (mut units, mut joined, mut stale) = (Vec::new(), None, Vec::new());
        for u in &spec.units {
            let Some(digest) = &u.digest else {
                units.push(u.clone());
                continue;
            };
            // A digest a verified deploy replaced on this unit: a downgrade, which a
            // webhook never asks for (an operator can, by the API, docs/security.md).
            if replay::is_stale_digest(&tx, &u.unit, digest)? {
                stale.push(u.unit.clone());
                continue;
            }
            match tasks::open_for(&tx, &u.unit, digest)? {
                Some(id) => joined = Some(id),
                None => units.push(u.clone()),
            }
        }
        if units.is_empty() {
            let Some(id) = joined else {
                return Ok(Created::Stale(stale));
            };
            replay::remember(&tx, delivery.body_sha, id, now)?;
            tx.commit()?;
            return Ok(Created::Joined(id));
        }
        spec.to_mut().units = units;
    }
    if let Some((key, rules)) = trigger.limit {
        if let Err(limited) = ratelimit::check(&tx, key, rules, now, true)? {
            return Ok(Created::Limited(limited));
        }
    }
    let id = insert(&tx, trigger, &spec, now)?;
    if spec.mode == crate::model::Mode::Deploy {
        // A newer image (or a deploy by hand) makes a waiting one moot.
        for u in &spec.units {
            tasks::supersede_waiting(&tx, &u.unit, u.digest.as_deref(), id, now)?;
        }
    }
    if let Some(delivery) = &trigger.delivery {
        replay::remember(&tx, delivery.body_sha, id, now)?;
    }
    tx.commit()?;
    Ok(Created::New(id))
}

/// Records a task no check can refuse (no limit, no delivery): its id.
pub fn record(conn: &Connection, kind: TaskKind, origin: Origin<'_>, spec: &TaskSpec) -> rusqlite::Result<i64> {
    let trigger = Trigger {
        kind,
        origin,
        limit: None,
        retry_of: None,
        delivery: None,
        hold: None,
    };
    insert(conn, &trigger, spec, now_ms())
}

/// The one place a task row is written.
fn insert(conn: &Connection, trigger: &Trigger<'_>, spec: &TaskSpec, now: i64) -> rusqlite::Result<i64> {
    let origin = &trigger.origin;
    let new = NewTask {
        kind: trigger.kind,
        source: origin.source,
        caller: Some(origin.caller),
        trigger_reason: origin.reason,
        request_id: origin.request_id,
        delivery_id: trigger.delivery.as_ref().and_then(|d| d.id),
        retry_of: trigger.retry_of,
        spec,
        hold: trigger.hold,
    };
    tasks::insert(conn, &new, now)
}

/// The task an earlier delivery with this id, or with this very body within the
/// redelivery window, created or joined, unless that task ended in a way that a
/// redelivery should run again (failed, rolled back, unknown, cancelled).
pub fn duplicate_of(
    conn: &Connection,
    delivery: Option<&str>,
    body_sha: &str,
    now: i64,
) -> rusqlite::Result<Option<i64>> {
    let by_id = match delivery {
        Some(d) => tasks::by_delivery(conn, d)?,
        None => None,
    };
    let task = match by_id {
        Some(t) => Some(t),
        None => match replay::task_for_body(conn, body_sha, now)? {
            Some(id) => tasks::get(conn, id)?,
            None => None,
        },
    };
    Ok(task
        .filter(|t| {
            !matches!(
                t.status(),
                TaskStatus::Failed | TaskStatus::RolledBack | TaskStatus::Unknown | TaskStatus::Cancelled
            )
        })
        .map(|t| t.id))
}

/// Launches the worker of a created task, described as `podup task <id>: <what>`.
/// On failure the task is marked failed (`dispatch_failed`) and the error returned.
pub fn start(conn: &Connection, d: &Dispatcher<'_>, id: i64, what: &str) -> Result<(), String> {
    let result = d.dispatch(conn, id, &format!("podup task {id}: {what}"));
    if let Err(message) = &result {
        finish(conn, id, TaskStatus::Failed, "dispatch_failed", message);
    }
    result
}

/// `start` for a task created with `hold`: a scheduled task gets its transient timer,
/// one awaiting approval waits (its notification was written with it); on a failure to
/// arm the timer the task is marked failed (`dispatch_failed`).
pub fn begin(
    conn: &Connection,
    d: &Dispatcher<'_>,
    id: i64,
    what: &str,
    hold: Option<Hold>,
    why: &str,
) -> Result<(), String> {
    if hold.is_some() {
        if let Err(e) = tasks::set_message(conn, id, why) {
            log::error!(podup_task_id = id; "could not record why task {id} waits: {e}");
        }
    }
    let at = match hold {
        None => return start(conn, d, id, what),
        Some(Hold::Approval { .. }) => {
            announce_approval(conn, id);
            return Ok(());
        }
        Some(Hold::Schedule { not_before_ms }) => not_before_ms,
    };
    let result = d.dispatch_at(conn, id, &format!("podup task {id}: {what}"), Some(at));
    if let Err(message) = &result {
        finish(conn, id, TaskStatus::Failed, "dispatch_failed", message);
    }
    result
}

/// Writes the `approval_needed` message of a task awaiting approval (with the link to
/// it in the panel) and delivers it, or has it delivered (docs/notifications.md).
fn announce_approval(conn: &Connection, id: i64) {
    let Some(n) = notify::installed() else { return };
    let result = notify::compose::enqueue_task(conn, n, id, now_ms()).and_then(|written| {
        if written > 0 {
            notify::deliver::flush(conn, n, Some(id)).map(drop)
        } else {
            Ok(())
        }
    });
    if let Err(e) = result {
        log::error!(podup_task_id = id; "could not write the approval_needed message of task {id}: {e}");
    }
}

/// How a unit's deploy ended.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitOutcome {
    pub status: TaskStatus,
    pub reason: &'static str,
    pub message: String,
}

impl UnitOutcome {
    pub fn new(status: TaskStatus, reason: &'static str, message: impl Into<String>) -> UnitOutcome {
        UnitOutcome {
            status,
            reason,
            message: message.into(),
        }
    }
}

/// Ends the task (if it has not ended) with `status`, closing its open unit rows, and
/// writes its notifications in the same transaction (docs/notifications.md). After
/// the commit, a process that may use the network delivers them; `podup serve`
/// schedules a flush instead.
pub fn finish(conn: &Connection, id: i64, status: TaskStatus, reason: &str, message: &str) {
    let now = now_ms();
    let unit_status = if status == TaskStatus::Succeeded {
        UnitStatus::Skipped
    } else {
        status.into()
    };
    let notifier = notify::installed();
    let result = in_transaction(conn, |c| {
        let ended = tasks::transition(c, id, status, reason, message, now)?;
        tasks::end_open_units(c, id, unit_status, message, now)?;
        match notifier {
            Some(n) if ended => notify::compose::enqueue_task(c, n, id, now),
            _ => Ok(0),
        }
    });
    let written = match result {
        Ok(n) => n,
        Err(e) => {
            log::error!(podup_task_id = id; "could not record the end of task {id}: {e}");
            0
        }
    };
    let level = if status.is_failure() {
        log::Level::Error
    } else {
        log::Level::Info
    };
    log::log!(level, podup_task_id = id, status = status.as_str(), reason = reason; "task {id} {}: {message}", status.as_str());
    if let (Some(n), true) = (notifier, written > 0 && conn.is_autocommit()) {
        super::pause::at_end(id, super::pause::Point::Notifying);
        if let Err(e) = notify::deliver::flush(conn, n, Some(id)) {
            log::error!(podup_task_id = id; "could not deliver the notifications of task {id}: {e}");
        }
    }
}

/// Runs `f` in an IMMEDIATE transaction, or in the caller's when one is open.
fn in_transaction<T>(conn: &Connection, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    if !conn.is_autocommit() {
        return f(conn);
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match f(conn) {
        Ok(v) => {
            conn.execute_batch("COMMIT")?;
            Ok(v)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Marks a task whose worker vanished as unknown.
pub fn mark_lost(conn: &Connection, id: i64) {
    let message = format!(
        "its transient unit {} is gone while the task had not ended",
        transient_unit(id)
    );
    finish(conn, id, TaskStatus::Unknown, "worker_lost", &message);
}
