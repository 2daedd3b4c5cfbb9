//! One image event's way to a task, whoever sent it: which declared services run the
//! image, then idempotency, coalescing, the per-image limit and the new task's start
//! (`lifecycle`).

use super::super::Response;
use super::super::answer::accepted;
use super::super::context::Ctx;
use super::super::refusal::Refusal;
use crate::model::{Mode, TaskKind, UnitSpec};
use crate::providers::{ImageEvent, Sender};
use crate::tasks::lifecycle::{self, Created, Origin, Trigger};
use serde_json::{Value, json};

/// What identifies one event of a delivery: the sender's id for it (namespaced by
/// `delivery_key`), and the SHA-256 of the signed body (of the body and the event's
/// place in it, for a batch).
pub struct Key<'a> {
    pub id: Option<&'a str>,
    pub body_sha: &'a str,
}

/// A sender's delivery or event id as tasks store it: GitHub's as it is (as it always
/// was), the others' prefixed with the sender, so that no sender can name another's.
pub fn delivery_key(sender: Sender, id: Option<&str>) -> Option<String> {
    let id = id.map(str::trim).filter(|i| !i.is_empty())?;
    let id = crate::http::redact::bound(id, 200);
    Some(match sender {
        Sender::Github => id,
        s => format!("{}:{id}", s.name()),
    })
}

/// The event's image, digest and where the digest comes from, for the event row.
pub fn describe(meta: &mut Value, event: &ImageEvent) {
    meta["image"] = json!(event.reference());
    meta["digest"] = json!(event.digest);
    meta["digest_from"] = json!(if event.digest.is_some() { "sender" } else { "registry" });
}

pub fn duplicate(action: &'static str, id: i64, url: &str) -> Response {
    Response::json(
        200,
        action,
        "duplicate_delivery",
        &json!({"status": "duplicate", "task_id": id, "status_url": url}),
    )
    .with_task(id)
}

/// 409 `stale_digest`: every matched unit has since run a newer, verified digest.
fn stale_digest(action: &'static str, event: &ImageEvent, units: &[&str]) -> Response {
    let digest = event.digest.as_deref().unwrap_or_default();
    Response::json(
        409,
        action,
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

/// 202 `ignored` with a stable reason: never an error, since senders retry those.
pub fn ignored(action: &'static str, reason: &'static str, detail: String) -> Response {
    Response::json(
        202,
        action,
        reason,
        &json!({"status": "ignored", "reason": reason, "detail": detail}),
    )
}

/// Which declared services the event is for, then idempotency, coalescing, limits,
/// and the new task's start.
pub fn route(
    ctx: &mut Ctx<'_>,
    sender: Sender,
    event: &ImageEvent,
    only: Option<&str>,
    key: &Key<'_>,
) -> Result<Response, Refusal> {
    let action = sender.action();
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
        let reason = if only.is_some() {
            "image_mismatch"
        } else {
            "no_matching_service"
        };
        return Ok(ignored(action, reason, detail));
    }
    let (config, request_id) = (ctx.config, ctx.request_id);
    let conn = ctx.db.get_mut()?;
    let units = matched
        .iter()
        .map(|r| UnitSpec {
            unit: r.unit.clone(),
            image: r.image.as_ref().map(|i| i.to_string()),
            digest: event.digest.clone(),
            retag: None,
        })
        .collect();
    let image_key = format!("image:{}", event.repository);
    let trigger = Trigger {
        kind: TaskKind::Webhook,
        origin: Origin {
            source: sender.name(),
            caller: sender.name(),
            reason: Some(if sender == Sender::Github {
                "package published"
            } else {
                "image pushed"
            }),
            request_id: Some(request_id),
        },
        limit: Some((&image_key, &config.limit_image)),
        retry_of: None,
        delivery: Some(lifecycle::Delivery {
            id: key.id,
            body_sha: key.body_sha,
        }),
    };
    let created = lifecycle::create(conn, &trigger, &d.spec(units, false, Mode::Deploy))?;
    match created {
        Created::New(id) => match lifecycle::start(conn, &d, id, &format!("webhook {}", event.reference())) {
            Ok(()) => Ok(accepted(action, id, &d.status_url(id))),
            Err(message) => Err(Refusal::Dispatch {
                task_id: id,
                message,
                status_url: d.status_url(id),
            }),
        },
        Created::Duplicate(id) => Ok(duplicate(action, id, &d.status_url(id))),
        Created::Joined(id) => Ok(Response::json(
            202,
            action,
            "joined",
            &json!({"status": "joined", "task_id": id, "status_url": d.status_url(id)}),
        )
        .with_task(id)),
        Created::Stale(units) => Ok(stale_digest(
            action,
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
