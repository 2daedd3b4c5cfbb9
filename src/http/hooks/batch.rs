//! A delivery of several events (registry notifications batch them, and a sender
//! may send none that podup knows): each is judged on its own and its answer listed;
//! one task per (service, digest), since a repeat of an event is known by its own id
//! or by the body and its place in it. The answer is 202 with every event's outcome;
//! the event row links the first task made and lists the rest in `meta`.

use super::super::Response;
use super::super::context::Ctx;
use super::super::refusal::Refusal;
use super::route::{self, Key};
use crate::providers::{Delivery, Sender, Verdict};
use crate::tasks::lifecycle;
use serde_json::{Value, json};

/// Most events of one delivery that are answered one by one; the rest are counted.
pub const MAX_EVENTS: usize = 100;

pub fn receive(
    ctx: &mut Ctx<'_>,
    sender: Sender,
    delivery: &Delivery,
    only: Option<&str>,
    body_sha: &str,
    mut meta: Value,
    now: i64,
) -> Result<Response, Refusal> {
    let action = sender.action();
    let mut outcomes = Vec::new();
    let mut tasks = Vec::new();
    let mut repeats = 0;
    for (n, item) in delivery.items.iter().take(MAX_EVENTS).enumerate() {
        let outcome = match &item.verdict {
            Verdict::Ping { .. } => json!({"status": "pong"}),
            Verdict::Ignored { reason, detail } => {
                json!({"status": "ignored", "reason": reason, "detail": detail})
            }
            Verdict::Image(event) => {
                let id = route::delivery_key(sender, item.id.as_deref());
                let sha = crate::hex::sha256_hex(format!("{body_sha}:{n}").as_bytes());
                let answer = match lifecycle::duplicate_of(ctx.db.get()?, id.as_deref(), &sha, now)? {
                    Some(earlier) => route::duplicate(action, earlier, &ctx.dispatcher().status_url(earlier)),
                    None => {
                        let key = Key {
                            id: id.as_deref(),
                            body_sha: &sha,
                        };
                        route::route(ctx, sender, event, only, &key).unwrap_or_else(|r| r.into_response(action))
                    }
                };
                if answer.reason == "duplicate_delivery" {
                    repeats += 1;
                }
                if let Some(t) = answer.task_id {
                    if !tasks.contains(&t) {
                        tasks.push(t);
                    }
                }
                let mut out: Value = serde_json::from_slice(&answer.body).unwrap_or_else(|_| json!({}));
                out["http_status"] = json!(answer.status);
                out["reason"] = json!(answer.reason);
                out["image"] = json!(event.reference());
                out["digest"] = json!(event.digest);
                out["digest_from"] = json!(if event.digest.is_some() { "sender" } else { "registry" });
                out
            }
        };
        outcomes.push(outcome);
    }
    let left_off = delivery.items.len().saturating_sub(MAX_EVENTS);
    let images = delivery.images().count();
    let reason = match (tasks.is_empty(), images) {
        (false, _) if repeats == images => "duplicate_delivery",
        (false, _) => "accepted",
        (true, 0) if delivery.items.is_empty() => "no_events",
        (true, _) => "ignored",
    };
    meta["events"] = json!(delivery.items.len());
    meta["tasks"] = json!(tasks);
    let body = json!({
        "status": if tasks.is_empty() { "ignored" } else { "accepted" },
        "events": outcomes,
        "left_off": left_off,
        "task_ids": tasks,
    });
    let mut answer = Response::json(202, action, reason, &body).with_meta(meta);
    if let Some(first) = tasks.first() {
        answer = answer.with_task(*first);
    }
    Ok(if reason == "duplicate_delivery" {
        answer.repeated()
    } else {
        answer
    })
}
