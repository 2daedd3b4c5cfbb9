//! `GET /api/v1/events`: the event log for the panel's Events page and the
//! Webhooks page's deliveries, filtered and paged by id (newest first). The filters
//! each have an index (migration 3), so a page stays fast on a long log.

use super::Response;
use super::context::{Call, Ctx};
use super::extract::query_param;
use super::refusal::Refusal;
use crate::store::events::{self, EventFilter};
use serde_json::json;

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 500;

/// Reads the query into a filter, or the `400 invalid_filter` refusal.
pub fn filter(query: &str) -> Result<EventFilter, Refusal> {
    let bad = |name: &str, v: &str, why: &str| Refusal::invalid("invalid_filter", format!("{name} '{v}' is not {why}"));
    let text = |name: &str| {
        query_param(query, name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let number = |name: &str| -> Result<Option<i64>, Refusal> {
        match text(name) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .map(Some)
                .ok_or_else(|| bad(name, &v, "a whole number")),
        }
    };
    let mut f = EventFilter {
        action: text("action"),
        reason: text("reason"),
        path: text("path"),
        task_id: number("task")?,
        since_ms: number("since_ms")?,
        until_ms: number("until_ms")?,
        before_id: number("before")?,
        quiet: text("quiet").is_some_and(|v| v == "1" || v == "true"),
        limit: DEFAULT_PAGE,
        ..Default::default()
    };
    if let Some(s) = text("status") {
        let lower = s.to_ascii_lowercase();
        match (
            lower.parse::<u16>(),
            lower.strip_suffix("xx").and_then(|c| c.parse::<u16>().ok()),
        ) {
            (Ok(code), _) if (100..600).contains(&code) => f.status = Some(code),
            (_, Some(class)) if (1..6).contains(&class) => f.status_class = Some(class),
            _ => return Err(bad("status", &s, "a status code such as 401 or a class such as 4xx")),
        }
    }
    if let Some(n) = number("limit")? {
        if n == 0 {
            return Err(bad("limit", "0", "above zero"));
        }
        f.limit = (n as usize).min(MAX_PAGE);
    }
    Ok(f)
}

pub fn list(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let f = filter(&call.req.query)?;
    let rows = events::list(ctx.db.get()?, &f)?;
    let next = (rows.len() == f.limit).then(|| rows.last().map(|e| e.id)).flatten();
    call.ok(&json!({"events": rows, "next_before": next}))
}

#[cfg(test)]
mod tests {

    #[test]
    fn query_to_filter() {
        let filter = |q: &str, _action: &str| super::filter(q).map_err(|r| Box::new(r.into_response("t")));
        let f = filter("action=github_webhook&status=4xx&task=7&limit=9999&quiet=1", "t").unwrap();
        assert_eq!(f.action.as_deref(), Some("github_webhook"));
        assert_eq!(
            (f.status, f.status_class, f.task_id, f.limit, f.quiet),
            (None, Some(4), Some(7), 500, true)
        );
        assert_eq!(filter("status=401", "t").unwrap().status, Some(401));
        assert_eq!(filter("path=%2Fhooks", "t").unwrap().path.as_deref(), Some("/hooks"));
        for bad in [
            "status=teapot",
            "status=9xx",
            "task=-1",
            "limit=0",
            "before=x",
            "since_ms=soon",
        ] {
            assert_eq!(filter(bad, "t").unwrap_err().status, 400, "{bad}");
        }
    }
}
