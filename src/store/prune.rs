//! Pruning the state database: old events, finished tasks (their units and logs go
//! with them), expired sessions, expired rate-limit hits and orphaned deploy locks.
//! Deletes run in bounded batches, each its own short transaction, so the server
//! and workers never wait for more than a moment.

use rusqlite::{Connection, params};
use serde::Serialize;

/// Rows deleted per transaction.
pub const BATCH_ROWS: usize = 500;

/// What to remove: rows older than these cut-offs (ms since the epoch).
#[derive(Debug, Clone, Copy)]
pub struct Cutoffs {
    pub events_before_ms: i64,
    pub tasks_before_ms: i64,
    pub rate_hits_before_ms: i64,
    pub now_ms: i64,
}

/// Rows per kind: what a dry run would remove, or what was removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    pub events: i64,
    pub tasks: i64,
    pub task_units: i64,
    pub task_logs: i64,
    pub sessions: i64,
    pub rate_hits: i64,
    pub locks: i64,
}

const FINISHED: &str = "status NOT IN ('pending', 'running', 'awaiting_approval', 'scheduled')";

fn has_table(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

fn count(conn: &Connection, sql: &str, arg: i64) -> rusqlite::Result<i64> {
    conn.query_row(sql, [arg], |r| r.get(0))
}

/// Exact counts of what `prune` would remove.
pub fn plan(conn: &Connection, c: &Cutoffs) -> rusqlite::Result<Counts> {
    let old_tasks = format!("SELECT id FROM tasks WHERE {FINISHED} AND coalesce(finished_ms, created_ms) < ?1");
    Ok(Counts {
        events: count(
            conn,
            "SELECT count(*) FROM event_log WHERE ts_ms < ?1",
            c.events_before_ms,
        )?,
        tasks: count(conn, &format!("SELECT count(*) FROM ({old_tasks})"), c.tasks_before_ms)?,
        task_units: count(
            conn,
            &format!("SELECT count(*) FROM task_units WHERE task_id IN ({old_tasks})"),
            c.tasks_before_ms,
        )?,
        task_logs: count(
            conn,
            &format!("SELECT count(*) FROM task_logs WHERE task_id IN ({old_tasks})"),
            c.tasks_before_ms,
        )?,
        sessions: if has_table(conn, "sessions")? {
            count(conn, "SELECT count(*) FROM sessions WHERE expires_ms < ?1", c.now_ms)?
        } else {
            0
        },
        rate_hits: count(
            conn,
            "SELECT count(*) FROM rate_hits WHERE ts_ms < ?1",
            c.rate_hits_before_ms,
        )?,
        locks: count(
            conn,
            &format!(
                "SELECT count(*) FROM unit_locks WHERE ?1 >= 0 AND task_id NOT IN (SELECT id FROM tasks WHERE NOT ({FINISHED}))"
            ),
            0,
        )?,
    })
}

/// Deletes in batches of `BATCH_ROWS`, each in its own transaction; returns the total.
fn batched(conn: &Connection, sql: &str, arg: i64) -> rusqlite::Result<i64> {
    let mut total = 0;
    loop {
        let n = conn.execute(sql, params![arg, BATCH_ROWS as i64])? as i64;
        total += n;
        if n < BATCH_ROWS as i64 {
            return Ok(total);
        }
    }
}

/// Removes what `plan` counts.
pub fn prune(conn: &Connection, c: &Cutoffs) -> rusqlite::Result<Counts> {
    let events = batched(
        conn,
        "DELETE FROM event_log WHERE id IN (SELECT id FROM event_log WHERE ts_ms < ?1 LIMIT ?2)",
        c.events_before_ms,
    )?;
    // Units and logs first (in batches), then the tasks themselves.
    let old = format!("SELECT id FROM tasks WHERE {FINISHED} AND coalesce(finished_ms, created_ms) < ?1");
    let task_logs = batched(
        conn,
        &format!("DELETE FROM task_logs WHERE id IN (SELECT id FROM task_logs WHERE task_id IN ({old}) LIMIT ?2)"),
        c.tasks_before_ms,
    )?;
    let task_units = batched(
        conn,
        &format!("DELETE FROM task_units WHERE id IN (SELECT id FROM task_units WHERE task_id IN ({old}) LIMIT ?2)"),
        c.tasks_before_ms,
    )?;
    // A task another task retried keeps its id referenced: clear the reference first.
    conn.execute(
        &format!("UPDATE tasks SET retry_of = NULL WHERE retry_of IN ({old})"),
        [c.tasks_before_ms],
    )?;
    let tasks = batched(
        conn,
        &format!("DELETE FROM tasks WHERE id IN ({old} LIMIT ?2)"),
        c.tasks_before_ms,
    )?;
    // Notifications that ended (delivered or given up) go with the tasks' age; their
    // attempts follow by ON DELETE CASCADE. Pending ones stay until they end.
    if has_table(conn, "outbox")? {
        batched(
            conn,
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE status != 'pending' AND done_ms < ?1 LIMIT ?2)",
            c.tasks_before_ms,
        )?;
    }
    let sessions = if has_table(conn, "sessions")? {
        conn.execute("DELETE FROM sessions WHERE expires_ms < ?1", [c.now_ms])? as i64
    } else {
        0
    };
    let rate_hits = batched(
        conn,
        "DELETE FROM rate_hits WHERE id IN (SELECT id FROM rate_hits WHERE ts_ms < ?1 LIMIT ?2)",
        c.rate_hits_before_ms,
    )?;
    let locks = conn.execute(
        &format!("DELETE FROM unit_locks WHERE task_id NOT IN (SELECT id FROM tasks WHERE NOT ({FINISHED}))"),
        [],
    )? as i64;
    // Update checks' cache, holds and notices age out with the tasks (not counted:
    // they are a few rows per image).
    if has_table(conn, "registry_cache")? {
        super::updates::forget_before(conn, c.tasks_before_ms, c.now_ms)?;
    }
    // The MinAge clock of digests heard of long ago: a digest that old is past any
    // sensible minimum age, and one heard of again starts a new clock.
    if has_table(conn, "image_seen")? {
        conn.execute("DELETE FROM image_seen WHERE first_ms < ?1", [c.tasks_before_ms])?;
    }
    Ok(Counts {
        events,
        tasks,
        task_units,
        task_logs,
        sessions,
        rate_hits,
        locks,
    })
}

/// Bytes the database files take (main file + WAL).
pub fn size_bytes(path: &std::path::Path) -> u64 {
    let wal = path.with_extension("db-wal");
    [path.to_path_buf(), wal]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{TaskKind, TaskSpec, TaskStatus, UnitSpec};
    use crate::store::tasks::{self as t, NewTask};

    #[test]
    fn dry_run_counts_exactly_what_prune_removes() {
        let c = crate::testing::migrated_db();
        c.pragma_update(None, "foreign_keys", "ON").unwrap();
        let spec = TaskSpec {
            units: vec![UnitSpec {
                unit: "a.service".into(),
                image: None,
                digest: None,
                retag: None,
            }],
            scope: Some(crate::model::Scope::System),
            recovers: None,
            sink: None,
            fresh: false,
            follow: Default::default(),
            pull_parallel: crate::model::DEFAULT_PULL_PARALLEL,
            engine: Default::default(),
            verify_secs: 1,
            dry_run: false,
            mode: crate::model::Mode::Deploy,
        };
        let new = NewTask {
            kind: TaskKind::Manual,
            source: "cli",
            caller: None,
            trigger_reason: None,
            request_id: None,
            delivery_id: None,
            retry_of: None,
            spec: &spec,
            hold: None,
        };
        for i in 0..1200 {
            let id = t::insert(&c, &new, i).unwrap();
            t::add_log(
                &c,
                id,
                &t::LogEntry {
                    ts_ms: i,
                    level: crate::model::LogLevel::Info,
                    step: "s".into(),
                    message: "m".into(),
                    ..Default::default()
                },
            )
            .unwrap();
            if i < 1100 {
                t::transition(&c, id, TaskStatus::Succeeded, "ok", "", i).unwrap();
            }
        }
        for i in 0..700 {
            c.execute("INSERT INTO event_log (request_id, ts_ms, method, path, status, action, reason, duration_ms) VALUES (?1, ?2, 'GET', '/', 200, 'a', 'r', 0)", params![format!("r{i}"), i]).unwrap();
        }
        c.execute(
            "INSERT INTO unit_locks (unit, task_id, acquired_ms) VALUES ('a.service', 5, 0), ('b.service', 1150, 0)",
            [],
        )
        .unwrap();
        crate::store::ratelimit::insert_hit(&c, "k", 10).unwrap();
        crate::store::ratelimit::insert_hit(&c, "k", 5000).unwrap();
        let cut = Cutoffs {
            events_before_ms: 600,
            tasks_before_ms: 1000,
            rate_hits_before_ms: 100,
            now_ms: 5000,
        };
        let planned = plan(&c, &cut).unwrap();
        assert_eq!(
            planned,
            Counts {
                events: 600,
                tasks: 1000,
                task_units: 1000,
                task_logs: 1000,
                sessions: 0,
                rate_hits: 1,
                locks: 1
            }
        );
        assert_eq!(prune(&c, &cut).unwrap(), planned);
        assert_eq!(plan(&c, &cut).unwrap(), Counts::default());
        let open: i64 = c
            .query_row("SELECT count(*) FROM tasks WHERE status = 'pending'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(open, 100, "unfinished tasks are never pruned");
        let lock: i64 = c.query_row("SELECT task_id FROM unit_locks", [], |r| r.get(0)).unwrap();
        assert_eq!(lock, 1150, "the lock of a pending task stays");
    }
}
