//! The `task_units` table: one row per unit of a task, updated as its deploy goes
//! through its phases. A unit row that ended never changes (SQLite trigger).

use crate::model::UnitStatus;
use rusqlite::{Connection, params};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct TaskUnit {
    pub unit: String,
    pub image: Option<String>,
    pub from_digest: Option<String>,
    pub to_digest: Option<String>,
    pub status: UnitStatus,
    pub phase: String,
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    pub message: Option<String>,
}

/// What changes on a unit row; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct UnitUpdate<'a> {
    pub status: Option<UnitStatus>,
    pub phase: Option<&'a str>,
    pub image: Option<&'a str>,
    pub from_digest: Option<&'a str>,
    pub to_digest: Option<&'a str>,
    pub message: Option<&'a str>,
}

pub fn update_unit(
    conn: &Connection,
    task_id: i64,
    unit: &str,
    u: &UnitUpdate<'_>,
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE task_units SET
             status = coalesce(?3, status), phase = coalesce(?4, phase), image = coalesce(?5, image),
             from_digest = coalesce(?6, from_digest), to_digest = coalesce(?7, to_digest),
             message = coalesce(?8, message),
             started_ms = coalesce(started_ms, CASE WHEN ?3 = 'running' THEN ?9 END),
             finished_ms = CASE WHEN ?3 IS NOT NULL AND ?3 NOT IN ('pending', 'running') THEN ?9 ELSE finished_ms END
         WHERE task_id = ?1 AND unit = ?2 AND status IN ('pending', 'running')",
        params![
            task_id,
            unit,
            u.status,
            u.phase,
            u.image,
            u.from_digest,
            u.to_digest,
            u.message,
            now_ms
        ],
    )?;
    Ok(())
}

/// Adds a unit row after creation (auto-update learns its units from podman).
pub fn add_unit(conn: &Connection, task_id: i64, unit: &str, image: Option<&str>) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO task_units (task_id, unit, image) VALUES (?1, ?2, ?3)",
        params![task_id, unit, image],
    )?;
    conn.execute(
        "UPDATE tasks SET units_text = trim(units_text || ' ' || ?2) WHERE id = ?1 AND instr(' ' || units_text || ' ', ' ' || ?2 || ' ') = 0",
        params![task_id, unit],
    )?;
    Ok(())
}

pub fn units(conn: &Connection, task_id: i64) -> rusqlite::Result<Vec<TaskUnit>> {
    let mut st = conn.prepare_cached(
        "SELECT unit, image, from_digest, to_digest, status, phase, started_ms, finished_ms, message
         FROM task_units WHERE task_id = ?1 ORDER BY id",
    )?;
    st.query_map([task_id], |r| {
        Ok(TaskUnit {
            unit: r.get(0)?,
            image: r.get(1)?,
            from_digest: r.get(2)?,
            to_digest: r.get(3)?,
            status: r.get(4)?,
            phase: r.get(5)?,
            started_ms: r.get(6)?,
            finished_ms: r.get(7)?,
            message: r.get(8)?,
        })
    })?
    .collect()
}

/// Marks every unit row that has not ended with `status`.
pub fn end_open_units(
    conn: &Connection,
    task_id: i64,
    status: UnitStatus,
    message: &str,
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE task_units SET status = ?2, message = coalesce(message, ?3), finished_ms = ?4
         WHERE task_id = ?1 AND status IN ('pending', 'running')",
        params![task_id, status, message, now_ms],
    )?;
    Ok(())
}
