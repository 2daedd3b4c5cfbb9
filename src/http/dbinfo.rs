//! `GET /api/v1/maintenance` (read): what the panel's Maintenance page shows about
//! the state database: its size and rows, the rate-limit windows in use, and the
//! deploy locks held (the documented route for them; `GET /api/v1/locks` is
//! deprecated for it). Pruning is `POST /api/v1/maintenance/prune` (`ops::prune`,
//! docs/api.md), which the page's prune form calls.

use super::Response;
use super::context::{Call, Ctx};
use super::refusal::Refusal;
use crate::clock::now_ms;
use crate::ratelimit::Rule;
use crate::store::stats;
use serde_json::json;

pub fn maintenance(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let c = ctx.config;
    // The longest window of any limit: hits older than it count for nothing.
    let window_secs = [&c.limit_update_all, &c.limit_image, &c.limit_auth_failures]
        .iter()
        .flat_map(|r| r.iter().map(|r: &Rule| r.window_secs))
        .max()
        .unwrap_or(3600);
    let rules = |r: &[Rule]| r.iter().map(ToString::to_string).collect::<Vec<_>>();
    let limits = json!({
        "update_all": rules(&c.limit_update_all),
        "image": rules(&c.limit_image),
        "auth_failures": rules(&c.limit_auth_failures),
    });
    let db_path = c.db_path();
    let conn = ctx.db.get()?;
    let now = now_ms();
    let db = stats::db_stats(conn, &db_path)?;
    let hits = stats::rate_limits(conn, now, crate::duration::secs_to_ms(window_secs).unwrap_or(i64::MAX))?;
    let locks = stats::held_locks(conn)?;
    call.ok(&json!({"db": db, "limits": limits, "rate_limits": hits, "locks": locks, "now_ms": now}))
}
