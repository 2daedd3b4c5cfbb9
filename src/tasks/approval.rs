//! Deciding waiting tasks (docs/policy.md): approve or reject one that awaits an
//! approval (the API, the CLI, the panel), cancel one that waits, and the timer job's
//! sweep, which ends approvals past their deadline and re-creates the transient timer of
//! any scheduled task whose timer went missing. Nothing resident waits: a scheduled task
//! is started by `podup-task-<id>.timer`, an expiry by the next sweep or decision.

use super::control::ControlError;
use super::dispatch::Dispatcher;
use super::gate::after_approval;
use super::lifecycle::{finish, start};
use super::transient_unit;
use crate::clock::{format_utc, now_ms};
use crate::model::TaskStatus;
use crate::store::tasks::{self, Decision, Task};
use rusqlite::Connection;

/// What an approval did.
#[derive(Debug, PartialEq)]
pub enum Approved {
    /// The task is pending and its worker started.
    Started,
    /// The service's window is closed: the task is scheduled for its opening.
    Scheduled(i64),
}

fn awaiting(conn: &Connection, id: i64) -> Result<Task, ControlError> {
    let task = tasks::get(conn, id)?.ok_or(ControlError::UnknownTask(id))?;
    if task.status != TaskStatus::AwaitingApproval {
        return Err(ControlError::NotAwaiting {
            task_id: id,
            status: task.status,
        });
    }
    let now = now_ms();
    if task.deadline_ms.is_some_and(|d| d <= now) {
        expire(conn, id, now)?;
        return Err(ControlError::Expired(id));
    }
    Ok(task)
}

fn expire(conn: &Connection, id: i64, now: i64) -> rusqlite::Result<bool> {
    let message = "no one approved it before its deadline (PODUP_APPROVAL_TTL)";
    let expired = tasks::decide(conn, id, Decision::Expire, message, now)?;
    if expired {
        log::info!(podup_task_id = id; "task {id} skipped: {message}");
    }
    Ok(expired)
}

/// Approves task `id` on behalf of `by` (a token's or session's name): it starts now, or
/// at the opening of its service's window when that is closed.
pub fn approve(conn: &Connection, d: &Dispatcher<'_>, id: i64, by: &str) -> Result<Approved, ControlError> {
    let task = awaiting(conn, id)?;
    let now = now_ms();
    let config = d.config;
    let opens = task
        .units
        .iter()
        .filter_map(|u| after_approval(&crate::policy::effective(Some(conn), config, u, now).policy, now))
        .max();
    let what = task.units.join(" ");
    let Some(at) = opens else {
        let message = format!("approved by {by}");
        if !tasks::decide(
            conn,
            id,
            Decision::Approve {
                by,
                not_before_ms: None,
            },
            &message,
            now,
        )? {
            return Err(not_awaiting(conn, id)?);
        }
        log::info!(podup_task_id = id; "task {id} {message}");
        start(conn, d, id, &format!("approved deploy of {what}"))
            .map_err(|message| ControlError::Dispatch { task_id: id, message })?;
        return Ok(Approved::Started);
    };
    let message = format!(
        "approved by {by}; scheduled for the window's opening at {}",
        format_utc(at)
    );
    if !tasks::decide(
        conn,
        id,
        Decision::Approve {
            by,
            not_before_ms: Some(at),
        },
        &message,
        now,
    )? {
        return Err(not_awaiting(conn, id)?);
    }
    log::info!(podup_task_id = id; "task {id} {message}");
    arm(conn, d, id, at, &what).map_err(|message| ControlError::Dispatch { task_id: id, message })?;
    Ok(Approved::Scheduled(at))
}

/// Rejects task `id` on behalf of `by`: it ends `skipped` (`rejected`).
pub fn reject(conn: &Connection, id: i64, by: &str) -> Result<(), ControlError> {
    awaiting(conn, id)?;
    let message = format!("rejected by {by}");
    if !tasks::decide(conn, id, Decision::Reject { by }, &message, now_ms())? {
        return Err(not_awaiting(conn, id)?);
    }
    log::info!(podup_task_id = id; "task {id} {message}");
    Ok(())
}

fn not_awaiting(conn: &Connection, id: i64) -> rusqlite::Result<ControlError> {
    let status = tasks::get(conn, id)?.map_or(TaskStatus::Skipped, |t| t.status);
    Ok(ControlError::NotAwaiting { task_id: id, status })
}

/// Cancels a waiting task on request (a stop): `cancelled`, and its timer stopped.
pub fn cancel_waiting(conn: &Connection, d: &Dispatcher<'_>, task: &Task) -> rusqlite::Result<bool> {
    let ended = tasks::transition(
        conn,
        task.id,
        TaskStatus::Cancelled,
        "cancelled",
        "cancelled on request before it started",
        now_ms(),
    )?;
    if ended {
        tasks::end_open_units(
            conn,
            task.id,
            TaskStatus::Cancelled.into(),
            "cancelled before it started",
            now_ms(),
        )?;
        stop_timer(d, task.id);
    }
    Ok(ended)
}

/// Stops `podup-task-<id>.timer` if it is there (a superseded or cancelled task's).
pub fn stop_timer(d: &Dispatcher<'_>, id: i64) {
    let timer = timer_unit(id);
    if d.host.unit_state(&timer).is_ok_and(|s| s.exists()) {
        if let Err(e) = d.host.stop(&timer) {
            log::warn!(podup_task_id = id; "could not stop {timer}: {e}");
        }
    }
    d.host.drain_records();
}

/// The transient timer that starts scheduled task `id`.
pub fn timer_unit(id: i64) -> String {
    transient_unit(id).replace(".service", ".timer")
}

fn arm(conn: &Connection, d: &Dispatcher<'_>, id: i64, at: i64, what: &str) -> Result<(), String> {
    let result = d.dispatch_at(
        conn,
        id,
        &format!("podup task {id}: scheduled deploy of {what}"),
        Some(at),
    );
    if let Err(message) = &result {
        finish(conn, id, TaskStatus::Failed, "dispatch_failed", message);
    }
    result
}

/// The tasks waiting for `unit`, for the Services page and `podup policy`: id, status,
/// the image and digest they would deploy, and their deadline or time. `to_image` is the
/// reference the unit would run: the new tag when it follows versions (`Follow=`, the
/// spec's `retag`), else the one it runs.
pub fn waiting_json(conn: &Connection, unit: &str) -> rusqlite::Result<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    for t in tasks::waiting_for(conn, unit)? {
        let row = tasks::units(conn, t.id)?.into_iter().find(|u| u.unit == unit);
        let spec = t.spec().and_then(|s| s.units.into_iter().find(|u| u.unit == unit));
        out.push(serde_json::json!({
            "task_id": t.id,
            "status": t.status,
            "image": row.as_ref().and_then(|r| r.image.clone()),
            "to_digest": row.as_ref().and_then(|r| r.to_digest.clone()),
            "to_image": spec.and_then(|s| s.retag.or(s.image)),
            "message": t.message,
            "created_ms": t.created_ms,
            "not_before_ms": t.not_before_ms,
            "deadline_ms": t.deadline_ms,
        }));
    }
    Ok(out)
}

/// When the windows of `task`'s services are next open from `now` (now, if they are).
fn opening(conn: &Connection, d: &Dispatcher<'_>, task: &Task, now: i64) -> Option<i64> {
    task.units
        .iter()
        .filter_map(|u| crate::policy::effective(Some(conn), d.config, u, now).policy.window)
        .filter(|w| !crate::policy::window::is_open(w, now))
        .filter_map(|w| crate::policy::window::next_open(&w, now))
        .max()
}

/// What a sweep did.
#[derive(Debug, Default, PartialEq)]
pub struct Swept {
    pub expired: Vec<i64>,
    /// Scheduled tasks whose timer was missing and was armed again.
    pub rearmed: Vec<i64>,
    /// Scheduled tasks whose time had passed while their timer was missing: started.
    pub started: Vec<i64>,
    /// Superseded or ended tasks whose leftover timer was stopped.
    pub stopped: Vec<i64>,
}

/// The timer job's pass over waiting tasks: expired approvals end `skipped`, and every
/// scheduled task has its timer (re-created when it went missing, or started at once
/// when its time has passed).
pub fn sweep(conn: &Connection, d: &Dispatcher<'_>) -> rusqlite::Result<Swept> {
    let now = now_ms();
    let mut swept = Swept::default();
    for id in tasks::due_approvals(conn, now)? {
        if expire(conn, id, now)? {
            swept.expired.push(id);
        }
    }
    for task in tasks::waiting(conn)? {
        if task.status != TaskStatus::Scheduled {
            continue;
        }
        // Its timer, or the service the timer just started (whose worker has not yet
        // said so), is there; or systemd could not say: leave it.
        let timer = timer_unit(task.id);
        let gone = |unit: &str| matches!(d.host.unit_state(unit).map(|s| s.exists()), Ok(false));
        let missing = gone(&timer) && gone(&transient_unit(task.id));
        d.host.drain_records();
        if !missing {
            continue;
        }
        let mut at = task.not_before_ms.unwrap_or(now);
        let what = task.units.join(" ");
        // Its time passed while it had no timer: it starts now only inside its
        // service's window (a reboot across the window waits for the next one).
        if at <= now {
            at = opening(conn, d, &task, now).unwrap_or(now);
        }
        if at <= now {
            let message = "its timer went missing after its time; started by the timer job";
            if tasks::decide(conn, task.id, Decision::Start, message, now)?
                && start(conn, d, task.id, &format!("scheduled deploy of {what}")).is_ok()
            {
                swept.started.push(task.id);
            }
        } else if arm(conn, d, task.id, at, &what).is_ok() {
            log::info!(podup_task_id = task.id; "task {}: its timer {timer} was missing and is armed again", task.id);
            swept.rearmed.push(task.id);
        }
    }
    Ok(swept)
}
