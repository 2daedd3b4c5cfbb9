//! Routing: `handle` maps a framed request to a `Response`. It never touches the
//! socket and never writes the event row; the driver does both.

use super::{Request, Response};
use crate::cli::VERSION;
use crate::config::Config;
use crate::store::{Db, StoreError};
use serde_json::json;
use std::time::Instant;

/// What a handler may use.
pub struct Ctx<'a> {
    pub config: &'a Config,
    pub started: Instant,
    pub db: &'a mut Db,
}

pub fn handle(ctx: &mut Ctx<'_>, req: &Request) -> Response {
    let is_get = matches!(req.method.as_str(), "GET" | "HEAD");
    match req.path.as_str() {
        "/health" if is_get => health(ctx),
        "/health" => method_not_allowed("health", "GET, HEAD"),
        _ => {
            if let Err(e) = ctx.db.get() {
                return db_unavailable("not_found", e);
            }
            Response::error(
                404,
                "not_found",
                "unknown_route",
                format!("there is no route for '{}'", req.path),
            )
        }
    }
}

fn method_not_allowed(action: &'static str, allow: &str) -> Response {
    Response::error(405, action, "method_not_allowed", format!("this route accepts {allow}"))
        .with_header("Allow", allow.to_string())
}

/// The 503 every route answers while the database is unusable.
pub fn db_unavailable(action: &'static str, e: &StoreError) -> Response {
    Response::json(
        503,
        action,
        "db_unavailable",
        &json!({
            "error": "db_unavailable",
            "message": e.to_string(),
            "db": {"path": e.path, "error": e.error, "fix": e.fix},
        }),
    )
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
        let mut r = db_unavailable("health", e);
        r.body = serde_json::to_vec(&json!({
            "status": "unavailable",
            "version": VERSION,
            "uptime_secs": uptime_secs,
            "error": "db_unavailable",
            "message": e.to_string(),
            "db": {"state": "error", "path": e.path, "error": e.error, "fix": e.fix},
            "webhook": webhook,
        }))
        .expect("JSON serializes");
        return r;
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
