//! Operations over HTTP (docs/api.md): webhook status per service, rate-limit
//! windows and deploy locks (and clearing a stuck one), discovery, and prune.
//! None answers a bare 5xx: a component that cannot be reached is named with the
//! error and the fix. `GET /api/v1/webhooks/status` and `GET /api/v1/locks` are
//! deprecated for `/api/v1/webhooks` and `/api/v1/maintenance` (the router marks
//! their answers).

use super::Response;
use super::context::{Call, Ctx};
use super::extract;
use super::refusal::Refusal;
use super::webhooks::{base_url, verdict};
use crate::clock::now_ms;
use crate::store::events::{self, Deliveries};
use crate::store::{locks, stats};
use crate::tasks::maintenance;
use rusqlite::Connection;
use serde::Deserialize;
use serde_json::{Value, json};

fn delivery(conn: &Connection, which: Deliveries<'_>) -> rusqlite::Result<Option<Value>> {
    Ok(events::last_delivery(conn, which)?.map(|d| {
        json!({
            "ts_ms": d.ts_ms,
            "status": d.status,
            "reason": d.reason,
            "verdict": verdict(d.status, &d.reason),
            "request_id": d.request_id,
            "task_id": d.task_id,
            "delivery": serde_json::from_str::<Value>(&d.meta).ok().and_then(|m| m.get("delivery").cloned()),
        })
    }))
}

/// `GET /api/v1/webhooks/status`
pub fn webhooks_status(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let d = ctx.dispatcher();
    let base = base_url(ctx, call.req);
    let secret_set = !ctx.config.github_secrets.is_empty();
    let conn = ctx.db.get()?;
    let services = d.resolve(Some(conn), None).unwrap_or_default();
    let mut out = Vec::new();
    for s in services {
        out.push(json!({
                "unit": s.unit,
            "source": s.source,
            "image": s.image.map(|i| i.to_string()),
            "url": format!("{base}/hooks/github/{}", s.unit),
            "secret_set": secret_set,
            "last_delivery": delivery(conn, Deliveries::Unit(&s.unit))?,
            "last_success": delivery(conn, Deliveries::Accepted(&s.unit))?,
            "last_failure": delivery(conn, Deliveries::Failed(&s.unit))?,
        }));
    }
    let last = delivery(conn, Deliveries::Any)?;
    call.ok(&json!({"url": format!("{base}/hooks/github"), "secret_set": secret_set, "last_delivery": last, "services": out}))
}

/// `GET /api/v1/locks`
pub fn locks(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let conn = ctx.db.get()?;
    let locks: Vec<Value> = stats::held_locks(conn)?
        .into_iter()
        .map(|l| json!({"unit": l.unit, "task_id": l.task_id, "acquired_ms": l.acquired_ms, "task_status": l.task_status}))
        .collect();
    let limits: Vec<Value> = stats::rate_hits(conn)?
        .into_iter()
        .map(|h| json!({"key": h.key, "hits": h.hits, "oldest_ms": h.oldest_ms, "newest_ms": h.newest_ms}))
        .collect();
    call.ok(&json!({"locks": locks, "rate_limits": limits}))
}

/// `DELETE /api/v1/locks/<unit>`: clears a stuck deploy lock.
pub fn clear_lock(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let unit = call.param("unit").unwrap_or_default();
    match locks::clear(ctx.db.get()?, unit)? {
        1 => {
            log::warn!(unit = unit; "deploy lock of '{unit}' cleared by hand");
            Ok(Response::json(
                200,
                call.action,
                "cleared",
                &json!({"unit": unit, "cleared": true}),
            ))
        }
        _ => Err(Refusal::not_found("no_lock", format!("'{unit}' holds no deploy lock"))),
    }
}

/// `POST /api/v1/discover`: runs discovery now (the panel's refresh).
pub fn discover(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let (config, host) = (ctx.config, ctx.host);
    let report = crate::discovery::run(ctx.db.get()?, host, config, &config.unit_dirs, now_ms())?;
    call.ok(&crate::discovery::answer(config, &report))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PruneBody {
    #[serde(default)]
    dry_run: bool,
    older_than: Option<String>,
}

/// `POST /api/v1/maintenance/prune`
pub fn prune(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let b: PruneBody = extract::body(call.req)?;
    use crate::duration::{DurationError, MAX_TEXT, parse_secs};
    let older = match b.older_than.as_deref().map(|v| (v, parse_secs(v))) {
        None => None,
        Some((_, Ok(s))) => Some(s),
        Some((v, Err(DurationError::Invalid))) => {
            return Err(Refusal::invalid(
                "invalid_duration",
                format!("older_than: expected a duration such as 30d or 12h, got '{v}'"),
            ));
        }
        Some((v, Err(DurationError::OutOfRange))) => {
            return Err(Refusal::invalid(
                "duration_out_of_range",
                format!("older_than: at most {MAX_TEXT}, got '{v}'"),
            ));
        }
    };
    let (config, host) = (ctx.config, ctx.host);
    let conn = ctx.db.get()?;
    let report = maintenance::prune_report(conn, host, config, ("api", call.who()), b.dry_run, older)?;
    let reason = if b.dry_run { "dry_run" } else { "pruned" };
    let r = Response::json(200, call.action, reason, &report.to_json());
    Ok(match report.task_id {
        Some(id) => r.with_task(id),
        None => r,
    })
}
