//! Tasks as the API answers them and `podup tasks --json` / `podup task ID --json`
//! print them: one builder for both, so the two cannot drift (docs/api.md).

use crate::store::events;
use crate::store::tasks::{self, ListFilter};
use rusqlite::Connection;
use serde_json::{Value, json};

/// How many tasks a page holds when the caller does not say (`GET /api/v1/tasks`).
pub const DEFAULT_PAGE: usize = 50;
/// The most a page holds, whatever the caller asks.
pub const MAX_PAGE: usize = 500;

/// `{"tasks": [...], "next_before": id}`: a page of tasks, newest first, and the id to
/// pass as `before` for the next page (`null` when this one was not full).
pub fn list(conn: &Connection, f: &ListFilter) -> rusqlite::Result<Value> {
    let list = tasks::list(conn, f)?;
    let next = if list.len() == f.limit {
        list.last().map(|t| t.id)
    } else {
        None
    };
    Ok(json!({"tasks": list, "next_before": next}))
}

/// The event rows linked to task `id`, oldest (the creating request) first.
fn linked_events(conn: &Connection, id: i64) -> rusqlite::Result<Vec<events::EventRow>> {
    let f = events::EventFilter {
        task_id: Some(id),
        limit: 500,
        ..Default::default()
    };
    let mut rows = events::list(conn, &f)?;
    rows.reverse();
    Ok(rows)
}

/// `{"task", "units", "logs", "events", "notifications"}` of task `id`, or `None`
/// when there is no such task.
pub fn one(conn: &Connection, id: i64) -> rusqlite::Result<Option<Value>> {
    let Some(t) = tasks::get(conn, id)? else {
        return Ok(None);
    };
    let (units, logs, evs) = (
        tasks::units(conn, id)?,
        tasks::logs(conn, id)?,
        linked_events(conn, id)?,
    );
    let notifications = crate::store::outbox::for_task(conn, id)?;
    Ok(Some(
        json!({"task": t, "units": units, "logs": logs, "events": evs, "notifications": notifications}),
    ))
}
