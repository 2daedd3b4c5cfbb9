//! What the API, the CLI and the demo do to tasks on request: create one (under a
//! rate limit) and start it, stop or force-stop one, retry one, notice one whose
//! worker is gone. Each goes through `lifecycle`; the webhook and auto-update
//! triggers call `lifecycle::create` themselves, for checks of their own.

use super::dispatch::Dispatcher;
use super::lifecycle::{self, Created, Trigger, finish, mark_lost};
use super::{recover, runner_unit, transient_unit};
use crate::clock::now_ms;
use crate::model::{TaskKind, TaskSpec, TaskStatus};
use crate::ratelimit::{Limited, Rule};
use crate::store::locks;
use crate::store::tasks::{self, Task};
use rusqlite::Connection;
use std::fmt;

pub use super::lifecycle::Origin;

/// How long a pending task may go without a transient unit (it is being dispatched).
const DISPATCH_GRACE_MS: i64 = 10_000;

/// Why a task could not be created, stopped or retried.
#[derive(Debug)]
pub enum ControlError {
    RateLimited(Limited),
    Store(rusqlite::Error),
    /// The task was created but systemd-run failed; it is marked failed.
    Dispatch {
        task_id: i64,
        message: String,
    },
    UnknownTask(i64),
    NotEnded {
        task_id: i64,
        status: TaskStatus,
    },
    CannotStop {
        task_id: i64,
        message: String,
    },
    NoSpec(i64),
    /// Approve or reject: the task does not wait for an approval (any more).
    NotAwaiting {
        task_id: i64,
        status: TaskStatus,
    },
    /// Approve: its deadline passed; it is now skipped (`approval_expired`).
    Expired(i64),
}

impl ControlError {
    pub fn status(&self) -> u16 {
        match self {
            ControlError::RateLimited(_) => 429,
            ControlError::Store(_) => 503,
            ControlError::Dispatch { .. } => 500,
            ControlError::UnknownTask(_) => 404,
            ControlError::NotEnded { .. }
            | ControlError::CannotStop { .. }
            | ControlError::NoSpec(_)
            | ControlError::NotAwaiting { .. }
            | ControlError::Expired(_) => 409,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ControlError::RateLimited(_) => "rate_limited",
            ControlError::Store(_) => "store_failed",
            ControlError::Dispatch { .. } => "dispatch_failed",
            ControlError::UnknownTask(_) => "unknown_task",
            ControlError::NotEnded { .. } => "task_not_ended",
            ControlError::CannotStop { .. } => "cannot_stop",
            ControlError::NoSpec(_) => "not_retryable",
            ControlError::NotAwaiting { .. } => "not_awaiting_approval",
            ControlError::Expired(_) => "approval_expired",
        }
    }

    pub fn task_id(&self) -> Option<i64> {
        match self {
            ControlError::Dispatch { task_id, .. }
            | ControlError::NotEnded { task_id, .. }
            | ControlError::CannotStop { task_id, .. }
            | ControlError::NotAwaiting { task_id, .. } => Some(*task_id),
            ControlError::UnknownTask(id) | ControlError::NoSpec(id) | ControlError::Expired(id) => Some(*id),
            _ => None,
        }
    }
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlError::RateLimited(l) => write!(
                f,
                "rate limited: the limit is {}; try again in {} s",
                l.rule, l.retry_after_secs
            ),
            ControlError::Store(e) => write!(f, "the state database failed: {e}"),
            ControlError::Dispatch { message, .. } => f.write_str(message),
            ControlError::UnknownTask(id) => write!(f, "there is no task {id}"),
            ControlError::NotEnded { task_id, status } => {
                write!(f, "task {task_id} is {status}; retry it once it has ended")
            }
            ControlError::CannotStop { message, .. } => f.write_str(message),
            ControlError::NoSpec(id) => write!(f, "task {id} has no spec to repeat"),
            ControlError::NotAwaiting { task_id, status } => {
                write!(
                    f,
                    "task {task_id} is {status}, not awaiting_approval: there is nothing to decide"
                )
            }
            ControlError::Expired(id) => write!(
                f,
                "task {id} waited past its deadline (PODUP_APPROVAL_TTL) and is skipped; a new image, or a deploy by hand, starts another"
            ),
        }
    }
}

impl From<rusqlite::Error> for ControlError {
    fn from(e: rusqlite::Error) -> ControlError {
        ControlError::Store(e)
    }
}

/// Creates a task (checking `limit` in the same transaction) and starts it.
pub fn create(
    conn: &mut Connection,
    d: &Dispatcher<'_>,
    kind: TaskKind,
    spec: &TaskSpec,
    origin: &Origin<'_>,
    limit: Option<(&str, &[Rule])>,
) -> Result<i64, ControlError> {
    let trigger = Trigger {
        kind,
        origin: Origin { ..*origin },
        limit,
        retry_of: None,
        delivery: None,
        hold: None,
    };
    let id = created(lifecycle::create(conn, &trigger, spec)?)?;
    let what = format!("{} by {}", kind.as_str(), origin.caller);
    lifecycle::start(conn, d, id, &what).map_err(|message| ControlError::Dispatch { task_id: id, message })?;
    Ok(id)
}

/// The new task's id, or why there is none (only a limit refuses a plain trigger).
fn created(c: Created) -> Result<i64, ControlError> {
    match c {
        Created::New(id) | Created::Duplicate(id) | Created::Joined(id) => Ok(id),
        Created::Limited(l) => Err(ControlError::RateLimited(l)),
        Created::Stale(_) => unreachable!("only a webhook delivery can find a digest stale"),
    }
}

/// What a stop did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stopped {
    /// False when the task had already ended (and was left alone).
    pub changed: bool,
    /// After a force-stop: the recovery task started to repair what the worker left.
    pub recovery: Option<i64>,
}

/// Stops the task's transient unit: gracefully (the worker ends safely: it rolls back
/// what it changed and marks itself `cancelled`) or with SIGKILL (podup marks it
/// `failed`, reason `killed`, and starts a recovery task for what the worker left).
/// A task that already ended is left alone.
pub fn stop(conn: &mut Connection, d: &Dispatcher<'_>, id: i64, force: bool) -> Result<Stopped, ControlError> {
    let task = tasks::get(conn, id)?.ok_or(ControlError::UnknownTask(id))?;
    if task.status().is_terminal() {
        return Ok(Stopped {
            changed: false,
            recovery: None,
        });
    }
    if task.status().is_waiting() {
        let changed = super::approval::cancel_waiting(conn, d, &task)?;
        return Ok(Stopped {
            changed,
            recovery: None,
        });
    }
    if let Some(runner) = &task.runner {
        let message = format!("task {id} runs inside {runner}, not in a unit of its own: stop {runner} instead");
        return Err(ControlError::CannotStop { task_id: id, message });
    }
    let unit = transient_unit(id);
    // SIGKILL ends the worker at once and the collected unit disappears: no stop after it.
    let result = if force {
        d.host.kill(&unit, "SIGKILL")
    } else {
        d.host.stop(&unit)
    };
    d.host.drain_records();
    if let Err(e) = result {
        let gone = d.host.unit_state(&unit).map(|s| !s.exists()).unwrap_or(false);
        d.host.drain_records();
        if gone {
            mark_lost(conn, id);
            locks::release(conn, id)?;
            let message = format!("{unit} is not loaded: its worker is gone, so the task is now unknown");
            return Err(ControlError::CannotStop { task_id: id, message });
        }
        return Err(ControlError::CannotStop {
            task_id: id,
            message: format!("{unit} could not be stopped: {e}"),
        });
    }
    if force {
        finish(
            conn,
            id,
            TaskStatus::Failed,
            "killed",
            &format!("force-stopped: {unit} was sent SIGKILL"),
        );
    } else {
        // The worker records `cancelled` itself on SIGTERM; this covers one that could not.
        finish(conn, id, TaskStatus::Cancelled, "stopped", "stopped on request");
    }
    locks::release(conn, id)?;
    let recovery = if force { recover_after(conn, d, id)? } else { None };
    Ok(Stopped {
        changed: true,
        recovery,
    })
}

/// Creates and starts the recovery task for what task `id`'s worker left unsettled, if
/// anything. A failed start leaves it `failed` (`dispatch_failed`); the timer job or
/// `podup recover` repairs then.
fn recover_after(conn: &mut Connection, d: &Dispatcher<'_>, id: i64) -> Result<Option<i64>, ControlError> {
    let Some(lost) = tasks::get(conn, id)? else {
        return Ok(None);
    };
    let rows: Vec<_> = tasks::unsettled(conn, None)?
        .into_iter()
        .filter(|r| r.task_id == id)
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let spec = recover::recovery_spec(&lost, &rows);
    let origin = Origin {
        source: lost.source.as_str(),
        caller: "force-stop",
        reason: Some("recovered"),
        request_id: None,
    };
    let new_id = lifecycle::record(conn, TaskKind::Maintenance, origin, &spec)?;
    let what = format!("recovery after task {id} was force-stopped");
    match lifecycle::start(conn, d, new_id, &what) {
        Ok(()) => Ok(Some(new_id)),
        Err(message) => Err(ControlError::Dispatch {
            task_id: new_id,
            message,
        }),
    }
}

/// A new task with the same spec, `retry_of` the old one, dispatched.
pub fn retry(conn: &mut Connection, d: &Dispatcher<'_>, id: i64, origin: &Origin<'_>) -> Result<i64, ControlError> {
    let task: Task = tasks::get(conn, id)?.ok_or(ControlError::UnknownTask(id))?;
    if !task.status().is_terminal() {
        return Err(ControlError::NotEnded {
            task_id: id,
            status: task.status,
        });
    }
    let (Some(spec), kind) = (task.spec(), task.kind) else {
        return Err(ControlError::NoSpec(id));
    };
    let trigger = Trigger {
        kind,
        origin: Origin {
            reason: Some(origin.reason.unwrap_or("retry")),
            ..*origin
        },
        limit: None,
        retry_of: Some(id),
        delivery: None,
        hold: None,
    };
    let new_id = created(lifecycle::create(conn, &trigger, &spec)?)?;
    lifecycle::start(conn, d, new_id, &format!("retry of task {id}")).map_err(|message| ControlError::Dispatch {
        task_id: new_id,
        message,
    })?;
    Ok(new_id)
}

/// Marks the task `unknown` when it says pending/running but its transient unit is
/// gone. A young pending task is left alone: it may not be dispatched yet.
pub fn check_alive(conn: &Connection, d: &Dispatcher<'_>, id: i64) {
    let Ok(Some(t)) = tasks::get(conn, id) else { return };
    let young = t.status() == TaskStatus::Pending && now_ms() - t.created_ms < DISPATCH_GRACE_MS;
    // A waiting task has no worker to lose; its timer is the timer job's to re-create.
    if t.status().is_terminal() || t.status().is_waiting() || young {
        return;
    }
    let gone = d
        .host
        .unit_state(&runner_unit(&t))
        .map(|s| !s.exists())
        .unwrap_or(false);
    d.host.drain_records();
    if gone {
        mark_lost(conn, id);
        let _ = locks::release(conn, id);
    }
}
