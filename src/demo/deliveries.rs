//! The demo's event log beyond its tasks' own requests: webhook deliveries that
//! were ignored or rejected, and refused API calls.

use crate::store::events::{self, Event};
use rusqlite::Connection;
use serde_json::json;

const HOUR_MS: i64 = 3_600_000;

#[allow(clippy::too_many_arguments)]
pub(super) fn event(
    conn: &Connection,
    request_id: &str,
    ts: i64,
    method: &str,
    path: &str,
    status: u16,
    action: &str,
    reason: &str,
    meta: serde_json::Value,
    task: Option<i64>,
) -> rusqlite::Result<()> {
    let e = Event {
        request_id: request_id.into(),
        ts_ms: ts,
        method: method.into(),
        path: path.into(),
        status,
        action: action.into(),
        reason: reason.into(),
        duration_ms: 3 + ts % 17,
        remote_addr: Some(
            if action == "github_webhook" {
                "140.82.115.4:41622"
            } else {
                "10.0.0.12:52110"
            }
            .into(),
        ),
        meta: meta.to_string(),
        task_id: task,
    };
    events::insert(conn, &e).map(drop)
}

/// Deliveries and calls that created no task.
pub(super) fn deliveries(conn: &Connection, now: i64) -> rusqlite::Result<()> {
    let list = [
        (
            50,
            "/hooks/github",
            200,
            "github_webhook",
            "ping",
            json!({"event": "ping", "delivery": "a1b2-ping"}),
        ),
        (
            44,
            "/hooks/github",
            202,
            "github_webhook",
            "no_matching_service",
            json!({"event": "registry_package", "delivery": "a1b2-0001", "detail": "no declared service runs 'ghcr.io/acme/docs:latest'"}),
        ),
        (
            31,
            "/hooks/github",
            202,
            "github_webhook",
            "unsupported_event",
            json!({"event": "push", "delivery": "a1b2-0002", "detail": "event 'push'"}),
        ),
        (
            26,
            "/hooks/github",
            401,
            "github_webhook",
            "signature_mismatch",
            json!({}),
        ),
        (
            20,
            "/hooks/github/web.service",
            202,
            "github_webhook",
            "untagged",
            json!({"event": "package", "delivery": "a1b2-0003", "detail": "the version has no tag"}),
        ),
        (12, "/api/v1/tasks", 401, "list_tasks", "invalid_token", json!({})),
        (
            6,
            "/api/v1/update-all",
            429,
            "update_all",
            "update_all_rate_limited",
            json!({"limit": "2/10m"}),
        ),
        (
            2,
            "/hooks/github",
            401,
            "github_webhook",
            "signature_missing",
            json!({}),
        ),
    ];
    for (i, (hours, path, status, action, reason, meta)) in list.into_iter().enumerate() {
        let method = if path == "/api/v1/tasks" { "GET" } else { "POST" };
        event(
            conn,
            &format!("demo-event-{i}"),
            now - hours * HOUR_MS,
            method,
            path,
            status,
            action,
            reason,
            meta,
            None,
        )?;
    }
    Ok(())
}
