//! The deploy of several units in one task: the units' dependencies read in one call,
//! planned (`plan`), the units already on their tag's image set aside (`current`), then one thread per unit, each with its own database connection
//! and host (`deploy::deploy_in`). Pulls are shared and bounded (`pulls`); a restart
//! waits for the units it comes after (within its group too, but never for their
//! verification); verification windows overlap. Each unit keeps its own verdict and
//! rollback, except that a member of a group failing after its restart rolls back every
//! member of the group verified meanwhile. Previous images are removed once every deploy ended: another unit's
//! rollback may still need one.

use super::board::{Board, Joint};
use super::current::Before;
use super::deploy::{self, Ctx, Succeeded};
use super::journal::Journal;
use super::lifecycle::UnitOutcome;
use super::plan::{Plan, plan};
use super::pulls::Pulls;
use super::worker::{image_of, settle};
use crate::host::Host;
use crate::model::{TaskStatus, UnitSpec};
use crate::store::tasks::{Task, UnitUpdate};
use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};

/// Deploys `units` (two or more) of task `task`, `pull_parallel` pulls at a time; each
/// outcome in the order of `units`, each unit row settled with its verdict.
pub fn deploy_all(
    conn: &Connection,
    host: &Host,
    task: &Task,
    units: &[UnitSpec],
    verify_secs: u64,
    pull_parallel: u32,
) -> Vec<UnitOutcome> {
    let journal = Journal {
        conn,
        host,
        task_id: task.id,
    };
    let names: Vec<String> = units.iter().map(|u| u.unit.clone()).collect();
    let deps = host.unit_deps(&names);
    journal.flush(None, "plan");
    let deps = deps.unwrap_or_else(|e| {
        let m = format!("cannot read the units' dependencies ({e}): they restart in no particular order");
        journal.warn("plan", None, &m);
        Vec::new()
    });
    let plan = plan(&names, &deps);
    // The units a group is bound to from outside the task (a pod's unit): restarted with
    // the group, as a pod restarts as one.
    let outside: Vec<Vec<String>> = plan
        .groups
        .iter()
        .map(|g| {
            let mut out: Vec<String> = Vec::new();
            for d in deps.iter().filter(|d| g.iter().any(|&i| units[i].unit == d.id)) {
                for n in d.binds_to.iter().chain(&d.part_of) {
                    if !names.contains(n) && !out.contains(n) {
                        out.push(n.clone());
                    }
                }
            }
            out
        })
        .collect();
    describe(&journal, units, &plan, pull_parallel);
    let Some(path) = conn.path().filter(|p| !p.is_empty()).map(PathBuf::from) else {
        journal.error("plan", None, "the state database has no path to open again");
        return vec![UnitOutcome::new(TaskStatus::Failed, "store_failed", "no database path"); units.len()];
    };
    let mut specs: Vec<UnitSpec> = units.to_vec();
    let mut current: Vec<Option<UnitOutcome>> = vec![None; units.len()];
    for (i, found) in super::current::check(&journal, host, units).into_iter().enumerate() {
        match found {
            Before::Current(o) => current[i] = Some(o),
            Before::Digest(d) => specs[i].digest = Some(d),
            Before::Pull => {}
        }
    }
    let board = Board {
        units: &specs,
        current,
        outside,
        plan: &plan,
        ready: Mutex::new(vec![false; units.len()]),
        changed: Condvar::new(),
        joint: Mutex::new(Joint {
            arrived: vec![false; units.len()],
            gone: vec![false; units.len()],
            answers: vec![None; units.len()],
        }),
        joined: Condvar::new(),
    };
    let pulls = Pulls::new(pull_parallel as usize);
    let ctx = Ctx {
        pulls: &pulls,
        order: Some(&board),
        keep_previous: true,
    };
    let hosts: Vec<Host> = plan.groups.iter().map(|_| host.sibling()).collect();
    let results: Vec<Vec<(usize, UnitOutcome, Option<Succeeded>)>> = std::thread::scope(|s| {
        let threads: Vec<_> = plan
            .groups
            .iter()
            .zip(hosts)
            .map(|(group, h)| {
                let (ctx, board, path) = (&ctx, &board, &path);
                s.spawn(move || run_group(ctx, board, &h, path, task.id, group, verify_secs))
            })
            .collect();
        threads
            .into_iter()
            .zip(&plan.groups)
            .map(|(t, group)| {
                t.join().unwrap_or_else(|_| {
                    let o = UnitOutcome::new(TaskStatus::Failed, "worker_panicked", "the deploy thread panicked");
                    group.iter().map(|&i| (i, o.clone(), None)).collect()
                })
            })
            .collect()
    });
    let mut outcomes: Vec<Option<UnitOutcome>> = vec![None; units.len()];
    for (i, outcome, succeeded) in results.into_iter().flatten() {
        if let Some(s) = succeeded {
            s.cleanup(host, &journal, &units[i].unit);
        }
        outcomes[i] = Some(outcome);
    }
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| UnitOutcome::new(TaskStatus::Failed, "not_run", "the unit was not deployed")))
        .collect()
}

/// The plan, in the task log: cycles broken, groups, and what waits for what.
fn describe(journal: &Journal<'_>, units: &[UnitSpec], plan: &Plan, pull_parallel: u32) {
    for w in &plan.warnings {
        journal.warn("plan", None, w);
    }
    let name = |i: usize| units[i].unit.as_str();
    for g in plan.groups.iter().filter(|g| g.len() > 1) {
        let members: Vec<&str> = g.iter().map(|&i| name(i)).collect();
        journal.info(
            "plan",
            None,
            &format!(
                "{} go together (BindsTo=/PartOf=): pulled, then restarted together in one job, verified over one window, and rolled back together when one fails after its restart",
                members.join(", ")
            ),
        );
    }
    for (i, waits) in plan.waits.iter().enumerate().filter(|(_, w)| !w.is_empty()) {
        let on: Vec<String> = waits.iter().map(|w| format!("{} ({})", name(w.on), w.why)).collect();
        journal.info("plan", Some(name(i)), &format!("restarts after {}", on.join(", ")));
    }
    journal.info(
        "plan",
        None,
        &format!(
            "{} units in {} groups, at most {pull_parallel} pulls at once",
            units.len(),
            plan.groups.len()
        ),
    );
}

/// One group's deploys, in its own thread. A group of one deploys its unit; a larger
/// group deploys its members at once, each in a thread of its own: each pulls and tags,
/// restarts once the members it comes after restarted (not once they are verified), and
/// verifies over the same window as the others. When one fails after its restart, every
/// member verified meanwhile is rolled back (`group_rolled_back`).
fn run_group(
    ctx: &Ctx<'_>,
    board: &Board<'_>,
    host: &Host,
    path: &std::path::Path,
    task_id: i64,
    group: &[usize],
    verify_secs: u64,
) -> Vec<(usize, UnitOutcome, Option<Succeeded>)> {
    if let [i] = group {
        let (i, outcome, succeeded, _) = run_member(ctx, board, host, path, task_id, *i, verify_secs, false);
        return vec![(i, outcome, succeeded)];
    }
    let hosts: Vec<Host> = group.iter().map(|_| host.sibling()).collect();
    let mut out: Vec<(usize, UnitOutcome, Option<Succeeded>, bool)> = std::thread::scope(|s| {
        let threads: Vec<_> = group
            .iter()
            .zip(hosts)
            .map(|(&i, h)| s.spawn(move || run_member(ctx, board, &h, path, task_id, i, verify_secs, true)))
            .collect();
        threads
            .into_iter()
            .zip(group)
            .map(|(t, &i)| {
                t.join().unwrap_or_else(|_| {
                    board.mark(i);
                    let o = UnitOutcome::new(TaskStatus::Failed, "worker_panicked", "the deploy thread panicked");
                    (i, o, None, false)
                })
            })
            .collect()
    });
    let conn = match crate::store::open(path) {
        Ok(c) => c,
        Err(e) => {
            log::error!(podup_task_id = task_id; "a deploy thread cannot open the state database: {e}");
            return out.into_iter().map(|(i, o, s, _)| (i, o, s)).collect();
        }
    };
    let journal = Journal {
        conn: &conn,
        host,
        task_id,
    };
    let units = board.units;
    if let Some(member) = out.iter().find(|m| m.3).map(|m| units[m.0].unit.clone()) {
        roll_back_group(&journal, host, units, &mut out, &member);
    }
    for (i, outcome, succeeded, _) in &out {
        if succeeded.is_some() {
            settle(&journal, &units[*i].unit, outcome);
        }
    }
    out.into_iter().map(|(i, o, s, _)| (i, o, s)).collect()
}

/// One unit's deploy, with its own database connection; whether it failed after its
/// restart comes last. A member of a larger group (`grouped`) that is verified is left
/// for its group to settle.
#[allow(clippy::too_many_arguments)]
fn run_member(
    ctx: &Ctx<'_>,
    board: &Board<'_>,
    host: &Host,
    path: &std::path::Path,
    task_id: i64,
    i: usize,
    verify_secs: u64,
    grouped: bool,
) -> (usize, UnitOutcome, Option<Succeeded>, bool) {
    let u = &board.units[i];
    let conn = match crate::store::open(path) {
        Ok(c) => c,
        Err(e) => {
            log::error!(podup_task_id = task_id; "a deploy thread cannot open the state database: {e}");
            board.mark(i);
            let o = UnitOutcome::new(
                TaskStatus::Failed,
                "store_failed",
                format!("the state database failed: {e}"),
            );
            return (i, o, None, false);
        }
    };
    let journal = Journal {
        conn: &conn,
        host,
        task_id,
    };
    if let Some(o) = &board.current[i] {
        settle(&journal, &u.unit, o);
        board.mark(i);
        return (i, o.clone(), None, false);
    }
    if host.stop_requested() {
        let o = UnitOutcome::new(TaskStatus::Cancelled, "stopped", "stopped on request");
        settle(&journal, &u.unit, &o);
        board.mark(i);
        return (i, o, None, false);
    }
    let image = match image_of(host, &journal, u) {
        Ok(image) => image,
        Err(e) => {
            let message = e.to_string();
            journal.error("inspect", Some(&u.unit), &message);
            let o = UnitOutcome::new(TaskStatus::Failed, "no_image", message);
            settle(&journal, &u.unit, &o);
            board.mark(i);
            return (i, o, None, false);
        }
    };
    let d = deploy::deploy_in(ctx, host, &journal, u, &image, verify_secs);
    let broke = d.restarted && matches!(d.outcome.status, TaskStatus::RolledBack | TaskStatus::Failed);
    if d.succeeded.is_some() && grouped {
        // Settled with its group: until then its row can still take the write-ahead
        // notes of a group rollback.
        let wait = UnitUpdate {
            phase: Some("group"),
            message: Some("verified; settles with its group"),
            ..Default::default()
        };
        journal.update(&u.unit, &wait);
    } else {
        settle(&journal, &u.unit, &d.outcome);
    }
    board.mark(i);
    (i, d.outcome, d.succeeded, broke)
}

/// Rolls back the members of a group verified while `member` failed after its restart,
/// latest in dependency order first.
fn roll_back_group(
    journal: &Journal<'_>,
    host: &Host,
    units: &[UnitSpec],
    done: &mut [(usize, UnitOutcome, Option<Succeeded>, bool)],
    member: &str,
) {
    for (i, outcome, succeeded, _) in done.iter_mut().rev() {
        let Some(s) = succeeded.take() else { continue };
        let unit = &units[*i].unit;
        let why = format!("{member} of its group failed after its restart");
        journal.warn("group", Some(unit), &format!("{why}: rolling back"));
        *outcome = s.roll_back(host, journal, unit, &why);
        settle(journal, unit, outcome);
    }
}
