//! `POST /api/v1/updates/check` (docs/api.md): starts a `check` task of every service
//! or of those named. The check itself runs in a task unit: `podup serve` never uses
//! the network. Verdicts are read back in `GET /api/v1/services`.

use super::Response;
use super::api::{create, fields, unknown_service};
use super::context::{Call, Ctx};
use super::extract::{body, wait_secs};
use super::refusal::Refusal;
use crate::model::{TaskKind, UnitSpec};
use crate::ratelimit::Rule;
use serde::Deserialize;

/// Checks a panel or script may start: "Check now" a few times, not a poll loop that
/// would make podup the registries' problem.
const CHECK_RULES: &[Rule] = &[Rule {
    count: 20,
    window_secs: 600,
}];

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    /// Units to check; every service when absent.
    services: Option<Vec<String>>,
    /// Ask the registries even when their last answer is younger than PODUP_CHECK_TTL.
    #[serde(default)]
    fresh: bool,
    caller: Option<String>,
    reason: Option<String>,
}

/// `POST /api/v1/updates/check`
pub fn check(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let b: CheckBody = body(call.req)?;
    fields(b.caller.as_deref(), b.reason.as_deref())?;
    let wait = wait_secs(call.req)?;
    let d = ctx.dispatcher();
    let resolved = d
        .resolve(ctx.db.get().ok(), b.services.as_deref())
        .map_err(|n| unknown_service(&n))?;
    if resolved.is_empty() {
        return Err(Refusal::conflict(
            "no_services",
            "no service is declared: set PODUP_SERVICES",
        ));
    }
    let units = resolved
        .into_iter()
        .map(|r| UnitSpec {
            unit: r.unit,
            image: r.image.map(|i| i.to_string()),
            digest: None,
            retag: None,
        })
        .collect();
    let mut spec = crate::tasks::check::spec(units, b.fresh);
    crate::tasks::check::note_follows(ctx.db.get().ok(), ctx.config, &mut spec);
    let caller = b
        .caller
        .map_or(call.who().to_string(), |c| format!("{} ({c})", call.who()));
    let reason = Some(
        b.reason
            .as_deref()
            .unwrap_or(if b.fresh { "check now" } else { "check" }),
    );
    create(
        ctx,
        call,
        TaskKind::Check,
        &spec,
        (caller.as_str(), reason),
        ("check", CHECK_RULES),
        wait,
    )
}
