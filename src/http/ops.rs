//! Operations over HTTP (docs/api.md): webhook status per service, rate-limit
//! windows and deploy locks (and clearing a stuck one), discovery, and prune.
//! None answers a bare 5xx: a component that cannot be reached is named with the
//! error and the fix.

use super::api::authorize;
use super::routes::{Ctx, db_unavailable, store_failed};
use super::webhooks::{base_url, verdict};
use super::{Request, Response};
use crate::auth::Need;
use crate::clock::now_ms;
use crate::tasks::maintenance;
use rusqlite::{Connection, OptionalExtension};
use serde::Deserialize;
use serde_json::{Value, json};

fn delivery(conn: &Connection, filter: &str, unit: &str) -> rusqlite::Result<Option<Value>> {
    let sql = format!(
        "SELECT ts_ms, status, reason, request_id, task_id, meta FROM event_log e
         WHERE action = 'github_webhook' AND ({filter}) ORDER BY id DESC LIMIT 1"
    );
    conn.query_row(&sql, [unit], |r| {
        let (status, reason): (u16, String) = (r.get(1)?, r.get(2)?);
        let meta: String = r.get(5)?;
        Ok(json!({
            "ts_ms": r.get::<_, i64>(0)?,
            "status": status,
            "reason": reason,
            "verdict": verdict(status, &reason),
            "request_id": r.get::<_, String>(3)?,
            "task_id": r.get::<_, Option<i64>>(4)?,
            "delivery": serde_json::from_str::<Value>(&meta).ok().and_then(|m| m.get("delivery").cloned()),
        }))
    })
    .optional()
}

/// `GET /api/v1/webhooks/status`
pub fn webhooks_status(ctx: &mut Ctx<'_>, req: &Request) -> Response {
    const A: &str = "webhooks_status";
    if let Err(r) = authorize(ctx, req, Need::Read, A) {
        return r;
    }
    let d = ctx.dispatcher();
    let base = base_url(ctx, req);
    let secret_set = !ctx.config.github_secrets.is_empty();
    let conn = match ctx.db.get() {
        Ok(c) => c,
        Err(e) => return db_unavailable(A, e),
    };
    let services = d.resolve(Some(conn), None).unwrap_or_default();
    let mine = "path = '/hooks/github/' || ?1 OR task_id IN (SELECT task_id FROM task_units WHERE unit = ?1)";
    let mut out = Vec::new();
    for s in services {
        let row = (|| -> rusqlite::Result<Value> {
            Ok(json!({
                "unit": s.unit,
                "source": s.source,
                "image": s.image.map(|i| i.to_string()),
                "url": format!("{base}/hooks/github/{}", s.unit),
                "secret_set": secret_set,
                "last_delivery": delivery(conn, mine, &s.unit)?,
                "last_success": delivery(conn, &format!("({mine}) AND reason = 'accepted'"), &s.unit)?,
                "last_failure": delivery(conn, &format!("({mine}) AND status >= 400"), &s.unit)?,
            }))
        })();
        match row {
            Ok(v) => out.push(v),
            Err(e) => return store_failed(A, &e),
        }
    }
    let any = delivery(conn, "?1 = ?1", "");
    match any {
        Ok(last) => Response::json(
            200,
            A,
            "ok",
            &json!({"url": format!("{base}/hooks/github"), "secret_set": secret_set, "last_delivery": last, "services": out}),
        ),
        Err(e) => store_failed(A, &e),
    }
}

/// `GET /api/v1/locks`
pub fn locks(ctx: &mut Ctx<'_>, req: &Request) -> Response {
    const A: &str = "locks";
    if let Err(r) = authorize(ctx, req, Need::Read, A) {
        return r;
    }
    let conn = match ctx.db.get() {
        Ok(c) => c,
        Err(e) => return db_unavailable(A, e),
    };
    let result = (|| -> rusqlite::Result<Value> {
        let locks: Vec<Value> = crate::store::stats::held_locks(conn)?
            .into_iter()
            .map(|l| json!({"unit": l.unit, "task_id": l.task_id, "acquired_ms": l.acquired_ms, "task_status": l.task_status}))
            .collect();
        let mut st =
            conn.prepare("SELECT key, count(*), min(ts_ms), max(ts_ms) FROM rate_hits GROUP BY key ORDER BY key")?;
        let limits: Vec<Value> = st
            .query_map([], |r| {
                Ok(json!({"key": r.get::<_, String>(0)?, "hits": r.get::<_, i64>(1)?, "oldest_ms": r.get::<_, i64>(2)?, "newest_ms": r.get::<_, i64>(3)?}))
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(json!({"locks": locks, "rate_limits": limits}))
    })();
    match result {
        Ok(v) => Response::json(200, A, "ok", &v),
        Err(e) => store_failed(A, &e),
    }
}

/// `DELETE /api/v1/locks/<unit>`: clears a stuck deploy lock.
pub fn clear_lock(ctx: &mut Ctx<'_>, req: &Request, unit: &str) -> Response {
    const A: &str = "clear_lock";
    if let Err(r) = authorize(ctx, req, Need::Admin, A) {
        return r;
    }
    let conn = match ctx.db.get() {
        Ok(c) => c,
        Err(e) => return db_unavailable(A, e),
    };
    match conn.execute("DELETE FROM unit_locks WHERE unit = ?1", [unit]) {
        Ok(1) => {
            log::warn!(unit = unit; "deploy lock of '{unit}' cleared by hand");
            Response::json(200, A, "cleared", &json!({"unit": unit, "cleared": true}))
        }
        Ok(_) => Response::error(404, A, "no_lock", format!("'{unit}' holds no deploy lock")),
        Err(e) => store_failed(A, &e),
    }
}

/// `POST /api/v1/discover`: runs discovery now (the panel's refresh).
pub fn discover(ctx: &mut Ctx<'_>, req: &Request) -> Response {
    const A: &str = "discover";
    if let Err(r) = authorize(ctx, req, Need::Admin, A) {
        return r;
    }
    let (config, host) = (ctx.config, ctx.host);
    let conn = match ctx.db.get() {
        Ok(c) => c,
        Err(e) => return db_unavailable(A, e),
    };
    match crate::discovery::run(conn, host, config, &config.unit_dirs, now_ms()) {
        Ok(report) => Response::json(
            200,
            A,
            "ok",
            &json!({"enabled": config.auto_discover, "report": report}),
        ),
        Err(e) => store_failed(A, &e),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PruneBody {
    #[serde(default)]
    dry_run: bool,
    older_than: Option<String>,
}

/// `POST /api/v1/maintenance/prune`
pub fn prune(ctx: &mut Ctx<'_>, req: &Request) -> Response {
    const A: &str = "prune";
    let who = match authorize(ctx, req, Need::Admin, A) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let text = if req.body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &req.body[..]
    };
    let b: PruneBody = match serde_json::from_slice(text) {
        Ok(b) => b,
        Err(e) => {
            return Response::error(
                400,
                A,
                "invalid_json",
                format!("the request body is not the JSON this route takes: {e}"),
            );
        }
    };
    use crate::duration::{DurationError, MAX_TEXT, parse_secs};
    let older = match b.older_than.as_deref().map(|v| (v, parse_secs(v))) {
        None => None,
        Some((_, Ok(s))) => Some(s),
        Some((v, Err(DurationError::Invalid))) => {
            return Response::error(
                400,
                A,
                "invalid_duration",
                format!("older_than: expected a duration such as 30d or 12h, got '{v}'"),
            );
        }
        Some((v, Err(DurationError::OutOfRange))) => {
            return Response::error(
                400,
                A,
                "duration_out_of_range",
                format!("older_than: at most {MAX_TEXT}, got '{v}'"),
            );
        }
    };
    let (config, host) = (ctx.config, ctx.host);
    let conn = match ctx.db.get() {
        Ok(c) => c,
        Err(e) => return db_unavailable(A, e),
    };
    match maintenance::prune(conn, host, config, "api", &who.name, b.dry_run, older) {
        Ok((task, counts)) => {
            let size = crate::store::prune::size_bytes(&config.db_path());
            let body = json!({"dry_run": b.dry_run, "task_id": task, "counts": counts, "db_size_bytes": size});
            let r = Response::json(200, A, if b.dry_run { "dry_run" } else { "pruned" }, &body);
            match task {
                Some(id) => r.with_task(id),
                None => r,
            }
        }
        Err(e) => store_failed(A, &e),
    }
}
