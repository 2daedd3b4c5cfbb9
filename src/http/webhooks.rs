//! The panel's Webhooks page: `GET /api/v1/webhooks` (read) gives the URL to paste
//! into GitHub for each service, whether a secret is set, and the last deliveries
//! with their verdict; `POST /api/v1/webhooks/test` (admin) signs a sample `ping`
//! with the configured secret and hands it to the real webhook handler, whose answer
//! is recorded as a delivery of its own (its `event_log` row is marked `test`).

use super::context::{Call, Ctx};
use super::extract::{Peer, is_https};
use super::refusal::Refusal;
use super::{Request, Response, hooks, senders};
use crate::clock::now_ms;
use crate::providers::Sender;
use crate::store::events::{self, Event, EventFilter, EventRow};
use serde_json::{Value, json};

const DELIVERIES: usize = 30;

/// `accepted`, `ignored` or `rejected`, from a delivery's answer.
pub fn verdict(status: u16, reason: &str) -> &'static str {
    match (status, reason) {
        (400.., _) => "rejected",
        (_, "accepted" | "joined" | "duplicate_delivery" | "ping") => "accepted",
        _ => "ignored",
    }
}

/// The URL GitHub should call: `PODUP_PUBLIC_URL`, else how this request reached us.
pub fn base_url(ctx: &Ctx<'_>, req: &Request) -> String {
    if let Some(u) = &ctx.config.public_url {
        return u.clone();
    }
    let https = is_https(&Peer::of(ctx), req);
    let host = req.header("host").unwrap_or("127.0.0.1:8777");
    format!("{}://{host}", if https { "https" } else { "http" })
}

fn delivery(e: &EventRow) -> Value {
    json!({
        "id": e.id,
        "ts_ms": e.ts_ms,
        "path": e.path,
        "status": e.status,
        "reason": e.reason,
        "verdict": verdict(e.status, &e.reason),
        "event": e.meta.get("event"),
        "delivery": e.meta.get("delivery"),
        "image": e.meta.get("image"),
        "detail": e.meta.get("detail").or_else(|| e.meta.get("error")),
        "test": e.meta.get("test").is_some(),
        "task_id": e.task_id,
        "count": e.count,
    })
}

/// One sender's card: configured or not, what to paste, its last deliveries.
fn sender_card(
    ctx: &mut Ctx<'_>,
    sender: Sender,
    base: &str,
    services: &[(String, Option<String>)],
) -> Result<Value, Refusal> {
    let secrets = ctx.config.secrets_of(sender).len();
    let f = EventFilter {
        action: Some(sender.action().into()),
        limit: DELIVERIES,
        ..Default::default()
    };
    let rows = events::list(ctx.db.get()?, &f)?;
    Ok(json!({
        "name": sender.name(),
        "title": sender.title(),
        "configured": secrets > 0,
        "secret_count": secrets,
        "variable": format!("{}_FILE", sender.variable()),
        "credential": sender.credential(),
        "url": senders::url(sender, base, None),
        "url_secret_only": sender.url_secret_only(),
        "setup": senders::setup(sender, base),
        "services": services.iter().map(|(unit, image)| json!({
            "unit": unit,
            "image": image,
            "url": senders::url(sender, base, Some(unit)),
        })).collect::<Vec<_>>(),
        "deliveries": rows.iter().map(delivery).collect::<Vec<_>>(),
    }))
}

pub fn status(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let base = base_url(ctx, call.req);
    let d = ctx.dispatcher();
    let services: Vec<(String, Option<String>)> = d
        .resolve(ctx.db.get().ok(), None)
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.unit, r.image.map(|i| i.to_string())))
        .collect();
    let mut cards = Vec::new();
    for sender in Sender::ALL {
        cards.push(sender_card(ctx, sender, &base, &services)?);
    }
    let github = cards[0].clone();
    call.ok(&json!({
        "secret": if github["configured"] == true { "set" } else { "unset" },
        "secret_count": github["secret_count"],
        "url": github["url"],
        "content_type": "application/json",
        "events": ["Packages", "Registry packages"],
        "services": github["services"],
        "deliveries": github["deliveries"],
        "senders": cards,
    }))
}

/// `POST /api/v1/webhooks/test[?sender=<name>]` (GitHub when not named).
pub fn test_delivery(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let named = call
        .req
        .query
        .split('&')
        .find_map(|p| p.strip_prefix("sender="))
        .unwrap_or("github");
    let Some(sender) = Sender::ALL.into_iter().find(|s| s.name() == named) else {
        return Err(Refusal::not_found(
            "unknown_sender",
            format!(
                "'{}' is not a sender; senders: {}",
                crate::http::redact::bound(named, 64),
                Sender::ALL.map(|s| s.name()).join(", ")
            ),
        ));
    };
    let Some(secret) = ctx.config.secrets_of(sender).first().cloned() else {
        return Err(hooks::not_configured(sender, 409, call.action));
    };
    let started = std::time::Instant::now();
    let delivery_id = format!("podup-test-{}", ctx.request_id);
    let (headers, body) = senders::test_delivery(sender, &secret, &delivery_id);
    let path = format!("/hooks/{}", sender.name());
    let (target, shown) = if sender.url_secret_only() {
        (
            format!("{path}/{}", secret.0),
            format!("{path}/{}", super::redact::PATH_SECRET_MARK),
        )
    } else {
        (path.clone(), path)
    };
    let path_secret = sender.url_secret_only().then_some(secret.0.as_str());
    let inner = Request {
        keep_alive: false,
        method: "POST".into(),
        target: target.clone(),
        path: target,
        query: String::new(),
        headers,
        body,
    };
    let answer = hooks::answer(ctx, &inner, sender, path_secret);
    let mut meta = answer.meta.clone();
    if !meta.is_object() {
        meta = json!({});
    }
    meta["test"] = json!(true);
    let row = Event {
        request_id: format!("{}-test", ctx.request_id),
        ts_ms: now_ms(),
        method: inner.method.clone(),
        path: shown,
        status: answer.status,
        action: answer.action.to_string(),
        reason: answer.reason.to_string(),
        duration_ms: started.elapsed().as_millis() as i64,
        remote_addr: Some("podup test delivery".into()),
        meta: meta.to_string(),
        task_id: answer.task_id,
    };
    events::insert(ctx.db.get()?, &row)?;
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    // Senders other than GitHub have no ping: a test delivery that got past the
    // credential and was read (ignored, as it deploys nothing) went through.
    let v = match answer.status {
        ..400 => "accepted",
        _ => verdict(answer.status, answer.reason),
    };
    Ok(Response::json(
        200,
        call.action,
        v,
        &json!({"sender": sender.name(), "delivery": delivery_id, "status": answer.status, "reason": answer.reason, "verdict": v, "answer": body}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        assert_eq!(verdict(202, "accepted"), "accepted");
        assert_eq!(verdict(200, "ping"), "accepted");
        assert_eq!(verdict(200, "duplicate_delivery"), "accepted");
        assert_eq!(verdict(202, "no_matching_service"), "ignored");
        assert_eq!(verdict(401, "signature_mismatch"), "rejected");
        assert_eq!(verdict(503, "webhook_not_configured"), "rejected");
    }
}
