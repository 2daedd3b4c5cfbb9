//! Tasks (docs/tasks.md): the model and its status machine, dispatch into transient
//! systemd units, the worker that carries a task out, and what the API and CLI share.

pub mod admit;
pub mod approval;
pub mod autoupdate;
pub mod autoupdate_podup;
mod board;
pub mod catalog;
pub mod check;
pub mod control;
pub mod current;
pub mod deploy;
pub mod dispatch;
pub mod fields;
pub mod gate;
pub mod journal;
pub mod labelled;
pub mod lifecycle;
pub mod maintenance;
pub mod notify;
pub mod parallel;
pub mod pause;
pub mod plan;
pub mod pulls;
pub mod recover;
pub mod resolve;
pub mod retag;
pub mod sandbox;
pub mod steps;
pub mod timer_policy;
mod undo;
pub mod verify;
pub mod view;
pub mod worker;

use crate::config::Config;
use crate::host::{Host, Programs};

/// The transient unit a task runs in.
pub fn transient_unit(id: i64) -> String {
    format!("podup-task-{id}.service")
}

/// The systemd unit task `t`'s worker runs in: its own transient unit, or the unit it
/// recorded (the timer job, `podup recover`).
pub fn runner_unit(t: &crate::store::tasks::Task) -> String {
    t.runner.clone().unwrap_or_else(|| transient_unit(t.id))
}

/// The host as the configuration describes it (scope, programs on PATH), running
/// commands for real and tasks as transient units; `.on(backend)` changes both.
pub fn host_for(config: &Config) -> Host {
    Host::new(config.scope(), Programs::default()).passing(&config.notify.pass_env())
}
