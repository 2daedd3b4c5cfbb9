//! The task endpoints of the JSON API (docs/api.md): the list with its filters and
//! pages, one task with its units, log and events, and stop / force-stop / retry.

use super::Response;
use super::context::{Call, Ctx};
use super::extract::query_param;
use super::refusal::Refusal;
use crate::model::{TaskKind, TaskStatus, category_kinds};
use crate::store::tasks::{self, ListFilter};
use crate::tasks::view::{self, DEFAULT_PAGE, MAX_PAGE};
use crate::tasks::{approval, control};
use serde_json::json;

/// `GET /api/v1/tasks`
pub fn list_tasks(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let req = call.req;
    let bad = |what: &str, v: &str| Err(Refusal::invalid("invalid_filter", format!("{what} '{v}' is not known")));
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
    call.ok(&view::list(ctx.db.get()?, &f)?)
}

fn check_alive(ctx: &mut Ctx<'_>, id: i64) {
    let d = ctx.dispatcher();
    if let Ok(conn) = ctx.db.get() {
        control::check_alive(conn, &d, id);
    }
}

/// `GET /api/v1/tasks/<id>`
pub fn get_task(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let id = call.task_id();
    check_alive(ctx, id);
    match view::one(ctx.db.get()?, id)? {
        Some(body) => call.ok(&body),
        None => Err(Refusal::not_found("unknown_task", format!("there is no task {id}"))),
    }
}

/// `POST /api/v1/tasks/<id>/stop|force-stop|retry`
pub fn task_action(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let (id, verb) = (
        call.task_id(),
        call.req.path.trim_matches('/').rsplit('/').next().unwrap_or_default(),
    );
    check_alive(ctx, id);
    let request_id = ctx.request_id.to_string();
    let d = ctx.dispatcher();
    let conn = ctx.db.get_mut()?;
    let result = match verb {
        "retry" => {
            let origin = control::Origin {
                source: "api",
                caller: call.who(),
                reason: Some("retry"),
                request_id: Some(&request_id),
            };
            control::retry(conn, &d, id, &origin).map(|new_id| {
                Response::json(202, call.action, "retried", &json!({"status": "accepted", "task_id": new_id, "retry_of": id, "status_url": d.status_url(new_id)})).with_task(new_id)
            })
        }
        _ => control::stop(conn, &d, id, verb == "force-stop").map(|stopped| {
            let changed = stopped.changed;
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
                call.action,
                reason,
                &match stopped.recovery {
                    None => json!({"task_id": id, "status": status, "changed": changed}),
                    Some(r) => json!({"task_id": id, "status": status, "changed": changed, "recovery_task_id": r}),
                },
            )
            .with_task(id)
        }),
    };
    result.map_err(|e| Refusal::control(call.action, e, &d))
}

/// `POST /api/v1/tasks/<id>/approve` and `.../reject`: decides a task that awaits an
/// approval (docs/policy.md); the caller's token or session name is recorded.
pub fn task_decision(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let (id, verb) = (
        call.task_id(),
        call.req.path.trim_matches('/').rsplit('/').next().unwrap_or_default(),
    );
    let d = ctx.dispatcher();
    let conn = ctx.db.get_mut()?;
    let by = call.who();
    let result = match verb {
        "approve" => approval::approve(conn, &d, id, by).map(|approved| {
            let (reason, extra) = match approved {
                approval::Approved::Started => ("approved", json!({})),
                approval::Approved::Scheduled(at) => ("approved_scheduled", json!({"not_before_ms": at})),
            };
            (reason, extra)
        }),
        _ => approval::reject(conn, id, by).map(|()| ("rejected", json!({}))),
    };
    let (reason, extra) = result.map_err(|e| Refusal::control(call.action, e, &d))?;
    let task = tasks::get(conn, id)?;
    let status = task.as_ref().map(|t| t.status.as_str()).unwrap_or_default();
    let body = json!({"task_id": id, "status": status, "decided_by": by, "status_url": d.status_url(id)});
    Ok(Response::json(200, call.action, reason, &body)
        .with_extra(extra)
        .with_task(id))
}
