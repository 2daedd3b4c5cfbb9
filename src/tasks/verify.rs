//! Verification: a restarted unit must become active, stay active on the image it
//! should run for the verification window, and report `healthy` when its container has
//! a health check.

use super::journal::Journal;
use crate::host::Host;
use crate::host::podman::Health;
use std::time::{Duration, Instant};

/// How long a restarted unit may take to become active.
pub const START_TIMEOUT_SECS: u64 = 60;
/// How often the unit's state is read while verifying.
const VERIFY_POLL_MS: u64 = 250;

/// Why verification failed, in one sentence.
pub type Verdict = Result<(), String>;

/// Whether a stop request ends a verification early.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OnStop {
    /// Yes: the deploy's own verification (a stop then rolls back).
    End,
    /// No: a rollback's or a recovery's, which must see its unit settled.
    Finish,
}

/// The unit must become active, then stay active (same invocation, no restart) for
/// `verify_secs`, and its container must run `image_id` when one is given.
/// (podman's own auto-update counts a container that exits a second after its
/// start as updated; this check does not.)
pub fn verify(
    host: &Host,
    journal: &Journal<'_>,
    unit: &str,
    image_id: Option<&str>,
    verify_secs: u64,
    on_stop: OnStop,
) -> Verdict {
    let stop = || on_stop == OnStop::End && journal.stop_requested();
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
        if start.elapsed() > Duration::from_secs(START_TIMEOUT_SECS) || stop() {
            return Err(format!(
                "the unit did not become active within {START_TIMEOUT_SECS} s ({})",
                state.active_state
            ));
        }
        std::thread::sleep(poll);
    };
    let active_since = Instant::now();
    while active_since.elapsed() < Duration::from_secs(verify_secs) {
        if stop() {
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
