//! The demo's history: three days of tasks of every kind and ending (succeeded,
//! failed, rolled back, cancelled, skipped, unknown), each with its unit rows, a log
//! timeline with the commands it ran, and the request that created it; the last
//! update check with its verdicts (`verdicts`); plus webhook
//! deliveries that were ignored or rejected and a few refused API calls. Written
//! through the store's own functions, as the real paths write them.

use super::deliveries::deliveries;
use super::timeline::{Story, task};
use crate::model::{TaskKind, TaskStatus};
use rusqlite::Connection;

const MIN_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MIN_MS;

/// Writes everything; `n` numbers the request ids. The last update check saw a rate
/// limit that ends at `limited_until_ms` (the world's).
pub fn seed(conn: &Connection, now: i64, limited_until_ms: i64) -> rusqlite::Result<()> {
    use TaskKind::*;
    use TaskStatus::*;
    let stories = [
        (
            Webhook,
            "github",
            "github",
            &["web.service"][..],
            Succeeded,
            "ok",
            "runs the new digest",
        ),
        (
            Manual,
            "api",
            "alice",
            &["api.service"][..],
            Succeeded,
            "ok",
            "runs the new digest",
        ),
        (
            Webhook,
            "github",
            "github",
            &["worker.service"][..],
            RolledBack,
            "verify_failed",
            "the unit stopped being active 1.2 s after the restart (failed, exit-code); rolled back",
        ),
        (
            AutoUpdate,
            "timer",
            "podup-auto-update.timer",
            &["web.service", "api.service", "cache.service"][..],
            Succeeded,
            "ok",
            "3 unit(s), 2 succeeded, 1 unchanged",
        ),
        (
            Manual,
            "api",
            "alice (chatops)",
            &["batch.service"][..],
            Failed,
            "pull_failed",
            "pull failed: 'podman pull -q ghcr.io/acme/batch:nightly' exited with status 125: manifest unknown",
        ),
        (
            UpdateAll,
            "api",
            "ci",
            &["web.service", "api.service", "cache.service"][..],
            Succeeded,
            "ok",
            "every unit runs its target",
        ),
        (
            Maintenance,
            "cli",
            "root",
            &[][..],
            Succeeded,
            "ok",
            "pruned 1204 events and 37 tasks older than 30 days",
        ),
        (
            Manual,
            "api",
            "bob",
            &["web.service"][..],
            Cancelled,
            "stopped",
            "stopped on request",
        ),
        (
            Webhook,
            "github",
            "github",
            &["api.service"][..],
            Skipped,
            "superseded",
            "task for the same unit is newer",
        ),
        (
            Manual,
            "cli",
            "root",
            &["api.service"][..],
            Unknown,
            "worker_lost",
            "its transient unit is gone while the task had not ended",
        ),
        (
            AutoUpdate,
            "timer",
            "podup-auto-update.timer",
            &["web.service", "worker.service", "cache.service"][..],
            RolledBack,
            "rolled_back",
            "3 unit(s), 1 succeeded, 1 unchanged, 1 rolled_back",
        ),
        (
            Webhook,
            "github",
            "github",
            &["web.service", "api.service"][..],
            Failed,
            "killed",
            "force-stopped: podup-task was sent SIGKILL",
        ),
    ];
    let mut rows = Vec::new();
    for round in 0..4i64 {
        for (i, (kind, source, caller, units, status, reason, message)) in stories.iter().enumerate() {
            let ago_ms = 70 * HOUR_MS - round * 17 * HOUR_MS - i as i64 * 83 * MIN_MS;
            rows.push(Story {
                ago_ms,
                kind: *kind,
                source,
                caller,
                units,
                status: *status,
                reason,
                message,
            });
        }
    }
    rows.sort_by_key(|s| -s.ago_ms);
    for (n, s) in rows.iter().enumerate() {
        task(conn, now, n, s)?;
    }
    super::verdicts::seed(conn, now, limited_until_ms)?;
    deliveries(conn, now)?;
    // The log pages by id: renumber the rows in the order they happened.
    crate::store::events::renumber_by_time(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tasks;

    #[test]
    fn history_has_every_kind_and_ending() {
        let c = crate::testing::migrated_db();
        seed(
            &c,
            1_700_000_000_000,
            1_700_000_000_000 + crate::demo::world::RATE_LIMIT_MS,
        )
        .unwrap();
        let all = tasks::list(
            &c,
            &tasks::ListFilter {
                limit: 500,
                ..Default::default()
            },
        )
        .unwrap();
        for k in TaskKind::ALL {
            assert!(all.iter().any(|t| t.kind == k.as_str()), "{k:?}");
        }
        for s in ["succeeded", "failed", "rolled_back", "cancelled", "skipped", "unknown"] {
            assert!(all.iter().any(|t| t.status == s), "{s}");
        }
        assert!(all.len() > 40);
    }
}
