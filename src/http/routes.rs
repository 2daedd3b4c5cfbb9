//! Routing: `handle` maps a framed request to a `Response`. It never touches the
//! socket and never writes the event row; the driver does both. The status codes
//! of the shared failures (rate limited, store failed, dispatch failed) live here.

use super::{Request, Response, api, dbinfo, event_log, hooks, ops, overview, session, tasks, webhooks};
use crate::build_info::VERSION;
use crate::config::Config;
use crate::host::Host;
use crate::ratelimit::Limited;
use crate::store::{Db, StoreError};
use crate::tasks::dispatch::Dispatcher;
use serde_json::json;
use std::path::Path;
use std::time::Instant;

/// What a handler may use.
pub struct Ctx<'a> {
    pub config: &'a Config,
    pub started: Instant,
    pub db: &'a mut Db,
    pub host: &'a Host,
    /// Absolute path of this binary (what task units run).
    pub exe: &'a Path,
    /// The id of the request's event row.
    pub request_id: &'a str,
    /// The client's address without port (rate-limit key).
    pub client_ip: String,
    /// Set once the request's credential verified (a token, a session, a webhook
    /// signature): its event row is then never folded or pruned for size.
    pub authenticated: bool,
    /// The token or session user that verified, named in the event row's `meta` as
    /// `by` (the operator's remedy for a credential that floods: revoke that one).
    pub identity: Option<String>,
}

impl<'a> Ctx<'a> {
    pub fn dispatcher(&self) -> Dispatcher<'a> {
        Dispatcher {
            config: self.config,
            host: self.host,
            exe: self.exe,
        }
    }
}

pub fn handle(ctx: &mut Ctx<'_>, req: &Request) -> Response {
    let method = req.method.as_str();
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    // Repeated security headers and a Host that is not ours: before any credential.
    if let Some(refused) = super::guard::check(ctx.config, req) {
        return refused;
    }
    if req.path == "/health" {
        return match method {
            "GET" | "HEAD" => health(ctx),
            _ => method_not_allowed("health", "GET, HEAD"),
        };
    }
    // The panel's pages and files answer even while the database is down.
    if let Some(r) = super::panel::serve(req) {
        return r;
    }
    if let Err(e) = ctx.db.get() {
        return db_unavailable("request", e);
    }
    match (method, segments.as_slice()) {
        ("POST", ["hooks", "github"]) => hooks::github(ctx, req, None),
        ("POST", ["hooks", "github", service]) => hooks::github(ctx, req, Some(service)),
        (_, ["hooks", "github", ..]) => method_not_allowed("github_webhook", "POST"),
        ("GET", ["api", "v1", "services"]) => api::services(ctx, req),
        ("POST", ["api", "v1", "services", service, "update"]) => api::update_service(ctx, req, service),
        ("POST", ["api", "v1", "update-all"]) => api::update_all(ctx, req),
        ("GET", ["api", "v1", "tasks"]) => tasks::list_tasks(ctx, req),
        ("GET", ["api", "v1", "tasks", id]) => with_id(id, |id| tasks::get_task(ctx, req, id)),
        ("POST", ["api", "v1", "tasks", id, verb @ ("stop" | "force-stop" | "retry")]) => {
            with_id(id, |id| tasks::task_action(ctx, req, id, verb))
        }
        ("GET", ["api", "v1", "webhooks", "status"]) => ops::webhooks_status(ctx, req),
        ("GET", ["api", "v1", "locks"]) => ops::locks(ctx, req),
        ("DELETE", ["api", "v1", "locks", unit]) => ops::clear_lock(ctx, req, unit),
        ("POST", ["api", "v1", "discover"]) => ops::discover(ctx, req),
        ("POST", ["api", "v1", "maintenance", "prune"]) => ops::prune(ctx, req),
        // The panel: sign-in, and the data of its pages (docs/panel.md).
        ("GET", ["api", "v1", "session"]) => session::show(ctx, req),
        ("POST", ["api", "v1", "session"]) => session::sign_in(ctx, req),
        ("DELETE", ["api", "v1", "session"]) => session::sign_out(ctx, req),
        (_, ["api", "v1", "session"]) => method_not_allowed("session", "GET, POST, DELETE"),
        ("GET", ["api", "v1", "events"]) => event_log::list(ctx, req),
        ("GET", ["api", "v1", "overview"]) => overview::overview(ctx, req),
        ("GET", ["api", "v1", "settings"]) => overview::settings(ctx, req),
        ("GET", ["api", "v1", "webhooks"]) => webhooks::status(ctx, req),
        ("POST", ["api", "v1", "webhooks", "test"]) => webhooks::test_delivery(ctx, req),
        ("GET", ["api", "v1", "maintenance"]) => dbinfo::maintenance(ctx, req),
        _ => Response::error(
            404,
            "not_found",
            "unknown_route",
            format!("there is no route for {method} '{}'", req.path),
        ),
    }
}

fn with_id(text: &str, f: impl FnOnce(i64) -> Response) -> Response {
    match text.parse::<i64>() {
        Ok(id) if id > 0 => f(id),
        _ => Response::error(404, "get_task", "unknown_task", format!("'{text}' is not a task id")),
    }
}

fn method_not_allowed(action: &'static str, allow: &str) -> Response {
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

/// Dispatches a created task and answers 202 `{task_id, status_url}`, or 500
/// `dispatch_failed` (the task is then marked failed with systemd-run's stderr).
pub fn dispatch_and_answer(ctx: &mut Ctx<'_>, action: &'static str, id: i64, description: &str) -> Response {
    let d = ctx.dispatcher();
    let conn = match ctx.db.get() {
        Ok(c) => c,
        Err(e) => return db_unavailable(action, e),
    };
    match d.dispatch(conn, id, &format!("podup task {id}: {description}")) {
        Ok(()) => accepted(action, id, &d.status_url(id)),
        Err(message) => dispatch_failed(action, id, &message, &d.status_url(id)),
    }
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

fn health(ctx: &mut Ctx<'_>) -> Response {
    let uptime_secs = ctx.started.elapsed().as_secs();
    let webhook = if ctx.config.github_secrets.is_empty() {
        "not_configured"
    } else {
        "configured"
    };
    let db_check = match ctx.db.get() {
        Ok(conn) => conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.error.clone()),
    };
    if let Err(error) = db_check {
        if ctx.db.get().is_ok() {
            ctx.db.fail(&error);
        }
        let e = ctx.db.get().expect_err("just failed");
        let (message, db) = dbinfo::unavailable(e);
        return Response::json(
            503,
            "health",
            "db_unavailable",
            &json!({
                "status": "unavailable",
                "version": VERSION,
                "uptime_secs": uptime_secs,
                "error": "db_unavailable",
                "message": message,
                "db": db,
                "webhook": webhook,
            }),
        );
    }
    Response::json(
        200,
        "health",
        "ok",
        &json!({
            "status": "ok",
            "version": VERSION,
            "uptime_secs": uptime_secs,
            "db": {"state": "ok"},
            "webhook": webhook,
        }),
    )
}
