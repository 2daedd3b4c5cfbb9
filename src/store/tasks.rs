//! The `tasks`, `task_units` and `task_logs` tables (docs/tasks.md). The status
//! rules are enforced here and by SQLite triggers: a terminal status never changes.
//! This file creates tasks, moves them along the status machine and finds them;
//! `units` updates their unit rows and `logs` keeps their timelines.

use crate::model::{TaskKind, TaskSpec, TaskStatus};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

mod logs;
#[cfg(test)]
mod tests;
mod units;
mod waiting;
#[cfg(test)]
mod waiting_tests;

pub use logs::{LogEntry, add_log, logs};
pub use units::{UnitUpdate, Unsettled, add_unit, end_open_units, mark_recovered, units, unsettled, update_unit};
pub use waiting::{Decision, Hold, decide, due_approvals, first_seen, supersede_waiting, waiting, waiting_for};

/// What the triggers know when they create a task.
#[derive(Debug, Clone)]
pub struct NewTask<'a> {
    pub kind: TaskKind,
    pub source: &'a str,
    pub caller: Option<&'a str>,
    pub trigger_reason: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub delivery_id: Option<&'a str>,
    pub retry_of: Option<i64>,
    pub spec: &'a TaskSpec,
    /// The task waits (for an approval or a time) instead of starting as `pending`.
    pub hold: Option<Hold>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Task {
    pub id: i64,
    pub kind: TaskKind,
    pub status: TaskStatus,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub created_ms: i64,
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    pub source: String,
    pub caller: Option<String>,
    pub trigger_reason: Option<String>,
    pub request_id: Option<String>,
    pub delivery_id: Option<String>,
    pub retry_of: Option<i64>,
    pub units: Vec<String>,
    pub spec: serde_json::Value,
    /// The systemd unit the task runs in, when not its own `podup-task-<id>.service`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runner: Option<String>,
    /// A scheduled task's start: not before this time (its transient timer's).
    pub not_before_ms: Option<i64>,
    /// An awaiting task's deadline: past it, it ends `skipped` (`approval_expired`).
    pub deadline_ms: Option<i64>,
    /// Who approved or rejected it, and when.
    pub decided_by: Option<String>,
    pub decided_ms: Option<i64>,
}

impl Task {
    pub fn status(&self) -> TaskStatus {
        self.status
    }

    pub fn spec(&self) -> Option<TaskSpec> {
        serde_json::from_value(self.spec.clone()).ok()
    }
}

const TASK_COLUMNS: &str = "id, kind, status, reason, message, created_ms, started_ms, finished_ms, source, caller, \
     trigger_reason, request_id, delivery_id, retry_of, units_text, spec, runner, not_before_ms, deadline_ms, decided_by, \
     decided_ms";

fn task_from_row(r: &Row<'_>) -> rusqlite::Result<Task> {
    let units_text: String = r.get(14)?;
    let spec: String = r.get(15)?;
    Ok(Task {
        id: r.get(0)?,
        kind: r.get(1)?,
        status: r.get(2)?,
        reason: r.get(3)?,
        message: r.get(4)?,
        created_ms: r.get(5)?,
        started_ms: r.get(6)?,
        finished_ms: r.get(7)?,
        source: r.get(8)?,
        caller: r.get(9)?,
        trigger_reason: r.get(10)?,
        request_id: r.get(11)?,
        delivery_id: r.get(12)?,
        retry_of: r.get(13)?,
        units: units_text.split_whitespace().map(String::from).collect(),
        spec: serde_json::from_str(&spec).unwrap_or(serde_json::Value::Null),
        runner: r.get(16)?,
        not_before_ms: r.get(17)?,
        deadline_ms: r.get(18)?,
        decided_by: r.get(19)?,
        decided_ms: r.get(20)?,
    })
}

/// Inserts a task (pending, or waiting as its hold says) and one pending row per unit;
/// returns its id.
pub fn insert(conn: &Connection, t: &NewTask<'_>, now_ms: i64) -> rusqlite::Result<i64> {
    let units_text: Vec<&str> = t.spec.units.iter().map(|u| u.unit.as_str()).collect();
    let spec = serde_json::to_string(t.spec).expect("a spec serializes");
    let (status, not_before, deadline) = match t.hold {
        None => (TaskStatus::Pending, None, None),
        Some(Hold::Approval { deadline_ms }) => (TaskStatus::AwaitingApproval, None, Some(deadline_ms)),
        Some(Hold::Schedule { not_before_ms }) => (TaskStatus::Scheduled, Some(not_before_ms), None),
    };
    conn.execute(
        "INSERT INTO tasks (kind, status, created_ms, source, caller, trigger_reason, request_id, delivery_id, retry_of,
             units_text, spec, not_before_ms, deadline_ms)
         VALUES (?1, ?11, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?12, ?13)",
        params![
            t.kind,
            now_ms,
            t.source,
            t.caller,
            t.trigger_reason,
            t.request_id,
            t.delivery_id,
            t.retry_of,
            units_text.join(" "),
            spec,
            status,
            not_before,
            deadline
        ],
    )?;
    let id = conn.last_insert_rowid();
    let mut st =
        conn.prepare_cached("INSERT INTO task_units (task_id, unit, image, to_digest) VALUES (?1, ?2, ?3, ?4)")?;
    for u in &t.spec.units {
        st.execute(params![id, u.unit, u.image, u.digest])?;
    }
    Ok(id)
}

pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<Task>> {
    conn.query_row(
        &format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?1"),
        [id],
        task_from_row,
    )
    .optional()
}

/// Records the systemd unit task `id` runs in, when that is not its own transient unit.
pub fn set_runner(conn: &Connection, id: i64, unit: &str) -> rusqlite::Result<()> {
    conn.execute("UPDATE tasks SET runner = ?2 WHERE id = ?1", params![id, unit])?;
    Ok(())
}

/// Sets the sentence of a task that has not ended (why a waiting task waits).
pub fn set_message(conn: &Connection, id: i64, message: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE tasks SET message = ?2 WHERE id = ?1",
        params![id, crate::store::outbox::bound(message, 500)],
    )?;
    Ok(())
}

/// Moves a task along the status machine. Returns false (and changes nothing) when
/// the move is not allowed, e.g. because the task already ended.
pub fn transition(
    conn: &Connection,
    id: i64,
    to: TaskStatus,
    reason: &str,
    message: &str,
    now_ms: i64,
) -> rusqlite::Result<bool> {
    let Some(task) = get(conn, id)? else { return Ok(false) };
    if !task.status().can_become(to) {
        return Ok(false);
    }
    let changed = conn.execute(
        "UPDATE tasks SET status = ?2, reason = ?3, message = ?4,
             started_ms = CASE WHEN ?2 = 'running' THEN ?5 ELSE started_ms END,
             finished_ms = CASE WHEN ?6 THEN ?5 ELSE finished_ms END
         WHERE id = ?1 AND status = ?7",
        params![id, to, reason, message, now_ms, to.is_terminal(), task.status],
    )?;
    Ok(changed == 1)
}

/// Filters of `GET /api/v1/tasks`; pages go by id (newest first).
#[derive(Debug, Default)]
pub struct ListFilter {
    pub status: Option<TaskStatus>,
    pub kinds: Option<Vec<TaskKind>>,
    pub unit: Option<String>,
    pub before_id: Option<i64>,
    pub limit: usize,
}

pub fn list(conn: &Connection, f: &ListFilter) -> rusqlite::Result<Vec<Task>> {
    let mut sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE 1 = 1");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(s) = f.status {
        sql += " AND status = ?";
        args.push(s.as_str().to_string().into());
    }
    if let Some(kinds) = &f.kinds {
        let marks = vec!["?"; kinds.len()].join(", ");
        sql += &format!(" AND kind IN ({marks})");
        args.extend(kinds.iter().map(|k| k.as_str().to_string().into()));
    }
    if let Some(unit) = &f.unit {
        sql += " AND instr(units_text, ?) > 0";
        args.push(unit.clone().into());
    }
    if let Some(before) = f.before_id {
        sql += " AND id < ?";
        args.push(before.into());
    }
    sql += " ORDER BY id DESC LIMIT ?";
    args.push((f.limit as i64).into());
    let mut st = conn.prepare(&sql)?;
    st.query_map(rusqlite::params_from_iter(args), task_from_row)?.collect()
}

/// The newest task created for a GitHub delivery id.
pub fn by_delivery(conn: &Connection, delivery_id: &str) -> rusqlite::Result<Option<Task>> {
    conn.query_row(
        &format!("SELECT {TASK_COLUMNS} FROM tasks WHERE delivery_id = ?1 ORDER BY id DESC LIMIT 1"),
        [delivery_id],
        task_from_row,
    )
    .optional()
}

/// A pending, running or waiting task that deploys `digest` to `unit` (coalescing).
pub fn open_for(conn: &Connection, unit: &str, digest: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT t.id FROM tasks t JOIN task_units u ON u.task_id = t.id
         WHERE u.unit = ?1 AND u.to_digest = ?2
           AND t.status IN ('pending', 'running', 'awaiting_approval', 'scheduled')
         ORDER BY t.id DESC LIMIT 1",
        params![unit, digest],
        |r| r.get(0),
    )
    .optional()
}

/// Ids of tasks that say pending or running, oldest first.
pub fn open_ids(conn: &Connection) -> rusqlite::Result<Vec<i64>> {
    let mut st = conn.prepare_cached("SELECT id FROM tasks WHERE status IN ('pending', 'running') ORDER BY id")?;
    st.query_map([], |r| r.get(0))?.collect()
}
