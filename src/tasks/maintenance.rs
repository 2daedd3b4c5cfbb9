//! The `maintenance` task: pruning old state with the retention settings (or an
//! explicit age), recorded like any other task so the panel can show it.

use crate::clock::now_ms;
use crate::config::Config;
use crate::model::{Mode, TaskKind, TaskSpec, TaskStatus};
use crate::store::prune::{self, Counts, Cutoffs};
use crate::store::tasks;
use crate::tasks::journal::Journal;
use crate::tasks::lifecycle::{self, Origin, finish};
use rusqlite::Connection;
use serde::Serialize;

/// The cut-offs: `older_than` (seconds) for events and tasks when given, else the
/// retention settings; rate-limit hits older than the longest configured window.
pub fn cutoffs(config: &Config, older_than_secs: Option<u64>, now_ms: i64) -> Cutoffs {
    // Checked: an age that does not fit in milliseconds keeps everything.
    let ago = |secs: u64| crate::duration::ms_before(now_ms, secs);
    let longest = [
        &config.limit_update_all,
        &config.limit_image,
        &config.limit_auth_failures,
    ]
    .iter()
    .flat_map(|rules| rules.iter().map(|r| r.window_secs))
    .max()
    .unwrap_or(0);
    Cutoffs {
        events_before_ms: ago(older_than_secs.unwrap_or(config.retention_events_secs)),
        tasks_before_ms: ago(older_than_secs.unwrap_or(config.retention_tasks_secs)),
        rate_hits_before_ms: ago(longest),
        now_ms,
    }
}

/// A dry run counts (no task); otherwise a `maintenance` task is created, runs the
/// prune and records what it removed. Returns the task id (if any) and the counts.
pub fn prune(
    conn: &Connection,
    host: &crate::host::Host,
    config: &Config,
    source: &str,
    caller: &str,
    dry_run: bool,
    older_than_secs: Option<u64>,
) -> rusqlite::Result<(Option<i64>, Counts)> {
    let now = now_ms();
    let cut = cutoffs(config, older_than_secs, now);
    if dry_run {
        return Ok((None, prune::plan(conn, &cut)?));
    }
    let spec = TaskSpec {
        units: Vec::new(),
        scope: None,
        verify_secs: 0,
        dry_run: false,
        mode: Mode::Prune,
        recovers: None,
        sink: None,
        fresh: false,
        follow: Default::default(),
        pull_parallel: crate::model::DEFAULT_PULL_PARALLEL,
        engine: Default::default(),
    };
    let origin = Origin {
        source,
        caller,
        reason: Some(if older_than_secs.is_some() {
            "prune"
        } else {
            "retention"
        }),
        request_id: None,
    };
    let id = lifecycle::record(conn, TaskKind::Maintenance, origin, &spec)?;
    tasks::transition(conn, id, TaskStatus::Running, "running", "pruning", now_ms())?;
    let journal = Journal {
        conn,
        host,
        task_id: id,
    };
    match prune::prune(conn, &cut) {
        Ok(done) => {
            let message = format!(
                "removed {} events, {} tasks ({} unit rows, {} log lines), {} sessions, {} rate-limit hits, {} orphaned locks",
                done.events, done.tasks, done.task_units, done.task_logs, done.sessions, done.rate_hits, done.locks
            );
            journal.info("prune", None, &message);
            finish(conn, id, TaskStatus::Succeeded, "ok", &message);
            Ok((Some(id), done))
        }
        Err(e) => {
            let message = format!("the prune failed: {e}");
            journal.error("prune", None, &message);
            finish(conn, id, TaskStatus::Failed, "prune_failed", &message);
            Err(e)
        }
    }
}

/// What a prune answers (`POST /api/v1/maintenance/prune`, `podup prune --json`): whether
/// it was a dry run, the maintenance task (none for a dry run), the rows removed (or
/// that would be) and the state database's size afterwards.
#[derive(Debug, Serialize)]
pub struct PruneReport {
    pub dry_run: bool,
    pub task_id: Option<i64>,
    pub counts: Counts,
    pub db_size_bytes: u64,
}

impl PruneReport {
    /// The answer as JSON (keys in the API's order).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a prune report serializes")
    }
}

/// [`prune`], then the size of the state database: the report both the API and the
/// CLI give.
pub fn prune_report(
    conn: &Connection,
    host: &crate::host::Host,
    config: &Config,
    (source, caller): (&str, &str),
    dry_run: bool,
    older_than_secs: Option<u64>,
) -> rusqlite::Result<PruneReport> {
    let (task_id, counts) = prune(conn, host, config, source, caller, dry_run, older_than_secs)?;
    Ok(PruneReport {
        dry_run,
        task_id,
        counts,
        db_size_bytes: crate::store::prune::size_bytes(&config.db_path()),
    })
}
