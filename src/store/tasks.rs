//! The `tasks`, `task_units` and `task_logs` tables (docs/tasks.md). The status
//! rules are enforced here and by SQLite triggers: a terminal status never changes.

use crate::model::{TaskKind, TaskSpec, TaskStatus};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

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
}

#[derive(Debug, Clone, Serialize)]
pub struct Task {
    pub id: i64,
    pub kind: String,
    pub status: String,
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
}

impl Task {
    pub fn status(&self) -> TaskStatus {
        TaskStatus::parse(&self.status).unwrap_or(TaskStatus::Unknown)
    }

    pub fn spec(&self) -> Option<TaskSpec> {
        serde_json::from_value(self.spec.clone()).ok()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskUnit {
    pub unit: String,
    pub image: Option<String>,
    pub from_digest: Option<String>,
    pub to_digest: Option<String>,
    pub status: String,
    pub phase: String,
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    pub message: Option<String>,
}

/// One line of a task's timeline; commands carry argv, exit status and stderr.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LogEntry {
    pub ts_ms: i64,
    pub level: String,
    pub step: String,
    pub unit: Option<String>,
    pub message: String,
    pub argv: Option<Vec<String>>,
    pub exit_status: Option<i32>,
    pub stderr: Option<String>,
}

const TASK_COLUMNS: &str = "id, kind, status, reason, message, created_ms, started_ms, finished_ms, source, caller, \
     trigger_reason, request_id, delivery_id, retry_of, units_text, spec";

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
    })
}

/// Inserts a pending task and one pending row per unit; returns its id.
pub fn insert(conn: &Connection, t: &NewTask<'_>, now_ms: i64) -> rusqlite::Result<i64> {
    let units_text: Vec<&str> = t.spec.units.iter().map(|u| u.unit.as_str()).collect();
    let spec = serde_json::to_string(t.spec).expect("a spec serializes");
    conn.execute(
        "INSERT INTO tasks (kind, status, created_ms, source, caller, trigger_reason, request_id, delivery_id, retry_of, units_text, spec)
         VALUES (?1, 'pending', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            t.kind.as_str(),
            now_ms,
            t.source,
            t.caller,
            t.trigger_reason,
            t.request_id,
            t.delivery_id,
            t.retry_of,
            units_text.join(" "),
            spec
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
        params![id, to.as_str(), reason, message, now_ms, to.is_terminal(), task.status],
    )?;
    Ok(changed == 1)
}

/// What changes on a unit row; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct UnitUpdate<'a> {
    pub status: Option<&'a str>,
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

/// A pending or running task that deploys `digest` to `unit` (coalescing).
pub fn open_for(conn: &Connection, unit: &str, digest: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT t.id FROM tasks t JOIN task_units u ON u.task_id = t.id
         WHERE u.unit = ?1 AND u.to_digest = ?2 AND t.status IN ('pending', 'running')
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

/// Marks every unit row that has not ended with `status`.
pub fn end_open_units(
    conn: &Connection,
    task_id: i64,
    status: &str,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::UnitSpec;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate(&mut c).unwrap();
        c
    }

    fn spec(units: &[&str]) -> TaskSpec {
        TaskSpec {
            units: units
                .iter()
                .map(|u| UnitSpec {
                    unit: u.to_string(),
                    image: Some("r/a:t".into()),
                    digest: Some("sha256:1".into()),
                })
                .collect(),
            scope: Some(crate::model::Scope::System),
            verify_secs: 10,
            dry_run: false,
            mode: crate::model::Mode::Deploy,
        }
    }

    fn new_task<'a>(s: &'a TaskSpec) -> NewTask<'a> {
        NewTask {
            kind: TaskKind::Manual,
            source: "api",
            caller: Some("ci"),
            trigger_reason: None,
            request_id: None,
            delivery_id: Some("d1"),
            retry_of: None,
            spec: s,
        }
    }

    #[test]
    fn terminal_status_never_changes_even_by_raw_sql() {
        let c = db();
        let s = spec(&["a.service"]);
        let id = insert(&c, &new_task(&s), 1).unwrap();
        assert!(transition(&c, id, TaskStatus::Running, "", "", 2).unwrap());
        assert!(!transition(&c, id, TaskStatus::Pending, "", "", 3).unwrap());
        assert!(transition(&c, id, TaskStatus::Succeeded, "ok", "done", 4).unwrap());
        assert!(!transition(&c, id, TaskStatus::Failed, "x", "x", 5).unwrap());
        let e = c
            .execute("UPDATE tasks SET status = 'failed' WHERE id = ?1", [id])
            .unwrap_err();
        assert!(e.to_string().contains("terminal"), "{e}");
        let t = get(&c, id).unwrap().unwrap();
        assert_eq!(
            (t.status.as_str(), t.started_ms, t.finished_ms),
            ("succeeded", Some(2), Some(4))
        );
    }

    #[test]
    fn running_cannot_return_to_pending_in_sql_either() {
        let c = db();
        let s = spec(&["a.service"]);
        let id = insert(&c, &new_task(&s), 1).unwrap();
        c.execute("UPDATE tasks SET status = 'running' WHERE id = ?1", [id])
            .unwrap();
        assert!(
            c.execute("UPDATE tasks SET status = 'pending' WHERE id = ?1", [id])
                .is_err()
        );
    }

    #[test]
    fn list_filters_and_pages() {
        let c = db();
        let (a, b) = (spec(&["app.service"]), spec(&["worker.service", "db.service"]));
        for i in 0..10 {
            let s = if i % 2 == 0 { &a } else { &b };
            let mut t = new_task(s);
            if i % 3 == 0 {
                t.kind = TaskKind::Webhook;
            }
            insert(&c, &t, i).unwrap();
        }
        let all = list(
            &c,
            &ListFilter {
                limit: 4,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(all.iter().map(|t| t.id).collect::<Vec<_>>(), vec![10, 9, 8, 7]);
        let next = list(
            &c,
            &ListFilter {
                limit: 4,
                before_id: Some(7),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(next[0].id, 6);
        let worker = list(
            &c,
            &ListFilter {
                limit: 50,
                unit: Some("worker".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(worker.len(), 5);
        let hooks = list(
            &c,
            &ListFilter {
                limit: 50,
                kinds: Some(vec![TaskKind::Webhook]),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(hooks.len(), 4);
        let pending = list(
            &c,
            &ListFilter {
                limit: 50,
                status: Some(TaskStatus::Pending),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(pending.len(), 10);
    }

    #[test]
    fn units_logs_delivery_and_coalescing() {
        let c = db();
        let s = spec(&["app.service"]);
        let id = insert(&c, &new_task(&s), 1).unwrap();
        assert_eq!(by_delivery(&c, "d1").unwrap().unwrap().id, id);
        assert_eq!(open_for(&c, "app.service", "sha256:1").unwrap(), Some(id));
        assert_eq!(open_for(&c, "app.service", "sha256:2").unwrap(), None);
        let u = UnitUpdate {
            status: Some("running"),
            phase: Some("pull"),
            from_digest: Some("sha256:0"),
            ..Default::default()
        };
        update_unit(&c, id, "app.service", &u, 5).unwrap();
        add_log(
            &c,
            id,
            &LogEntry {
                ts_ms: 5,
                level: "info".into(),
                step: "pull".into(),
                message: "m".into(),
                argv: Some(vec!["podman".into()]),
                exit_status: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
        let units = units(&c, id).unwrap();
        assert_eq!(
            (
                units[0].phase.as_str(),
                units[0].from_digest.as_deref(),
                units[0].started_ms
            ),
            ("pull", Some("sha256:0"), Some(5))
        );
        assert_eq!(
            logs(&c, id).unwrap()[0].argv.as_deref(),
            Some(&["podman".to_string()][..])
        );
        end_open_units(&c, id, "cancelled", "stopped", 6).unwrap();
        assert_eq!(self::units(&c, id).unwrap()[0].status, "cancelled");
        add_unit(&c, id, "extra.service", None).unwrap();
        add_unit(&c, id, "extra.service", None).unwrap();
        assert_eq!(
            get(&c, id).unwrap().unwrap().units,
            vec!["app.service", "extra.service"]
        );
    }
}
