//! The seam `podup demo` plugs its simulated host into. A [`Simulator`] answers each
//! command with what the real program would print, so the parsers, the task log and
//! every worker step run unchanged; only `podup demo` (src/demo/) builds one, and no
//! variable or flag of any other command can.

use super::CommandRecord;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// What a simulated command did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimulatedRun {
    /// Exit status; `None` as if killed by a signal.
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Answers commands instead of running them.
pub trait Simulator: Send + Sync + fmt::Debug {
    /// `argv` is the program and its arguments, as the real one would get them. May sleep
    /// as long as the real command would take.
    fn run(&self, argv: &[String]) -> SimulatedRun;
    /// A task's worker started on a thread as transient unit `unit`; the flag turns true
    /// when the unit is stopped or killed (the thread's SIGTERM).
    fn worker_started(&self, unit: &str) -> Arc<AtomicBool>;
    /// The worker's thread ended: the unit is gone, as a collected transient unit is.
    fn worker_ended(&self, unit: &str);
}

/// The shared simulator a `Host` holds.
pub type Simulated = Arc<dyn Simulator>;

/// Runs `argv` on the simulator and records it as `exec` records a real command.
pub(super) fn answer(sim: &dyn Simulator, argv: Vec<String>) -> CommandRecord {
    let started = Instant::now();
    let run = sim.run(&argv);
    CommandRecord {
        argv,
        status: run.status,
        stdout: run.stdout,
        stderr: run.stderr,
        duration_ms: started.elapsed().as_millis() as u64,
    }
}
