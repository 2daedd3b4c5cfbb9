//! The JSON API for everyone who is not GitHub (docs/api.md): authorization,
//! services, and updates of one service or all. Tasks are `http::tasks`.
// Helpers answer early with `Err(Response)`: the answer is what is sent, and boxing
// it would only add an allocation on the refusal path.
#![allow(clippy::result_large_err)]

use super::auth_limit::{Kind, failed};
use super::routes::{Ctx, accepted, db_unavailable, dispatch_failed, rate_limited, store_failed};
use super::{Request, Response, query_param};
use crate::auth::{Denied, Identity, Need};
use crate::clock::now_ms;
use crate::model::{Mode, TaskKind, UnitSpec};
use crate::ratelimit;
use crate::services::ImageRef;
use crate::store::tasks::{self, ListFilter};
use crate::tasks::control::{self, ControlError};
use crate::tasks::dispatch::{self, Dispatcher};
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

/// Longest `?wait=` accepted, in seconds.
const MAX_WAIT_SECS: u64 = 60;

/// Checks the caller's bearer token or panel session (`session::identify`); on
/// failure the answer to send. The credential is checked first, always; only one that
/// was presented and did not verify is counted (`auth_limit::failed`, as a token or a
/// session), which may turn its 401 into a 429.
pub fn authorize(ctx: &mut Ctx<'_>, req: &Request, need: Need, action: &'static str) -> Result<Identity, Response> {
    let kind = if crate::auth::bearer(req).is_some() {
        Kind::Token
    } else {
        Kind::Session
    };
    authorize_as(ctx, req, need, action, kind)
}

/// `authorize`, counting a failure as `kind`.
pub fn authorize_as(
    ctx: &mut Ctx<'_>,
    req: &Request,
    need: Need,
    action: &'static str,
    kind: Kind,
) -> Result<Identity, Response> {
    let now = now_ms();
    let conn = ctx.db.get().map_err(|e| db_unavailable(action, e))?;
    let peer = super::session::Peer {
        config: ctx.config,
        client_ip: &ctx.client_ip,
    };
    let denied = match super::session::identify(&peer, conn, req, need, now) {
        Ok(id) => {
            ctx.authenticated = true;
            ctx.identity = Some(id.name.clone());
            return Ok(id);
        }
        Err(d) => d,
    };
    let refused = Response::error(denied.status(), action, denied.code(), denied.message());
    Err(match denied {
        // A credential was presented and did not verify: a guess.
        Denied::Invalid => failed(ctx, req, kind, refused),
        // None at all guesses nothing.
        Denied::Missing => refused,
        _ => refused,
    })
}

fn body<T: for<'de> Deserialize<'de>>(req: &Request, action: &'static str) -> Result<T, Response> {
    let text = if req.body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &req.body[..]
    };
    serde_json::from_slice(text).map_err(|e| {
        Response::error(
            400,
            action,
            "invalid_json",
            format!("the request body is not the JSON this route takes: {e}"),
        )
    })
}

fn wait_secs(req: &Request, action: &'static str) -> Result<Option<u64>, Response> {
    match query_param(&req.query, "wait") {
        None => Ok(None),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if n <= MAX_WAIT_SECS => Ok(Some(n)),
            _ => Err(Response::error(
                400,
                action,
                "invalid_wait",
                format!("wait must be 0 to {MAX_WAIT_SECS} seconds, got '{v}'"),
            )),
        },
    }
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
pub fn update_service(ctx: &mut Ctx<'_>, req: &Request, service: &str) -> Response {
    const A: &str = "update_service";
    let who = match authorize(ctx, req, Need::Trigger, A) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let b: UpdateBody = match body(req, A) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Err(e) = crate::tasks::fields::check(b.caller.as_deref(), b.reason.as_deref()) {
        return Response::error(400, A, e.code, e.message);
    }
    let wait = match wait_secs(req, A) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let d = ctx.dispatcher();
    let resolved = match d.resolve(ctx.db.get().ok(), Some(&[service.to_string()])) {
        Ok(mut r) => r.remove(0),
        Err(n) => {
            return Response::error(
                404,
                A,
                "unknown_service",
                format!("'{n}' is not a declared service (PODUP_SERVICES)"),
            );
        }
    };
    let Some(configured) = resolved.image else {
        return Response::error(
            409,
            A,
            "image_unknown",
            format!("cannot tell which image '{service}' runs: declare it as '{service}=<image>' in PODUP_SERVICES"),
        );
    };
    let mut target = configured.clone();
    if let Some(i) = &b.image {
        match ImageRef::parse(i) {
            Ok(r) if r.repository == configured.repository => target = r,
            Ok(r) => {
                return Response::error(
                    400,
                    A,
                    "other_repository",
                    format!("'{service}' runs '{}', not '{}'", configured.repository, r.repository),
                );
            }
            Err(e) => return Response::error(400, A, "invalid_image", e),
        }
    }
    if let Some(t) = &b.tag {
        match ImageRef::parse(&format!("{}:{t}", target.repository)) {
            Ok(r) => target.tag = r.tag,
            Err(e) => return Response::error(400, A, "invalid_tag", e),
        }
    }
    if let Some(d) = &b.digest {
        let d = d.to_ascii_lowercase();
        if !crate::providers::reference::is_valid_digest(&d) {
            return Response::error(400, A, "invalid_digest", format!("'{d}' is not sha256:<64 hex>"));
        }
        target.digest = Some(d);
    }
    let unit = UnitSpec {
        unit: service.to_string(),
        image: Some(format!("{}:{}", target.repository, target.tag)),
        digest: target.digest.clone(),
    };
    let spec = ctx.dispatcher().spec(vec![unit], b.dry_run, Mode::Deploy);
    if b.dry_run {
        return Response::json(
            200,
            A,
            "dry_run",
            &json!({"dry_run": true, "kind": "manual", "spec": spec, "plan": dispatch::plan(ctx.host, &spec)}),
        );
    }
    let caller = b.caller.map_or(who.name.clone(), |c| format!("{} ({c})", who.name));
    let key = format!("image:{}", target.repository);
    let rules = ctx.config.limit_image.clone();
    create(
        ctx,
        A,
        TaskKind::Manual,
        &spec,
        &caller,
        b.reason.as_deref(),
        (&key, &rules),
        wait,
    )
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
pub fn update_all(ctx: &mut Ctx<'_>, req: &Request) -> Response {
    const A: &str = "update_all";
    let who = match authorize(ctx, req, Need::Trigger, A) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let b: UpdateAllBody = match body(req, A) {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Err(e) = crate::tasks::fields::check(b.caller.as_deref(), b.reason.as_deref()) {
        return Response::error(400, A, e.code, e.message);
    }
    let wait = match wait_secs(req, A) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let text = b.mode.as_deref().unwrap_or("deploy");
    let Some(mode) = Mode::parse(text).filter(|m| *m != Mode::Prune) else {
        return Response::error(
            400,
            A,
            "invalid_mode",
            format!("mode is 'deploy' or 'auto-update', got '{text}'"),
        );
    };
    let units = if mode == Mode::AutoUpdate {
        Vec::new()
    } else {
        let d = ctx.dispatcher();
        let resolved = match d.resolve(ctx.db.get().ok(), b.services.as_deref()) {
            Ok(r) => r,
            Err(n) => {
                return Response::error(
                    404,
                    A,
                    "unknown_service",
                    format!("'{n}' is not a declared service (PODUP_SERVICES)"),
                );
            }
        };
        if resolved.is_empty() {
            return Response::error(409, A, "no_services", "no service is declared: set PODUP_SERVICES");
        }
        resolved
            .into_iter()
            .map(|r| UnitSpec {
                unit: r.unit,
                image: r.image.map(|i| i.to_string()),
                digest: None,
            })
            .collect()
    };
    let spec = ctx.dispatcher().spec(units, b.dry_run, mode);
    if b.dry_run && mode == Mode::Deploy {
        return Response::json(
            200,
            A,
            "dry_run",
            &json!({"dry_run": true, "kind": "update-all", "spec": spec, "plan": dispatch::plan(ctx.host, &spec)}),
        );
    }
    let caller = b.caller.map_or(who.name.clone(), |c| format!("{} ({c})", who.name));
    let rules = ctx.config.limit_update_all.clone();
    create(
        ctx,
        A,
        TaskKind::UpdateAll,
        &spec,
        &caller,
        b.reason.as_deref(),
        ("update-all", &rules),
        wait,
    )
}

/// Creates and dispatches a task under a rate limit; answers 202 (or the finished
/// task with `?wait=`).
#[allow(clippy::too_many_arguments)]
fn create(
    ctx: &mut Ctx<'_>,
    action: &'static str,
    kind: TaskKind,
    spec: &crate::model::TaskSpec,
    caller: &str,
    reason: Option<&str>,
    limit: (&str, &[ratelimit::Rule]),
    wait: Option<u64>,
) -> Response {
    let request_id = ctx.request_id.to_string();
    let origin = control::Origin {
        source: "api",
        caller,
        reason,
        request_id: Some(&request_id),
    };
    let d = ctx.dispatcher();
    let conn = match ctx.db.get_mut() {
        Ok(c) => c,
        Err(e) => return db_unavailable(action, e),
    };
    let id = match control::create(conn, &d, kind, spec, &origin, Some(limit)) {
        Ok(id) => id,
        Err(e) => return control_error(action, &e, &d),
    };
    match wait {
        Some(secs) => finished(ctx, action, id, secs),
        None => accepted(action, id, &d.status_url(id)),
    }
}

/// The answer for a failed create/stop/retry.
pub fn control_error(action: &'static str, e: &ControlError, d: &Dispatcher<'_>) -> Response {
    let mut r = match e {
        ControlError::RateLimited(l) => {
            let reason = if action == "update_all" {
                "update_all_rate_limited"
            } else {
                "image_rate_limited"
            };
            return rate_limited(action, reason, "updates", l);
        }
        ControlError::Store(err) => return store_failed(action, err),
        _ => Response::error(e.status(), action, e.code(), e.to_string()),
    };
    if let Some(id) = e.task_id() {
        r = match e {
            ControlError::Dispatch { message, .. } => dispatch_failed(action, id, message, &d.status_url(id)),
            _ => r.with_task(id),
        };
    }
    r
}

fn finished(ctx: &mut Ctx<'_>, action: &'static str, id: i64, secs: u64) -> Response {
    let conn = match ctx.db.get() {
        Ok(c) => c,
        Err(e) => return db_unavailable(action, e),
    };
    let waited = dispatch::wait(conn, id, Duration::from_secs(secs)).and_then(|t| Ok((t, tasks::units(conn, id)?)));
    match waited {
        Ok((Some(t), units)) => {
            let status = if t.status().is_terminal() { 200 } else { 202 };
            Response::json(
                status,
                action,
                "waited",
                &json!({"task_id": id, "task": t, "units": units}),
            )
            .with_task(id)
        }
        Ok((None, _)) => Response::error(404, action, "unknown_task", format!("there is no task {id}")),
        Err(e) => store_failed(action, &e),
    }
}

/// `GET /api/v1/services`
pub fn services(ctx: &mut Ctx<'_>, req: &Request) -> Response {
    const A: &str = "list_services";
    if let Err(r) = authorize(ctx, req, Need::Read, A) {
        return r;
    }
    let d = ctx.dispatcher();
    let resolved = d.resolve(ctx.db.get().ok(), None).unwrap_or_default();
    let conn = match ctx.db.get() {
        Ok(c) => c,
        Err(e) => return db_unavailable(A, e),
    };
    let mut list = Vec::new();
    for r in resolved {
        let last = tasks::list(
            conn,
            &ListFilter {
                unit: Some(r.unit.clone()),
                limit: 1,
                ..Default::default()
            },
        )
        .ok()
        .and_then(|mut l| l.pop());
        let running_digest = crate::store::stats::last_known_digest(conn, &r.unit).ok().flatten();
        list.push(json!({
            "unit": r.unit,
            "running_digest": running_digest,
            "image": r.image.map(|i| i.to_string()),
            "image_source": r.image_source,
            "source": r.source,
            "scope": ctx.config.scope(),
            "last_task": last.map(|t| json!({"id": t.id, "kind": t.kind, "status": t.status, "created_ms": t.created_ms})),
        }));
    }
    let count = |src: &str| list.iter().filter(|s| s["source"] == src).count();
    let counts = json!({"declared": count("declared"), "discovered": count("discovered")});
    Response::json(
        200,
        A,
        "ok",
        &json!({"services": list, "counts": counts, "auto_discover": ctx.config.auto_discover}),
    )
}
