//! What `GET /metrics` reports, read from the state database in one short set of
//! queries inside one read transaction (a consistent snapshot): plain numbers and
//! rows. `http::metrics` names them and writes the exposition format. Counts come from
//! the rows kept, so a prune lowers them (docs/operations.md, "Metrics").

use rusqlite::{Connection, params_from_iter};

/// The upper bounds, in seconds, of the deploy duration histogram's buckets.
pub const DEPLOY_BUCKETS_SECS: [f64; 10] = [1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0];

/// The task kinds that deploy (the others check or prune).
const DEPLOY_KINDS: &str = "'webhook', 'manual', 'update-all', 'auto-update'";

/// Task statuses that end a task.
const FINAL: &str = "'succeeded', 'failed', 'rolled_back', 'cancelled', 'skipped', 'unknown'";

/// Webhook requests of one sender's action that ended with one status and reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Deliveries {
    pub action: String,
    pub status: u16,
    pub reason: String,
    /// Requests, folded rows counted by what they stand for.
    pub requests: i64,
}

/// Finished deploy tasks' durations: `cumulative[i]` took at most
/// `DEPLOY_BUCKETS_SECS[i]` seconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Durations {
    pub count: i64,
    pub sum_secs: f64,
    pub cumulative: Vec<i64>,
}

/// What a service runs, as podup last saw it: its newest finished deploy, else its
/// newest update check.
#[derive(Debug, Clone, PartialEq)]
pub struct Running {
    pub unit: String,
    pub image: String,
    pub digest: String,
}

/// Updates of one service waiting in one way (`available`: a check found a newer
/// digest; `awaiting_approval`, `scheduled`: a task waits), and since when.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    pub unit: String,
    pub state: String,
    pub count: i64,
    pub since_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub deliveries: Vec<Deliveries>,
    /// (kind, final status, tasks, when the newest of them finished).
    pub tasks: Vec<(String, String, i64, Option<i64>)>,
    pub deploy_durations: Durations,
    /// (unit, when its newest successful deploy finished).
    pub last_success_ms: Vec<(String, i64)>,
    pub running: Vec<Running>,
    pub waiting: Vec<Waiting>,
    /// (unit, deploys of it rolled back, when the newest of them finished).
    pub rollbacks: Vec<(String, i64, Option<i64>)>,
    /// (reason, requests answered 429).
    pub refusals: Vec<(String, i64)>,
    pub event_rows: i64,
    /// The database file's pages, in bytes (the WAL not included).
    pub db_bytes: i64,
}

fn rows<T>(
    conn: &Connection,
    sql: &str,
    args: &[&str],
    f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut st = conn.prepare(sql)?;
    st.query_map(params_from_iter(args), f)?.collect()
}

/// Every number `GET /metrics` shows; `webhook_actions` are the event rows' actions
/// of webhook deliveries.
pub fn snapshot(conn: &Connection, webhook_actions: &[&str]) -> rusqlite::Result<Snapshot> {
    let tx = conn.unchecked_transaction()?;
    let marks = vec!["?"; webhook_actions.len()].join(", ");
    let deliveries = rows(
        &tx,
        &format!(
            "SELECT action, status, reason, sum(count) FROM event_log WHERE action IN ({marks})
             GROUP BY action, status, reason ORDER BY action, status, reason"
        ),
        webhook_actions,
        |r| {
            Ok(Deliveries {
                action: r.get(0)?,
                status: r.get(1)?,
                reason: r.get(2)?,
                requests: r.get(3)?,
            })
        },
    )?;
    // `+status`: walk the covering index `tasks_outcomes` (kind, status, ...) in its
    // order rather than `tasks_status` and every row it points at.
    let tasks = rows(
        &tx,
        &format!(
            "SELECT kind, status, count(*), max(finished_ms) FROM tasks WHERE +status IN ({FINAL})
             GROUP BY kind, status ORDER BY kind, status"
        ),
        &[],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let deploy_durations = durations(&tx)?;
    // Per unit, its successful rows newest first (`task_units_outcomes`) until one of a
    // deploy: a check's rows are not deploys.
    let last_success_ms = rows(
        &tx,
        &format!(
            "SELECT unit, last FROM (
                SELECT d.unit, (SELECT u.finished_ms FROM task_units u JOIN tasks t ON t.id = u.task_id
                                WHERE u.status = 'succeeded' AND u.unit = d.unit AND u.finished_ms IS NOT NULL
                                  AND t.kind IN ({DEPLOY_KINDS})
                                ORDER BY u.finished_ms DESC LIMIT 1) AS last
                FROM (SELECT DISTINCT unit FROM task_units) d)
             WHERE last IS NOT NULL ORDER BY unit"
        ),
        &[],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let rollbacks = rows(
        &tx,
        "SELECT unit, count(*), max(finished_ms) FROM task_units WHERE status = 'rolled_back' GROUP BY unit ORDER BY unit",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    // The partial index holds only the 429s; without ANALYZE the planner would take
    // `event_log_status` and read each row.
    let refusals = rows(
        &tx,
        "SELECT reason, sum(count) FROM event_log INDEXED BY event_log_refusals WHERE status = 429
         GROUP BY reason ORDER BY reason",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let one = |sql: &str| tx.query_row(sql, [], |r| r.get::<_, i64>(0));
    let event_rows = one("SELECT count(*) FROM event_log")?;
    let db_bytes = one("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")?;
    let snapshot = Snapshot {
        deliveries,
        tasks,
        deploy_durations,
        last_success_ms,
        running: running(&tx)?,
        waiting: waiting(&tx)?,
        rollbacks,
        refusals,
        event_rows,
        db_bytes,
    };
    tx.finish()?;
    Ok(snapshot)
}

fn durations(conn: &Connection) -> rusqlite::Result<Durations> {
    let buckets: Vec<String> = DEPLOY_BUCKETS_SECS
        .iter()
        .map(|b| format!("coalesce(sum(d <= {b}), 0)"))
        .collect();
    let sql = format!(
        "SELECT count(*), coalesce(sum(d), 0.0), {} FROM (
            SELECT (finished_ms - started_ms) / 1000.0 AS d FROM tasks
            WHERE kind IN ({DEPLOY_KINDS}) AND status IN ({FINAL})
              AND started_ms IS NOT NULL AND finished_ms >= started_ms)",
        buckets.join(", ")
    );
    conn.query_row(&sql, [], |r| {
        let mut cumulative = Vec::with_capacity(DEPLOY_BUCKETS_SECS.len());
        for i in 0..DEPLOY_BUCKETS_SECS.len() {
            cumulative.push(r.get(2 + i)?);
        }
        Ok(Durations {
            count: r.get(0)?,
            sum_secs: r.get(1)?,
            cumulative,
        })
    })
}

fn running(conn: &Connection) -> rusqlite::Result<Vec<Running>> {
    // The newest finished unit row with a digest, as `stats::last_known_digest` reads
    // it (one walk of `task_units_unit` per unit, newest task first); a unit no deploy
    // has touched yet, from its update check.
    rows(
        conn,
        "SELECT unit, coalesce(image, ''),
                CASE WHEN status IN ('succeeded', 'unchanged') THEN coalesce(to_digest, from_digest) ELSE from_digest END
         FROM task_units WHERE id IN (
             SELECT (SELECT id FROM task_units u WHERE u.unit = d.unit AND u.status NOT IN ('pending', 'running')
                       AND coalesce(u.to_digest, u.from_digest) IS NOT NULL ORDER BY u.unit DESC, u.task_id DESC LIMIT 1)
             FROM (SELECT DISTINCT unit FROM task_units) d)
         UNION ALL
         SELECT unit, coalesce(image, ''), json_extract(local_digests, '$[0]') FROM update_checks c
         WHERE json_extract(local_digests, '$[0]') IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM task_units u WHERE u.unit = c.unit
                            AND u.status NOT IN ('pending', 'running') AND coalesce(u.to_digest, u.from_digest) IS NOT NULL)
         ORDER BY 1",
        &[],
        |r| {
            Ok(Running {
                unit: r.get(0)?,
                image: r.get(1)?,
                digest: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
            })
        },
    )
}

fn waiting(conn: &Connection) -> rusqlite::Result<Vec<Waiting>> {
    rows(
        conn,
        "SELECT c.unit, 'available', 1, coalesce(s.first_ms, c.checked_ms) FROM update_checks c
         LEFT JOIN image_seen s ON s.unit = c.unit AND s.digest = c.remote_digest
         WHERE c.status = 'available'
         UNION ALL
         SELECT u.unit, t.status, count(*), min(t.created_ms) FROM tasks t JOIN task_units u ON u.task_id = t.id
         WHERE t.status IN ('awaiting_approval', 'scheduled') GROUP BY u.unit, t.status
         ORDER BY 1, 2",
        &[],
        |r| {
            Ok(Waiting {
                unit: r.get(0)?,
                state: r.get(1)?,
                count: r.get(2)?,
                since_ms: r.get(3)?,
            })
        },
    )
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
