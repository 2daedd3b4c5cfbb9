//! The only place that runs `systemctl`, `systemd-run`, `podman` and `journalctl`.
//!
//! A [`Host`] runs each command with no stdin, a scrubbed environment and a deadline
//! (`exec`), keeps a [`CommandRecord`] of it for the task log, and turns every failure into
//! a [`HostError`] with a stable `kind`. What the tools print is read by pure parsers in the
//! submodules, tested against output captured from podman 4.3.1 and systemd 252 in
//! `tests/fixtures/podman/`. Deciding what to run and when (pull, restart, verify, roll back)
//! is the task engine's business; reading `PODUP_*` configuration is `config`'s.

pub mod auto_update;
mod backend;
pub mod deps;
pub mod dirs;
mod error;
mod exec;
#[cfg(test)]
mod fakes;
pub mod image_dropin;
pub mod info;
pub mod podman;
pub mod probe;
pub mod quadlet;
pub mod systemd;
pub mod unit_file;

pub use crate::model::Scope;
pub use backend::{Backend, Launcher, Runner, TaskUnit};
pub use error::{HostError, ParseError};
pub use exec::Outcome;
use std::cell::RefCell;
use std::ffi::{OsStr, OsString};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// Runs host commands and remembers each one until `drain_records`.
#[derive(Debug)]
pub struct Host {
    pub scope: Scope,
    pub programs: Programs,
    /// The children's environment: the process's, scrubbed once at construction.
    env: Vec<(OsString, OsString)>,
    records: RefCell<Vec<CommandRecord>>,
    backend: Backend,
    /// A stop flag of this host's own, besides the process's SIGTERM (`stopping`).
    stop: Option<Arc<AtomicBool>>,
    /// Variables only `systemd-run` sees, passed on by name (`--setenv=NAME`) so that
    /// their values appear in no command line (`passing`).
    pass_env: Vec<(OsString, OsString)>,
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
            backend: Backend::real(),
            stop: None,
            pass_env: Vec::new(),
        }
    }

    /// This host, with `vars` given to `systemd-run` alone: a transient unit gets them
    /// with `--setenv=NAME` (an empty value in `setenv`), their values stay off argv.
    pub fn passing(mut self, vars: &[(String, String)]) -> Host {
        self.pass_env = vars.iter().map(|(k, v)| (k.into(), v.into())).collect();
        self
    }

    /// This host with its commands run and its task workers launched by `backend`.
    pub fn on(mut self, backend: &Backend) -> Host {
        self.backend = backend.clone();
        self
    }

    /// This host, for a worker whose stop is also requested by setting `flag` (a
    /// thread's stand-in for its transient unit's SIGTERM).
    pub fn stopping(mut self, flag: Arc<AtomicBool>) -> Host {
        self.stop = Some(flag);
        self
    }

    /// A stop signal arrived, or this host's own stop flag was set.
    pub fn stop_requested(&self) -> bool {
        crate::sys::stop_requested() || self.stop.as_ref().is_some_and(|f| f.load(Ordering::SeqCst))
    }

    /// True when commands are answered by a simulation (`podup demo`), not run.
    pub fn simulated(&self) -> bool {
        self.backend.runner.simulated()
    }

    /// The simulated registry's answer for `reference` (`podup demo`); None for real hosts.
    pub fn simulated_registry(&self, reference: &str) -> Option<Result<String, (&'static str, String)>> {
        self.backend.runner.registry_digest(reference)
    }

    /// Launches the worker of `task` (a transient unit, unless the backend says otherwise).
    pub fn launch(&self, task: &TaskUnit<'_>) -> Result<(), String> {
        self.backend.launcher.launch(self, task)
    }

    fn keep(&self, record: &CommandRecord) {
        self.records.borrow_mut().push(record.clone());
    }

    /// Every command run since the last call, for the task log.
    pub fn drain_records(&self) -> Vec<CommandRecord> {
        std::mem::take(&mut *self.records.borrow_mut())
    }

    /// The same host, with records of its own: for a command on another thread, whose
    /// records come back with [`Host::adopt`].
    pub fn sibling(&self) -> Host {
        Host {
            scope: self.scope,
            programs: self.programs.clone(),
            env: self.env.clone(),
            records: RefCell::new(Vec::new()),
            backend: self.backend.clone(),
            stop: self.stop.clone(),
            pass_env: self.pass_env.clone(),
        }
    }

    /// Takes a sibling's records as this host's own, after those already here.
    pub fn adopt(&self, sibling: Host) {
        self.records.borrow_mut().extend(sibling.records.into_inner());
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
        let started = Instant::now();
        let passed;
        let env = if program == self.programs.systemd_run && !self.pass_env.is_empty() {
            passed = [self.env.clone(), self.pass_env.clone()].concat();
            &passed
        } else {
            &self.env
        };
        let outcome = match self.backend.runner.run(program, args, env, timeout) {
            Ok(outcome) => outcome,
            Err((kind, why)) => {
                let record = CommandRecord {
                    argv,
                    status: None,
                    stdout: String::new(),
                    stderr: why.clone(),
                    duration_ms: started.elapsed().as_millis() as u64,
                };
                self.keep(&record);
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
        self.keep(&record);
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
