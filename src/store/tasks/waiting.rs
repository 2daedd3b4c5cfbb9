//! Tasks that wait (docs/policy.md): `awaiting_approval` until someone decides or the
//! deadline passes, `scheduled` until their time. Deciding, superseding and expiring are
//! single conditional updates, so two deciders (a click and the timer job's sweep) cannot
//! both win; the triggers of migration 12 refuse any move the status machine forbids.

use super::{TASK_COLUMNS, Task, task_from_row};
use crate::model::TaskStatus;
use rusqlite::{Connection, params};

/// Longest decider's name and message kept.
const MAX_NAME: usize = 200;
const MAX_MESSAGE: usize = 500;

/// How a new task waits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Hold {
    /// `awaiting_approval` until `deadline_ms`.
    Approval { deadline_ms: i64 },
    /// `scheduled`, to start at `not_before_ms`.
    Schedule { not_before_ms: i64 },
}

/// A decision on a waiting task.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision<'a> {
    /// Approved: `pending` to start now, or `scheduled` for `not_before_ms`.
    Approve { by: &'a str, not_before_ms: Option<i64> },
    /// Rejected by someone: `skipped` (`rejected`).
    Reject { by: &'a str },
    /// Its deadline passed: `skipped` (`approval_expired`).
    Expire,
    /// Its time came: `scheduled` → `pending`.
    Start,
}

/// Applies `decision` to waiting task `id`; false when the task was not waiting in a
/// way the decision applies to (already decided, ended, or not an approval).
pub fn decide(
    conn: &Connection,
    id: i64,
    decision: Decision<'_>,
    message: &str,
    now_ms: i64,
) -> rusqlite::Result<bool> {
    use TaskStatus::*;
    let (from, to, reason, by, not_before) = match decision {
        Decision::Approve {
            by,
            not_before_ms: None,
        } => (AwaitingApproval, Pending, "approved", Some(by), None),
        Decision::Approve { by, not_before_ms } => (AwaitingApproval, Scheduled, "approved", Some(by), not_before_ms),
        Decision::Reject { by } => (AwaitingApproval, Skipped, "rejected", Some(by), None),
        Decision::Expire => (AwaitingApproval, Skipped, "approval_expired", None, None),
        Decision::Start => (Scheduled, Pending, "due", None, None),
    };
    // Every stored field is bounded: a name from the CLI's $USER may be anything.
    let by = by.map(|b| crate::store::outbox::bound(b, MAX_NAME));
    let message = crate::store::outbox::bound(message, MAX_MESSAGE);
    let changed = conn.execute(
        "UPDATE tasks SET status = ?3, reason = ?4, message = ?5,
             decided_by = coalesce(?6, decided_by),
             decided_ms = CASE WHEN ?6 IS NOT NULL THEN ?7 ELSE decided_ms END,
             not_before_ms = coalesce(?8, not_before_ms),
             finished_ms = CASE WHEN ?9 THEN ?7 ELSE finished_ms END
         WHERE id = ?1 AND status = ?2",
        params![id, from, to, reason, message, by, now_ms, not_before, to.is_terminal()],
    )?;
    if changed == 1 && to.is_terminal() {
        end_units(conn, id, to, &message, now_ms)?;
    }
    Ok(changed == 1)
}

fn end_units(conn: &Connection, id: i64, to: TaskStatus, message: &str, now_ms: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE task_units SET status = ?2, message = ?3, finished_ms = ?4 WHERE task_id = ?1 AND status = 'pending'",
        params![id, to, message, now_ms],
    )?;
    Ok(())
}

/// Ends every waiting task for `unit` that is for another digest than `digest`:
/// `skipped` (`superseded`, naming task `by`). Returns their ids (their timers are
/// the caller's to stop).
pub fn supersede_waiting(
    conn: &Connection,
    unit: &str,
    digest: Option<&str>,
    by: i64,
    now_ms: i64,
) -> rusqlite::Result<Vec<i64>> {
    let ids: Vec<i64> = {
        let mut st = conn.prepare_cached(
            "SELECT DISTINCT t.id FROM tasks t JOIN task_units u ON u.task_id = t.id
             WHERE u.unit = ?1 AND t.status IN ('awaiting_approval', 'scheduled') AND t.id != ?3
               AND (?2 IS NULL OR u.to_digest IS NULL OR u.to_digest != ?2)",
        )?;
        st.query_map(params![unit, digest, by], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    let message = format!("superseded by task {by}, for a newer image of {unit}");
    let mut ended = Vec::new();
    for id in ids {
        let changed = conn.execute(
            "UPDATE tasks SET status = 'skipped', reason = 'superseded', message = ?2, finished_ms = ?3
             WHERE id = ?1 AND status IN ('awaiting_approval', 'scheduled')",
            params![id, message, now_ms],
        )?;
        if changed == 1 {
            end_units(conn, id, TaskStatus::Skipped, &message, now_ms)?;
            ended.push(id);
        }
    }
    Ok(ended)
}

/// Every waiting task, oldest first.
pub fn waiting(conn: &Connection) -> rusqlite::Result<Vec<Task>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE status IN ('awaiting_approval', 'scheduled') ORDER BY id"
    ))?;
    st.query_map([], task_from_row)?.collect()
}

/// The waiting tasks that include `unit`, newest first.
pub fn waiting_for(conn: &Connection, unit: &str) -> rusqlite::Result<Vec<Task>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {TASK_COLUMNS} FROM tasks WHERE status IN ('awaiting_approval', 'scheduled')
           AND id IN (SELECT task_id FROM task_units WHERE unit = ?1) ORDER BY id DESC"
    ))?;
    st.query_map([unit], task_from_row)?.collect()
}

/// Ids of approvals whose deadline has passed.
pub fn due_approvals(conn: &Connection, now_ms: i64) -> rusqlite::Result<Vec<i64>> {
    let mut st = conn
        .prepare_cached("SELECT id FROM tasks WHERE status = 'awaiting_approval' AND deadline_ms <= ?1 ORDER BY id")?;
    st.query_map([now_ms], |r| r.get(0))?.collect()
}

/// When podup first heard of `digest` for `unit` (the clock of `MinAge=`); the first
/// call records `now_ms`.
pub fn first_seen(conn: &Connection, unit: &str, digest: &str, now_ms: i64) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT OR IGNORE INTO image_seen (unit, digest, first_ms) VALUES (?1, ?2, ?3)",
        params![unit, digest, now_ms],
    )?;
    conn.query_row(
        "SELECT first_ms FROM image_seen WHERE unit = ?1 AND digest = ?2",
        params![unit, digest],
        |r| r.get(0),
    )
}
