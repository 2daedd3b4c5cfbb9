//! The task side of notifications: the transient flush that retries the outbox
//! (`podup-notify-<due>.timer`, created while rows wait and gone once it ran), the
//! notifier each process installs, and the "send a test notification" task.

use super::journal::Journal;
use super::lifecycle::finish;
use super::{host_for, sandbox};
use crate::clock::now_ms;
use crate::config::Config;
use crate::model::{Mode, TaskSpec, TaskStatus};
use crate::notify::{self, Notifier, compose, deliver};
use crate::store::outbox;
use crate::store::tasks::{self, Task};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long one flush unit may run.
const FLUSH_RUNTIME_SECS: u64 = 600;

/// The notifier of this process: `may_send` is false in `podup serve`, which has no
/// network and schedules flushes instead.
pub fn notifier(config: &Config, exe: PathBuf, db: PathBuf, may_send: bool) -> Notifier {
    let n = &config.notify;
    let schedule_config = config.clone();
    Notifier {
        sinks: n.sinks.clone(),
        host: notify::notifier::host_name(),
        public_url: config.public_url.clone(),
        timeout: Duration::from_secs(n.timeout_secs),
        retry_secs: n.retry_secs,
        give_up_secs: n.give_up_secs,
        auth_window_secs: n.auth_window_secs,
        may_send,
        schedule: Some(Box::new(move |delay| {
            schedule_flush(&schedule_config, &exe, &db, delay)
        })),
    }
}

/// Asks systemd to run `podup notify --flush` in `delay_secs`: a transient timer and
/// service named after the second it is due, so that asking twice for the same
/// second makes one (systemd refuses the second name, which is fine).
pub fn schedule_flush(config: &Config, exe: &Path, db: &Path, delay_secs: u64) {
    let due = now_ms() / 1000 + delay_secs as i64;
    let unit = format!("podup-notify-{due}");
    let (setenv, notify_properties) = config.notify.worker_environment(config.public_url.as_deref());
    let mut setenv = setenv;
    setenv.push(("PODUP_SYSTEMD_SCOPE".to_string(), config.scope().to_string()));
    if let Some(path) = &config.path_env {
        setenv.push(("PATH".into(), path.clone()));
    }
    let state_dir = db.parent().unwrap_or(&config.state_dir);
    let mut properties = sandbox::unit_properties(config.scope(), FLUSH_RUNTIME_SECS, state_dir);
    properties.extend(notify_properties);
    let command = vec![
        exe.display().to_string(),
        "notify".into(),
        "--flush".into(),
        "--db".into(),
        db.display().to_string(),
    ];
    let host = host_for(config);
    let result = host.systemd_run_after(
        &format!("{unit}.service"),
        "podup: deliver waiting notifications",
        delay_secs,
        &properties,
        &setenv,
        &command,
    );
    match result {
        Ok(_) => log::debug!("notifications: a flush is scheduled in {delay_secs} s ({unit})"),
        Err(e) => log::debug!("notifications: no flush scheduled as {unit}: {e}"),
    }
}

/// Writes the `update_available` message of a check's verdict, once per unit and
/// digest; how many outbox rows (none when no sink takes it, or it was sent before).
pub fn announce_update(conn: &Connection, task_id: i64, v: &crate::store::updates::Verdict) -> rusqlite::Result<usize> {
    let Some(digest) = v.remote_digest.as_deref() else {
        return Ok(0);
    };
    let now = now_ms();
    if !crate::store::updates::first_notice(conn, &v.unit, digest, now)? {
        return Ok(0);
    }
    match notify::installed() {
        Some(n) => compose::enqueue_update(conn, n, v, task_id, now),
        None => Ok(0),
    }
}

/// Delivers what task `task_id` wrote to the outbox, now (a task runs where the network
/// is allowed); what fails is retried by the flush timer.
pub fn deliver_now(conn: &Connection, task_id: i64) {
    if let Some(n) = notify::installed() {
        if let Err(e) = deliver::flush(conn, n, Some(task_id)) {
            log::error!(podup_task_id = task_id; "could not deliver the notifications of task {task_id}: {e}");
        }
    }
}

/// The spec of a test-notification task for `sink` (a key; every sink when None).
pub fn test_spec(sink: Option<&str>) -> TaskSpec {
    TaskSpec {
        units: Vec::new(),
        scope: None,
        verify_secs: 0,
        dry_run: false,
        mode: Mode::NotifyTest,
        recovers: None,
        sink: sink.map(String::from),
        fresh: false,
        follow: Default::default(),
        pull_parallel: crate::model::DEFAULT_PULL_PARALLEL,
        engine: Default::default(),
    }
}

/// Runs a test-notification task: writes a test message for its sink(s), delivers it
/// once (a test is not retried) and ends with what happened.
pub fn run_test(
    conn: &Connection,
    host: &crate::host::Host,
    task: &Task,
    spec: &TaskSpec,
) -> rusqlite::Result<TaskStatus> {
    let id = task.id;
    tasks::transition(conn, id, TaskStatus::Running, "running", "sending", now_ms())?;
    let journal = Journal {
        conn,
        host,
        task_id: id,
    };
    let Some(n) = notify::installed() else {
        let m = "no notification sink is configured (PODUP_NOTIFY, PODUP_NOTIFY_FILE or the credential notify)";
        journal.error("notify", None, m);
        finish(conn, id, TaskStatus::Failed, "no_sinks", m);
        return Ok(TaskStatus::Failed);
    };
    if compose::enqueue_test(conn, n, spec.sink.as_deref(), Some(id), now_ms())? == 0 {
        let m = "no configured sink has that key";
        journal.error("notify", None, m);
        finish(conn, id, TaskStatus::Failed, "unknown_sink", m);
        return Ok(TaskStatus::Failed);
    }
    deliver::flush(conn, n, Some(id))?;
    let (mut ok, mut failed) = (0, 0);
    for row in outbox::for_task(conn, id)? {
        let r = row.row;
        if r.status == crate::model::DeliveryStatus::Delivered {
            ok += 1;
            journal.info("notify", None, &format!("delivered to {}", r.sink_name));
        } else {
            failed += 1;
            let why = r.last_error.clone().unwrap_or_else(|| "not attempted".into());
            journal.error("notify", None, &format!("{}: {why}", r.sink_name));
            outbox::give_up(conn, r.id, now_ms(), "a test notification is not retried")?;
        }
    }
    let (status, reason) = if failed == 0 {
        (TaskStatus::Succeeded, "ok")
    } else {
        (TaskStatus::Failed, "notify_failed")
    };
    finish(
        conn,
        id,
        status,
        reason,
        &format!("test notification: {ok} delivered, {failed} failed"),
    );
    Ok(status)
}
