//! Undoing a unit's deploy (`deploy`): putting it back on the image it ran before, from
//! wherever the deploy stopped, and removing the previous image after a success.

use super::deploy::Before;
use super::journal::Journal;
use super::lifecycle::UnitOutcome;
use super::retag::Retarget;
use super::steps::{diagnose, roll_back};
use crate::host::Host;
use crate::model::{TaskStatus, UnitStatus};

/// Puts the unit back on the image it ran before: its image file when `retarget` wrote
/// it, the tag, and when `restarted` the container too. `reason` says why: `stopped` (a
/// stop request: the task ends `cancelled`), `verify_failed` or `group_rolled_back`
/// (`rolled_back`), or a failed step (`failed`).
#[allow(clippy::too_many_arguments)]
pub(super) fn undo(
    host: &Host,
    journal: &Journal<'_>,
    unit: &str,
    tag: &str,
    retarget: Option<&Retarget>,
    before: &Option<Before>,
    restarted: bool,
    verify_secs: u64,
    reason: &'static str,
    why: &str,
) -> UnitOutcome {
    let stop = reason == "stopped";
    if let Some(r) = retarget.filter(|r| r.wrote()) {
        journal.unit_phase(unit, "rollback", UnitStatus::Running);
        if let Err(back_why) = r.revert(host, journal, unit, restarted && before.is_some()) {
            journal.error("rollback", Some(unit), &back_why);
            diagnose(host, journal, unit);
            let m = format!("{why}; then the rollback failed: {back_why}");
            return UnitOutcome::new(TaskStatus::Failed, "rollback_failed", m);
        }
    }
    let back_on = retarget.map(|r| format!("; back on {}", r.old_ref)).unwrap_or_default();
    let Some(b) = before else {
        // Nothing ran before: there is nothing to go back to. A stop puts the unit back
        // where it was (not running); a failure leaves it for the operator to see.
        if stop && restarted {
            let stopped = host.stop(unit);
            journal.flush(Some(unit), "rollback");
            if let Err(e) = stopped {
                return UnitOutcome::new(
                    TaskStatus::Failed,
                    "rollback_failed",
                    format!("{why}; stopping the unit failed: {e}"),
                );
            }
            return UnitOutcome::new(
                TaskStatus::Cancelled,
                "stopped",
                format!("{why}; no container ran before, so the unit is stopped again"),
            );
        }
        if restarted {
            diagnose(host, journal, unit);
        }
        let status = if stop {
            TaskStatus::Cancelled
        } else {
            TaskStatus::Failed
        };
        return UnitOutcome::new(status, reason, format!("{why}; no previous image to roll back to"));
    };
    journal.unit_phase(unit, "rollback", UnitStatus::Running);
    match roll_back(host, journal, unit, tag, &b.image_id, restarted, verify_secs) {
        Ok(()) => {
            let m = if restarted {
                format!("{why}; rolled back to {}, which runs{back_on}", b.name)
            } else {
                format!("{why}; the tag points at {} again, which still runs{back_on}", b.name)
            };
            journal.warn("rollback", Some(unit), &m);
            let status = match reason {
                "stopped" => TaskStatus::Cancelled,
                "verify_failed" | "group_rolled_back" => TaskStatus::RolledBack,
                _ => TaskStatus::Failed,
            };
            UnitOutcome::new(status, reason, m)
        }
        Err(back_why) => {
            diagnose(host, journal, unit);
            UnitOutcome::new(
                TaskStatus::Failed,
                "rollback_failed",
                format!("{why}; then the rollback failed too: {back_why}"),
            )
        }
    }
}

/// Removes the previous image after a success, when no container uses it.
pub(super) fn cleanup(host: &Host, journal: &Journal<'_>, unit: &str, previous: Option<&str>, new_id: &str) {
    let Some(old) = previous.filter(|o| *o != new_id) else {
        return;
    };
    journal.unit_phase(unit, "cleanup", UnitStatus::Running);
    match host.image_users(old) {
        Ok(0) => {
            if let Err(e) = host.rmi(old) {
                journal.warn("cleanup", Some(unit), &format!("could not remove the old image: {e}"));
            }
        }
        Ok(n) => journal.info(
            "cleanup",
            Some(unit),
            &format!("old image kept: {n} container(s) use it"),
        ),
        Err(e) => journal.warn(
            "cleanup",
            Some(unit),
            &format!("could not tell whether the old image is used: {e}"),
        ),
    }
    journal.flush(Some(unit), "cleanup");
}
