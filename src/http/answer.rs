//! The answers routes share: `200 ok` with a JSON body, `202 accepted` for a created
//! task (or `500 dispatch_failed`), and the shared failures (database unavailable,
//! store failed, rate limited, method not allowed). A route's own answers are made
//! where it is; its refusals are `Refusal`s.

use super::{Response, dbinfo};
use crate::ratelimit::Limited;
use crate::store::StoreError;
use serde_json::{Value, json};

/// `200` with `body`, reason `ok`.
pub fn ok(action: &'static str, body: &Value) -> Response {
    Response::json(200, action, "ok", body)
}

/// 405 with `Allow`.
pub fn method_not_allowed(action: &'static str, allow: &str) -> Response {
    Response::error(405, action, "method_not_allowed", format!("this route accepts {allow}"))
        .with_header("Allow", allow.to_string())
}

/// The 503 every route answers while the database is unusable. No one can sign in
/// meanwhile (tokens live in it), so it tells no one the path or the uid
/// (`dbinfo::unavailable`): the journal and `podup check` do.
pub fn db_unavailable(action: &'static str, e: &StoreError) -> Response {
    let (message, db) = dbinfo::unavailable(e);
    Response::json(
        503,
        action,
        "db_unavailable",
        &json!({
            "error": "db_unavailable",
            "message": message,
            "component": "state database",
            "db": db,
        }),
    )
}

/// A statement failed on an open database (disk full, locked too long, ...).
pub fn store_failed(action: &'static str, e: &rusqlite::Error) -> Response {
    log::error!(error_kind = "store_failed"; "state database error: {e}");
    Response::error(
        503,
        action,
        "store_failed",
        format!("the state database could not be written: {e}"),
    )
}

/// 429 with `Retry-After`; the reason names the limit.
pub fn rate_limited(action: &'static str, reason: &'static str, what: &str, l: &Limited) -> Response {
    let message = format!(
        "too many {what}: the limit is {}; try again in {} s",
        l.rule, l.retry_after_secs
    );
    Response::json(429, action, reason, &json!({"error": reason, "message": message, "limit": l.rule.to_string(), "retry_after_secs": l.retry_after_secs}))
        .with_header("Retry-After", l.retry_after_secs.to_string())
        .with_meta(json!({"limit": l.rule.to_string()}))
}

/// 202 `{status: "accepted", task_id, status_url}`, linked to the task.
pub fn accepted(action: &'static str, id: i64, url: &str) -> Response {
    Response::json(
        202,
        action,
        "accepted",
        &json!({"status": "accepted", "task_id": id, "status_url": url}),
    )
    .with_task(id)
}

/// 500 `dispatch_failed`: the task exists and is marked failed with systemd-run's stderr.
pub fn dispatch_failed(action: &'static str, id: i64, message: &str, url: &str) -> Response {
    let body = json!({"error": "dispatch_failed", "message": message, "task_id": id, "status_url": url});
    Response::json(500, action, "dispatch_failed", &body).with_task(id)
}

/// When the two routes that duplicated others were deprecated (2026-12-07, 00:00 UTC).
pub const DEPRECATED_AT: &str = "@1796601600";

/// Marks an answer of a deprecated route: RFC 9745 section 2 defines `Deprecation` as
/// a Structured Field Date (RFC 9651), `@` and the Unix time the resource was (or will
/// be) deprecated, and registers it beside RFC 8288's `Link` header, whose
/// `rel="successor-version"` (RFC 5829) names the route that replaces it.
pub fn deprecated(r: Response, successor: &str) -> Response {
    r.with_header("Deprecation", DEPRECATED_AT)
        .with_header("Link", format!("<{successor}>; rel=\"successor-version\""))
}
