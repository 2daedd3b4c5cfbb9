//! The `outbox` and `outbox_attempts` tables (docs/notifications.md): one row per
//! message and sink, written in the transaction that ends its task, and one attempt
//! row per try. A row is claimed (its `next_ms` pushed past the deadline) before it
//! is sent, so two processes flushing at once do not both send it; a process that
//! dies holding a claim leaves the row due again when the claim runs out.

use crate::model::{DeliveryStatus, NotifyEvent};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

/// Longest error kept per attempt and row.
pub const MAX_ERROR_CHARS: usize = 300;

/// What the writer of a message knows.
#[derive(Debug, Clone)]
pub struct NewRow<'a> {
    pub message_id: &'a str,
    pub task_id: Option<i64>,
    pub event: NotifyEvent,
    pub sink: &'a str,
    pub sink_name: &'a str,
    pub body: &'a str,
    /// When it is first due (now, or the end of an auth-failure window).
    pub next_ms: i64,
    /// Auth-failure windows: one pending row per window and sink.
    pub window_key: Option<&'a str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub message_id: String,
    pub task_id: Option<i64>,
    pub event: NotifyEvent,
    pub sink: String,
    pub sink_name: String,
    #[serde(skip)]
    pub body: String,
    pub status: DeliveryStatus,
    pub created_ms: i64,
    pub next_ms: i64,
    pub attempts: i64,
    pub last_attempt_ms: Option<i64>,
    pub last_error: Option<String>,
    pub done_ms: Option<i64>,
}

const COLUMNS: &str = "id, message_id, task_id, event, sink, sink_name, body, status, created_ms, next_ms, attempts, \
     last_attempt_ms, last_error, done_ms";

fn from_row(r: &Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.get(0)?,
        message_id: r.get(1)?,
        task_id: r.get(2)?,
        event: r.get(3)?,
        sink: r.get(4)?,
        sink_name: r.get(5)?,
        body: r.get(6)?,
        status: r.get(7)?,
        created_ms: r.get(8)?,
        next_ms: r.get(9)?,
        attempts: r.get(10)?,
        last_attempt_ms: r.get(11)?,
        last_error: r.get(12)?,
        done_ms: r.get(13)?,
    })
}

/// Adds a row; a second row for the same message and sink is ignored (false).
pub fn insert(conn: &Connection, row: &NewRow<'_>, now_ms: i64) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO outbox (message_id, task_id, event, sink, sink_name, body, created_ms, next_ms, window_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            row.message_id,
            row.task_id,
            row.event,
            row.sink,
            row.sink_name,
            row.body,
            now_ms,
            row.next_ms,
            row.window_key
        ],
    )?;
    Ok(n == 1)
}

/// The pending row of an auth-failure window for `sink`, if one is open.
pub fn open_window(conn: &Connection, window_key: &str, sink: &str) -> rusqlite::Result<Option<OutboxRow>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM outbox WHERE window_key = ?1 AND sink = ?2 AND status = 'pending'"),
        params![window_key, sink],
        from_row,
    )
    .optional()
}

/// Replaces the message of a pending row (an auth-failure window counting on).
pub fn set_body(conn: &Connection, id: i64, body: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE outbox SET body = ?2 WHERE id = ?1 AND status = 'pending'",
        params![id, body],
    )?;
    Ok(())
}

/// Pending rows due at `now`, oldest first; those of `task` only when given.
pub fn due(conn: &Connection, now_ms: i64, task: Option<i64>, limit: usize) -> rusqlite::Result<Vec<OutboxRow>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE status = 'pending' AND next_ms <= ?1
           AND (?2 IS NULL OR task_id = ?2) ORDER BY id LIMIT ?3"
    ))?;
    st.query_map(params![now_ms, task, limit as i64], from_row)?.collect()
}

/// Claims a due row until `until_ms`: true when this caller got it.
pub fn claim(conn: &Connection, id: i64, now_ms: i64, until_ms: i64) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE outbox SET next_ms = ?3 WHERE id = ?1 AND status = 'pending' AND next_ms <= ?2",
        params![id, now_ms, until_ms],
    )?;
    Ok(n == 1)
}

/// What an attempt leads to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum After {
    Delivered,
    RetryAt(i64),
    GiveUp,
}

/// Records one attempt and moves the row on.
pub fn record_attempt(
    conn: &Connection,
    id: i64,
    now_ms: i64,
    duration_ms: i64,
    error: Option<&str>,
    after: After,
) -> rusqlite::Result<()> {
    let error = error.map(|e| bound(e, MAX_ERROR_CHARS));
    conn.execute(
        "INSERT INTO outbox_attempts (outbox_id, ts_ms, ok, duration_ms, error) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, now_ms, error.is_none(), duration_ms, error],
    )?;
    let (status, next_ms, done) = match after {
        After::Delivered => (DeliveryStatus::Delivered, now_ms, Some(now_ms)),
        After::RetryAt(at) => (DeliveryStatus::Pending, at, None),
        After::GiveUp => (DeliveryStatus::GivenUp, now_ms, Some(now_ms)),
    };
    conn.execute(
        "UPDATE outbox SET status = ?2, next_ms = ?3, done_ms = ?4, attempts = attempts + 1,
             last_attempt_ms = ?5, last_error = ?6
         WHERE id = ?1 AND status = 'pending'",
        params![id, status, next_ms, done, now_ms, error],
    )?;
    Ok(())
}

/// Gives a pending row up without an attempt (its sink is no longer configured).
pub fn give_up(conn: &Connection, id: i64, now_ms: i64, why: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE outbox SET status = 'given_up', done_ms = ?2, last_error = ?3 WHERE id = ?1 AND status = 'pending'",
        params![id, now_ms, bound(why, MAX_ERROR_CHARS)],
    )?;
    Ok(())
}

/// When the next pending row is due, if one waits.
pub fn next_due(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.query_row("SELECT min(next_ms) FROM outbox WHERE status = 'pending'", [], |r| {
        r.get(0)
    })
}

/// One attempt, as the task drawer shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub ts_ms: i64,
    pub ok: bool,
    pub duration_ms: i64,
    pub error: Option<String>,
}

/// A row with its attempts.
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    #[serde(flatten)]
    pub row: OutboxRow,
    pub attempt_list: Vec<Attempt>,
}

/// The notifications of a task, oldest first, each with its attempts.
pub fn for_task(conn: &Connection, task_id: i64) -> rusqlite::Result<Vec<Notification>> {
    let mut st = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM outbox WHERE task_id = ?1 ORDER BY id"))?;
    let rows: Vec<OutboxRow> = st.query_map([task_id], from_row)?.collect::<Result<_, _>>()?;
    let mut att = conn
        .prepare_cached("SELECT ts_ms, ok, duration_ms, error FROM outbox_attempts WHERE outbox_id = ?1 ORDER BY id")?;
    rows.into_iter()
        .map(|row| {
            let attempt_list = att
                .query_map([row.id], |r| {
                    Ok(Attempt {
                        ts_ms: r.get(0)?,
                        ok: r.get(1)?,
                        duration_ms: r.get(2)?,
                        error: r.get(3)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(Notification { row, attempt_list })
        })
        .collect()
}

/// The newest rows, newest first (`podup notify list`).
pub fn recent(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<OutboxRow>> {
    let mut st = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM outbox ORDER BY id DESC LIMIT ?1"))?;
    st.query_map([limit as i64], from_row)?.collect()
}

/// How one sink has fared: its last finished delivery and what waits.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SinkState {
    /// `delivered` or `given_up` of the newest row that ended, with when.
    pub last_status: Option<DeliveryStatus>,
    pub last_done_ms: Option<i64>,
    /// The newest attempt's error, when the newest attempt failed.
    pub last_error: Option<String>,
    pub last_attempt_ms: Option<i64>,
    pub pending: i64,
    pub given_up: i64,
    pub delivered: i64,
}

pub fn sink_state(conn: &Connection, sink: &str) -> rusqlite::Result<SinkState> {
    let mut s = SinkState::default();
    let mut st = conn.prepare_cached("SELECT status, count(*) FROM outbox WHERE sink = ?1 GROUP BY status")?;
    for row in st.query_map([sink], |r| Ok((r.get::<_, DeliveryStatus>(0)?, r.get::<_, i64>(1)?)))? {
        let (status, n) = row?;
        match status {
            DeliveryStatus::Pending => s.pending = n,
            DeliveryStatus::Delivered => s.delivered = n,
            DeliveryStatus::GivenUp => s.given_up = n,
        }
    }
    if let Some((status, done)) = conn
        .query_row(
            "SELECT status, done_ms FROM outbox WHERE sink = ?1 AND status != 'pending' ORDER BY done_ms DESC, id DESC LIMIT 1",
            [sink],
            |r| Ok((r.get::<_, DeliveryStatus>(0)?, r.get::<_, Option<i64>>(1)?)),
        )
        .optional()?
    {
        s.last_status = Some(status);
        s.last_done_ms = done;
    }
    if let Some((ts, ok, error)) = conn
        .query_row(
            "SELECT a.ts_ms, a.ok, a.error FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id
             WHERE o.sink = ?1 ORDER BY a.id DESC LIMIT 1",
            [sink],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, bool>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            },
        )
        .optional()?
    {
        s.last_attempt_ms = Some(ts);
        if !ok {
            s.last_error = error;
        }
    }
    Ok(s)
}

/// At most `max` characters of `text`, cut on a character boundary.
pub fn bound(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests;
