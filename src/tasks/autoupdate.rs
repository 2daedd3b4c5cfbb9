//! The `auto-update` task: `podman auto-update --format json`, one unit row per
//! report line, then podup's own stay-active check on every unit podman restarted
//! (podman counts a container that exits a second after its start as updated).
//! With `PODUP_AUTO_UPDATE_ENGINE=podup` the task runs `autoupdate_podup` instead.

use super::journal::Journal;
use super::lifecycle::finish;
use crate::clock::now_ms;
use crate::host::Host;
use crate::host::auto_update::{AutoUpdateRow, UpdateStatus};
use crate::model::{Engine, TaskSpec, TaskStatus, UnitStatus};
use crate::store::tasks::{self, Task, UnitUpdate};
use rusqlite::Connection;

/// The unit row status for a report line (`true` → succeeded, `false` → unchanged,
/// `pending` → available, `failed` → failed, `rolled back` → rolled_back).
pub fn row_status(u: &UpdateStatus) -> UnitStatus {
    match u {
        UpdateStatus::Updated => UnitStatus::Succeeded,
        UpdateStatus::Unchanged => UnitStatus::Unchanged,
        UpdateStatus::Pending => UnitStatus::Available,
        UpdateStatus::Failed => UnitStatus::Failed,
        UpdateStatus::RolledBack => UnitStatus::RolledBack,
        UpdateStatus::Other(_) => UnitStatus::Unknown,
    }
}

/// The task's status from the unit rows' final statuses.
pub fn overall(row_statuses: &[UnitStatus]) -> TaskStatus {
    if row_statuses.contains(&UnitStatus::Failed) || row_statuses.contains(&UnitStatus::Unknown) {
        TaskStatus::Failed
    } else if row_statuses.contains(&UnitStatus::RolledBack) {
        TaskStatus::RolledBack
    } else {
        TaskStatus::Succeeded
    }
}

pub fn run_task(conn: &mut Connection, host: &Host, task: &Task, spec: &TaskSpec) -> rusqlite::Result<TaskStatus> {
    if spec.engine == Engine::Podup {
        return super::autoupdate_podup::run_task(conn, host, task, spec);
    }
    tasks::transition(
        conn,
        task.id,
        TaskStatus::Running,
        "running",
        "running podman auto-update",
        now_ms(),
    )?;
    let journal = Journal {
        conn,
        host,
        task_id: task.id,
    };
    let report = host.auto_update(spec.dry_run);
    journal.flush(None, "auto-update");
    let (rows, error): (Vec<AutoUpdateRow>, Option<String>) = match report {
        Ok(r) => (r.rows, r.error.map(|e| e.to_string())),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    if let Some(e) = &error {
        journal.error(
            "auto-update",
            None,
            &format!("podman auto-update reported an error: {e}"),
        );
    }
    if rows.is_empty() && error.is_none() {
        journal.info(
            "auto-update",
            None,
            "no container is labelled io.containers.autoupdate: nothing to do",
        );
    }
    let mut finals: Vec<UnitStatus> = Vec::new();
    for row in &rows {
        tasks::add_unit(conn, task.id, &row.unit, Some(&row.image))?;
        let mut status = row_status(&row.updated);
        let mut message = format!("podman: {}", row.updated.as_podman_str());
        if status == UnitStatus::Succeeded && !spec.dry_run {
            journal.update(
                &row.unit,
                &UnitUpdate {
                    status: Some(UnitStatus::Running),
                    phase: Some("verify"),
                    ..Default::default()
                },
            );
            if let Err(why) = super::verify::verify(
                host,
                &journal,
                &row.unit,
                None,
                spec.verify_secs,
                super::verify::OnStop::End,
            ) {
                status = UnitStatus::Failed;
                message = format!("podman updated it, but {why}");
                journal.error("verify", Some(&row.unit), &message);
            }
            journal.flush(Some(&row.unit), "verify");
        }
        journal.update(
            &row.unit,
            &UnitUpdate {
                status: Some(status),
                phase: Some("done"),
                message: Some(&message),
                ..Default::default()
            },
        );
        finals.push(status);
    }
    let mut status = overall(&finals);
    if error.is_some() && status == TaskStatus::Succeeded {
        status = TaskStatus::Failed;
    }
    let summary = summarize(&finals, error.as_deref());
    let reason = match status {
        TaskStatus::Succeeded => "ok",
        TaskStatus::RolledBack => "rolled_back",
        _ if error.is_some() => "auto_update_failed",
        _ => "unit_failed",
    };
    finish(conn, task.id, status, reason, &summary);
    Ok(status)
}

pub(super) fn summarize(finals: &[UnitStatus], error: Option<&str>) -> String {
    let count = |s: UnitStatus| finals.iter().filter(|f| **f == s).count();
    let mut parts = vec![format!("{} unit(s)", finals.len())];
    for s in [
        UnitStatus::Succeeded,
        UnitStatus::Unchanged,
        UnitStatus::Available,
        UnitStatus::Failed,
        UnitStatus::RolledBack,
        UnitStatus::Unknown,
    ] {
        let n = count(s);
        if n > 0 {
            parts.push(format!("{n} {s}"));
        }
    }
    if let Some(e) = error {
        parts.push(format!("error: {e}"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The report's words as the unit rows store them.
    fn statuses(words: &[&str]) -> Vec<UnitStatus> {
        words.iter().map(|w| UnitStatus::from_text(w).unwrap()).collect()
    }

    fn overall(words: &[&str]) -> TaskStatus {
        super::overall(&statuses(words))
    }

    pub(super) fn summarize(words: &[&str], error: Option<&str>) -> String {
        super::summarize(&statuses(words), error)
    }

    #[test]
    fn report_lines_map_to_unit_statuses() {
        assert_eq!(row_status(&UpdateStatus::Updated), "succeeded");
        assert_eq!(row_status(&UpdateStatus::Unchanged), "unchanged");
        assert_eq!(row_status(&UpdateStatus::Pending), "available");
        assert_eq!(row_status(&UpdateStatus::Failed), "failed");
        assert_eq!(row_status(&UpdateStatus::RolledBack), "rolled_back");
    }

    #[test]
    fn a_rollback_or_failure_fails_the_task() {
        assert_eq!(overall(&[]), TaskStatus::Succeeded);
        assert_eq!(overall(&["succeeded", "unchanged", "available"]), TaskStatus::Succeeded);
        assert_eq!(overall(&["succeeded", "rolled_back"]), TaskStatus::RolledBack);
        assert_eq!(overall(&["rolled_back", "failed"]), TaskStatus::Failed);
        assert_eq!(
            summarize(&["succeeded", "failed"], None),
            "2 unit(s), 1 succeeded, 1 failed"
        );
    }
}
