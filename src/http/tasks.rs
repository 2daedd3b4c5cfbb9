//! The task endpoints of the JSON API (docs/api.md): the list with its filters and
//! pages, one task with its units, log and events, and stop / force-stop / retry.
// As in `api`: helpers answer early with `Err(Response)`.
#![allow(clippy::result_large_err)]

use super::api::{authorize, control_error};
use super::routes::{Ctx, db_unavailable, store_failed};
use super::{Request, Response, query_param};
use crate::auth::Need;
use crate::model::{TaskKind, TaskStatus, category_kinds};
use crate::store::events;
use crate::store::tasks::{self, ListFilter};
use crate::tasks::control;
use serde_json::json;

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 500;

/// `GET /api/v1/tasks`
pub fn list_tasks(ctx: &mut Ctx<'_>, req: &Request) -> Response {
    const A: &str = "list_tasks";
    if let Err(r) = authorize(ctx, req, Need::Read, A) {
        return r;
    }
    let bad = |what: &str, v: &str| Response::error(400, A, "invalid_filter", format!("{what} '{v}' is not known"));
    let mut f = ListFilter {
        limit: DEFAULT_PAGE,
        ..Default::default()
    };
    if let Some(s) = query_param(&req.query, "status") {
        match TaskStatus::parse(&s) {
            Some(st) => f.status = Some(st),
            None => return bad("status", &s),
        }
    }
    let mut kinds: Option<Vec<TaskKind>> = None;
    if let Some(k) = query_param(&req.query, "kind") {
        match TaskKind::parse(&k) {
            Some(k) => kinds = Some(vec![k]),
            None => return bad("kind", &k),
        }
    }
    if let Some(c) = query_param(&req.query, "category") {
        match category_kinds(&c) {
            Some(cat) => {
                kinds = Some(kinds.map_or(cat.to_vec(), |k| k.into_iter().filter(|x| cat.contains(x)).collect()))
            }
            None => return bad("category", &c),
        }
    }
    f.kinds = kinds;
    f.unit = query_param(&req.query, "unit").filter(|u| !u.is_empty());
    for (name, slot) in [("limit", 0), ("before", 1)] {
        if let Some(v) = query_param(&req.query, name) {
            match v.parse::<i64>() {
                Ok(n) if n > 0 && slot == 0 => f.limit = (n as usize).min(MAX_PAGE),
                Ok(n) if n > 0 => f.before_id = Some(n),
                _ => return bad(name, &v),
            }
        }
    }
    let conn = match ctx.db.get() {
        Ok(c) => c,
        Err(e) => return db_unavailable(A, e),
    };
    match tasks::list(conn, &f) {
        Ok(list) => {
            let next = if list.len() == f.limit {
                list.last().map(|t| t.id)
            } else {
                None
            };
            Response::json(200, A, "ok", &json!({"tasks": list, "next_before": next}))
        }
        Err(e) => store_failed(A, &e),
    }
}

fn check_alive(ctx: &mut Ctx<'_>, id: i64) {
    let d = ctx.dispatcher();
    if let Ok(conn) = ctx.db.get() {
        control::check_alive(conn, &d, id);
    }
}

/// The event rows linked to task `id`, oldest (the creating request) first.
fn linked_events(conn: &rusqlite::Connection, id: i64) -> rusqlite::Result<Vec<events::EventRow>> {
    let f = events::EventFilter {
        task_id: Some(id),
        limit: 500,
        ..Default::default()
    };
    let mut rows = events::list(conn, &f)?;
    rows.reverse();
    Ok(rows)
}

/// `GET /api/v1/tasks/<id>`
pub fn get_task(ctx: &mut Ctx<'_>, req: &Request, id: i64) -> Response {
    const A: &str = "get_task";
    if let Err(r) = authorize(ctx, req, Need::Read, A) {
        return r;
    }
    check_alive(ctx, id);
    let conn = match ctx.db.get() {
        Ok(c) => c,
        Err(e) => return db_unavailable(A, e),
    };
    let found = tasks::get(conn, id).and_then(|t| {
        let Some(t) = t else { return Ok(None) };
        Ok(Some((
            t,
            tasks::units(conn, id)?,
            tasks::logs(conn, id)?,
            linked_events(conn, id)?,
        )))
    });
    match found {
        Ok(Some((t, units, logs, evs))) => Response::json(
            200,
            A,
            "ok",
            &json!({"task": t, "units": units, "logs": logs, "events": evs}),
        ),
        Ok(None) => Response::error(404, A, "unknown_task", format!("there is no task {id}")),
        Err(e) => store_failed(A, &e),
    }
}

/// `POST /api/v1/tasks/<id>/stop|force-stop|retry`
pub fn task_action(ctx: &mut Ctx<'_>, req: &Request, id: i64, verb: &str) -> Response {
    const A: &str = "task_action";
    let who = match authorize(ctx, req, Need::Admin, A) {
        Ok(w) => w,
        Err(r) => return r,
    };
    check_alive(ctx, id);
    let request_id = ctx.request_id.to_string();
    let d = ctx.dispatcher();
    let conn = match ctx.db.get_mut() {
        Ok(c) => c,
        Err(e) => return db_unavailable(A, e),
    };
    let result = match verb {
        "retry" => {
            let origin = control::Origin {
                source: "api",
                caller: &who.name,
                reason: Some("retry"),
                request_id: Some(&request_id),
            };
            control::retry(conn, &d, id, &origin).map(|new_id| {
                Response::json(202, A, "retried", &json!({"status": "accepted", "task_id": new_id, "retry_of": id, "status_url": d.status_url(new_id)})).with_task(new_id)
            })
        }
        _ => control::stop(conn, &d, id, verb == "force-stop").map(|changed| {
            let status = tasks::get(conn, id)
                .ok()
                .flatten()
                .map(|t| t.status.as_str())
                .unwrap_or_default();
            let reason = if !changed {
                "already_ended"
            } else if verb == "stop" {
                "stopped"
            } else {
                "force_stopped"
            };
            Response::json(
                200,
                A,
                reason,
                &json!({"task_id": id, "status": status, "changed": changed}),
            )
            .with_task(id)
        }),
    };
    result.unwrap_or_else(|e| control_error(A, &e, &d))
}
