//! The `event_log` table: exactly one row per HTTP request, written by the driver
//! before the response goes out.

use rusqlite::{Connection, params};
use serde::Serialize;

/// One request as the event log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub request_id: String,
    pub ts_ms: i64,
    pub method: String,
    /// Path and query, with secret-looking query values redacted.
    pub path: String,
    pub status: u16,
    pub action: String,
    pub reason: String,
    pub duration_ms: i64,
    pub remote_addr: Option<String>,
    /// A JSON object.
    pub meta: String,
    pub task_id: Option<i64>,
}

pub fn insert(conn: &Connection, e: &Event) -> rusqlite::Result<i64> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO event_log (request_id, ts_ms, method, path, status, action, reason, duration_ms, remote_addr, meta, task_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    stmt.execute(params![
        e.request_id,
        e.ts_ms,
        e.method,
        e.path,
        e.status,
        e.action,
        e.reason,
        e.duration_ms,
        e.remote_addr,
        e.meta,
        e.task_id
    ])?;
    Ok(conn.last_insert_rowid())
}

/// The event rows linked to task `id`, oldest first.
pub fn for_task(conn: &Connection, id: i64) -> rusqlite::Result<Vec<Event>> {
    let mut st = conn.prepare_cached(
        "SELECT request_id, ts_ms, method, path, status, action, reason, duration_ms, remote_addr, meta, task_id
         FROM event_log WHERE task_id = ?1 ORDER BY id",
    )?;
    st.query_map([id], |r| {
        Ok(Event {
            request_id: r.get(0)?,
            ts_ms: r.get(1)?,
            method: r.get(2)?,
            path: r.get(3)?,
            status: r.get(4)?,
            action: r.get(5)?,
            reason: r.get(6)?,
            duration_ms: r.get(7)?,
            remote_addr: r.get(8)?,
            meta: r.get(9)?,
            task_id: r.get(10)?,
        })
    })?
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_and_unique_request_id() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut conn).unwrap();
        let e = Event {
            request_id: "r1".into(),
            ts_ms: 1,
            method: "GET".into(),
            path: "/health".into(),
            status: 200,
            action: "health".into(),
            reason: "ok".into(),
            duration_ms: 0,
            remote_addr: Some("127.0.0.1:5".into()),
            meta: "{}".into(),
            task_id: Some(7),
        };
        assert_eq!(insert(&conn, &e).unwrap(), 1);
        assert!(insert(&conn, &e).is_err(), "request ids are unique");
        let n: i64 = conn
            .query_row("SELECT count(*) FROM event_log", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(for_task(&conn, 7).unwrap().len(), 1);
    }
}
