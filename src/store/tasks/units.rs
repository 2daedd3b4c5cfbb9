//! The `task_units` table: one row per unit of a task, updated as its deploy goes
//! through its phases. A unit row that ended never changes (SQLite trigger).

use crate::model::{Intent, UnitStatus};
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
    /// The image id that ran before the task touched the unit.
    pub prev_image: Option<String>,
    /// The image id of the target, once pulled.
    pub target_image: Option<String>,
    /// The write-ahead note: the step under way, or settled / recovered.
    pub intent: Option<Intent>,
    /// The recovery task that repaired what this row's lost worker left.
    pub recovered_by: Option<i64>,
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
    pub prev_image: Option<&'a str>,
    pub target_image: Option<&'a str>,
    pub intent: Option<Intent>,
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
             message = coalesce(?8, message), prev_image = coalesce(?10, prev_image),
             target_image = coalesce(?11, target_image), intent = coalesce(?12, intent),
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
            now_ms,
            u.prev_image,
            u.target_image,
            u.intent
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
        "SELECT unit, image, from_digest, to_digest, status, phase, started_ms, finished_ms, message,
                prev_image, target_image, intent, recovered_by
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
            prev_image: r.get(9)?,
            target_image: r.get(10)?,
            intent: r.get(11)?,
            recovered_by: r.get(12)?,
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

/// A unit row a worker left with a step under way (`intent` tag, restart or rollback)
/// and that no recovery has repaired yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsettled {
    pub task_id: i64,
    pub unit: String,
    /// The unit's tag (`repository:tag`), as the deploy recorded it.
    pub image: Option<String>,
    pub prev_image: Option<String>,
    pub target_image: Option<String>,
    pub intent: Intent,
}

/// Every unsettled unit row, oldest task first; only of `units` when given.
pub fn unsettled(conn: &Connection, units: Option<&[String]>) -> rusqlite::Result<Vec<Unsettled>> {
    let mut st = conn.prepare_cached(
        "SELECT task_id, unit, image, prev_image, target_image, intent FROM task_units
         WHERE intent IN ('tag', 'restart', 'rollback') ORDER BY task_id, id",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok(Unsettled {
                task_id: r.get(0)?,
                unit: r.get(1)?,
                image: r.get(2)?,
                prev_image: r.get(3)?,
                target_image: r.get(4)?,
                intent: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .filter(|u| units.is_none_or(|only| only.contains(&u.unit)))
        .collect())
}

/// Marks an unsettled row repaired by task `by`. Its status stays what it was: the
/// lost task's outcome is history; the recovery task says what runs now.
pub fn mark_recovered(conn: &Connection, task_id: i64, unit: &str, by: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE task_units SET intent = 'recovered', recovered_by = ?3
         WHERE task_id = ?1 AND unit = ?2 AND intent IN ('tag', 'restart', 'rollback')",
        params![task_id, unit, by],
    )?;
    Ok(())
}
