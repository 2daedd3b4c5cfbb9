//! `POST /hooks/github` and `POST /hooks/github/<service>`: signature first (before
//! any parsing), then the event, routing by image, idempotency by delivery id,
//! coalescing with an open task for the same digest, the per-image rate limit, and
//! dispatch. Nothing GitHub can send gets a 5xx here except a failed dispatch.

use super::answer::accepted;
use super::auth_limit::{self, Kind};
use super::context::{Call, Ctx};
use super::refusal::Refusal;
use super::{Request, Response};
use crate::clock::now_ms;
use crate::logging::Throttle;
use crate::model::{Mode, TaskKind, UnitSpec};
use crate::providers::ImageEvent;
use crate::providers::github::{self, SignatureError, Verdict};
use crate::store::replay;
use crate::tasks::lifecycle::{self, Created, Origin, Trigger};
use serde_json::json;

const ACTION: &str = "github_webhook";

/// Refused deliveries reach the journal at most once a second.
static REFUSALS: Throttle = Throttle::new(1_000);

/// The handler of both webhook routes (`routes::ROUTES`): `github`, for the service
/// the path names if it names one. Its guard, the signature, is `github`'s first step.
pub fn delivery(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    receive(ctx, call.req, call.param("service"))
}

/// A delivery's answer, refusals included (the panel's test delivery files it itself).
pub fn github(ctx: &mut Ctx<'_>, req: &Request, only: Option<&str>) -> Response {
    receive(ctx, req, only).unwrap_or_else(|r| r.into_response(ACTION))
}

/// 503 `webhook_not_configured`: there is no secret to check a signature with.
fn not_configured() -> Refusal {
    Refusal::Answer(Box::new(Response::error(
        503,
        ACTION,
        "webhook_not_configured",
        "no GitHub webhook secret is configured: set PODUP_GITHUB_SECRET_FILE or the credential 'github-secret'",
    )))
}

fn receive(ctx: &mut Ctx<'_>, req: &Request, only: Option<&str>) -> Result<Response, Refusal> {
    if ctx.config.github_secrets.is_empty() {
        return Err(not_configured());
    }
    let now = now_ms();
    // The signature first, always (microseconds): a delivery that verifies is served
    // however many bad ones came from its address; only a failure meets the limit.
    if let Err(e) = github::verify_signature(&ctx.config.github_secrets, &req.body, req.header("x-hub-signature-256")) {
        if let Some(skipped) = REFUSALS.admit(now) {
            let more = if skipped > 0 {
                format!(" ({skipped} more refused since the last message; the event log has each)")
            } else {
                String::new()
            };
            log::warn!(error_kind = e.kind(), remote = ctx.client_ip.as_str(); "github webhook refused: {e}{more}");
        }
        let refusal = Response::error(401, ACTION, e.kind(), e.to_string());
        // No signature at all guesses nothing: refused, not counted.
        if matches!(e, SignatureError::Missing) {
            return Err(refusal.into());
        }
        return Err(auth_limit::failed(ctx, req, Kind::Signature, refusal).into());
    }
    ctx.authenticated = true;
    let conn = ctx.db.get()?;
    let delivery = req.header("x-github-delivery").map(str::to_string);
    // A redelivery (GitHub's retry, or "Redeliver" in its UI) of a delivery that made a
    // task is answered before its body is parsed: same id, same signed body, same task.
    // `route` checks again under the write lock before it creates anything.
    // The same signed body under another id is a replay (the id is not signed): the
    // duplicate of the delivery that first brought it, within the redelivery window.
    let body_sha = crate::hex::sha256_hex(&req.body);
    let earlier = lifecycle::duplicate_of(conn, delivery.as_deref(), &body_sha, now)?;
    let meta = json!({"event": req.header("x-github-event"), "delivery": delivery});
    if let Some(id) = earlier {
        return Ok(duplicate(id, &ctx.dispatcher().status_url(id))
            .with_meta(meta)
            .repeated());
    }
    // A body verified before (within the window) that made no task: a ping or an
    // ignored event sent again, answered as before but filed as the repeat it is.
    let seen = replay::task_for_body(conn, &body_sha, now)?.is_some();
    let verdict = match github::classify(req.header("x-github-event"), req.header("content-type"), &req.body) {
        Ok(v) => v,
        // Content-Type, event and query are not signed: a verified body that does not
        // parse as declared is filed like any other answer (a repeat folds and prunes).
        Err(e) => {
            let refused = Response::error(400, ACTION, e.kind(), e.to_string()).with_meta(meta);
            return Ok(filed(ctx, refused, &body_sha, seen, now));
        }
    };
    let event = match verdict {
        Verdict::Ping { hook_id } => {
            let pong = Response::json(200, ACTION, "ping", &json!({"status": "pong", "hook_id": hook_id}));
            return Ok(filed(ctx, pong.with_meta(meta), &body_sha, seen, now));
        }
        Verdict::Ignored { reason, detail } => {
            let mut meta = meta;
            meta["detail"] = json!(detail);
            return Ok(filed(
                ctx,
                ignored(reason, detail).with_meta(meta),
                &body_sha,
                seen,
                now,
            ));
        }
        Verdict::Image(e) => e,
    };
    let mut meta = meta;
    meta["image"] = json!(event.reference());
    meta["digest"] = json!(event.digest);
    let delivered = Delivered {
        id: delivery.as_deref(),
        body_sha: &body_sha,
    };
    // Whatever `route` answers, refusals included, carries the delivery's meta and
    // is filed.
    let answer = route(ctx, &event, only, &delivered)
        .unwrap_or_else(|r| r.into_response(ACTION))
        .with_meta(meta);
    if answer.reason == "duplicate_delivery" {
        return Ok(answer.repeated());
    }
    Ok(filed(ctx, answer, &body_sha, seen, now))
}

/// A verified delivery's answer that made or joined no task: remembered by its body
/// the first time, marked as a repeat after that (`Response::repeated`).
fn filed(ctx: &mut Ctx<'_>, answer: Response, body_sha: &str, seen: bool, now: i64) -> Response {
    if answer.task_id.is_some() {
        return answer;
    }
    if seen {
        return answer.repeated();
    }
    if let Ok(conn) = ctx.db.get() {
        if let Err(e) = replay::remember_seen(conn, body_sha, now) {
            log::warn!(error_kind = "store_failed"; "a verified webhook body was not remembered: {e}");
        }
    }
    answer
}

/// What identifies a delivery: its id, and the SHA-256 of its signed body.
struct Delivered<'a> {
    id: Option<&'a str>,
    body_sha: &'a str,
}

fn duplicate(id: i64, url: &str) -> Response {
    Response::json(
        200,
        ACTION,
        "duplicate_delivery",
        &json!({"status": "duplicate", "task_id": id, "status_url": url}),
    )
    .with_task(id)
}

/// 409 `stale_digest`: every matched unit has since run a newer, verified digest.
fn stale_digest(event: &ImageEvent, units: &[&str]) -> Response {
    let digest = event.digest.as_deref().unwrap_or_default();
    Response::json(
        409,
        ACTION,
        "stale_digest",
        &json!({
            "error": "stale_digest",
            "message": format!(
                "'{digest}' was replaced by a later verified deploy on {}; a webhook does not deploy it again (an update through the API does)",
                units.join(", ")
            ),
            "units": units,
        }),
    )
}

fn ignored(reason: &'static str, detail: String) -> Response {
    Response::json(
        202,
        ACTION,
        reason,
        &json!({"status": "ignored", "reason": reason, "detail": detail}),
    )
}

/// Which declared services the event is for, then idempotency, coalescing, limits,
/// and the new task's start (`lifecycle`).
fn route(
    ctx: &mut Ctx<'_>,
    event: &ImageEvent,
    only: Option<&str>,
    delivery: &Delivered<'_>,
) -> Result<Response, Refusal> {
    if let Some(name) = only {
        if !ctx.config.services.iter().any(|s| s.unit == name) {
            return Err(Refusal::not_found(
                "unknown_service",
                format!("'{name}' is not a declared service (PODUP_SERVICES)"),
            ));
        }
    }
    let names: Option<Vec<String>> = only.map(|n| vec![n.to_string()]);
    let d = ctx.dispatcher();
    let resolved = d
        .resolve(ctx.db.get().ok(), names.as_deref())
        .map_err(|name| Refusal::not_found("unknown_service", format!("'{name}' is not a declared service")))?;
    let matched: Vec<_> = resolved
        .into_iter()
        .filter(|r| {
            r.image
                .as_ref()
                .is_some_and(|i| i.same_tag(&event.repository, &event.tag))
        })
        .collect();
    if matched.is_empty() {
        let detail = match only {
            Some(n) => format!("'{n}' does not run '{}'", event.reference()),
            None => format!("no declared service runs '{}'", event.reference()),
        };
        return Ok(ignored(
            if only.is_some() {
                "image_mismatch"
            } else {
                "no_matching_service"
            },
            detail,
        ));
    }
    let (config, request_id) = (ctx.config, ctx.request_id);
    let conn = ctx.db.get_mut()?;
    let units = matched
        .iter()
        .map(|r| UnitSpec {
            unit: r.unit.clone(),
            image: r.image.as_ref().map(|i| i.to_string()),
            digest: event.digest.clone(),
        })
        .collect();
    let image_key = format!("image:{}", event.repository);
    let trigger = Trigger {
        kind: TaskKind::Webhook,
        origin: Origin {
            source: "github",
            caller: "github",
            reason: Some("package published"),
            request_id: Some(request_id),
        },
        limit: Some((&image_key, &config.limit_image)),
        retry_of: None,
        delivery: Some(lifecycle::Delivery {
            id: delivery.id,
            body_sha: delivery.body_sha,
        }),
    };
    let created = lifecycle::create(conn, &trigger, &d.spec(units, false, Mode::Deploy))?;
    match created {
        Created::New(id) => match lifecycle::start(conn, &d, id, &format!("webhook {}", event.reference())) {
            Ok(()) => Ok(accepted(ACTION, id, &d.status_url(id))),
            Err(message) => Err(Refusal::Dispatch {
                task_id: id,
                message,
                status_url: d.status_url(id),
            }),
        },
        Created::Duplicate(id) => Ok(duplicate(id, &d.status_url(id))),
        Created::Joined(id) => Ok(Response::json(
            202,
            ACTION,
            "joined",
            &json!({"status": "joined", "task_id": id, "status_url": d.status_url(id)}),
        )
        .with_task(id)),
        Created::Stale(units) => Ok(stale_digest(
            event,
            &units.iter().map(String::as_str).collect::<Vec<_>>(),
        )),
        Created::Limited(limit) => Err(Refusal::Limited {
            reason: "image_rate_limited",
            what: "deploys of this image",
            limit,
        }),
    }
}
