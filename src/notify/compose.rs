//! Messages from the state database, and the outbox rows they make: one message per
//! ended task whose status is an event (every sink whose filters take it gets a row),
//! and one per window of failed authentications and sink.

use super::Notifier;
use super::message::{
    AuthFailuresPart, Event, LOG_TAIL_LINES, Message, SCHEMA, TaskPart, TriggerPart, UnitPart, tag_of,
};
use crate::model::{Mode, TaskStatus};
use crate::store::outbox::{self, NewRow, bound};
use crate::store::tasks;
use rusqlite::Connection;

/// Longest text a field of a message keeps (messages, log lines).
const MAX_FIELD_CHARS: usize = 500;

/// The event a task that ended with `status` is, if any.
pub fn event_of(status: TaskStatus) -> Option<Event> {
    match status {
        TaskStatus::Failed => Some(Event::Failed),
        TaskStatus::RolledBack => Some(Event::RolledBack),
        TaskStatus::Unknown => Some(Event::Unknown),
        TaskStatus::Succeeded => Some(Event::Succeeded),
        TaskStatus::AwaitingApproval => Some(Event::ApprovalNeeded),
        _ => None,
    }
}

/// A stable id: the same task and event give the same id on every retry and sink.
pub fn message_id(parts: &[&str]) -> String {
    let digest = crate::hex::sha256_hex(parts.join("\u{0}").as_bytes());
    format!("podup-{}", &digest[..32])
}

/// The message of an ended task, or `None` when its status is no event.
pub fn task_message(
    conn: &Connection,
    task_id: i64,
    host: &str,
    public_url: Option<&str>,
    now_ms: i64,
) -> rusqlite::Result<Option<Message>> {
    let Some(task) = tasks::get(conn, task_id)? else {
        return Ok(None);
    };
    let Some(event) = event_of(task.status()) else {
        return Ok(None);
    };
    // Pruning and test notifications are housekeeping, not news; a check's news is
    // each new digest it finds (`enqueue_update`), not that it ran.
    if matches!(
        task.spec().map(|s| s.mode),
        Some(Mode::Prune | Mode::NotifyTest | Mode::Check)
    ) {
        return Ok(None);
    }
    let units: Vec<UnitPart> = tasks::units(conn, task_id)?
        .into_iter()
        .map(|u| UnitPart {
            tag: u.image.as_deref().and_then(tag_of).map(String::from),
            unit: u.unit,
            status: u.status.as_str().to_string(),
            image: u.image,
            from_digest: u.from_digest,
            to_digest: u.to_digest,
            message: u.message.map(|m| bound(&m, MAX_FIELD_CHARS)),
        })
        .collect();
    let logs = tasks::logs(conn, task_id)?;
    let log_tail = logs[logs.len().saturating_sub(LOG_TAIL_LINES)..]
        .iter()
        .map(|l| {
            let unit = l.unit.as_deref().map(|u| format!("{u}: ")).unwrap_or_default();
            bound(&format!("{} {}{}", l.level, unit, l.message), MAX_FIELD_CHARS)
        })
        .collect();
    let names: Vec<&str> = units.iter().map(|u| u.unit.as_str()).collect();
    let what = match names.len() {
        0 => format!("task {task_id}"),
        1 => names[0].to_string(),
        n => format!("{} and {} more", names[0], n - 1),
    };
    let verdict = match event {
        Event::Failed => "failed",
        Event::RolledBack => "rolled back",
        Event::Unknown => "ended unknown",
        Event::ApprovalNeeded => "waits for an approval",
        _ => "updated",
    };
    let start = task.started_ms.unwrap_or(task.created_ms);
    let id = message_id(&[host, &task_id.to_string(), &task.created_ms.to_string(), event.as_str()]);
    Ok(Some(Message {
        schema: SCHEMA,
        id,
        event,
        host: host.to_string(),
        ts_ms: now_ms,
        title: format!("{what} {verdict} on {host}"),
        task: Some(TaskPart {
            id: task.id,
            kind: task.kind.as_str().to_string(),
            status: task.status.as_str().to_string(),
            reason: task.reason.clone(),
            message: task.message.as_deref().map(|m| bound(m, MAX_FIELD_CHARS)),
            created_ms: task.created_ms,
            finished_ms: task.finished_ms,
            duration_ms: task.finished_ms.map(|f| f - start),
        }),
        units,
        trigger: Some(TriggerPart {
            source: task.source.clone(),
            caller: task.caller.clone(),
            reason: task.trigger_reason.clone(),
        }),
        log_tail,
        url: public_url.map(|u| format!("{u}/tasks?task={task_id}")),
        auth_failures: None,
    }))
}

/// Writes the outbox rows of an ended task (inside the caller's transaction): one
/// per sink that takes its event and units. Returns how many.
pub fn enqueue_task(conn: &Connection, n: &Notifier, task_id: i64, now_ms: i64) -> rusqlite::Result<usize> {
    let Some(msg) = task_message(conn, task_id, &n.host, n.public_url.as_deref(), now_ms)? else {
        return Ok(0);
    };
    let units: Vec<&str> = msg.units.iter().map(|u| u.unit.as_str()).collect();
    let body = serde_json::to_string(&msg).expect("a message serializes");
    let mut written = 0;
    for sink in n.sinks.iter().filter(|s| s.takes(msg.event, &units)) {
        let row = NewRow {
            message_id: &msg.id,
            task_id: Some(task_id),
            event: msg.event,
            sink: &sink.key,
            sink_name: &sink.display,
            body: &body,
            next_ms: now_ms,
            window_key: None,
        };
        written += usize::from(outbox::insert(conn, &row, now_ms)?);
    }
    Ok(written)
}

/// An `update_available` message for a verdict of a check task (`task_id`): one per
/// unit and remote digest, whatever the number of checks that find it.
pub fn enqueue_update(
    conn: &Connection,
    n: &Notifier,
    v: &crate::store::updates::Verdict,
    task_id: i64,
    now_ms: i64,
) -> rusqlite::Result<usize> {
    let remote = v.remote_digest.as_deref().unwrap_or("");
    let msg = Message {
        schema: SCHEMA,
        id: message_id(&[&n.host, "update_available", &v.unit, remote]),
        event: Event::UpdateAvailable,
        host: n.host.clone(),
        ts_ms: now_ms,
        title: format!("An update is available for {} on {}", v.unit, n.host),
        task: None,
        units: vec![UnitPart {
            unit: v.unit.clone(),
            status: v.status.as_str().to_string(),
            tag: v.image.as_deref().and_then(tag_of).map(String::from),
            image: v.image.clone(),
            from_digest: v.local_digests.first().cloned(),
            to_digest: v.remote_digest.clone(),
            message: v.message.as_deref().map(|m| bound(m, MAX_FIELD_CHARS)),
        }],
        trigger: Some(TriggerPart {
            source: "check".into(),
            caller: None,
            reason: v.endpoint.clone(),
        }),
        log_tail: Vec::new(),
        url: n.public_url.as_ref().map(|u| format!("{u}/services")),
        auth_failures: None,
    };
    let body = serde_json::to_string(&msg).expect("a message serializes");
    let mut written = 0;
    for sink in n
        .sinks
        .iter()
        .filter(|s| s.takes(Event::UpdateAvailable, &[v.unit.as_str()]))
    {
        let row = NewRow {
            message_id: &msg.id,
            task_id: Some(task_id),
            event: Event::UpdateAvailable,
            sink: &sink.key,
            sink_name: &sink.display,
            body: &body,
            next_ms: now_ms,
            window_key: None,
        };
        written += usize::from(outbox::insert(conn, &row, now_ms)?);
    }
    Ok(written)
}

/// A test message for `sink` (or every sink), from a task of `task_id`.
pub fn enqueue_test(
    conn: &Connection,
    n: &Notifier,
    sink: Option<&str>,
    task_id: Option<i64>,
    now_ms: i64,
) -> rusqlite::Result<usize> {
    let id = message_id(&[&n.host, "test", &now_ms.to_string(), &task_id.unwrap_or(0).to_string()]);
    let msg = Message {
        schema: SCHEMA,
        id,
        event: Event::Test,
        host: n.host.clone(),
        ts_ms: now_ms,
        title: format!("Test notification from podup on {}", n.host),
        task: None,
        units: Vec::new(),
        trigger: None,
        log_tail: Vec::new(),
        url: n.public_url.as_ref().map(|u| format!("{u}/settings")),
        auth_failures: None,
    };
    let body = serde_json::to_string(&msg).expect("a message serializes");
    let mut written = 0;
    for s in n.sinks.iter().filter(|s| sink.is_none_or(|k| s.key == k)) {
        let row = NewRow {
            message_id: &msg.id,
            task_id,
            event: Event::Test,
            sink: &s.key,
            sink_name: &s.display,
            body: &body,
            next_ms: now_ms,
            window_key: None,
        };
        written += usize::from(outbox::insert(conn, &row, now_ms)?);
    }
    Ok(written)
}

/// Counts a failed authentication on `route` into the open window of every sink that
/// takes `auth_failures`, opening a window (due at its end) where none is open.
/// Returns whether a window opened (then a flush is due at its end).
pub fn auth_failure(conn: &Connection, n: &Notifier, route: &str, now_ms: i64) -> rusqlite::Result<bool> {
    let mut opened = false;
    let window_ms = (n.auth_window_secs * 1000) as i64;
    for sink in n.sinks.iter().filter(|s| s.takes(Event::AuthFailures, &[])) {
        let key = "auth_failures";
        if let Some(row) = outbox::open_window(conn, key, &sink.key)? {
            let Ok(mut msg) = serde_json::from_str::<Message>(&row.body) else {
                continue;
            };
            if let Some(a) = &mut msg.auth_failures {
                a.count += 1;
                a.last_ms = now_ms;
                if a.routes.len() < 32 || a.routes.contains_key(route) {
                    *a.routes.entry(bound(route, 100)).or_default() += 1;
                }
                msg.title = format!("{} failed authentications on {}", a.count, n.host);
            }
            outbox::set_body(
                conn,
                row.id,
                &serde_json::to_string(&msg).expect("a message serializes"),
            )?;
            continue;
        }
        let mut routes = std::collections::BTreeMap::new();
        routes.insert(bound(route, 100), 1);
        let msg = Message {
            schema: SCHEMA,
            id: message_id(&[&n.host, key, &now_ms.to_string()]),
            event: Event::AuthFailures,
            host: n.host.clone(),
            ts_ms: now_ms,
            title: format!("1 failed authentication on {}", n.host),
            task: None,
            units: Vec::new(),
            trigger: None,
            log_tail: Vec::new(),
            url: n.public_url.as_ref().map(|u| format!("{u}/events")),
            auth_failures: Some(AuthFailuresPart {
                count: 1,
                window_secs: n.auth_window_secs,
                first_ms: now_ms,
                last_ms: now_ms,
                routes,
            }),
        };
        let row = NewRow {
            message_id: &msg.id,
            task_id: None,
            event: Event::AuthFailures,
            sink: &sink.key,
            sink_name: &sink.display,
            body: &serde_json::to_string(&msg).expect("a message serializes"),
            next_ms: now_ms + window_ms,
            window_key: Some(key),
        };
        opened |= outbox::insert(conn, &row, now_ms)?;
    }
    Ok(opened)
}
