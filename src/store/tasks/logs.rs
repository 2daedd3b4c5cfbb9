//! The `task_logs` table: a task's timeline, one line per message or command run.

use crate::model::LogLevel;
use rusqlite::{Connection, params};
use serde::Serialize;

/// One line of a task's timeline; commands carry argv, exit status and stderr.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LogEntry {
    pub ts_ms: i64,
    pub level: LogLevel,
    pub step: String,
    pub unit: Option<String>,
    pub message: String,
    pub argv: Option<Vec<String>>,
    pub exit_status: Option<i32>,
    pub stderr: Option<String>,
}

pub fn add_log(conn: &Connection, task_id: i64, e: &LogEntry) -> rusqlite::Result<()> {
    let argv = e
        .argv
        .as_ref()
        .map(|a| serde_json::to_string(a).expect("strings serialize"));
    conn.prepare_cached(
        "INSERT INTO task_logs (task_id, ts_ms, level, step, unit, message, argv, exit_status, stderr)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        task_id,
        e.ts_ms,
        e.level,
        e.step,
        e.unit,
        e.message,
        argv,
        e.exit_status,
        e.stderr
    ])?;
    Ok(())
}

pub fn logs(conn: &Connection, task_id: i64) -> rusqlite::Result<Vec<LogEntry>> {
    let mut st = conn.prepare_cached(
        "SELECT ts_ms, level, step, unit, message, argv, exit_status, stderr FROM task_logs WHERE task_id = ?1 ORDER BY id",
    )?;
    st.query_map([task_id], |r| {
        let argv: Option<String> = r.get(5)?;
        Ok(LogEntry {
            ts_ms: r.get(0)?,
            level: r.get(1)?,
            step: r.get(2)?,
            unit: r.get(3)?,
            message: r.get(4)?,
            argv: argv.and_then(|a| serde_json::from_str(&a).ok()),
            exit_status: r.get(6)?,
            stderr: r.get(7)?,
        })
    })?
    .collect()
}
