//! Recovery (docs/tasks.md, "Crash safety"): a worker lost in the middle of a deploy
//! (SIGKILL, OOM, `RuntimeMaxSec=`, power loss) leaves its unit rows with the step it
//! was about to take. Recovery finds such rows, reads what the host shows, and puts
//! each unit back in a state podup can stand behind: the tag points at the image the
//! container runs, and that image either ran before the deploy or is verified now.
//! Each repair is a `maintenance` task (`trigger_reason` `recovered`, `spec.recovers`
//! the lost task) with its own unit rows and notes, so a lost recovery is recovered too.
//!
//! Recovery runs in the next worker for the unit, in the timer job, in `podup recover`
//! (and so in `podup-recover.service` at boot), and after a force-stop.

mod repair;

use super::journal::Journal;
use super::lifecycle::{self, Origin, finish, mark_lost};
use super::{runner_unit, worker};
use crate::clock::now_ms;
use crate::host::Host;
use crate::model::{Intent, Mode, TaskKind, TaskSpec, TaskStatus, UnitSpec, UnitStatus};
use crate::store::tasks::{self, Task, UnitUpdate, Unsettled};
use crate::store::{immediate, locks};
use repair::repair;
use rusqlite::Connection;

/// How long a pending task may go without its transient unit (it is being dispatched).
const DISPATCH_GRACE_MS: i64 = 10_000;

/// One repair: the recovery task, the lost task it repaired, how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Repaired {
    pub task_id: i64,
    pub lost_task: i64,
    pub status: TaskStatus,
    pub message: String,
}

/// Who recovers, which says what is safe to do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Caller {
    /// A worker, after taking its turn: it holds its units' locks, so they are safe to
    /// repair.
    Worker,
    /// The timer job, `podup recover`: take each lost task's locks first, and skip a
    /// unit a live task holds (its worker recovers it when it starts).
    Job,
    /// `podup-recover.service` early in boot, before the container units start: a unit
    /// that runs nothing gets its tag pointed back at the previous image and is left to
    /// start on it as the host boots (a restart now would wait for units ordered after
    /// this one).
    Boot,
}

/// Marks tasks whose worker is gone as lost, then repairs every unsettled unit row
/// (of `only` when given). Returns one entry per recovery task.
pub fn sweep(
    conn: &mut Connection,
    host: &Host,
    origin: &Origin<'_>,
    only: Option<&[String]>,
    caller: Caller,
) -> rusqlite::Result<Vec<Repaired>> {
    if caller != Caller::Worker {
        notice_lost(conn, host)?;
    }
    let mut groups: Vec<(Task, Vec<Unsettled>)> = Vec::new();
    for row in tasks::unsettled(conn, only)? {
        match groups.last_mut() {
            Some((t, rows)) if t.id == row.task_id => rows.push(row),
            _ => {
                // Only an ended task's rows: a running one's worker is still at work.
                if let Some(t) = tasks::get(conn, row.task_id)?.filter(|t| t.status().is_terminal()) {
                    groups.push((t, vec![row]));
                }
            }
        }
    }
    let mut done = Vec::new();
    for (lost, rows) in groups {
        let spec = recovery_spec(&lost, &rows);
        let trigger = lifecycle::Trigger {
            kind: TaskKind::Maintenance,
            origin: Origin {
                reason: Some("recovered"),
                ..*origin
            },
            limit: None,
            retry_of: None,
            delivery: None,
            hold: None,
        };
        let id = match caller {
            Caller::Worker => lifecycle::record(conn, TaskKind::Maintenance, Origin { ..trigger.origin }, &spec)?,
            Caller::Job | Caller::Boot => match create_locked(conn, host, &trigger, &spec)? {
                Some(id) => id,
                None => continue,
            },
        };
        let status = repair_task(conn, host, id, &lost, &rows, &spec, caller == Caller::Boot);
        if caller != Caller::Worker {
            locks::release(conn, id)?;
        }
        let message = tasks::get(conn, id)?.and_then(|t| t.message).unwrap_or_default();
        done.push(Repaired {
            task_id: id,
            lost_task: lost.id,
            status: status?,
            message,
        });
    }
    Ok(done)
}

/// A dispatched recovery task (`Mode::Recover`, e.g. after a force-stop or a retry):
/// the worker holds its units' locks; repairs what of `spec.recovers` is unsettled.
pub fn run_task(conn: &mut Connection, host: &Host, task: &Task, spec: &TaskSpec) -> rusqlite::Result<TaskStatus> {
    let units: Vec<String> = spec.units.iter().map(|u| u.unit.clone()).collect();
    let lost = match spec.recovers {
        Some(id) => tasks::get(conn, id)?,
        None => None,
    };
    let rows: Vec<Unsettled> = tasks::unsettled(conn, Some(&units))?
        .into_iter()
        .filter(|r| Some(r.task_id) == spec.recovers)
        .collect();
    let Some(lost) = lost.filter(|_| !rows.is_empty()) else {
        let message = "nothing to recover: the units were repaired already";
        finish(conn, task.id, TaskStatus::Skipped, "nothing_to_do", message);
        return Ok(TaskStatus::Skipped);
    };
    repair_task(conn, host, task.id, &lost, &rows, spec, false)
}

/// The spec of the task that repairs `rows` of `lost`.
pub fn recovery_spec(lost: &Task, rows: &[Unsettled]) -> TaskSpec {
    let old = lost.spec();
    TaskSpec {
        units: rows
            .iter()
            .map(|r| UnitSpec {
                unit: r.unit.clone(),
                image: r.image.clone(),
                digest: None,
                retag: None,
            })
            .collect(),
        scope: old.as_ref().and_then(|s| s.scope),
        verify_secs: old.as_ref().map_or(10, |s| s.verify_secs),
        dry_run: false,
        mode: Mode::Recover,
        recovers: Some(lost.id),
        sink: None,
        fresh: false,
        follow: Default::default(),
        pull_parallel: crate::model::DEFAULT_PULL_PARALLEL,
        engine: Default::default(),
    }
}

/// Marks each pending or running task whose worker's unit is gone as lost.
fn notice_lost(conn: &Connection, host: &Host) -> rusqlite::Result<()> {
    for id in tasks::open_ids(conn)? {
        let Some(t) = tasks::get(conn, id)? else { continue };
        if t.status() == TaskStatus::Pending && now_ms() - t.created_ms < DISPATCH_GRACE_MS {
            continue;
        }
        let gone = host.unit_state(&runner_unit(&t)).map(|s| !s.exists()).unwrap_or(false);
        host.drain_records();
        if gone {
            mark_lost(conn, id);
            locks::release(conn, id)?;
        }
    }
    Ok(())
}

/// Records the recovery task holding its units' locks, in one transaction; `None`
/// when a live task holds one (that task's worker recovers the unit when it starts).
fn create_locked(
    conn: &mut Connection,
    host: &Host,
    trigger: &lifecycle::Trigger<'_>,
    spec: &TaskSpec,
) -> rusqlite::Result<Option<i64>> {
    let units: Vec<String> = spec.units.iter().map(|u| u.unit.clone()).collect();
    let tx = immediate(conn)?;
    let id = lifecycle::record(&tx, trigger.kind, Origin { ..trigger.origin }, spec)?;
    match locks::acquire_all(&tx, &units, id, now_ms())? {
        None => {
            tx.commit()?;
            Ok(Some(id))
        }
        Some(holder) => {
            let ended = tasks::get(&tx, holder)?.is_none_or(|t| t.status().is_terminal());
            if ended {
                // A lock its ended task never released: free it and take it.
                locks::release(&tx, holder)?;
                if locks::acquire_all(&tx, &units, id, now_ms())?.is_none() {
                    tx.commit()?;
                    return Ok(Some(id));
                }
            }
            log::info!("recovery of {} waits: task {holder} holds its lock", units.join(" "));
            host.drain_records();
            Ok(None)
        }
    }
}

/// Runs recovery task `id` over `rows` of `lost`, and ends it.
fn repair_task(
    conn: &Connection,
    host: &Host,
    id: i64,
    lost: &Task,
    rows: &[Unsettled],
    spec: &TaskSpec,
    at_boot: bool,
) -> rusqlite::Result<TaskStatus> {
    if let Some(unit) = crate::sys::own_unit() {
        tasks::set_runner(conn, id, &unit)?;
    }
    let what = format!("repairing what task {} ({}) left", lost.id, lost.status);
    tasks::transition(conn, id, TaskStatus::Running, "running", &what, now_ms())?;
    let journal = Journal {
        conn,
        host,
        task_id: id,
    };
    let mut outcomes = Vec::new();
    let lost_units = lost.spec().map(|s| s.units).unwrap_or_default();
    for row in rows {
        journal.unit_phase(&row.unit, "inspect", UnitStatus::Running);
        journal.update(
            &row.unit,
            &UnitUpdate {
                prev_image: row.prev_image.as_deref(),
                target_image: row.target_image.as_deref(),
                ..Default::default()
            },
        );
        // A move to a new tag (Follow=) is undone first: the repair is on the old tag.
        let moved = lost_units.iter().find(|u| u.unit == row.unit && u.retag.is_some());
        if let Some(u) = moved.and_then(|u| u.image.as_deref().map(|i| (u, i))) {
            if let Err(why) = crate::tasks::retag::recover_file(host, &journal, &u.0.unit, u.1) {
                journal.error("recover", Some(&row.unit), &why);
            }
        }
        let outcome = repair(host, &journal, row, spec.verify_secs, at_boot);
        journal.update(
            &row.unit,
            &UnitUpdate {
                status: Some(outcome.status.into()),
                phase: Some("done"),
                message: Some(&outcome.message),
                intent: Some(Intent::Settled),
                ..Default::default()
            },
        );
        tasks::mark_recovered(conn, row.task_id, &row.unit, id)?;
        let lost_journal = Journal {
            conn,
            host,
            task_id: row.task_id,
        };
        lost_journal.info(
            "recover",
            Some(&row.unit),
            &format!("recovery task {id}: {}", outcome.message),
        );
        outcomes.push(outcome);
    }
    let (status, reason, message) = worker::overall(&outcomes);
    let reason = if status == TaskStatus::Succeeded {
        "recovered"
    } else {
        reason
    };
    finish(conn, id, status, reason, &message);
    Ok(status)
}
