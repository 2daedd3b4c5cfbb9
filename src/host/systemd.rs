//! systemd through its command-line clients: start a transient unit with `systemd-run`, read
//! a unit's state with `systemctl show`, restart, stop or signal it, and fetch its status text
//! and journal tail for the task log. The argument lists come from pure `*_argv` functions and
//! `systemctl show` output is read by the pure `parse_show`. In `Scope::User` every call
//! carries `--user` (for `journalctl --user -u`, that means the user manager's unit).

use super::{CommandRecord, Host, HostError, ParseError, Scope, check_operand};
use std::collections::BTreeMap;
use std::time::Duration;

/// The properties `unit_state` asks for.
pub const SHOW_PROPERTIES: &str =
    "LoadState,ActiveState,SubState,Result,MainPID,NRestarts,InvocationID,ActiveEnterTimestampMonotonic";
/// Queries (show, status, is-enabled, journal) answer at once or something is wrong.
const QUERY_TIMEOUT_SECS: u64 = 30;
/// restart and stop wait for the job: a container unit's stop and start timeouts (62 s + 90 s
/// in generated units, more with a pull on start) fit inside this.
const JOB_TIMEOUT_SECS: u64 = 300;

fn base(scope: Scope) -> Vec<String> {
    match scope {
        Scope::System => Vec::new(),
        Scope::User => vec!["--user".to_string()],
    }
}

/// `systemd-run [--user] --unit=U --collect --no-block --quiet --description=D
/// --property=P ... --setenv=K=V ... COMMAND...` (arguments after the program).
pub fn systemd_run_argv(
    scope: Scope,
    unit: &str,
    description: &str,
    properties: &[String],
    setenv: &[(String, String)],
    command: &[String],
) -> Vec<String> {
    let mut argv = base(scope);
    argv.push(format!("--unit={unit}"));
    argv.extend(["--collect", "--no-block", "--quiet"].map(String::from));
    argv.push(format!("--description={description}"));
    argv.extend(properties.iter().map(|p| format!("--property={p}")));
    // An empty value passes the variable on from systemd-run's own environment.
    argv.extend(setenv.iter().map(|(k, v)| match v.is_empty() {
        true => format!("--setenv={k}"),
        false => format!("--setenv={k}={v}"),
    }));
    argv.extend(command.iter().cloned());
    argv
}

/// `--on-calendar=` for the second `at_ms` falls in (rounded up, so it never fires early).
pub fn on_calendar(at_ms: i64) -> String {
    let secs = at_ms.div_euclid(1000) + i64::from(at_ms.rem_euclid(1000) > 0);
    format!("--on-calendar={}", crate::clock::format_utc(secs * 1000))
}

/// `systemctl [--user] show --property=SHOW_PROPERTIES UNIT`
pub fn show_argv(scope: Scope, unit: &str) -> Vec<String> {
    let mut argv = base(scope);
    argv.extend([
        "show".to_string(),
        format!("--property={SHOW_PROPERTIES}"),
        unit.to_string(),
    ]);
    argv
}

/// `systemctl [--user] VERB UNIT` for restart, stop and is-enabled.
pub fn systemctl_argv(scope: Scope, verb: &str, unit: &str) -> Vec<String> {
    let mut argv = base(scope);
    argv.extend([verb.to_string(), unit.to_string()]);
    argv
}

/// `systemctl [--user] daemon-reload`
pub fn daemon_reload_argv(scope: Scope) -> Vec<String> {
    let mut argv = base(scope);
    argv.push("daemon-reload".to_string());
    argv
}

/// `systemctl [--user] kill --signal=SIGNAL UNIT`
pub fn kill_argv(scope: Scope, unit: &str, signal: &str) -> Vec<String> {
    let mut argv = base(scope);
    argv.extend(["kill".to_string(), format!("--signal={signal}"), unit.to_string()]);
    argv
}

/// `systemctl [--user] status --no-pager --lines=0 UNIT`
pub fn status_argv(scope: Scope, unit: &str) -> Vec<String> {
    let mut argv = base(scope);
    argv.extend(["status", "--no-pager", "--lines=0", unit].map(String::from));
    argv
}

/// `journalctl [--user] -u UNIT -n LINES --no-pager -o short-iso`
pub fn journal_argv(scope: Scope, unit: &str, lines: u32) -> Vec<String> {
    let mut argv = base(scope);
    argv.extend(["-u".to_string(), unit.to_string(), "-n".to_string(), lines.to_string()]);
    argv.extend(["--no-pager", "-o", "short-iso"].map(String::from));
    argv
}

/// A unit as `systemctl show` reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UnitState {
    /// `loaded`, `not-found`, `bad-setting`, `error` or `masked`.
    pub load_state: String,
    /// `active`, `reloading`, `inactive`, `failed`, `activating` or `deactivating`.
    pub active_state: String,
    pub sub_state: String,
    /// `success`, or why the last run failed (`exit-code`, `signal`, `timeout`, ...).
    pub result: String,
    /// 0 when no main process runs.
    pub main_pid: u32,
    /// Automatic restarts since the unit was last started by a job (services only).
    pub n_restarts: u32,
    /// Changes with every start; empty when the unit never ran.
    pub invocation_id: String,
    /// CLOCK_MONOTONIC microseconds of the last entry into `active`; 0 when never active.
    pub active_enter_monotonic: u64,
}

impl UnitState {
    /// The manager has a unit file (or a transient definition) for it.
    pub fn exists(&self) -> bool {
        self.load_state == "loaded"
    }

    /// Running, as `systemctl is-active` counts it (`active` or `reloading`).
    pub fn is_active(&self) -> bool {
        self.active_state == "active" || self.active_state == "reloading"
    }
}

/// Reads `K=V` lines of `systemctl show`. The three state properties are required; the
/// numbers default to 0 when absent (`NRestarts` exists for services only).
pub fn parse_show(text: &str) -> Result<UnitState, ParseError> {
    let props: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let text_prop = |name: &str| -> Result<String, ParseError> {
        props
            .get(name)
            .map(|v| v.to_string())
            .ok_or_else(|| ParseError(format!("no {name}= line in systemctl show output")))
    };
    fn number<T: std::str::FromStr + Default>(props: &BTreeMap<&str, &str>, name: &str) -> Result<T, ParseError> {
        match props.get(name) {
            None | Some(&"") => Ok(T::default()),
            Some(v) => v
                .parse()
                .map_err(|_| ParseError(format!("{name} is not a whole number: '{v}'"))),
        }
    }
    Ok(UnitState {
        load_state: text_prop("LoadState")?,
        active_state: text_prop("ActiveState")?,
        sub_state: text_prop("SubState")?,
        result: props.get("Result").unwrap_or(&"").to_string(),
        main_pid: number(&props, "MainPID")?,
        n_restarts: number(&props, "NRestarts")?,
        invocation_id: props.get("InvocationID").unwrap_or(&"").to_string(),
        active_enter_monotonic: number(&props, "ActiveEnterTimestampMonotonic")?,
    })
}

/// What `systemctl is-enabled` said about a unit file.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitFileState {
    /// The word it printed: `enabled`, `disabled`, `static`, `generated`, `transient`, ...
    pub state: String,
    /// Its exit status was 0 (enabled, enabled-runtime, static, alias, indirect, generated,
    /// transient): the unit starts without anyone enabling it.
    pub enabled: bool,
}

impl Host {
    /// Starts `command` as the transient unit `unit` with `properties` (`Name=value`) and
    /// returns without waiting for it.
    pub fn systemd_run(
        &self,
        unit: &str,
        description: &str,
        properties: &[String],
        setenv: &[(String, String)],
        command: &[String],
    ) -> Result<CommandRecord, HostError> {
        validate_run(unit, description, properties, setenv, command)?;
        let argv = systemd_run_argv(self.scope, unit, description, properties, setenv, command);
        self.run_systemd_run(argv)
    }

    /// `systemd_run`, started by a transient timer `delay_secs` from now (the timer
    /// takes the service's name with `.timer`; both go once they ran).
    pub fn systemd_run_after(
        &self,
        unit: &str,
        description: &str,
        delay_secs: u64,
        properties: &[String],
        setenv: &[(String, String)],
        command: &[String],
    ) -> Result<CommandRecord, HostError> {
        if delay_secs == 0 {
            return self.systemd_run(unit, description, properties, setenv, command);
        }
        let timer = format!("--on-active={delay_secs}s");
        self.systemd_run_timed(unit, description, timer, properties, setenv, command)
    }

    /// `systemd_run`, started by a transient timer at `at_ms` (epoch milliseconds, given
    /// to systemd as `--on-calendar=2026-12-07 20:00:00 UTC`): a scheduled task, listed by
    /// `systemctl list-timers` as `<unit>.timer` until it fires.
    pub fn systemd_run_at(
        &self,
        unit: &str,
        description: &str,
        at_ms: i64,
        properties: &[String],
        setenv: &[(String, String)],
        command: &[String],
    ) -> Result<CommandRecord, HostError> {
        let timer = on_calendar(at_ms);
        self.systemd_run_timed(unit, description, timer, properties, setenv, command)
    }

    fn systemd_run_timed(
        &self,
        unit: &str,
        description: &str,
        timer: String,
        properties: &[String],
        setenv: &[(String, String)],
        command: &[String],
    ) -> Result<CommandRecord, HostError> {
        validate_run(unit, description, properties, setenv, command)?;
        let mut argv = systemd_run_argv(self.scope, unit, description, properties, setenv, command);
        let at = argv.len() - command.len();
        argv.splice(
            at..at,
            [
                timer,
                "--timer-property=AccuracySec=1s".to_string(),
                "--timer-property=RemainAfterElapse=no".to_string(),
            ],
        );
        self.run_systemd_run(argv)
    }

    fn run_systemd_run(&self, argv: Vec<String>) -> Result<CommandRecord, HostError> {
        self.run_for(
            &self.programs.systemd_run,
            &argv,
            Duration::from_secs(QUERY_TIMEOUT_SECS),
        )
    }

    /// The unit's state; a unit the manager does not know is `load_state: "not-found"`.
    pub fn unit_state(&self, unit: &str) -> Result<UnitState, HostError> {
        check_operand("unit", unit)?;
        let argv = show_argv(self.scope, unit);
        let record = self.run_for(&self.programs.systemctl, &argv, Duration::from_secs(QUERY_TIMEOUT_SECS))?;
        parse_show(&record.stdout).map_err(|e| HostError::unexpected(record, e))
    }

    /// Restarts the unit and waits for the job; a failed start is a `command_failed` error.
    pub fn restart(&self, unit: &str) -> Result<CommandRecord, HostError> {
        self.job("restart", unit)
    }

    /// Restarts `units` in one job transaction (`systemctl restart A B`): systemd orders
    /// them by their `After=` and starts them together.
    pub fn restart_all(&self, units: &[&str]) -> Result<CommandRecord, HostError> {
        let mut argv = base(self.scope);
        argv.push("restart".into());
        for u in units {
            check_operand("unit", u)?;
            argv.push(u.to_string());
        }
        self.run_for(&self.programs.systemctl, &argv, Duration::from_secs(JOB_TIMEOUT_SECS))
    }

    /// Forgets the unit's failed state and its start rate limit (`StartLimitBurst=`
    /// within `StartLimitIntervalSec=`), so that a start is not refused because of the
    /// failed starts before it.
    pub fn reset_failed(&self, unit: &str) -> Result<CommandRecord, HostError> {
        check_operand("unit", unit)?;
        let argv = systemctl_argv(self.scope, "reset-failed", unit);
        self.run_for(&self.programs.systemctl, &argv, Duration::from_secs(QUERY_TIMEOUT_SECS))
    }

    /// Makes the manager read unit files again, running the generators (Quadlet writes its
    /// services anew from `.container` files and their drop-ins); waits until it has.
    pub fn daemon_reload(&self) -> Result<CommandRecord, HostError> {
        let argv = daemon_reload_argv(self.scope);
        self.run_for(&self.programs.systemctl, &argv, Duration::from_secs(JOB_TIMEOUT_SECS))
    }

    /// Stops the unit and waits for the job.
    pub fn stop(&self, unit: &str) -> Result<CommandRecord, HostError> {
        self.job("stop", unit)
    }

    fn job(&self, verb: &str, unit: &str) -> Result<CommandRecord, HostError> {
        check_operand("unit", unit)?;
        let argv = systemctl_argv(self.scope, verb, unit);
        self.run_for(&self.programs.systemctl, &argv, Duration::from_secs(JOB_TIMEOUT_SECS))
    }

    /// Sends `signal` (`SIGTERM`, `KILL`, `9`, ...) to every process of the unit.
    pub fn kill(&self, unit: &str, signal: &str) -> Result<CommandRecord, HostError> {
        check_operand("unit", unit)?;
        check_operand("signal", signal)?;
        let argv = kill_argv(self.scope, unit, signal);
        self.run_for(&self.programs.systemctl, &argv, Duration::from_secs(QUERY_TIMEOUT_SECS))
    }

    /// `systemctl status` text for the task log. Its exit status only says whether the unit
    /// runs (3 inactive, 4 unknown), so any status is fine: stdout, or stderr when stdout is empty.
    pub fn status_text(&self, unit: &str) -> Result<String, HostError> {
        check_operand("unit", unit)?;
        let argv = status_argv(self.scope, unit);
        let record = self.exec(&self.programs.systemctl, &argv, Duration::from_secs(QUERY_TIMEOUT_SECS))?;
        Ok(if record.stdout.trim().is_empty() {
            record.stderr
        } else {
            record.stdout
        })
    }

    /// The last `lines` journal lines of the unit. Hosts without journald print nothing.
    pub fn journal_tail(&self, unit: &str, lines: u32) -> Result<String, HostError> {
        check_operand("unit", unit)?;
        let argv = journal_argv(self.scope, unit, lines);
        let record = self.run_for(
            &self.programs.journalctl,
            &argv,
            Duration::from_secs(QUERY_TIMEOUT_SECS),
        )?;
        Ok(record.stdout)
    }

    /// Whether the unit file is enabled. A non-zero exit with a word on stdout is an answer
    /// (`disabled`, `masked`); without one (no such unit file) it is a `command_failed` error.
    pub fn is_enabled(&self, unit: &str) -> Result<UnitFileState, HostError> {
        check_operand("unit", unit)?;
        let argv = systemctl_argv(self.scope, "is-enabled", unit);
        let record = self.exec(&self.programs.systemctl, &argv, Duration::from_secs(QUERY_TIMEOUT_SECS))?;
        match record.stdout.lines().next().map(str::trim).filter(|w| !w.is_empty()) {
            Some(word) => Ok(UnitFileState {
                state: word.to_string(),
                enabled: record.success(),
            }),
            None => Err(HostError::failed(record)),
        }
    }
}

/// What `systemd-run` is given must be what it means: no control characters, properties
/// as `Name=value`, variable names that are names, a command that is not an option.
fn validate_run(
    unit: &str,
    description: &str,
    properties: &[String],
    setenv: &[(String, String)],
    command: &[String],
) -> Result<(), HostError> {
    check_operand("unit", unit)?;
    for (what, text) in
        std::iter::once(("description", description)).chain(properties.iter().map(|p| ("property", p.as_str())))
    {
        if text.chars().any(char::is_control) {
            return Err(HostError::invalid(what, text, "it contains control characters"));
        }
    }
    if let Some(p) = properties.iter().find(|p| !p.contains('=')) {
        return Err(HostError::invalid("property", p, "a property is Name=value"));
    }
    for (name, _) in setenv {
        let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(HostError::invalid(
                "variable name",
                name,
                "not a valid environment variable name",
            ));
        }
    }
    check_operand("command", command.first().map_or("", String::as_str))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn systemd_run_argv_is_exact_in_both_scopes() {
        let env = [
            ("PODUP_TASK_ID".to_string(), "42".to_string()),
            ("A".to_string(), "b c".to_string()),
        ];
        let cmd = strings("/usr/local/bin/podup run-task 42");
        let props = ["RuntimeMaxSec=900", "ReadWritePaths=\"-/var/lib/my podup\""].map(String::from);
        let system = systemd_run_argv(Scope::System, "podup-task-42", "podup task 42", &props, &env, &cmd);
        let mut expected = strings(
            "--unit=podup-task-42 --collect --no-block --quiet --description=podup%task%42 \
             --property=RuntimeMaxSec=900 --property=ReadWritePaths=\"-/var/lib/my%podup\" \
             --setenv=PODUP_TASK_ID=42 --setenv=A=b%c /usr/local/bin/podup run-task 42",
        );
        for arg in &mut expected {
            *arg = arg.replace('%', " ");
        }
        assert_eq!(system, expected);
        let user = systemd_run_argv(Scope::User, "podup-task-42", "podup task 42", &props, &env, &cmd);
        assert_eq!(user[0], "--user");
        assert_eq!(user[1..], expected[..]);
    }

    #[test]
    fn on_calendar_is_utc_and_never_early() {
        assert_eq!(on_calendar(1_796_673_600_000), "--on-calendar=2026-12-07 20:00:00 UTC");
        assert_eq!(on_calendar(1_796_673_600_001), "--on-calendar=2026-12-07 20:00:01 UTC");
        assert_eq!(on_calendar(0), "--on-calendar=1970-01-01 00:00:00 UTC");
    }

    #[test]
    fn systemctl_and_journalctl_argv() {
        assert_eq!(
            show_argv(Scope::User, "app.service"),
            vec![
                "--user".to_string(),
                "show".into(),
                "--property=LoadState,ActiveState,SubState,Result,MainPID,NRestarts,InvocationID,ActiveEnterTimestampMonotonic"
                    .into(),
                "app.service".into()
            ]
        );
        assert_eq!(
            systemctl_argv(Scope::System, "restart", "a.service"),
            strings("restart a.service")
        );
        assert_eq!(
            systemctl_argv(Scope::User, "is-enabled", "a.service"),
            strings("--user is-enabled a.service")
        );
        assert_eq!(daemon_reload_argv(Scope::User), strings("--user daemon-reload"));
        assert_eq!(daemon_reload_argv(Scope::System), strings("daemon-reload"));
        assert_eq!(
            kill_argv(Scope::User, "a.service", "SIGKILL"),
            strings("--user kill --signal=SIGKILL a.service")
        );
        assert_eq!(
            status_argv(Scope::System, "a.service"),
            strings("status --no-pager --lines=0 a.service")
        );
        assert_eq!(
            journal_argv(Scope::User, "a.service", 50),
            strings("--user -u a.service -n 50 --no-pager -o short-iso")
        );
        assert_eq!(journal_argv(Scope::System, "a.service", 5)[0], "-u");
    }

    // Captured from systemd 252 (tests/real bed): the order is systemd's, not the request's.
    const SHOW_ACTIVE: &str = "MainPID=30546\nResult=success\nNRestarts=0\nLoadState=loaded\n\
        ActiveState=active\nSubState=running\nActiveEnterTimestampMonotonic=1179911485\n\
        InvocationID=22413c56b4d54407993bad9ffba689db\n";
    const SHOW_MISSING: &str = "MainPID=0\nResult=success\nNRestarts=0\nLoadState=not-found\n\
        ActiveState=inactive\nSubState=dead\nActiveEnterTimestampMonotonic=0\nInvocationID=\n";

    #[test]
    fn parse_show_reads_a_running_unit() {
        let s = parse_show(SHOW_ACTIVE).unwrap();
        assert_eq!(
            s,
            UnitState {
                load_state: "loaded".into(),
                active_state: "active".into(),
                sub_state: "running".into(),
                result: "success".into(),
                main_pid: 30546,
                n_restarts: 0,
                invocation_id: "22413c56b4d54407993bad9ffba689db".into(),
                active_enter_monotonic: 1_179_911_485,
            }
        );
        assert!(s.exists() && s.is_active());
    }

    #[test]
    fn parse_show_reads_an_unknown_unit_as_not_found() {
        let s = parse_show(SHOW_MISSING).unwrap();
        assert!(!s.exists() && !s.is_active());
        assert_eq!((s.main_pid, s.invocation_id.as_str()), (0, ""));
    }

    #[test]
    fn parse_show_tolerates_missing_numbers_but_not_missing_states() {
        let socket = "LoadState=loaded\nActiveState=failed\nSubState=failed\nResult=exit-code\n";
        let s = parse_show(socket).unwrap();
        assert_eq!((s.n_restarts, s.main_pid, s.result.as_str()), (0, 0, "exit-code"));
        let e = parse_show("ActiveState=active\nSubState=running\n").unwrap_err();
        assert_eq!(e.0, "no LoadState= line in systemctl show output");
        let e = parse_show(&SHOW_ACTIVE.replace("MainPID=30546", "MainPID=x")).unwrap_err();
        assert_eq!(e.0, "MainPID is not a whole number: 'x'");
        assert!(parse_show("").is_err());
    }
}
