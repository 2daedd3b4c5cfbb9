//! Read-only facts about the state database for the panel's Maintenance and
//! Overview pages: file sizes, row counts and ages, rate-limit windows in use,
//! deploy locks held, and task counts by status. Nothing here writes.

use rusqlite::{Connection, params};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
pub struct DbStats {
    pub path: String,
    pub size_bytes: u64,
    pub wal_bytes: u64,
    pub schema_version: i64,
    pub events: i64,
    pub tasks: i64,
    pub task_logs: i64,
    pub sessions: i64,
    pub oldest_event_ms: Option<i64>,
    pub oldest_task_ms: Option<i64>,
}

pub fn db_stats(conn: &Connection, path: &Path) -> rusqlite::Result<DbStats> {
    let count = |table: &str| -> rusqlite::Result<i64> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
    };
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    Ok(DbStats {
        path: path.display().to_string(),
        size_bytes: size(path),
        wal_bytes: size(Path::new(&wal)),
        schema_version: conn.query_row("PRAGMA user_version", [], |r| r.get(0))?,
        events: count("event_log")?,
        tasks: count("tasks")?,
        task_logs: count("task_logs")?,
        sessions: count("sessions")?,
        oldest_event_ms: conn.query_row("SELECT min(ts_ms) FROM event_log", [], |r| r.get(0))?,
        oldest_task_ms: conn.query_row("SELECT min(created_ms) FROM tasks", [], |r| r.get(0))?,
    })
}

/// One rate-limit key with hits inside the last `window_ms`.
#[derive(Debug, Clone, Serialize)]
pub struct LimitState {
    pub key: String,
    pub hits: i64,
    pub last_ms: i64,
}

pub fn rate_limits(conn: &Connection, now_ms: i64, window_ms: i64) -> rusqlite::Result<Vec<LimitState>> {
    let mut st = conn.prepare(
        "SELECT key, count(*), max(ts_ms) FROM rate_hits WHERE ts_ms > ?1 GROUP BY key ORDER BY max(ts_ms) DESC LIMIT 100",
    )?;
    st.query_map(params![now_ms - window_ms], |r| {
        Ok(LimitState {
            key: r.get(0)?,
            hits: r.get(1)?,
            last_ms: r.get(2)?,
        })
    })?
    .collect()
}

/// A held deploy lock.
#[derive(Debug, Clone, Serialize)]
pub struct HeldLock {
    pub unit: String,
    pub task_id: i64,
    pub acquired_ms: i64,
    pub task_status: Option<String>,
}

pub fn held_locks(conn: &Connection) -> rusqlite::Result<Vec<HeldLock>> {
    let mut st = conn.prepare(
        "SELECT l.unit, l.task_id, l.acquired_ms, t.status FROM unit_locks l LEFT JOIN tasks t ON t.id = l.task_id ORDER BY l.unit",
    )?;
    st.query_map([], |r| {
        Ok(HeldLock {
            unit: r.get(0)?,
            task_id: r.get(1)?,
            acquired_ms: r.get(2)?,
            task_status: r.get(3)?,
        })
    })?
    .collect()
}

/// How many tasks have each status, among those created since `since_ms`.
pub fn task_counts(conn: &Connection, since_ms: i64) -> rusqlite::Result<Vec<(String, i64)>> {
    let mut st =
        conn.prepare("SELECT status, count(*) FROM tasks WHERE created_ms >= ?1 GROUP BY status ORDER BY status")?;
    st.query_map([since_ms], |r| Ok((r.get(0)?, r.get(1)?)))?.collect()
}

/// The digest a unit ran when podup last looked: the target of its newest deploy
/// that succeeded, else what that deploy found running (it rolled back or failed).
pub fn last_known_digest(conn: &Connection, unit: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT CASE WHEN status IN ('succeeded', 'unchanged') THEN coalesce(to_digest, from_digest) ELSE from_digest END
         FROM task_units WHERE unit = ?1 AND status NOT IN ('pending', 'running')
           AND coalesce(to_digest, from_digest) IS NOT NULL
         ORDER BY id DESC LIMIT 1",
        [unit],
        |r| r.get(0),
    )
    .or_else(|e| match e {
        rusqlite::Error::QueryReturnedNoRows => Ok(None),
        e => Err(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_an_empty_and_a_used_database() {
        let c = crate::testing::migrated_db();
        let s = db_stats(&c, Path::new("/nonexistent/podup.db")).unwrap();
        assert_eq!((s.events, s.tasks, s.size_bytes, s.oldest_event_ms), (0, 0, 0, None));
        assert_eq!(s.schema_version, crate::store::schema::VERSION);
        c.execute(
            "INSERT INTO rate_hits (key, ts_ms) VALUES ('image:x', 100), ('image:x', 200), ('old', 1)",
            [],
        )
        .unwrap();
        let l = rate_limits(&c, 250, 200).unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!((l[0].key.as_str(), l[0].hits, l[0].last_ms), ("image:x", 2, 200));
        c.execute("INSERT INTO unit_locks VALUES ('a.service', 4, 9)", [])
            .unwrap();
        let held = held_locks(&c).unwrap();
        assert_eq!((held[0].task_id, held[0].task_status.as_deref()), (4, None));
        assert!(task_counts(&c, 0).unwrap().is_empty());
        assert_eq!(last_known_digest(&c, "a.service").unwrap(), None);
        c.execute(
            "INSERT INTO tasks (kind, created_ms, source, spec) VALUES ('manual', 1, 'api', '{}'), ('manual', 2, 'api', '{}')",
            [],
        )
        .unwrap();
        c.execute("INSERT INTO task_units (task_id, unit, from_digest, to_digest, status) VALUES (1, 'a.service', 'sha256:old', 'sha256:new', 'succeeded'), (2, 'a.service', 'sha256:new', 'sha256:bad', 'rolled_back')", []).unwrap();
        assert_eq!(
            last_known_digest(&c, "a.service").unwrap().as_deref(),
            Some("sha256:new")
        );
    }
}
