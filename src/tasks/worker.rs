//! `podup run-task <id>`: what runs inside `podup-task-<id>.service`. It takes the
//! task's per-unit deploy locks (one deploy per unit at a time; of several waiting
//! tasks only the newest runs), deploys each unit, and records how the task ended.

use super::deploy;
use super::journal::Journal;
use super::lifecycle::{Origin, UnitOutcome, finish, mark_lost};
use crate::clock::now_ms;
use crate::host::Host;
use crate::model::{Intent, Mode, TaskSpec, TaskStatus};
use crate::services::ImageRef;
use crate::store::tasks::{self, Task, UnitUpdate};
use crate::store::{immediate, locks};
use crate::tasks::recover::{self, Caller};
use crate::tasks::{autoupdate, resolve, runner_unit};
use rusqlite::Connection;
use std::time::Duration;

/// How often a waiting task looks at the locks again.
const LOCK_POLL_MS: u64 = 500;

/// Runs task `id`; returns the process exit code (0 when it succeeded).
pub fn run(conn: &mut Connection, host: &Host, id: i64) -> u8 {
    let task = match tasks::get(conn, id) {
        Ok(Some(t)) => t,
        Ok(None) => {
            log::error!(podup_task_id = id; "there is no task {id}");
            return 1;
        }
        Err(e) => {
            log::error!(podup_task_id = id; "cannot read task {id}: {e}");
            return 1;
        }
    };
    if task.status() == TaskStatus::Scheduled {
        // Its timer fired (or someone started its unit): its time has come.
        let message = "its time came; started by its timer";
        if let Err(e) = tasks::decide(conn, id, tasks::Decision::Start, message, now_ms()) {
            log::error!(podup_task_id = id; "cannot start scheduled task {id}: {e}");
            return 1;
        }
    }
    let task = match tasks::get(conn, id) {
        Ok(Some(t)) => t,
        _ => task,
    };
    if task.status().is_terminal() || task.status().is_waiting() {
        log::info!(podup_task_id = id; "task {id} is {}; nothing to do", task.status);
        return 0;
    }
    let Some(spec) = task.spec() else {
        finish(
            conn,
            id,
            TaskStatus::Failed,
            "invalid_spec",
            "the task's spec cannot be read",
        );
        return 1;
    };
    let result = match spec.mode {
        Mode::AutoUpdate => autoupdate::run_task(conn, host, &task, &spec),
        Mode::Recover => run_recovery(conn, host, &task, &spec),
        Mode::NotifyTest => super::notify::run_test(conn, host, &task, &spec),
        Mode::Check => super::check::run_task(conn, host, &task, &spec),
        Mode::Deploy | Mode::Prune => run_deploy(conn, host, &task, &spec),
    };
    if let Err(e) = locks::release(conn, id) {
        log::error!(podup_task_id = id; "could not release the deploy locks: {e}");
    }
    match result {
        Ok(TaskStatus::Succeeded) => 0,
        Ok(_) => 1,
        Err(e) => {
            finish(
                conn,
                id,
                TaskStatus::Failed,
                "store_failed",
                &format!("the state database failed: {e}"),
            );
            1
        }
    }
}

pub(super) enum Turn {
    Go,
    Superseded(i64),
    Cancelled,
}

/// Waits until every unit of the task is free, then holds their locks.
pub(super) fn take_turn(
    conn: &mut Connection,
    host: &Host,
    task: &Task,
    units: &[String],
    deploys: bool,
) -> rusqlite::Result<Turn> {
    let mut announced = false;
    loop {
        if host.stop_requested() {
            return Ok(Turn::Cancelled);
        }
        let tx = immediate(conn)?;
        if let Some(newer) = locks::newer_for_units(&tx, units, task.id)?.filter(|_| deploys) {
            tx.commit()?;
            return Ok(Turn::Superseded(newer));
        }
        match locks::acquire_all(&tx, units, task.id, now_ms())? {
            None => {
                tasks::transition(&tx, task.id, TaskStatus::Running, "running", "deploying", now_ms())?;
                tx.commit()?;
                return Ok(Turn::Go);
            }
            Some(holder) => {
                // A holder whose worker is gone (task ended, or its transient unit is
                // not loaded) is stale: free its locks, and mark it unknown if needed.
                let holder_task = tasks::get(&tx, holder)?;
                let gone = match &holder_task {
                    Some(t) if t.status().is_terminal() => true,
                    Some(t) => !host.unit_state(&runner_unit(t)).map(|s| s.exists()).unwrap_or(true),
                    None => !host
                        .unit_state(&crate::tasks::transient_unit(holder))
                        .map(|s| s.exists())
                        .unwrap_or(true),
                };
                host.drain_records();
                if gone {
                    locks::release(&tx, holder)?;
                    if holder_task.is_some_and(|t| !t.status().is_terminal()) {
                        mark_lost(&tx, holder);
                    }
                    tx.commit()?;
                    continue;
                }
                tx.commit()?;
            }
        }
        if !announced {
            let j = Journal {
                conn,
                host,
                task_id: task.id,
            };
            j.info("wait", None, "another deploy of these units is running; waiting for it");
            announced = true;
        }
        std::thread::sleep(Duration::from_millis(LOCK_POLL_MS));
    }
}

/// A dispatched recovery task (after a force-stop, or a retry of one): its units'
/// turn, then the repair.
fn run_recovery(conn: &mut Connection, host: &Host, task: &Task, spec: &TaskSpec) -> rusqlite::Result<TaskStatus> {
    let units: Vec<String> = spec.units.iter().map(|u| u.unit.clone()).collect();
    match take_turn(conn, host, task, &units, false)? {
        Turn::Go => recover::run_task(conn, host, task, spec),
        Turn::Superseded(_) => unreachable!("a recovery is never superseded"),
        Turn::Cancelled => {
            let m = "stopped on request before it started";
            finish(conn, task.id, TaskStatus::Cancelled, "stopped", m);
            Ok(TaskStatus::Cancelled)
        }
    }
}

fn run_deploy(conn: &mut Connection, host: &Host, task: &Task, spec: &TaskSpec) -> rusqlite::Result<TaskStatus> {
    let units: Vec<String> = spec.units.iter().map(|u| u.unit.clone()).collect();
    match take_turn(conn, host, task, &units, true)? {
        Turn::Go => {
            // What a lost worker left on these units is repaired before anything else.
            let caller = format!("task {}", task.id);
            let origin = Origin {
                source: "worker",
                caller: &caller,
                reason: None,
                request_id: None,
            };
            for r in recover::sweep(conn, host, &origin, Some(&units), Caller::Worker)? {
                let j = Journal {
                    conn,
                    host,
                    task_id: task.id,
                };
                let m = format!(
                    "recovery task {} repaired what task {} left: {}",
                    r.task_id, r.lost_task, r.message
                );
                j.info("recover", None, &m);
            }
        }
        Turn::Superseded(newer) => {
            finish(
                conn,
                task.id,
                TaskStatus::Skipped,
                "superseded",
                &format!("task {newer} for the same unit is newer"),
            );
            return Ok(TaskStatus::Skipped);
        }
        Turn::Cancelled => {
            finish(
                conn,
                task.id,
                TaskStatus::Cancelled,
                "stopped",
                "stopped on request before it started",
            );
            return Ok(TaskStatus::Cancelled);
        }
    }
    let outcomes = deploy_units(conn, host, task, &spec.units, spec.verify_secs);
    let (status, reason, message) = overall(&outcomes);
    finish(conn, task.id, status, reason, &message);
    Ok(status)
}

/// Deploys `units` for task `task` (holding their locks) and returns each unit's outcome,
/// in the order of `units`; each unit row ends with its own verdict. Several units deploy
/// in parallel, in their dependency order (`parallel`), as many pulls at once as the
/// task's spec says.
pub(crate) fn deploy_units(
    conn: &mut Connection,
    host: &Host,
    task: &Task,
    units: &[crate::model::UnitSpec],
    verify_secs: u64,
) -> Vec<UnitOutcome> {
    if units.len() > 1 {
        let bound = task
            .spec()
            .map_or(crate::model::DEFAULT_PULL_PARALLEL, |s| s.pull_parallel);
        return super::parallel::deploy_all(conn, host, task, units, verify_secs, bound);
    }
    let mut outcomes: Vec<UnitOutcome> = Vec::new();
    for u in units {
        let journal = Journal {
            conn,
            host,
            task_id: task.id,
        };
        let outcome = if host.stop_requested() {
            UnitOutcome {
                status: TaskStatus::Cancelled,
                reason: "stopped",
                message: "stopped on request".into(),
            }
        } else {
            match image_of(host, &journal, u) {
                Ok(image) => deploy::deploy(host, &journal, u, &image, verify_secs),
                Err(e) => {
                    let message = e.to_string();
                    journal.error("inspect", Some(&u.unit), &message);
                    UnitOutcome {
                        status: TaskStatus::Failed,
                        reason: "no_image",
                        message,
                    }
                }
            }
        };
        settle(&journal, &u.unit, &outcome);
        outcomes.push(outcome);
    }
    outcomes
}

/// Writes how a unit's deploy ended on its row: its verdict, and nothing left to repair.
pub(super) fn settle(journal: &Journal<'_>, unit: &str, outcome: &UnitOutcome) {
    let end = UnitUpdate {
        status: Some(outcome.status.into()),
        phase: Some("done"),
        message: Some(&outcome.message),
        intent: Some(Intent::Settled),
        ..Default::default()
    };
    journal.update(unit, &end);
}

/// The image a unit spec deploys: from the spec, else found on the host.
pub(super) fn image_of(host: &Host, journal: &Journal<'_>, u: &crate::model::UnitSpec) -> Result<ImageRef, NoImage> {
    let found = match &u.image {
        Some(i) => Some(i.clone()),
        None => {
            // Triggers resolve images when they create the task; this is the fallback.
            let r = resolve::image_for(host, &[], &u.unit);
            journal.flush(Some(&u.unit), "inspect");
            r.map_err(NoImage::Host)?
        }
    };
    let image = found.ok_or_else(|| NoImage::Undeclared { unit: u.unit.clone() })?;
    ImageRef::parse(&image).map_err(|error| NoImage::Unusable {
        unit: u.unit.clone(),
        error,
    })
}

/// Why a unit has no image to deploy (`no_image`).
#[derive(Debug)]
pub(super) enum NoImage {
    /// Looking for it on the host failed.
    Host(crate::host::HostError),
    /// Neither the spec nor the host names one.
    Undeclared { unit: String },
    /// The reference found does not parse.
    Unusable {
        unit: String,
        error: crate::services::ImageRefError,
    },
}

impl std::fmt::Display for NoImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoImage::Host(e) => write!(f, "{e}"),
            NoImage::Undeclared { unit } => {
                write!(f, "cannot tell which image '{unit}' runs: declare it in PODUP_SERVICES")
            }
            NoImage::Unusable { unit, error } => write!(f, "the image of '{unit}' is not usable: {error}"),
        }
    }
}

/// The task's status from its units' outcomes: the worst wins.
pub fn overall(outcomes: &[UnitOutcome]) -> (TaskStatus, &'static str, String) {
    let rank = |s: TaskStatus| match s {
        TaskStatus::Failed => 5,
        TaskStatus::RolledBack => 4,
        TaskStatus::Cancelled => 3,
        TaskStatus::Unknown => 2,
        TaskStatus::Skipped => 1,
        _ => 0,
    };
    let Some(worst) = outcomes.iter().max_by_key(|o| rank(o.status)) else {
        return (TaskStatus::Skipped, "nothing_to_do", "the task names no unit".into());
    };
    if rank(worst.status) == 0 {
        let message = outcomes
            .iter()
            .map(|o| o.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        return (TaskStatus::Succeeded, "ok", message);
    }
    (worst.status, worst.reason, worst.message.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(status: TaskStatus) -> UnitOutcome {
        UnitOutcome {
            status,
            reason: "r",
            message: status.as_str().into(),
        }
    }

    #[test]
    fn the_worst_unit_decides() {
        assert_eq!(
            overall(&[o(TaskStatus::Succeeded), o(TaskStatus::Succeeded)]).0,
            TaskStatus::Succeeded
        );
        assert_eq!(
            overall(&[o(TaskStatus::Succeeded), o(TaskStatus::RolledBack)]).0,
            TaskStatus::RolledBack
        );
        assert_eq!(
            overall(&[o(TaskStatus::RolledBack), o(TaskStatus::Failed)]).0,
            TaskStatus::Failed
        );
        assert_eq!(
            overall(&[o(TaskStatus::Cancelled), o(TaskStatus::Succeeded)]).0,
            TaskStatus::Cancelled
        );
        assert_eq!(overall(&[]).0, TaskStatus::Skipped);
    }
}
