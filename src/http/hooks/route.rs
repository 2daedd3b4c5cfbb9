//! One image event's way to a task, whoever sent it: which declared services run the
//! image, then idempotency, coalescing, the per-image limit and the new task's start
//! (`lifecycle`).

use super::super::Response;
use super::super::answer::accepted;
use super::super::context::Ctx;
use super::super::refusal::Refusal;
use crate::model::{Mode, TaskKind, UnitSpec};
use crate::providers::{ImageEvent, Sender};
use crate::store::tasks::Hold;
use crate::tasks::admit::{Admitted, admit};
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
    let admitted = admit(conn, config, units, crate::clock::now_ms())?;
    let mut groups: Vec<(Option<Hold>, String, Vec<UnitSpec>)> = Vec::new();
    if !admitted.now.is_empty() {
        groups.push((None, String::new(), admitted.now.clone()));
    }
    groups.extend(
        admitted
            .held
            .iter()
            .map(|(h, why, u)| (Some(*h), why.clone(), u.clone())),
    );
    let policy_note = policy_note(&admitted);
    if groups.is_empty() {
        return Ok(Response::json(
            202,
            action,
            "policy",
            &json!({"status": "ignored", "reason": "policy", "detail": "no service's policy deploys this image now", "policy": policy_note}),
        ));
    }
    let image_key = format!("image:{}", event.repository);
    let mut answer: Option<Response> = None;
    let mut others = Vec::new();
    for (n, (hold, why, units)) in groups.into_iter().enumerate() {
        // The first task carries the delivery; a delivery whose services' policies
        // part ways makes more tasks, each known by the body and its place.
        let body_sha = format!("{}/{n}", key.body_sha);
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
                id: if n == 0 { key.id } else { None },
                body_sha: if n == 0 { key.body_sha } else { &body_sha },
            }),
            hold,
        };
        let created = lifecycle::create(conn, &trigger, &d.spec(units, false, Mode::Deploy))?;
        let what = format!("webhook {}", event.reference());
        let response = match created {
            Created::New(id) => match lifecycle::begin(conn, &d, id, &what, hold, &why) {
                Ok(()) if hold.is_none() => accepted(action, id, &d.status_url(id)),
                Ok(()) => waiting(action, id, &d.status_url(id), hold, &why),
                Err(message) => {
                    return Err(Refusal::Dispatch {
                        task_id: id,
                        message,
                        status_url: d.status_url(id),
                    });
                }
            },
            Created::Duplicate(id) => duplicate(action, id, &d.status_url(id)),
            Created::Joined(id) => Response::json(
                202,
                action,
                "joined",
                &json!({"status": "joined", "task_id": id, "status_url": d.status_url(id)}),
            )
            .with_task(id),
            Created::Stale(units) => stale_digest(action, event, &units.iter().map(String::as_str).collect::<Vec<_>>()),
            Created::Limited(limit) => {
                return Err(Refusal::Limited {
                    reason: "image_rate_limited",
                    what: "deploys of this image",
                    limit,
                });
            }
        };
        match answer {
            None => answer = Some(response),
            Some(_) => others.push(response.task_summary()),
        }
    }
    let answer = answer.expect("at least one group");
    if admitted.all_now() && others.is_empty() {
        return Ok(answer);
    }
    Ok(answer.with_extra(json!({"policy": policy_note, "more_tasks": others})))
}

/// What the services' policies did with the image, for the answer.
fn policy_note(a: &Admitted) -> Value {
    let list = |v: &[(UnitSpec, String)]| -> Vec<Value> {
        v.iter()
            .map(|(u, why)| json!({"unit": u.unit, "message": why}))
            .collect()
    };
    let held: Vec<Value> = a
        .held
        .iter()
        .flat_map(|(_, why, units)| units.iter().map(move |u| json!({"unit": u.unit, "message": why})))
        .collect();
    json!({"deploy_now": a.now.iter().map(|u| &u.unit).collect::<Vec<_>>(), "held": held, "told": list(&a.told), "left": list(&a.left)})
}

/// 202 for a task created waiting: `awaiting_approval` or `scheduled`, and why.
fn waiting(action: &'static str, id: i64, url: &str, hold: Option<Hold>, why: &str) -> Response {
    let (status, extra) = match hold {
        Some(Hold::Approval { deadline_ms }) => ("awaiting_approval", json!({"deadline_ms": deadline_ms})),
        Some(Hold::Schedule { not_before_ms }) => ("scheduled", json!({"not_before_ms": not_before_ms})),
        None => ("accepted", json!({})),
    };
    let mut body = json!({"status": status, "task_id": id, "status_url": url, "message": why});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    Response::json(202, action, status, &body).with_task(id)
}
