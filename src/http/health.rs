//! `GET /health` (and HEAD): anyone may ask, before the panel and while the state
//! database is down; 200 with the version and uptime, or 503 naming what is wrong
//! (`checks::database_answers`, the check `podup check` and the panel also make).

use super::context::{Call, Ctx};
use super::refusal::Refusal;
use super::{Response, answer};
use crate::build_info::VERSION;
use serde_json::json;

pub fn health(ctx: &mut Ctx<'_>, _call: &Call<'_>) -> Result<Response, Refusal> {
    let uptime_secs = ctx.started.elapsed().as_secs();
    // Configured when any sender has a secret; which ones is for signed-in eyes only
    // (`GET /api/v1/webhooks`), not for anyone who asks.
    let any = crate::providers::Sender::ALL
        .into_iter()
        .any(|s| !ctx.config.secrets_of(s).is_empty());
    let webhook = if !any { "not_configured" } else { "configured" };
    if let Err(error) = crate::checks::database_answers(ctx.db) {
        if ctx.db.get().is_ok() {
            ctx.db.fail(&error);
        }
        let e = ctx.db.get().expect_err("just failed");
        let (message, db) = answer::unavailable(e);
        return Ok(Response::json(
            503,
            "health",
            "db_unavailable",
            &json!({
                "status": "unavailable",
                "version": VERSION,
                "uptime_secs": uptime_secs,
                "error": "db_unavailable",
                "message": message,
                "db": db,
                "webhook": webhook,
            }),
        ));
    }
    Ok(Response::json(
        200,
        "health",
        "ok",
        &json!({
            "status": "ok",
            "version": VERSION,
            "uptime_secs": uptime_secs,
            "db": {"state": "ok"},
            "webhook": webhook,
        }),
    ))
}
