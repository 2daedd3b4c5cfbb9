//! The panel's Webhooks page: `GET /api/v1/webhooks` (read) gives the URL to paste
//! into GitHub for each service, whether a secret is set, and the last deliveries
//! with their verdict; `POST /api/v1/webhooks/test` (admin) signs a sample `ping`
//! with the configured secret and hands it to the real webhook handler, whose answer
//! is recorded as a delivery of its own (its `event_log` row is marked `test`).

use super::context::{Call, Ctx};
use super::extract::{Peer, is_https};
use super::refusal::Refusal;
use super::{Request, Response, hooks};
use crate::clock::now_ms;
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

pub fn status(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let base = base_url(ctx, call.req);
    let d = ctx.dispatcher();
    let services: Vec<Value> = d
        .resolve(ctx.db.get().ok(), None)
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            json!({
                "unit": r.unit,
                "image": r.image.map(|i| i.to_string()),
                "url": format!("{base}/hooks/github/{}", r.unit),
            })
        })
        .collect();
    let secrets = ctx.config.github_secrets.len();
    let f = EventFilter {
        action: Some("github_webhook".into()),
        limit: DELIVERIES,
        ..Default::default()
    };
    let rows = events::list(ctx.db.get()?, &f)?;
    call.ok(&json!({
        "secret": if secrets > 0 { "set" } else { "unset" },
        "secret_count": secrets,
        "url": format!("{base}/hooks/github"),
        "content_type": "application/json",
        "events": ["Packages", "Registry packages"],
        "services": services,
        "deliveries": rows.iter().map(delivery).collect::<Vec<_>>(),
    }))
}

pub fn test_delivery(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let Some(secret) = ctx.config.github_secrets.first() else {
        return Err(Refusal::conflict(
            "webhook_not_configured",
            "no GitHub webhook secret is configured: set PODUP_GITHUB_SECRET_FILE or the credential 'github-secret'",
        ));
    };
    let started = std::time::Instant::now();
    let delivery_id = format!("podup-test-{}", ctx.request_id);
    let body = serde_json::to_vec(&json!({
        "zen": "Sent by podup's panel: a signed test delivery.",
        "hook_id": 0,
        "hook": {"type": "Repository", "id": 0, "events": ["registry_package"]},
    }))
    .expect("JSON serializes");
    let inner = Request {
        keep_alive: false,
        method: "POST".into(),
        target: "/hooks/github".into(),
        path: "/hooks/github".into(),
        query: String::new(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-github-event".into(), "ping".into()),
            ("x-github-delivery".into(), delivery_id.clone()),
            (
                "x-hub-signature-256".into(),
                crate::providers::github::sign(secret, &body),
            ),
        ],
        body,
    };
    let answer = hooks::github(ctx, &inner, None);
    let mut meta = answer.meta.clone();
    if !meta.is_object() {
        meta = json!({});
    }
    meta["test"] = json!(true);
    let row = Event {
        request_id: format!("{}-test", ctx.request_id),
        ts_ms: now_ms(),
        method: inner.method.clone(),
        path: inner.path.clone(),
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
    let v = verdict(answer.status, answer.reason);
    Ok(Response::json(
        200,
        call.action,
        v,
        &json!({"delivery": delivery_id, "status": answer.status, "reason": answer.reason, "verdict": v, "answer": body}),
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
