//! Facts the panel's overview shows about the host: whether podman answers (and its
//! version), and when a timer fires next. Read-only queries; the argument lists come
//! from pure functions like the rest of `host`.

use super::probe::{PROBE_TIMEOUT, Probed, Probes};
use super::{Host, HostError, Scope, check_operand};
use std::collections::BTreeMap;
use std::time::Duration;

/// `podman --version`, not `podman version`: the latter opens podman's storage, which
/// podup.service sees read-only (ProtectSystem=strict), so it fails there.
pub fn podman_version_args() -> Vec<String> {
    vec!["--version".to_string()]
}

/// The version out of `podman --version` (`podman version 4.3.1`).
pub fn parse_podman_version(text: &str) -> String {
    let line = text.trim();
    line.rsplit(' ').next().unwrap_or(line).to_string()
}

/// `systemctl [--user] show --property=LoadState,ActiveState,NextElapseUSecRealtime UNIT`
pub fn timer_show_argv(scope: Scope, unit: &str) -> Vec<String> {
    let mut argv = match scope {
        Scope::System => Vec::new(),
        Scope::User => vec!["--user".to_string()],
    };
    argv.extend([
        "show".to_string(),
        "--property=LoadState,ActiveState,NextElapseUSecRealtime".to_string(),
        unit.to_string(),
    ]);
    argv
}

/// A timer as `systemctl show` describes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimerInfo {
    pub load_state: String,
    pub active_state: String,
    /// systemd's own rendering (`Thu 2025-11-27 00:03:12 UTC`); empty when it will not fire.
    pub next_elapse: String,
}

/// Reads the `K=V` lines of `timer_show_argv`.
pub fn parse_timer(text: &str) -> TimerInfo {
    let props: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let get = |k: &str| props.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    TimerInfo {
        load_state: get("LoadState"),
        active_state: get("ActiveState"),
        next_elapse: get("NextElapseUSecRealtime"),
    }
}

/// The answers request handlers share (`probe`), by program and unit.
static PODMAN_VERSIONS: Probes<String> = Probes::new();
static TIMERS: Probes<TimerInfo> = Probes::new();

impl Host {
    /// podman's client version: proof that podman runs at all.
    fn podman_version_within(&self, timeout: Duration) -> Result<String, HostError> {
        let record = self.run_for(&self.programs.podman, &podman_version_args(), timeout)?;
        Ok(parse_podman_version(&record.stdout))
    }

    /// The timer's state and next run.
    fn timer_info_within(&self, unit: &str, timeout: Duration) -> Result<TimerInfo, HostError> {
        check_operand("unit", unit)?;
        let record = self.run_for(&self.programs.systemctl, &timer_show_argv(self.scope, unit), timeout)?;
        Ok(parse_timer(&record.stdout))
    }

    /// `podman --version` for a request handler: shared, with a short deadline (`probe`).
    pub fn podman_version_probe(&self) -> Probed<String> {
        PODMAN_VERSIONS.get(&self.programs.podman, || self.podman_version_within(PROBE_TIMEOUT))
    }

    /// `systemctl show` of a timer for a request handler: shared, with a short deadline (`probe`).
    pub fn timer_info_probe(&self, unit: &str) -> Probed<TimerInfo> {
        let key = format!("{} {:?} {unit}", self.programs.systemctl, self.scope);
        TIMERS.get(&key, || self.timer_info_within(unit, PROBE_TIMEOUT))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_version_reads_the_last_word() {
        assert_eq!(podman_version_args(), vec!["--version"]);
        assert_eq!(parse_podman_version("podman version 4.3.1\n"), "4.3.1");
        assert_eq!(parse_podman_version("4.3.1"), "4.3.1");
    }

    #[test]
    fn timer_argv_and_parse() {
        assert_eq!(
            timer_show_argv(Scope::User, "podup-auto-update.timer"),
            vec![
                "--user",
                "show",
                "--property=LoadState,ActiveState,NextElapseUSecRealtime",
                "podup-auto-update.timer"
            ]
        );
        let t =
            parse_timer("LoadState=loaded\nActiveState=active\nNextElapseUSecRealtime=Thu 2025-11-27 00:03:12 UTC\n");
        assert_eq!(t.next_elapse, "Thu 2025-11-27 00:03:12 UTC");
        let gone = parse_timer("LoadState=not-found\nActiveState=inactive\nNextElapseUSecRealtime=\n");
        assert_eq!((gone.load_state.as_str(), gone.next_elapse.as_str()), ("not-found", ""));
    }
}
