//! Verdicts as the API, the CLI and the panel show them: one object per service, and
//! the counts the Overview shows. A verdict of `available` whose digest the unit has
//! since been deployed to reads `up_to_date`: the Update button goes once it is done.

use crate::model::{TaskKind, UpdateStatus};
use crate::store::tasks::{self, ListFilter};
use crate::store::updates::{self, Verdict};
use rusqlite::Connection;
use serde_json::{Value, json};

/// The `update` object of a service; `null` when it was never checked.
pub fn update_json(v: Option<&Verdict>, running_digest: Option<&str>) -> Value {
    let Some(v) = v else {
        return Value::Null;
    };
    let deployed =
        v.status == UpdateStatus::Available && running_digest.is_some() && v.remote_digest.as_deref() == running_digest;
    let (status, message) = if deployed {
        (UpdateStatus::UpToDate, Some("deployed since the check".to_string()))
    } else {
        (v.status, v.message.clone())
    };
    json!({
        "status": status,
        "remote_digest": v.remote_digest,
        "remote_created": v.remote_created,
        "local_digests": v.local_digests,
        "checked_at": v.checked_ms,
        "fetched_at": v.fetched_ms,
        "reason": v.reason,
        "message": message,
        "endpoint": v.endpoint,
        "task_id": v.task_id,
    })
}

/// Every stored verdict by unit.
pub fn verdicts(conn: &Connection) -> rusqlite::Result<Vec<Verdict>> {
    updates::all(conn)
}

/// The latest check task, as `{id, status, created_ms, finished_ms}`, or `null`.
pub fn last_check(conn: &Connection) -> rusqlite::Result<Value> {
    let last = tasks::list(
        conn,
        &ListFilter {
            kinds: Some(vec![TaskKind::Check]),
            limit: 1,
            ..Default::default()
        },
    )?
    .pop();
    Ok(last.map_or(
        Value::Null,
        |t| json!({"id": t.id, "status": t.status, "created_ms": t.created_ms, "finished_ms": t.finished_ms}),
    ))
}
