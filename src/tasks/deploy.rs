//! One unit's verified deploy: record what runs, pull the target (by digest when
//! known) and point the unit's tag at it, restart, verify that the unit stays
//! active on the target, and roll back to the previous image when it does not.

use super::journal::Journal;
use super::lifecycle::UnitOutcome;
use crate::host::podman::Health;
use crate::host::{Host, HostError};
use crate::model::{TaskStatus, UnitSpec, UnitStatus};
use crate::services::ImageRef;
use crate::store::tasks::UnitUpdate;
use std::time::{Duration, Instant};

/// How long a restarted unit may take to become active.
const START_TIMEOUT_SECS: u64 = 60;
/// How often the unit's state is read while verifying.
const VERIFY_POLL_MS: u64 = 250;

/// Why verification failed, in one sentence.
type Verdict = Result<(), String>;

/// Deploys `spec` (with its image resolved) to its unit.
pub fn deploy(host: &Host, journal: &Journal<'_>, spec: &UnitSpec, image: &ImageRef, verify_secs: u64) -> UnitOutcome {
    let unit = spec.unit.as_str();
    journal.unit_phase(unit, "inspect", UnitStatus::Running);
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
    journal.update(
        unit,
        &UnitUpdate {
            from_digest: from_digest.as_deref(),
            image: Some(&image.to_string()),
            ..Default::default()
        },
    );
    match &previous {
        Some(p) => journal.info(
            "inspect",
            Some(unit),
            &format!(
                "runs image '{}' ({})",
                p.image_id,
                from_digest.as_deref().unwrap_or("no digest")
            ),
        ),
        None => journal.warn(
            "inspect",
            Some(unit),
            "no running container for this unit: there is nothing to roll back to",
        ),
    }
    if journal.stop_requested() {
        return cancelled();
    }

    // 2. Pull the target and point the unit's tag at it.
    journal.unit_phase(unit, "pull", UnitStatus::Running);
    let tag_ref = image.to_string();
    let pulled = match &spec.digest {
        Some(d) => host
            .pull(&format!("{}@{d}", image.repository))
            .and_then(|id| host.tag(&id, &tag_ref).map(|()| (id, d.clone()))),
        None => host
            .pull(&tag_ref)
            .and_then(|id| host.image_digest(&id).map(|d| (id, d))),
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
            ..Default::default()
        },
    );
    if previous.as_ref().is_some_and(|p| p.image_id == new_id) {
        let m = format!("already runs {target_digest}");
        journal.info("pull", Some(unit), &m);
        return UnitOutcome::new(TaskStatus::Succeeded, "already_current", m);
    }
    if journal.stop_requested() {
        return cancelled();
    }

    // 3 + 4. Restart and verify.
    journal.unit_phase(unit, "restart", UnitStatus::Running);
    let restarted = host.restart(unit);
    journal.flush(Some(unit), "restart");
    let verdict = match restarted {
        Ok(_) => {
            journal.unit_phase(unit, "verify", UnitStatus::Running);
            verify(host, journal, unit, Some(&new_id), verify_secs)
        }
        Err(e) => Err(format!("the restart failed: {e}")),
    };
    journal.flush(Some(unit), "verify");
    if journal.stop_requested() {
        return cancelled();
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
                previous.as_ref().map(|p| p.image_id.as_str()),
                &new_id,
            );
            return UnitOutcome::new(TaskStatus::Succeeded, "ok", format!("runs {target_digest}"));
        }
        Err(why) => why,
    };
    journal.error("verify", Some(unit), &why);

    // 5. Roll back.
    let Some(prev) = previous else {
        diagnose(host, journal, unit);
        return UnitOutcome::new(
            TaskStatus::Failed,
            "verify_failed",
            format!("{why}; no previous image to roll back to"),
        );
    };
    journal.unit_phase(unit, "rollback", UnitStatus::Running);
    // The failed restart and the manager's own retries (`Restart=on-failure`) may have
    // used up the unit's start limit: a rollback refused with "start of the service was
    // attempted too often" would leave it down. Resetting it is best effort: if it
    // fails, the restart says why.
    let back = host.tag(&prev.image_id, &tag_ref).and_then(|()| {
        let _ = host.reset_failed(unit);
        host.restart(unit).map(|_| ())
    });
    journal.flush(Some(unit), "rollback");
    let back = match back {
        Ok(()) => verify(host, journal, unit, Some(&prev.image_id), verify_secs),
        Err(e) => Err(format!("the rollback failed: {e}")),
    };
    journal.flush(Some(unit), "rollback");
    match back {
        Ok(()) => {
            let m = format!(
                "{why}; rolled back to {}",
                from_digest.as_deref().unwrap_or(&prev.image_id)
            );
            journal.warn("rollback", Some(unit), &m);
            UnitOutcome::new(TaskStatus::RolledBack, "verify_failed", m)
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

fn cancelled() -> UnitOutcome {
    UnitOutcome::new(TaskStatus::Cancelled, "stopped", "stopped on request")
}

/// The unit must become active, then stay active (same invocation, no restart) for
/// `verify_secs`, and its container must run `image_id` when one is given.
/// (podman's own auto-update counts a container that exits a second after its
/// start as updated; this check does not.)
pub fn verify(host: &Host, journal: &Journal<'_>, unit: &str, image_id: Option<&str>, verify_secs: u64) -> Verdict {
    let poll = Duration::from_millis(VERIFY_POLL_MS);
    let start = Instant::now();
    let first = loop {
        let state = host.unit_state(unit).map_err(|e| e.to_string())?;
        if state.is_active() {
            break state;
        }
        if matches!(state.active_state.as_str(), "failed" | "inactive") && start.elapsed() > Duration::from_secs(2) {
            return Err(format!(
                "the unit is {} ({}) after the restart",
                state.active_state, state.result
            ));
        }
        if start.elapsed() > Duration::from_secs(START_TIMEOUT_SECS) || journal.stop_requested() {
            return Err(format!(
                "the unit did not become active within {START_TIMEOUT_SECS} s ({})",
                state.active_state
            ));
        }
        std::thread::sleep(poll);
    };
    let active_since = Instant::now();
    while active_since.elapsed() < Duration::from_secs(verify_secs) {
        if journal.stop_requested() {
            return Err("stopped on request during verification".into());
        }
        std::thread::sleep(poll);
        let now = host.unit_state(unit).map_err(|e| e.to_string())?;
        if !now.is_active() || now.invocation_id != first.invocation_id || now.n_restarts != first.n_restarts {
            let secs = active_since.elapsed().as_secs_f64();
            return Err(format!(
                "the unit stopped being active {secs:.1} s after the restart ({}, {})",
                now.active_state, now.result
            ));
        }
    }
    let Some(image_id) = image_id else { return Ok(()) };
    let running = host.unit_containers(unit).map_err(|e| e.to_string())?;
    let Some(c) = running.into_iter().find(|c| c.state == "running") else {
        return Err("the unit is active but runs no container".into());
    };
    if c.image_id != image_id {
        return Err(format!(
            "the unit's container runs image '{}', not the target '{image_id}'",
            c.image_id
        ));
    }
    // A container with a health check counts only once the check says healthy: active and
    // running is what `podman auto-update` settles for, and it is not enough.
    match host.container_health(&c.id).map_err(|e| e.to_string())? {
        Health::None => Ok(()),
        Health::Healthy => {
            journal.info("verify", Some(unit), "the health check reports 'healthy'");
            Ok(())
        }
        other => Err(format!(
            "the health check reports '{}', not 'healthy', {:.1} s after the restart",
            other.as_str(),
            start.elapsed().as_secs_f64()
        )),
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

/// Puts `systemctl status` and the journal tail of the unit into the task log.
fn diagnose(host: &Host, journal: &Journal<'_>, unit: &str) {
    let status = host.status_text(unit).unwrap_or_else(|e: HostError| e.to_string());
    journal.error("diagnose", Some(unit), &format!("systemctl status:\n{status}"));
    let tail = host.journal_tail(unit, 30).unwrap_or_else(|e: HostError| e.to_string());
    journal.error("diagnose", Some(unit), &format!("last journal lines:\n{tail}"));
    journal.flush(Some(unit), "diagnose");
}
