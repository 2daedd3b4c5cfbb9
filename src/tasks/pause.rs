//! Test-only pause points: with `PODUP_TEST_PAUSE_AT=<point>` and
//! `PODUP_TEST_PAUSE_DIR=<dir>` both set, a worker that reaches `<point>` creates
//! `<dir>/task-<id>.<point>` and waits while that file exists or until it is asked to
//! stop, so a test can kill or stop it exactly there (tests/real/recovery.rs). With
//! either variable unset a pause point does nothing.

use super::journal::Journal;
use std::time::Duration;

/// The variable naming the point to pause at.
pub const AT_VAR: &str = "PODUP_TEST_PAUSE_AT";
/// The variable naming the directory of the pause files.
pub const DIR_VAR: &str = "PODUP_TEST_PAUSE_DIR";

/// Where a deploy can be paused, in the order it reaches them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Point {
    /// The target is pulled; the unit's tag has not moved.
    Pulled,
    /// The tag points at the target; the unit still runs the old container.
    Tagged,
    /// "About to restart" is noted; the restart is not issued yet.
    Restarting,
    /// The restart returned; verification has not ended.
    Verifying,
    /// The tag points back at the previous image; the rollback's restart is not issued.
    RollbackTagged,
    /// The rollback's restart returned; its verification has not ended.
    RollbackVerifying,
    /// The task's end and its notifications are committed; none is sent yet.
    Notifying,
}

impl Point {
    pub fn as_str(self) -> &'static str {
        match self {
            Point::Pulled => "pulled",
            Point::Tagged => "tagged",
            Point::Restarting => "restarting",
            Point::Verifying => "verifying",
            Point::RollbackTagged => "rollback-tagged",
            Point::RollbackVerifying => "rollback-verifying",
            Point::Notifying => "notifying",
        }
    }
}

/// Waits at `point` of task `task_id`, for code without a journal (the task's end):
/// nothing is written to the task's log, the file alone shows the pause.
pub fn at_end(task_id: i64, point: Point) {
    let (Some(name), Some(dir)) = (std::env::var_os(AT_VAR), std::env::var_os(DIR_VAR)) else {
        return;
    };
    if name != point.as_str() {
        return;
    }
    let file = std::path::Path::new(&dir).join(format!("task-{task_id}.{}", point.as_str()));
    if std::fs::write(&file, std::process::id().to_string()).is_err() {
        return;
    }
    while file.exists() && !crate::sys::stop_requested() {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits at `point` when the environment asks for it (see the module comment).
pub fn at(journal: &Journal<'_>, point: Point) {
    let (Some(name), Some(dir)) = (std::env::var_os(AT_VAR), std::env::var_os(DIR_VAR)) else {
        return;
    };
    if name != point.as_str() {
        return;
    }
    let file = std::path::Path::new(&dir).join(format!("task-{}.{}", journal.task_id, point.as_str()));
    if let Err(e) = std::fs::write(&file, std::process::id().to_string()) {
        log::warn!("cannot create the pause file {}: {e}", file.display());
        return;
    }
    journal.info("pause", None, &format!("paused at '{}' (test only)", point.as_str()));
    while file.exists() && !journal.stop_requested() {
        std::thread::sleep(Duration::from_millis(100));
    }
}
