//! The timer job when some unit has a policy (docs/policy.md). `podman auto-update` has
//! no way to leave a unit out, so the job asks it first with `--dry-run`; then each unit
//! with a new image meets its policy: `Timer=no` leaves it, a hold makes a waiting task,
//! `Policy=notify`/`manual` only say so. When every such unit may go now, podman's own
//! auto-update runs as without policies; otherwise the units that may go are deployed by
//! podup's verified deploy, in this same process (the timer's unit), by their tag.

use super::admit::Admitted;
use super::dispatch::Dispatcher;
use super::gate::{Gate, gate};
use super::journal::Journal;
use super::lifecycle::{self, Created, Origin, Trigger};
use crate::clock::now_ms;
use crate::config::Config;
use crate::model::{Mode, TaskKind, UnitSpec, UnitStatus, UpdateStatus};
use crate::store::tasks::{self, first_seen};
use rusqlite::Connection;
use std::path::Path;

/// Whether any unit file, Quadlet file, drop-in or `PODUP_POLICY_FILE` podup reads may
/// hold a policy: only then does the timer job ask podman for a dry run first.
pub fn any_policy(config: &Config) -> bool {
    if config.policy_file.is_some() {
        return true;
    }
    config
        .quadlet_dirs
        .iter()
        .chain(config.unit_dirs.iter())
        .any(|dir| holds_section(dir, 2))
}

fn holds_section(dir: &Path, depth: u8) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if path.is_dir() && name.ends_with(".d") && depth > 0 {
            return holds_section(&path, depth - 1);
        }
        let kinds = [".container", ".kube", ".service", ".conf"];
        kinds.iter().any(|k| name.ends_with(k))
            && std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() < 1 << 20)
            && std::fs::read_to_string(&path)
                .is_ok_and(|t| t.lines().any(|l| l.trim() == format!("[{}]", crate::policy::SECTION)))
    })
}

/// After the dry run `dry_task` (its unit rows `available` for units with a new image):
/// what their policies allow. Returns the exit code of what ran (0 when nothing did).
pub fn follow_up(
    conn: &mut Connection,
    d: &Dispatcher<'_>,
    dry_task: i64,
    origin: &Origin<'_>,
) -> rusqlite::Result<u8> {
    let now = now_ms();
    let rows: Vec<_> = tasks::units(conn, dry_task)?
        .into_iter()
        .filter(|u| u.status == UnitStatus::Available)
        .collect();
    let verdicts = crate::store::updates::all(conn)?;
    let mut admitted = Admitted::default();
    let mut timer_off = Vec::new();
    for row in rows {
        let policy = crate::policy::effective(Some(conn), d.config, &row.unit, now).policy;
        if !policy.timer {
            note(
                conn,
                d,
                dry_task,
                Some(&row.unit),
                "Timer=no: the timer job leaves this unit alone",
            );
            timer_off.push(row.unit);
            continue;
        }
        // The digest the tag points at, when a check found it (the clock of MinAge=).
        let digest = verdicts
            .iter()
            .find(|v| v.unit == row.unit && v.status == UpdateStatus::Available)
            .and_then(|v| v.remote_digest.clone());
        let key = digest
            .clone()
            .unwrap_or_else(|| format!("tag:{}", row.image.as_deref().unwrap_or("")));
        let seen = first_seen(conn, &row.unit, &key, now)?;
        let spec = UnitSpec {
            unit: row.unit.clone(),
            image: row.image.clone(),
            digest,
            retag: None,
        };
        match gate(&policy, seen, now, d.config.check.approval_ttl_secs) {
            Gate::Now => admitted.now.push(spec),
            Gate::Hold(hold, why) => admitted.held.push((hold, why, vec![spec])),
            Gate::Tell(why) => admitted.told.push((spec, why)),
            Gate::Leave(why) => admitted.left.push((spec, why)),
        }
    }
    for (spec, why) in admitted.told.iter().chain(admitted.left.iter()) {
        note(conn, d, dry_task, Some(&spec.unit), why);
    }
    for (hold, why, units) in &admitted.held {
        let unit = units[0].unit.clone();
        if !tasks::waiting_for(conn, &unit)?.is_empty() {
            note(conn, d, dry_task, Some(&unit), "a task for it already waits");
            continue;
        }
        let trigger = Trigger {
            kind: TaskKind::AutoUpdate,
            origin: Origin { ..*origin },
            limit: None,
            retry_of: None,
            delivery: None,
            hold: Some(*hold),
        };
        let spec = d.spec(units.clone(), false, Mode::Deploy);
        if let Created::New(id) = lifecycle::create(conn, &trigger, &spec)? {
            let _ = lifecycle::begin(conn, d, id, &format!("timer job: {unit}"), Some(*hold), why);
            note(conn, d, dry_task, Some(&unit), &format!("{why}: task {id}"));
        }
    }
    if admitted.now.is_empty() {
        return Ok(0);
    }
    let all_may_go =
        timer_off.is_empty() && admitted.held.is_empty() && admitted.told.is_empty() && admitted.left.is_empty();
    let spec = match all_may_go {
        true => d.spec(Vec::new(), false, Mode::AutoUpdate),
        false => d.spec(admitted.now.clone(), false, Mode::Deploy),
    };
    let id = lifecycle::record(conn, TaskKind::AutoUpdate, Origin { ..*origin }, &spec)?;
    if let Some(unit) = crate::sys::own_unit() {
        tasks::set_runner(conn, id, &unit)?;
    }
    let names: Vec<&str> = admitted.now.iter().map(|u| u.unit.as_str()).collect();
    note(
        conn,
        d,
        dry_task,
        None,
        &format!(
            "task {id} updates {} (the rest wait or are left by their policies)",
            names.join(", ")
        ),
    );
    Ok(super::worker::run(conn, d.host, id))
}

/// A line in the dry run's log: what a unit's policy made of its new image.
fn note(conn: &Connection, d: &Dispatcher<'_>, task_id: i64, unit: Option<&str>, message: &str) {
    Journal {
        conn,
        host: d.host,
        task_id,
    }
    .info("policy", unit, message);
}
