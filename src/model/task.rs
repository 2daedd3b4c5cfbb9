//! Task kinds and statuses of `docs/tasks.md`, and the status machine's rules.

text_enum! {
    /// What created a task.
    pub enum TaskKind ("task kind") {
        Webhook = "webhook",
        Manual = "manual",
        UpdateAll = "update-all",
        AutoUpdate = "auto-update",
        Maintenance = "maintenance",
        /// An update check: asks registries for new digests, changes nothing.
        Check = "check",
    }
}

/// The panel's categories, each a set of kinds.
pub fn category_kinds(category: &str) -> Option<&'static [TaskKind]> {
    match category {
        "all" => Some(&TaskKind::ALL),
        "manual" => Some(&[TaskKind::Manual, TaskKind::UpdateAll]),
        "webhook" => Some(&[TaskKind::Webhook]),
        "automatic" => Some(&[TaskKind::AutoUpdate]),
        "maintenance" => Some(&[TaskKind::Maintenance]),
        "check" => Some(&[TaskKind::Check]),
        _ => None,
    }
}

text_enum! {
    /// Where a task is in its status machine (`docs/tasks.md`).
    pub enum TaskStatus ("task status") {
        Pending = "pending",
        Running = "running",
        Succeeded = "succeeded",
        Failed = "failed",
        RolledBack = "rolled_back",
        Cancelled = "cancelled",
        Skipped = "skipped",
        Unknown = "unknown",
        /// Waits for someone to approve or reject it, until its deadline (docs/policy.md).
        AwaitingApproval = "awaiting_approval",
        /// Waits for its time (`not_before_ms`); a transient timer starts it.
        Scheduled = "scheduled",
    }
}

impl TaskStatus {
    pub fn is_terminal(self) -> bool {
        !matches!(self, TaskStatus::Pending | TaskStatus::Running) && !self.is_waiting()
    }

    /// Whether the task waits for a decision or a time, with no worker of its own yet.
    pub fn is_waiting(self) -> bool {
        matches!(self, TaskStatus::AwaitingApproval | TaskStatus::Scheduled)
    }

    /// Whether the status machine allows `self -> next` (the store's triggers hold the
    /// same rules).
    pub fn can_become(self, next: TaskStatus) -> bool {
        use TaskStatus::*;
        match self {
            Pending => next != Pending && !next.is_waiting(),
            Running => next.is_terminal(),
            AwaitingApproval => matches!(next, Scheduled | Pending | Skipped | Cancelled),
            Scheduled => matches!(next, Pending | Skipped | Cancelled | Failed),
            _ => false,
        }
    }

    /// Statuses that count as a failure someone should see.
    pub fn is_failure(self) -> bool {
        matches!(self, TaskStatus::Failed | TaskStatus::RolledBack | TaskStatus::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_machine() {
        use TaskStatus::*;
        assert!(Pending.can_become(Running));
        assert!(Pending.can_become(Skipped));
        assert!(Running.can_become(RolledBack));
        assert!(!Running.can_become(Pending));
        assert!(AwaitingApproval.can_become(Scheduled));
        assert!(AwaitingApproval.can_become(Pending));
        assert!(!AwaitingApproval.can_become(Running));
        assert!(!Scheduled.can_become(AwaitingApproval));
        assert!(!Pending.can_become(Scheduled));
        assert!(!Running.can_become(AwaitingApproval));
        assert!(AwaitingApproval.is_waiting() && !AwaitingApproval.is_terminal());
        for t in [Succeeded, Failed, RolledBack, Cancelled, Skipped, Unknown] {
            assert!(t.is_terminal());
            for n in TaskStatus::ALL {
                assert!(!t.can_become(n), "{t:?} -> {n:?}");
            }
        }
        for s in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for k in TaskKind::ALL {
            assert_eq!(TaskKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }

    #[test]
    fn kinds_and_statuses_keep_their_stored_spellings() {
        use crate::model::text::assert_spellings;
        assert_spellings(
            &[
                (TaskKind::Webhook, "webhook"),
                (TaskKind::Manual, "manual"),
                (TaskKind::UpdateAll, "update-all"),
                (TaskKind::AutoUpdate, "auto-update"),
                (TaskKind::Maintenance, "maintenance"),
                (TaskKind::Check, "check"),
            ],
            &TaskKind::ALL,
        );
        assert_spellings(
            &[
                (TaskStatus::Pending, "pending"),
                (TaskStatus::Running, "running"),
                (TaskStatus::Succeeded, "succeeded"),
                (TaskStatus::Failed, "failed"),
                (TaskStatus::RolledBack, "rolled_back"),
                (TaskStatus::Cancelled, "cancelled"),
                (TaskStatus::Skipped, "skipped"),
                (TaskStatus::Unknown, "unknown"),
                (TaskStatus::AwaitingApproval, "awaiting_approval"),
                (TaskStatus::Scheduled, "scheduled"),
            ],
            &TaskStatus::ALL,
        );
    }

    #[test]
    fn categories_cover_every_kind_once() {
        let mut seen: Vec<TaskKind> = ["manual", "webhook", "automatic", "maintenance", "check"]
            .iter()
            .flat_map(|c| category_kinds(c).unwrap().iter().copied())
            .collect();
        seen.sort_by_key(|k| k.as_str());
        let mut all = TaskKind::ALL.to_vec();
        all.sort_by_key(|k| k.as_str());
        assert_eq!(seen, all);
        assert!(category_kinds("bogus").is_none());
    }
}
