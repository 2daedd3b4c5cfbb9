//! The JSON API for everyone who is not GitHub (docs/api.md): services, and updates
//! of one service or all. Tasks are `http::tasks`; authorization is the router's.

use super::Response;
use super::answer::accepted;
use super::context::{Call, Ctx};
use super::extract::{body, wait_secs};
use super::refusal::Refusal;
use crate::model::{Mode, TaskKind, UnitSpec};
use crate::ratelimit;
use crate::services::ImageRef;
use crate::store::tasks;
use crate::tasks::control;
use crate::tasks::dispatch;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

/// `caller` and `reason` as a task keeps them, else `400` with the field's code.
pub(super) fn fields(caller: Option<&str>, reason: Option<&str>) -> Result<(), Refusal> {
    crate::tasks::fields::check(caller, reason).map_err(|e| Refusal::invalid(e.code, e.message))
}

pub(super) fn unknown_service(name: &str) -> Refusal {
    Refusal::not_found(
        "unknown_service",
        format!("'{name}' is not a declared service (PODUP_SERVICES)"),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    image: Option<String>,
    tag: Option<String>,
    digest: Option<String>,
    caller: Option<String>,
    reason: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

/// `POST /api/v1/services/<service>/update`
pub fn update_service(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let service = call.param("service").unwrap_or_default();
    let b: UpdateBody = body(call.req)?;
    fields(b.caller.as_deref(), b.reason.as_deref())?;
    let wait = wait_secs(call.req)?;
    let d = ctx.dispatcher();
    let resolved = match d.resolve(ctx.db.get().ok(), Some(&[service.to_string()])) {
        Ok(mut r) => r.remove(0),
        Err(n) => return Err(unknown_service(&n)),
    };
    let Some(configured) = resolved.image else {
        return Err(Refusal::conflict(
            "image_unknown",
            format!("cannot tell which image '{service}' runs: declare it as '{service}=<image>' in PODUP_SERVICES"),
        ));
    };
    let mut target = configured.clone();
    if let Some(i) = &b.image {
        match ImageRef::parse(i) {
            Ok(r) if r.repository == configured.repository => target = r,
            Ok(r) => {
                return Err(Refusal::invalid(
                    "other_repository",
                    format!("'{service}' runs '{}', not '{}'", configured.repository, r.repository),
                ));
            }
            Err(e) => return Err(Refusal::invalid("invalid_image", e.to_string())),
        }
    }
    if let Some(t) = &b.tag {
        let tagged = ImageRef::parse(&format!("{}:{t}", target.repository))
            .map_err(|e| Refusal::invalid("invalid_tag", e.to_string()))?;
        target.tag = tagged.tag;
    }
    if let Some(d) = &b.digest {
        let d = d.to_ascii_lowercase();
        if !crate::providers::reference::is_valid_digest(&d) {
            return Err(Refusal::invalid(
                "invalid_digest",
                format!("'{d}' is not sha256:<64 hex>"),
            ));
        }
        target.digest = Some(d);
    }
    let unit = UnitSpec {
        unit: service.to_string(),
        image: Some(format!("{}:{}", target.repository, target.tag)),
        digest: target.digest.clone(),
        retag: None,
    };
    let spec = ctx.dispatcher().spec(vec![unit], b.dry_run, Mode::Deploy);
    if b.dry_run {
        return Ok(Response::json(
            200,
            call.action,
            "dry_run",
            &json!({"dry_run": true, "kind": "manual", "spec": spec, "plan": dispatch::plan(ctx.host, &spec)}),
        ));
    }
    let caller = b
        .caller
        .map_or(call.who().to_string(), |c| format!("{} ({c})", call.who()));
    let key = format!("image:{}", target.repository);
    let rules = ctx.config.limit_image.clone();
    let origin = (caller.as_str(), b.reason.as_deref());
    create(ctx, call, TaskKind::Manual, &spec, origin, (&key, &rules), wait)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateAllBody {
    caller: Option<String>,
    reason: Option<String>,
    #[serde(default)]
    dry_run: bool,
    services: Option<Vec<String>>,
    mode: Option<String>,
}

/// `POST /api/v1/update-all`
pub fn update_all(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let b: UpdateAllBody = body(call.req)?;
    fields(b.caller.as_deref(), b.reason.as_deref())?;
    let wait = wait_secs(call.req)?;
    let text = b.mode.as_deref().unwrap_or("deploy");
    let Some(mode) = Mode::parse(text).filter(|m| *m != Mode::Prune) else {
        return Err(Refusal::invalid(
            "invalid_mode",
            format!("mode is 'deploy' or 'auto-update', got '{text}'"),
        ));
    };
    let units = if mode == Mode::AutoUpdate {
        Vec::new()
    } else {
        let d = ctx.dispatcher();
        let resolved = d
            .resolve(ctx.db.get().ok(), b.services.as_deref())
            .map_err(|n| unknown_service(&n))?;
        if resolved.is_empty() {
            return Err(Refusal::conflict(
                "no_services",
                "no service is declared: set PODUP_SERVICES",
            ));
        }
        resolved
            .into_iter()
            .map(|r| UnitSpec {
                unit: r.unit,
                image: r.image.map(|i| i.to_string()),
                digest: None,
                retag: None,
            })
            .collect()
    };
    let spec = ctx.dispatcher().spec(units, b.dry_run, mode);
    if b.dry_run && mode == Mode::Deploy {
        return Ok(Response::json(
            200,
            call.action,
            "dry_run",
            &json!({"dry_run": true, "kind": "update-all", "spec": spec, "plan": dispatch::plan(ctx.host, &spec)}),
        ));
    }
    let caller = b
        .caller
        .map_or(call.who().to_string(), |c| format!("{} ({c})", call.who()));
    let rules = ctx.config.limit_update_all.clone();
    let origin = (caller.as_str(), b.reason.as_deref());
    create(
        ctx,
        call,
        TaskKind::UpdateAll,
        &spec,
        origin,
        ("update-all", &rules),
        wait,
    )
}

/// Creates and dispatches a task, from `(caller, reason)`, under a rate limit;
/// answers 202 (or the finished task with `?wait=`).
pub(super) fn create(
    ctx: &mut Ctx<'_>,
    call: &Call<'_>,
    kind: TaskKind,
    spec: &crate::model::TaskSpec,
    (caller, reason): (&str, Option<&str>),
    limit: (&str, &[ratelimit::Rule]),
    wait: Option<u64>,
) -> Result<Response, Refusal> {
    let request_id = ctx.request_id.to_string();
    let origin = control::Origin {
        source: "api",
        caller,
        reason,
        request_id: Some(&request_id),
    };
    let d = ctx.dispatcher();
    let conn = ctx.db.get_mut()?;
    let id = control::create(conn, &d, kind, spec, &origin, Some(limit))
        .map_err(|e| Refusal::control(call.action, e, &d))?;
    match wait {
        Some(secs) => finished(ctx, call.action, id, secs),
        None => Ok(accepted(call.action, id, &d.status_url(id))),
    }
}

fn finished(ctx: &mut Ctx<'_>, action: &'static str, id: i64, secs: u64) -> Result<Response, Refusal> {
    let conn = ctx.db.get()?;
    let t = dispatch::wait(conn, id, Duration::from_secs(secs))?;
    let units = tasks::units(conn, id)?;
    let Some(t) = t else {
        return Err(Refusal::not_found("unknown_task", format!("there is no task {id}")));
    };
    let status = if t.status().is_terminal() { 200 } else { 202 };
    Ok(Response::json(
        status,
        action,
        "waited",
        &json!({"task_id": id, "task": t, "units": units}),
    )
    .with_task(id))
}

/// `GET /api/v1/services`
pub fn services(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let d = ctx.dispatcher();
    let conn = ctx.db.get()?;
    call.ok(&crate::tasks::catalog::services(&d, conn, crate::clock::now_ms())?)
}
