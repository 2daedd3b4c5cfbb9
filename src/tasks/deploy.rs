//! One unit's verified deploy: record what runs, pull the target (by digest when
//! known) and point the unit's tag at it, restart, verify that the unit stays
//! active on the target, and roll back to the previous image when it does not.
//! Each change is noted on the unit's row before it is made (`steps::note`), so a
//! worker lost at any point leaves what recovery needs; a stop request at any point
//! after the tag moved rolls back before the task ends `cancelled`. A unit that
//! `Follow=` moves to a new tag (`retag`) gets the new tag on the pulled image and its
//! image file pointed at it before the restart, and back on rollback (`retag`).

use super::journal::Journal;
use super::lifecycle::UnitOutcome;
use super::pause::{self, Point};
use super::retag::Retarget;
use super::steps::{diagnose, note, roll_back};
use super::verify::{OnStop, verify};
use crate::host::Host;
use crate::model::{Intent, TaskStatus, UnitSpec, UnitStatus};
use crate::services::ImageRef;
use crate::store::tasks::UnitUpdate;

/// What the unit ran before the deploy.
struct Before {
    image_id: String,
    /// Its digest, or its id when podman knows no digest.
    name: String,
}

/// Deploys `spec` (with its image resolved) to its unit.
pub fn deploy(host: &Host, journal: &Journal<'_>, spec: &UnitSpec, image: &ImageRef, verify_secs: u64) -> UnitOutcome {
    let unit = spec.unit.as_str();
    journal.unit_phase(unit, "inspect", UnitStatus::Running);
    // 0. A unit that moves to a new tag: where its image is set, refused before anything runs.
    let retarget = match &spec.retag {
        Some(new_ref) => match Retarget::prepare(journal, unit, image, new_ref) {
            Ok(r) => Some(r),
            Err(refused) => return refused,
        },
        None => None,
    };
    let retarget = retarget.as_ref();
    // 1. What runs now.
    let current = match host.unit_containers(unit) {
        Ok(list) => list.into_iter().find(|c| c.state == "running"),
        Err(e) => return journal.fail_step(unit, "inspect", e, TaskStatus::Failed, "inspect_failed"),
    };
    journal.flush(Some(unit), "inspect");
    let previous = match &current {
        Some(c) => match host.container_image(&c.id) {
            Ok(img) => Some(img),
            Err(e) => return journal.fail_step(unit, "inspect", e, TaskStatus::Failed, "inspect_failed"),
        },
        None => None,
    };
    journal.flush(Some(unit), "inspect");
    let from_digest = previous
        .as_ref()
        .map(|p| p.image_digest.clone())
        .filter(|d| !d.is_empty());
    // `run_ref` is the tag the unit runs, which recovery and a rollback point back at the
    // previous image; `tag_ref` the one the pulled image gets: the same, except that with
    // `retag` it is the new tag, and the old one is never moved.
    let run_ref = image.to_string();
    let tag_ref = retarget.map_or_else(|| run_ref.clone(), |r| r.new_ref.clone());
    journal.update(
        unit,
        &UnitUpdate {
            from_digest: from_digest.as_deref(),
            image: Some(&run_ref),
            prev_image: previous.as_ref().map(|p| p.image_id.as_str()),
            ..Default::default()
        },
    );
    let before = previous.as_ref().map(|p| Before {
        image_id: p.image_id.clone(),
        name: from_digest.clone().unwrap_or_else(|| p.image_id.clone()),
    });
    match &before {
        Some(b) => journal.info(
            "inspect",
            Some(unit),
            &format!("runs image '{}' ({})", b.image_id, b.name),
        ),
        None => journal.warn(
            "inspect",
            Some(unit),
            "no running container for this unit: there is nothing to roll back to",
        ),
    }
    if journal.stop_requested() {
        return cancelled(&before, "nothing was changed");
    }

    // 2. Pull the target and point the unit's tag at it. A pull by tag moves the tag
    // itself, so its note comes first.
    journal.unit_phase(unit, "pull", UnitStatus::Running);
    let pulled = match &spec.digest {
        Some(d) => host
            .pull(&format!("{}@{d}", image.repository))
            .map(|id| (id, d.clone())),
        None => {
            note(journal, unit, Intent::Tag);
            host.pull(&tag_ref)
                .and_then(|id| host.image_digest(&id).map(|d| (id, d)))
        }
    };
    journal.flush(Some(unit), "pull");
    let (new_id, target_digest) = match pulled {
        Ok(p) => p,
        Err(e) => return journal.fail_step(unit, "pull", e, TaskStatus::Failed, "pull_failed"),
    };
    journal.update(
        unit,
        &UnitUpdate {
            to_digest: Some(&target_digest),
            target_image: Some(&new_id),
            ..Default::default()
        },
    );
    if spec.digest.is_some() {
        pause::at(journal, Point::Pulled);
        if journal.stop_requested() {
            return cancelled(&before, "the tag was not moved");
        }
        note(journal, unit, Intent::Tag);
        let tagged = host.tag(&new_id, &tag_ref);
        journal.flush(Some(unit), "pull");
        if let Err(e) = tagged {
            // The tag may or may not have moved: put it back, as a stop would.
            journal.error("pull", Some(unit), &e.to_string());
            return undo(
                host,
                journal,
                unit,
                &run_ref,
                retarget,
                &before,
                false,
                verify_secs,
                "tag_failed",
                &e.to_string(),
            );
        }
    }
    if before.as_ref().is_some_and(|b| b.image_id == new_id) {
        let mut m = format!("already runs {target_digest}");
        if let Some(r) = retarget {
            // The same image under the new tag: only the unit's file moves.
            if let Err(why) = r.apply(host, journal, unit) {
                journal.error("retag", Some(unit), &why);
                let back = r.revert(host, journal, unit, false).err();
                let m = format!("{why}{}", back.map(|b| format!("; then {b}")).unwrap_or_default());
                return UnitOutcome::new(TaskStatus::Failed, "retag_failed", m);
            }
            m = format!("moved {}; {m}", r.moves());
        }
        journal.info("pull", Some(unit), &m);
        return UnitOutcome::new(TaskStatus::Succeeded, "already_current", m);
    }
    pause::at(journal, Point::Tagged);
    if journal.stop_requested() {
        return undo(
            host,
            journal,
            unit,
            &run_ref,
            retarget,
            &before,
            false,
            verify_secs,
            "stopped",
            "stopped on request",
        );
    }

    if let Some(r) = retarget {
        if let Err(why) = r.apply(host, journal, unit) {
            journal.error("retag", Some(unit), &why);
            return undo(
                host,
                journal,
                unit,
                &run_ref,
                retarget,
                &before,
                false,
                verify_secs,
                "retag_failed",
                &why,
            );
        }
    }

    // 3 + 4. Restart and verify.
    note(journal, unit, Intent::Restart);
    pause::at(journal, Point::Restarting);
    if journal.stop_requested() {
        return undo(
            host,
            journal,
            unit,
            &run_ref,
            retarget,
            &before,
            false,
            verify_secs,
            "stopped",
            "stopped on request",
        );
    }
    journal.unit_phase(unit, "restart", UnitStatus::Running);
    let restarted = host.restart(unit);
    journal.flush(Some(unit), "restart");
    let verdict = match restarted {
        Ok(_) => {
            journal.unit_phase(unit, "verify", UnitStatus::Running);
            pause::at(journal, Point::Verifying);
            verify(host, journal, unit, Some(&new_id), verify_secs, OnStop::End)
        }
        Err(e) => Err(format!("the restart failed: {e}")),
    };
    journal.flush(Some(unit), "verify");
    if journal.stop_requested() {
        return undo(
            host,
            journal,
            unit,
            &run_ref,
            retarget,
            &before,
            true,
            verify_secs,
            "stopped",
            "stopped on request",
        );
    }
    let why = match verdict {
        Ok(()) => {
            journal.info(
                "verify",
                Some(unit),
                &format!("active for {verify_secs} s on {target_digest}"),
            );
            cleanup(
                host,
                journal,
                unit,
                before.as_ref().map(|b| b.image_id.as_str()),
                &new_id,
            );
            let moved = retarget.map(|r| format!("moved {}; ", r.moves())).unwrap_or_default();
            return UnitOutcome::new(TaskStatus::Succeeded, "ok", format!("{moved}runs {target_digest}"));
        }
        Err(why) => why,
    };
    journal.error("verify", Some(unit), &why);

    // 5. Roll back.
    undo(
        host,
        journal,
        unit,
        &run_ref,
        retarget,
        &before,
        true,
        verify_secs,
        "verify_failed",
        &why,
    )
}

/// The stop outcome when nothing needed undoing: the previous image still runs.
fn cancelled(before: &Option<Before>, what: &str) -> UnitOutcome {
    let runs = match before {
        Some(b) => format!("{} still runs", b.name),
        None => "no container ran before and none was started".into(),
    };
    UnitOutcome::new(
        TaskStatus::Cancelled,
        "stopped",
        format!("stopped on request; {what}: {runs}"),
    )
}

/// Puts the unit back on the image it ran before: its image file when `retarget` wrote
/// it, the tag, and when `restarted` the container too. `reason` says why: `stopped` (a
/// stop request: the task ends `cancelled`), `verify_failed` (`rolled_back`), or a
/// failed step (`failed`).
#[allow(clippy::too_many_arguments)]
fn undo(
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
                "verify_failed" => TaskStatus::RolledBack,
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
fn cleanup(host: &Host, journal: &Journal<'_>, unit: &str, previous: Option<&str>, new_id: &str) {
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
