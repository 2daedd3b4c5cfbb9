//! The two seams between podup and the machine it drives, each with one real
//! implementation here and one in `podup demo` (src/demo/), which nothing else builds:
//! how a command runs ([`Runner`]: [`Exec`] runs it; the demo answers it from its
//! simulated host) and how a task's worker is launched ([`Launcher`]: [`SystemdRun`]
//! starts a transient unit; the demo starts a thread that owns its stop flag).

use super::exec::{self, Outcome};
use super::{Host, HostError};
use std::ffi::OsString;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How commands run.
pub trait Runner: Send + Sync + fmt::Debug {
    /// Runs `program` with `args` and `env` (already scrubbed), killing it after `timeout`.
    /// `Err` is a `HostError` kind (`command_missing`, `command_failed`) and the sentence
    /// saying why the command could not run at all.
    fn run(
        &self,
        program: &str,
        args: &[String],
        env: &[(OsString, OsString)],
        timeout: Duration,
    ) -> Result<Outcome, (&'static str, String)>;

    /// True when commands are answered by a simulation, not run (the panel says so).
    fn simulated(&self) -> bool {
        false
    }

    /// A simulated registry's digest of `reference` (`repository:tag`), or why it has
    /// none (a reason code of docs/updates.md and a sentence); None: ask the real
    /// registry (every runner but the demo's).
    fn registry_digest(&self, _reference: &str) -> Option<Result<String, (&'static str, String)>> {
        None
    }
}

/// Runs commands for real: the program found on the child's PATH, with a deadline.
#[derive(Debug, Clone, Copy, Default)]
pub struct Exec;

impl Runner for Exec {
    fn run(
        &self,
        program: &str,
        args: &[String],
        env: &[(OsString, OsString)],
        timeout: Duration,
    ) -> Result<Outcome, (&'static str, String)> {
        let path_var = env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.as_os_str());
        let path = exec::find_program(program, path_var).map_err(|why| ("command_missing", why))?;
        exec::execute(&path, args, env, timeout).map_err(|why| ("command_failed", why))
    }
}

/// A task's worker to launch as transient unit `unit`: what `systemd-run` is given.
#[derive(Debug)]
pub struct TaskUnit<'a> {
    pub task_id: i64,
    pub unit: &'a str,
    pub description: &'a str,
    pub properties: &'a [String],
    pub setenv: &'a [(String, String)],
    /// `<podup> run-task <id> --db <path>`.
    pub command: &'a [String],
    /// The state database the worker opens.
    pub db: &'a Path,
    /// Start at this time (epoch ms) from a transient timer, not now: a scheduled task.
    pub at_ms: Option<i64>,
}

/// How a task's worker is launched.
pub trait Launcher: Send + Sync + fmt::Debug {
    /// Starts the worker of `task`; `Err` is the sentence the task fails with
    /// (`dispatch_failed`). Commands run on `host` are in its records.
    fn launch(&self, host: &Host, task: &TaskUnit<'_>) -> Result<(), String>;
}

/// Launches a worker as a transient systemd unit.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemdRun;

impl Launcher for SystemdRun {
    fn launch(&self, host: &Host, task: &TaskUnit<'_>) -> Result<(), String> {
        let (unit, description, properties, setenv, command) =
            (task.unit, task.description, task.properties, task.setenv, task.command);
        match task.at_ms {
            None => host.systemd_run(unit, description, properties, setenv, command),
            Some(at) => host.systemd_run_at(unit, description, at, properties, setenv, command),
        }
        .map(drop)
        .map_err(|e: HostError| format!("systemd-run failed: {e}"))
    }
}

/// A runner and a launcher: what every `Host` of a process is built on.
#[derive(Debug, Clone)]
pub struct Backend {
    pub runner: Arc<dyn Runner>,
    pub launcher: Arc<dyn Launcher>,
}

impl Backend {
    /// The machine itself: commands are executed, workers run as transient units.
    pub fn real() -> Backend {
        Backend {
            runner: Arc::new(Exec),
            launcher: Arc::new(SystemdRun),
        }
    }
}
