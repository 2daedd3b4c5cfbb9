//! The `event_log` table: one row per HTTP request, written by the driver before the
//! response goes out; refused requests past a per-source rate share a row with a
//! count (`fold`).

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// One request as the event log keeps it.
#[derive(Debug, Clone, PartialEq)]
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

/// A stored event as the API lists it: with its row id and `meta` as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRow {
    pub id: i64,
    pub request_id: String,
    pub ts_ms: i64,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub action: String,
    pub reason: String,
    pub duration_ms: i64,
    pub remote_addr: Option<String>,
    pub meta: serde_json::Value,
    pub task_id: Option<i64>,
    /// Requests this row stands for: 1, or more for refused requests folded past the
    /// per-source rate (`fold`).
    pub count: i64,
}

/// Filters of `GET /api/v1/events`; pages go by id, newest first.
#[derive(Debug, Default)]
pub struct EventFilter {
    pub action: Option<String>,
    /// An exact status (`401`) or a class (`4` for 400–499).
    pub status: Option<u16>,
    pub status_class: Option<u16>,
    pub reason: Option<String>,
    /// A substring of the stored path.
    pub path: Option<String>,
    pub task_id: Option<i64>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub before_id: Option<i64>,
    /// Leave out successful reads (GET/HEAD below 400): the panel's own polling.
    pub quiet: bool,
    pub limit: usize,
}

pub fn list(conn: &Connection, f: &EventFilter) -> rusqlite::Result<Vec<EventRow>> {
    let mut sql = String::from(
        "SELECT id, request_id, ts_ms, method, path, status, action, reason, duration_ms, remote_addr, meta, task_id, count
         FROM event_log WHERE 1 = 1",
    );
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    let mut add = |clause: &str, v: rusqlite::types::Value| {
        sql += clause;
        args.push(v);
    };
    if let Some(a) = &f.action {
        add(" AND action = ?", a.clone().into());
    }
    if let Some(s) = f.status {
        add(" AND status = ?", i64::from(s).into());
    }
    if let Some(c) = f.status_class {
        add(" AND status / 100 = ?", i64::from(c).into());
    }
    if let Some(r) = &f.reason {
        add(" AND reason = ?", r.clone().into());
    }
    if let Some(p) = &f.path {
        add(" AND instr(path, ?) > 0", p.clone().into());
    }
    if let Some(t) = f.task_id {
        add(" AND task_id = ?", t.into());
    }
    if let Some(t) = f.since_ms {
        add(" AND ts_ms >= ?", t.into());
    }
    if let Some(t) = f.until_ms {
        add(" AND ts_ms < ?", t.into());
    }
    if let Some(b) = f.before_id {
        add(" AND id < ?", b.into());
    }
    if f.quiet {
        sql += " AND NOT (method IN ('GET', 'HEAD') AND status < 400)";
    }
    sql += " ORDER BY id DESC LIMIT ?";
    args.push((f.limit as i64).into());
    let mut st = conn.prepare(&sql)?;
    st.query_map(rusqlite::params_from_iter(args), |r| {
        let meta: String = r.get(10)?;
        Ok(EventRow {
            id: r.get(0)?,
            request_id: r.get(1)?,
            ts_ms: r.get(2)?,
            method: r.get(3)?,
            path: r.get(4)?,
            status: r.get(5)?,
            action: r.get(6)?,
            reason: r.get(7)?,
            duration_ms: r.get(8)?,
            remote_addr: r.get(9)?,
            meta: serde_json::from_str(&meta).unwrap_or(serde_json::Value::String(meta)),
            task_id: r.get(11)?,
            count: r.get(12)?,
        })
    })?
    .collect()
}

/// Which GitHub deliveries `last_delivery` looks among.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deliveries<'a> {
    /// Every one.
    Any,
    /// Those for this unit: to its own URL, or whose task deploys it.
    Unit(&'a str),
    /// Those for this unit that were accepted.
    Accepted(&'a str),
    /// Those for this unit answered with a status of 400 or more.
    Failed(&'a str),
}

/// A GitHub delivery as its event row has it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub ts_ms: i64,
    pub status: u16,
    pub reason: String,
    pub request_id: String,
    pub task_id: Option<i64>,
    /// The row's `meta`, as stored (a JSON object).
    pub meta: String,
}

/// Gives the rows new ids in the order they happened (`ts_ms`, then id): the log
/// pages by id, and `podup demo` writes its backdated history out of order.
pub fn renumber_by_time(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "CREATE TEMP TABLE seeded AS SELECT * FROM event_log;
         DELETE FROM event_log;
         INSERT INTO event_log (request_id, ts_ms, method, path, status, action, reason, duration_ms, remote_addr, meta, task_id)
           SELECT request_id, ts_ms, method, path, status, action, reason, duration_ms, remote_addr, meta, task_id
           FROM seeded ORDER BY ts_ms, id;
         DROP TABLE seeded;",
    )
}

/// The newest GitHub delivery among `which`, if any.
pub fn last_delivery(conn: &Connection, which: Deliveries<'_>) -> rusqlite::Result<Option<Delivery>> {
    let mine = "path = '/hooks/github/' || ?1 OR task_id IN (SELECT task_id FROM task_units WHERE unit = ?1)";
    let (filter, unit) = match which {
        Deliveries::Any => ("?1 = ?1".to_string(), ""),
        Deliveries::Unit(u) => (mine.to_string(), u),
        Deliveries::Accepted(u) => (format!("({mine}) AND reason = 'accepted'"), u),
        Deliveries::Failed(u) => (format!("({mine}) AND status >= 400"), u),
    };
    let sql = format!(
        "SELECT ts_ms, status, reason, request_id, task_id, meta FROM event_log e
         WHERE action = 'github_webhook' AND ({filter}) ORDER BY id DESC LIMIT 1"
    );
    conn.query_row(&sql, [unit], |r| {
        Ok(Delivery {
            ts_ms: r.get(0)?,
            status: r.get(1)?,
            reason: r.get(2)?,
            request_id: r.get(3)?,
            task_id: r.get(4)?,
            meta: r.get(5)?,
        })
    })
    .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_and_unique_request_id() {
        let conn = crate::testing::migrated_db();
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
        let f = EventFilter {
            task_id: Some(7),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(list(&conn, &f).unwrap().len(), 1);
    }

    #[test]
    fn list_filters_pages_and_uses_the_indexes() {
        let conn = crate::testing::migrated_db();
        for i in 0..20i64 {
            let (method, status, action) = match i % 4 {
                0 => ("POST", 202, "github_webhook"),
                1 => ("POST", 401, "github_webhook"),
                2 => ("GET", 200, "list_tasks"),
                _ => ("GET", 404, "not_found"),
            };
            let e = Event {
                request_id: format!("r{i}"),
                ts_ms: i * 10,
                method: method.into(),
                path: format!("/p/{i}"),
                status,
                action: action.into(),
                reason: "x".into(),
                duration_ms: 0,
                remote_addr: None,
                meta: r#"{"k":"<b>v</b>"}"#.into(),
                task_id: (i == 4).then_some(9),
            };
            insert(&conn, &e).unwrap();
        }
        let f = |f: EventFilter| list(&conn, &EventFilter { limit: 100, ..f }).unwrap();
        assert_eq!(f(EventFilter::default()).len(), 20);
        assert_eq!(
            f(EventFilter {
                action: Some("github_webhook".into()),
                ..Default::default()
            })
            .len(),
            10
        );
        assert_eq!(
            f(EventFilter {
                status: Some(401),
                ..Default::default()
            })
            .len(),
            5
        );
        assert_eq!(
            f(EventFilter {
                status_class: Some(4),
                ..Default::default()
            })
            .len(),
            10
        );
        assert_eq!(
            f(EventFilter {
                quiet: true,
                ..Default::default()
            })
            .len(),
            15
        );
        assert_eq!(
            f(EventFilter {
                task_id: Some(9),
                ..Default::default()
            })[0]
                .meta["k"],
            "<b>v</b>"
        );
        assert_eq!(
            f(EventFilter {
                path: Some("/p/1".into()),
                ..Default::default()
            })
            .len(),
            11
        );
        let window = f(EventFilter {
            since_ms: Some(50),
            until_ms: Some(100),
            ..Default::default()
        });
        assert_eq!(
            window.iter().map(|e| e.ts_ms).collect::<Vec<_>>(),
            vec![90, 80, 70, 60, 50]
        );
        let page = list(
            &conn,
            &EventFilter {
                limit: 3,
                before_id: Some(10),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), vec![9, 8, 7]);
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id FROM event_log WHERE action = 'x' AND id < 5 ORDER BY id DESC LIMIT 5",
                [],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("event_log_action"), "{plan}");
    }

    #[test]
    fn the_last_delivery_of_a_unit_by_url_or_task() {
        let conn = crate::testing::migrated_db();
        let add = |id: &str, path: &str, status: u16, reason: &str, task_id: Option<i64>| {
            let e = Event {
                request_id: id.into(),
                ts_ms: 1,
                method: "POST".into(),
                path: path.into(),
                status,
                action: "github_webhook".into(),
                reason: reason.into(),
                duration_ms: 0,
                remote_addr: None,
                meta: "{}".into(),
                task_id,
            };
            insert(&conn, &e).unwrap();
        };
        assert_eq!(last_delivery(&conn, Deliveries::Any).unwrap(), None);
        add("a", "/hooks/github/app.service", 202, "accepted", None);
        add("b", "/hooks/github/app.service", 401, "bad_signature", None);
        add("c", "/hooks/github/other.service", 202, "accepted", None);
        let id = |w| last_delivery(&conn, w).unwrap().map(|d| d.request_id);
        assert_eq!(id(Deliveries::Any).as_deref(), Some("c"));
        assert_eq!(id(Deliveries::Unit("app.service")).as_deref(), Some("b"));
        assert_eq!(id(Deliveries::Accepted("app.service")).as_deref(), Some("a"));
        assert_eq!(id(Deliveries::Failed("app.service")).as_deref(), Some("b"));
        assert_eq!(id(Deliveries::Failed("other.service")), None);
    }
}
