//! What happened to one unit of a task (`task_units.status`), and the level of a task's log
//! line (`task_logs.level`).

use super::TaskStatus;

text_enum! {
    /// A unit row's status: a task's statuses, plus the two an auto-update report adds.
    pub enum UnitStatus ("unit status") {
        Pending = "pending",
        Running = "running",
        Succeeded = "succeeded",
        Failed = "failed",
        RolledBack = "rolled_back",
        Cancelled = "cancelled",
        Skipped = "skipped",
        Unknown = "unknown",
        /// podman auto-update: the unit already ran the newest image.
        Unchanged = "unchanged",
        /// podman auto-update `--dry-run`: a newer image exists.
        Available = "available",
    }
}

impl From<TaskStatus> for UnitStatus {
    fn from(s: TaskStatus) -> UnitStatus {
        match s {
            TaskStatus::Pending => UnitStatus::Pending,
            TaskStatus::Running => UnitStatus::Running,
            TaskStatus::Succeeded => UnitStatus::Succeeded,
            TaskStatus::Failed => UnitStatus::Failed,
            TaskStatus::RolledBack => UnitStatus::RolledBack,
            TaskStatus::Cancelled => UnitStatus::Cancelled,
            TaskStatus::Skipped => UnitStatus::Skipped,
            TaskStatus::Unknown => UnitStatus::Unknown,
            // A waiting task has not touched its units.
            TaskStatus::AwaitingApproval | TaskStatus::Scheduled => UnitStatus::Pending,
        }
    }
}

text_enum! {
    /// The write-ahead note on a unit row (`task_units.intent`): the step a worker is about
    /// to take, written before it takes it, so that recovery never has to guess what a lost
    /// worker may have changed (docs/tasks.md, "Crash safety").
    pub enum Intent ("unit intent") {
        /// About to point the unit's tag at the target (or pull by tag, which moves it).
        Tag = "tag",
        /// About to restart the unit onto the target, then verify it.
        Restart = "restart",
        /// About to point the tag back at the previous image and restart onto it.
        RollBack = "rollback",
        /// The unit is in the state the task's status names.
        Settled = "settled",
        /// A recovery task (`recovered_by`) repaired what the lost worker left.
        Recovered = "recovered",
    }
}

impl Intent {
    /// The unit may have been restarted by podup (onto the target or back).
    pub fn may_have_restarted(self) -> bool {
        matches!(self, Intent::Restart | Intent::RollBack)
    }
}

text_enum! {
    /// How loud a task log line is; also the journal priority it is logged at.
    #[derive(Default)]
    pub enum LogLevel ("log level") {
        #[default]
        Info = "info",
        Warn = "warn",
        Error = "error",
    }
}

impl LogLevel {
    pub fn log_level(self) -> log::Level {
        match self {
            LogLevel::Info => log::Level::Info,
            LogLevel::Warn => log::Level::Warn,
            LogLevel::Error => log::Level::Error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::text::assert_spellings;

    #[test]
    fn unit_statuses_and_levels_keep_their_stored_spellings() {
        assert_spellings(
            &[
                (UnitStatus::Pending, "pending"),
                (UnitStatus::Running, "running"),
                (UnitStatus::Succeeded, "succeeded"),
                (UnitStatus::Failed, "failed"),
                (UnitStatus::RolledBack, "rolled_back"),
                (UnitStatus::Cancelled, "cancelled"),
                (UnitStatus::Skipped, "skipped"),
                (UnitStatus::Unknown, "unknown"),
                (UnitStatus::Unchanged, "unchanged"),
                (UnitStatus::Available, "available"),
            ],
            &UnitStatus::ALL,
        );
        assert_spellings(
            &[
                (LogLevel::Info, "info"),
                (LogLevel::Warn, "warn"),
                (LogLevel::Error, "error"),
            ],
            &LogLevel::ALL,
        );
    }

    #[test]
    fn a_task_status_is_the_same_word_on_a_unit() {
        for s in TaskStatus::ALL.into_iter().filter(|s| !s.is_waiting()) {
            assert_eq!(UnitStatus::from(s).as_str(), s.as_str());
        }
        // A waiting task has not touched its units.
        assert_eq!(UnitStatus::from(TaskStatus::Scheduled), UnitStatus::Pending);
    }
}
