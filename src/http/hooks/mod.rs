//! `POST /hooks/<sender>` and `POST /hooks/<sender>/<service>` (Quay and Docker Hub:
//! `/hooks/<sender>/<secret>[/<service>]`): the path names the sender; its credential
//! first (before any parsing), then its module reads the body into one item per event
//! (`providers::read`), and each image event goes the same way whoever sent it:
//! routing by image, idempotency by delivery or event id, coalescing, the per-image
//! rate limit, dispatch (`route`). Nothing a sender can send gets a 5xx here except a
//! failed dispatch; what is not a tagged image push is 2xx `ignored`, since several
//! senders retry anything else.

mod batch;
mod route;

use super::auth_limit::{self, Kind};
use super::context::{Call, Ctx};
use super::refusal::Refusal;
use super::{Request, Response};
use crate::clock::now_ms;
use crate::logging::Throttle;
use crate::providers::proof::{self, Presented};
use crate::providers::{self, Delivery, Sender, Verdict, github};
use crate::store::replay;
use crate::tasks::lifecycle;
use serde_json::{Value, json};

pub use route::ignored;

/// Refused deliveries reach the journal at most once a second.
static REFUSALS: Throttle = Throttle::new(1_000);

/// The handler of every webhook route (`routes::ROUTES`): the sender is the route's.
pub fn delivery(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let sender = Sender::from_action(call.action).unwrap_or(Sender::Github);
    receive(ctx, call.req, sender, call.param("service"), call.param("secret"))
}

/// A delivery's answer, refusals included (the panel's test delivery files it itself).
pub fn answer(ctx: &mut Ctx<'_>, req: &Request, sender: Sender, path_secret: Option<&str>) -> Response {
    receive(ctx, req, sender, None, path_secret).unwrap_or_else(|r| r.into_response(sender.action()))
}

/// `<sender>_not_configured` with `status`: there is no secret to check a credential
/// with (503 here, 409 for the panel's test delivery).
pub fn not_configured(sender: Sender, status: u16, action: &'static str) -> Refusal {
    Refusal::Answer(Box::new(Response::error(
        status,
        action,
        sender.not_configured(),
        format!(
            "no {} webhook secret is configured: set {}_FILE or the credential '{}'",
            sender.title(),
            sender.variable(),
            sender.credential()
        ),
    )))
}

/// Why a credential was refused: its stable code, its message, and whether it was a
/// guess (counted against the client) rather than no credential at all.
struct Failed {
    kind: &'static str,
    message: String,
    guess: bool,
}

fn check(ctx: &Ctx<'_>, req: &Request, sender: Sender, path_secret: Option<&str>) -> Result<(), Failed> {
    let secrets = ctx.config.secrets_of(sender);
    if sender == Sender::Github {
        return github::verify_signature(secrets, &req.body, req.header("x-hub-signature-256"))
            .map(drop)
            .map_err(|e| Failed {
                kind: e.kind(),
                message: e.to_string(),
                guess: !matches!(e, github::SignatureError::Missing),
            });
    }
    let header = |name: &str| req.header(name);
    let presented = Presented {
        header: &header,
        body: &req.body,
        path_secret,
    };
    proof::verify(sender, secrets, &presented)
        .map(drop)
        .map_err(|e| Failed {
            kind: e.kind(),
            message: e.to_string(),
            guess: e.is_guess(),
        })
}

fn receive(
    ctx: &mut Ctx<'_>,
    req: &Request,
    sender: Sender,
    only: Option<&str>,
    path_secret: Option<&str>,
) -> Result<Response, Refusal> {
    let action = sender.action();
    if ctx.config.secrets_of(sender).is_empty() {
        return Err(not_configured(sender, 503, action));
    }
    let now = now_ms();
    // The credential first, always (microseconds): a delivery that verifies is served
    // however many bad ones came from its address; only a failure meets the limit.
    if let Err(e) = check(ctx, req, sender, path_secret) {
        if let Some(skipped) = REFUSALS.admit(now) {
            let more = if skipped > 0 {
                format!(" ({skipped} more refused since the last message; the event log has each)")
            } else {
                String::new()
            };
            log::warn!(error_kind = e.kind, remote = ctx.client_ip.as_str(); "{} webhook refused: {}{more}", sender.name(), e.message);
        }
        let refusal = Response::error(401, action, e.kind, e.message);
        // No credential at all guesses nothing: refused, not counted.
        if !e.guess {
            return Err(refusal.into());
        }
        return Err(auth_limit::failed(ctx, req, Kind::Signature, refusal).into());
    }
    ctx.authenticated = true;
    let body_sha = crate::hex::sha256_hex(&req.body);
    // A redelivery (the sender's retry, or "Redeliver" in its UI) of a delivery that
    // made a task is answered before its body is parsed: same id, same task.
    let header_id = sender.delivery_headers().iter().find_map(|h| req.header(h));
    if let Some(id) = route::delivery_key(sender, header_id) {
        if let Some(earlier) = lifecycle::duplicate_of(ctx.db.get()?, Some(&id), &body_sha, now)? {
            let meta = json!({"sender": sender.name(), "delivery": header_id});
            return Ok(route::duplicate(action, earlier, &ctx.dispatcher().status_url(earlier))
                .with_meta(meta)
                .repeated());
        }
    }
    let header = |name: &str| req.header(name);
    let read = providers::read(sender, &header, &req.body);
    let mut meta = json!({"sender": sender.name()});
    if sender.url_secret_only() {
        meta["authenticated_by"] = json!("url_secret");
    }
    if let Ok(d) = &read {
        meta["event"] = json!(d.event);
        meta["delivery"] = json!(d.id);
    } else if sender == Sender::Github {
        meta["event"] = json!(req.header("x-github-event"));
        meta["delivery"] = json!(req.header("x-github-delivery"));
    }
    let conn = ctx.db.get()?;
    // A body verified before (within the window) that made no task: a ping or an
    // ignored event sent again, answered as before but filed as the repeat it is.
    let seen = replay::task_for_body(conn, &body_sha, now)?.is_some();
    let delivery = match read {
        Ok(d) => d,
        // Content-Type and the event header are not signed: a verified body that does
        // not parse as declared is filed like any other answer (a repeat folds).
        Err(e) => {
            let refused = Response::error(400, action, e.kind(), e.to_string()).with_meta(meta);
            return Ok(filed(ctx, refused, &body_sha, seen, now));
        }
    };
    if delivery.items.len() != 1 {
        return batch::receive(ctx, sender, &delivery, only, &body_sha, meta, now);
    }
    one(ctx, sender, &delivery, only, &body_sha, meta, seen, now)
}

/// A delivery of one event: GitHub's, and most senders'.
#[allow(clippy::too_many_arguments)]
fn one(
    ctx: &mut Ctx<'_>,
    sender: Sender,
    delivery: &Delivery,
    only: Option<&str>,
    body_sha: &str,
    mut meta: Value,
    seen: bool,
    now: i64,
) -> Result<Response, Refusal> {
    let action = sender.action();
    let item = &delivery.items[0];
    let id = route::delivery_key(sender, item.id.as_deref().or(delivery.id.as_deref()));
    // A redelivery (the sender's retry, or "Redeliver" in its UI) of a delivery that
    // made a task is answered with that task. The same signed body under another id is
    // a replay (the id is not signed): the duplicate of the delivery that first brought
    // it, within the redelivery window. `route` checks again under the write lock.
    if let Some(earlier) = lifecycle::duplicate_of(ctx.db.get()?, id.as_deref(), body_sha, now)? {
        return Ok(route::duplicate(action, earlier, &ctx.dispatcher().status_url(earlier))
            .with_meta(meta)
            .repeated());
    }
    let event = match &item.verdict {
        Verdict::Ping { hook_id } => {
            let pong = Response::json(200, action, "ping", &json!({"status": "pong", "hook_id": hook_id}));
            return Ok(filed(ctx, pong.with_meta(meta), body_sha, seen, now));
        }
        Verdict::Ignored { reason, detail } => {
            meta["detail"] = json!(detail);
            let answer = ignored(action, reason, detail.clone()).with_meta(meta);
            return Ok(filed(ctx, answer, body_sha, seen, now));
        }
        Verdict::Image(e) => e,
    };
    route::describe(&mut meta, event);
    let key = route::Key {
        id: id.as_deref(),
        body_sha,
    };
    // Whatever `route` answers, refusals included, carries the delivery's meta and
    // is filed.
    let answer = route::route(ctx, sender, event, only, &key)
        .unwrap_or_else(|r| r.into_response(action))
        .with_meta(meta);
    if answer.reason == "duplicate_delivery" {
        return Ok(answer.repeated());
    }
    Ok(filed(ctx, answer, body_sha, seen, now))
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
