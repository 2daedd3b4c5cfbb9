//! The only place that runs `systemctl`, `systemd-run`, `podman` and `journalctl`.
//!
//! A [`Host`] runs each command with no stdin, a scrubbed environment and a deadline
//! (`exec`), keeps a [`CommandRecord`] of it for the task log, and turns every failure into
//! a [`HostError`] with a stable `kind`. What the tools print is read by pure parsers in the
//! submodules, tested against output captured from podman 4.3.1 and systemd 252 in
//! `tests/fixtures/podman/`. Deciding what to run and when (pull, restart, verify, roll back)
//! is the task engine's business; reading `PODUP_*` configuration is `config`'s.

pub mod auto_update;
pub mod dirs;
mod exec;
#[cfg(test)]
mod fakes;
pub mod info;
pub mod podman;
pub mod probe;
pub mod quadlet;
mod simulated;
pub mod systemd;
pub mod unit_file;

pub use crate::model::Scope;
pub use simulated::{Simulated, SimulatedRun, Simulator};
use std::cell::RefCell;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::time::{Duration, Instant};

/// The programs to run: bare names are looked up on the child's PATH, paths are used as given.
#[derive(Debug, Clone, PartialEq)]
pub struct Programs {
    pub systemctl: String,
    pub systemd_run: String,
    pub podman: String,
    pub journalctl: String,
}

impl Default for Programs {
    fn default() -> Programs {
        Programs {
            systemctl: "systemctl".into(),
            systemd_run: "systemd-run".into(),
            podman: "podman".into(),
            journalctl: "journalctl".into(),
        }
    }
}

/// One command as it ran, for the task log.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandRecord {
    /// Program and arguments; `--setenv=` values of secret-looking variables are redacted.
    pub argv: Vec<String>,
    /// Exit status; `None` when the command was killed by a signal or never started.
    pub status: Option<i32>,
    pub stdout: String,
    /// The last `exec::STDERR_EXCERPT_BYTES` (2 KiB) of stderr.
    pub stderr: String,
    pub duration_ms: u64,
}

impl CommandRecord {
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
}

/// A command that could not run, failed, timed out or printed something unreadable.
#[derive(Debug, Clone, PartialEq)]
pub struct HostError {
    /// Stable tag: `command_missing`, `command_failed`, `command_timeout`,
    /// `unexpected_output`, `invalid_argument` or `unit_file_unreadable`.
    pub kind: &'static str,
    /// One sentence naming the command, its exit status and the end of its stderr.
    pub message: String,
    /// The command as it ran (boxed: errors travel by value through every `?`).
    pub record: Option<Box<CommandRecord>>,
}

impl HostError {
    fn invalid(what: &str, value: &str, why: &str) -> HostError {
        HostError {
            kind: "invalid_argument",
            message: format!("refusing {what} '{}': {why}", value.escape_debug()),
            record: None,
        }
    }

    /// The command ran but exited non-zero (or was killed).
    fn failed(record: CommandRecord) -> HostError {
        let how = match record.status {
            Some(code) => format!("exited with status {code}"),
            None => "was killed by a signal".to_string(),
        };
        let message = format!(
            "'{}' {how}: {}",
            describe(&record.argv),
            one_line(&record.stderr, "no output on stderr")
        );
        HostError {
            kind: "command_failed",
            message,
            record: Some(Box::new(record)),
        }
    }

    /// The command printed something podup cannot read.
    fn unexpected(record: CommandRecord, error: ParseError) -> HostError {
        HostError {
            kind: "unexpected_output",
            message: format!("'{}' printed output podup cannot read: {error}", describe(&record.argv)),
            record: Some(Box::new(record)),
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HostError {}

/// What a pure parser found wrong with a tool's output.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

/// Runs host commands and remembers each one until `drain_records`.
#[derive(Debug)]
pub struct Host {
    pub scope: Scope,
    pub programs: Programs,
    /// The children's environment: the process's, scrubbed once at construction.
    env: Vec<(OsString, OsString)>,
    records: RefCell<Vec<CommandRecord>>,
    /// `podup demo` only: answers commands instead of running them (`simulated`).
    simulator: Option<Simulated>,
}

impl Host {
    /// A host whose commands inherit this process's environment, minus what must not leak.
    pub fn new(scope: Scope, programs: Programs) -> Host {
        Host::with_env(scope, programs, std::env::vars_os())
    }

    /// A host whose commands see `env` (scrubbed the same way); tests pass their own.
    pub fn with_env(scope: Scope, programs: Programs, env: impl IntoIterator<Item = (OsString, OsString)>) -> Host {
        Host {
            scope,
            programs,
            env: exec::child_env(env),
            records: RefCell::new(Vec::new()),
            simulator: None,
        }
    }

    /// A host whose commands are answered by `simulator` (`podup demo`'s simulated
    /// units and images); nothing is run.
    pub fn simulated(scope: Scope, simulator: Simulated) -> Host {
        Host {
            scope,
            programs: Programs::default(),
            env: Vec::new(),
            records: RefCell::new(Vec::new()),
            simulator: Some(simulator),
        }
    }

    fn keep(&self, record: CommandRecord) -> CommandRecord {
        self.records.borrow_mut().push(record.clone());
        record
    }

    /// Every command run since the last call, for the task log.
    pub fn drain_records(&self) -> Vec<CommandRecord> {
        std::mem::take(&mut *self.records.borrow_mut())
    }

    /// `run_for` with a generous deadline, for the tests of this module.
    #[cfg(test)]
    fn run(&self, program: &str, args: &[String]) -> Result<CommandRecord, HostError> {
        self.run_for(program, args, Duration::from_secs(300))
    }

    /// Runs `program` with a deadline of `timeout`; a non-zero exit is a `command_failed` error.
    fn run_for(&self, program: &str, args: &[String], timeout: Duration) -> Result<CommandRecord, HostError> {
        let record = self.exec(program, args, timeout)?;
        if record.success() {
            Ok(record)
        } else {
            Err(HostError::failed(record))
        }
    }

    /// Runs `program` and returns its record whatever its exit status; errors only when it
    /// could not be started or ran past `timeout` (then its process group is killed).
    fn exec(&self, program: &str, args: &[String], timeout: Duration) -> Result<CommandRecord, HostError> {
        let mut argv = Vec::with_capacity(args.len() + 1);
        argv.push(program.to_string());
        argv.extend(args.iter().cloned());
        let argv = redact(argv);
        log::debug!("running '{}'", describe(&argv));
        if let Some(sim) = &self.simulator {
            return Ok(self.keep(simulated::answer(sim.as_ref(), argv)));
        }
        let started = Instant::now();
        let path_var = self.env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.as_os_str());
        let outcome = exec::find_program(program, path_var)
            .map_err(|why| ("command_missing", why))
            .and_then(|path| exec::execute(&path, args, &self.env, timeout).map_err(|why| ("command_failed", why)));
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err((kind, why)) => {
                let record = CommandRecord {
                    argv,
                    status: None,
                    stdout: String::new(),
                    stderr: why.clone(),
                    duration_ms: started.elapsed().as_millis() as u64,
                };
                self.records.borrow_mut().push(record.clone());
                return Err(HostError {
                    kind,
                    message: why,
                    record: Some(Box::new(record)),
                });
            }
        };
        let record = CommandRecord {
            argv,
            status: outcome.status,
            stdout: String::from_utf8_lossy(&outcome.stdout).into_owned(),
            stderr: exec::excerpt_tail(&outcome.stderr, exec::STDERR_EXCERPT_BYTES),
            duration_ms: outcome.duration.as_millis() as u64,
        };
        self.records.borrow_mut().push(record.clone());
        if outcome.timed_out {
            return Err(HostError {
                kind: "command_timeout",
                message: format!(
                    "'{}' did not finish within {} s and was killed: {}",
                    describe(&record.argv),
                    timeout.as_secs_f64(),
                    one_line(&record.stderr, "no output on stderr")
                ),
                record: Some(Box::new(record)),
            });
        }
        Ok(record)
    }
}

/// Refuses an operand (unit, image, container id, signal) that the program would read as an
/// option, or that holds whitespace or control characters no such name has.
fn check_operand(what: &str, value: &str) -> Result<(), HostError> {
    if value.is_empty() {
        return Err(HostError::invalid(what, value, "it is empty"));
    }
    if value.starts_with('-') {
        return Err(HostError::invalid(
            what,
            value,
            "it starts with '-' and would be read as an option",
        ));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(HostError::invalid(
            what,
            value,
            "it contains whitespace or control characters",
        ));
    }
    Ok(())
}

/// True for variable names that look like they hold a credential.
pub fn is_secret_name(name: &OsStr) -> bool {
    let upper = name.to_string_lossy().to_ascii_uppercase();
    ["SECRET", "TOKEN", "PASSWORD"].iter().any(|m| upper.contains(m))
}

/// Hides the values of `--setenv=NAME=VALUE` arguments whose NAME looks secret.
fn redact(argv: Vec<String>) -> Vec<String> {
    argv.into_iter()
        .map(
            |arg| match arg.strip_prefix("--setenv=").and_then(|kv| kv.split_once('=')) {
                Some((name, _)) if is_secret_name(OsStr::new(name)) => format!("--setenv={name}=(redacted)"),
                _ => arg,
            },
        )
        .collect()
}

/// The command line for messages: arguments joined by spaces, cut at 160 characters.
fn describe(argv: &[String]) -> String {
    const MAX_CHARS: usize = 160;
    let line = argv.join(" ");
    match line.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line,
    }
}

/// Text for a one-sentence message: lines joined with "; ", the last 300 characters kept.
fn one_line(text: &str, empty: &str) -> String {
    const MAX_CHARS: usize = 300;
    let joined = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if joined.is_empty() {
        return empty.to_string();
    }
    let count = joined.chars().count();
    if count <= MAX_CHARS {
        return joined;
    }
    let skip = joined.char_indices().nth(count - MAX_CHARS).map_or(0, |(i, _)| i);
    format!("...{}", &joined[skip..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operands_that_look_like_options_are_refused() {
        assert!(check_operand("unit", "app.service").is_ok());
        assert!(check_operand("image", "localhost:5000/podup/app@sha256:abc").is_ok());
        for bad in ["", "--user", "-x", "two words", "line\nbreak"] {
            let e = check_operand("unit", bad).unwrap_err();
            assert_eq!(e.kind, "invalid_argument", "{bad:?}");
            assert!(e.message.starts_with("refusing unit '"), "{e}");
        }
    }

    #[test]
    fn secret_setenv_values_are_redacted_in_records() {
        let argv = redact(vec![
            "systemd-run".into(),
            "--setenv=PODUP_TASK_ID=7".into(),
            "--setenv=REGISTRY_token=hunter2".into(),
            "--setenv=DB_PASSWORD=a=b".into(),
        ]);
        assert_eq!(argv[1], "--setenv=PODUP_TASK_ID=7");
        assert_eq!(argv[2], "--setenv=REGISTRY_token=(redacted)");
        assert_eq!(argv[3], "--setenv=DB_PASSWORD=(redacted)");
    }

    #[test]
    fn failure_message_is_one_sentence_with_program_status_and_stderr() {
        let record = CommandRecord {
            argv: vec!["podman".into(), "pull".into(), "-q".into(), "x/y:1".into()],
            status: Some(125),
            stdout: String::new(),
            stderr: "Trying to pull x/y:1...\nError: initializing source docker://x/y:1: manifest unknown\n".into(),
            duration_ms: 5,
        };
        let e = HostError::failed(record);
        assert_eq!(e.kind, "command_failed");
        assert_eq!(
            e.to_string(),
            "'podman pull -q x/y:1' exited with status 125: Trying to pull x/y:1...; \
             Error: initializing source docker://x/y:1: manifest unknown"
        );
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn long_text_is_cut_from_the_front_for_messages() {
        let long = format!("{}END", "x".repeat(1000));
        let line = one_line(&long, "-");
        assert!(line.starts_with("...") && line.ends_with("END"), "{line}");
        assert_eq!(line.chars().count(), 303);
        assert_eq!(one_line(" \n ", "nothing"), "nothing");
        assert!(describe(&["a".repeat(500)]).ends_with("..."));
    }
}
