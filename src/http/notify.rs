//! Notifications in the API (docs/notifications.md): `GET /api/v1/notify` lists the
//! sinks with their secrets masked, their filters and how each has fared, and the
//! newest deliveries; `POST /api/v1/notify/test` (admin) starts a task that sends a
//! test message, since `podup serve` itself never uses the network.

use super::Response;
use super::answer::accepted;
use super::context::{Call, Ctx};
use super::extract;
use super::refusal::Refusal;
use crate::model::TaskKind;
use crate::ratelimit::Rule;
use crate::tasks::control;
use serde::Deserialize;

/// Test notifications a panel may ask for: enough to try each sink, not to spam one.
const TEST_RULES: &[Rule] = &[Rule {
    count: 10,
    window_secs: 600,
}];

/// `GET /api/v1/notify`
pub fn list(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let conn = ctx.db.get()?;
    call.ok(&crate::notify::view::answer(conn, &ctx.config.notify.sinks)?)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TestBody {
    /// A sink's key; every sink when absent.
    sink: Option<String>,
}

/// `POST /api/v1/notify/test`
pub fn test(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let b: TestBody = extract::body(call.req)?;
    let sinks = &ctx.config.notify.sinks;
    if sinks.is_empty() {
        return Err(Refusal::conflict(
            "no_sinks",
            "no notification sink is configured (PODUP_NOTIFY_FILE, PODUP_NOTIFY or the credential notify)",
        ));
    }
    if let Some(key) = &b.sink {
        if !sinks.iter().any(|s| &s.key == key) {
            return Err(Refusal::not_found(
                "unknown_sink",
                "no configured sink has that key (GET /api/v1/notify lists them)",
            ));
        }
    }
    let spec = crate::tasks::notify::test_spec(b.sink.as_deref());
    let request_id = ctx.request_id.to_string();
    let origin = control::Origin {
        source: "api",
        caller: call.who(),
        reason: Some("notify-test"),
        request_id: Some(&request_id),
    };
    let d = ctx.dispatcher();
    let conn = ctx.db.get_mut()?;
    let id = control::create(
        conn,
        &d,
        TaskKind::Maintenance,
        &spec,
        &origin,
        Some(("notify-test", TEST_RULES)),
    )
    .map_err(|e| Refusal::control(call.action, e, &d))?;
    Ok(accepted(call.action, id, &d.status_url(id)))
}
