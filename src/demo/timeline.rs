//! One seeded task as the real paths would have written it: its row, unit rows,
//! a log timeline with the commands it ran, and the request that created it.

use super::deliveries::event;
use super::world::{self, DemoUnit, UNITS};
use crate::host::podman::args as podman;
use crate::host::{Scope, systemd};
use crate::model::{LogLevel, Mode, TaskKind, TaskSpec, TaskStatus, UnitSpec, UnitStatus};
use crate::store::tasks::{self, LogEntry, NewTask, UnitUpdate};
use rusqlite::Connection;
use serde_json::json;

/// One seeded task: how it was asked for and how each unit ended.
pub(super) struct Story {
    pub(super) ago_ms: i64,
    pub(super) kind: TaskKind,
    pub(super) source: &'static str,
    pub(super) caller: &'static str,
    pub(super) units: &'static [&'static str],
    /// The task's ending and the reason code.
    pub(super) status: TaskStatus,
    pub(super) reason: &'static str,
    pub(super) message: &'static str,
}

fn unit(name: &str) -> &'static DemoUnit {
    UNITS.iter().find(|u| u.unit == name).expect("a demo unit")
}

fn spec(units: &[&str], mode: Mode) -> TaskSpec {
    TaskSpec {
        units: units
            .iter()
            .map(|n| UnitSpec {
                unit: n.to_string(),
                image: Some(format!("{}:{}", unit(n).repo, unit(n).tag)),
                digest: None,
                retag: None,
            })
            .collect(),
        scope: Some(Scope::System),
        verify_secs: 3,
        dry_run: false,
        mode,
        recovers: None,
        sink: None,
        fresh: false,
        follow: Default::default(),
        pull_parallel: crate::model::DEFAULT_PULL_PARALLEL,
        engine: Default::default(),
    }
}

pub(super) fn log(
    conn: &Connection,
    id: i64,
    ts: i64,
    level: LogLevel,
    step: &str,
    unit: Option<&str>,
    message: &str,
) -> rusqlite::Result<()> {
    let e = LogEntry {
        ts_ms: ts,
        level,
        step: step.into(),
        unit: unit.map(String::from),
        message: message.into(),
        ..Default::default()
    };
    tasks::add_log(conn, id, &e)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn command(
    conn: &Connection,
    id: i64,
    ts: i64,
    step: &str,
    unit: Option<&str>,
    argv: Vec<String>,
    exit: i32,
    stderr: &str,
) -> rusqlite::Result<()> {
    let message = format!("ran {} (exit {exit}, {} ms)", argv[0], 40 + ts % 900);
    let e = LogEntry {
        ts_ms: ts,
        level: if exit == 0 { LogLevel::Info } else { LogLevel::Warn },
        step: step.into(),
        unit: unit.map(String::from),
        message,
        argv: Some(argv),
        exit_status: Some(exit),
        stderr: Some(stderr.to_string()).filter(|s| !s.is_empty()),
    };
    tasks::add_log(conn, id, &e)
}

pub(super) fn task(conn: &Connection, now: i64, n: usize, s: &Story) -> rusqlite::Result<()> {
    let created = now - s.ago_ms;
    let mode = if s.kind == TaskKind::AutoUpdate {
        Mode::AutoUpdate
    } else {
        Mode::Deploy
    };
    let spec = spec(if mode == Mode::AutoUpdate { &[] } else { s.units }, mode);
    let request_id = format!("demo-seed-{n}");
    let delivery = format!("6e1f{n:04}-demo-delivery");
    let new = NewTask {
        kind: s.kind,
        source: s.source,
        caller: Some(s.caller),
        trigger_reason: Some(match s.kind {
            TaskKind::Webhook => "package published",
            TaskKind::AutoUpdate => "daily timer",
            TaskKind::Maintenance => "retention",
            _ => "release",
        }),
        request_id: Some(&request_id),
        delivery_id: (s.kind == TaskKind::Webhook).then_some(delivery.as_str()),
        retry_of: None,
        spec: &spec,
        hold: None,
    };
    let id = tasks::insert(conn, &new, created)?;
    let mut ts = created + 300;
    if s.status != TaskStatus::Skipped {
        tasks::transition(conn, id, TaskStatus::Running, "running", "deploying", ts)?;
    }
    for (k, name) in s.units.iter().enumerate() {
        let u = unit(name);
        if mode == Mode::AutoUpdate {
            tasks::add_unit(conn, id, name, Some(&format!("{}:{}", u.repo, u.tag)))?;
        }
        let (from, to) = (world::digest(u.repo, n as u32), world::digest(u.repo, n as u32 + 1));
        let unit_status = match (s.status, u.kind) {
            (TaskStatus::Skipped, _) => UnitStatus::Skipped,
            (TaskStatus::RolledBack, world::Kind::Crashes) => UnitStatus::RolledBack,
            (TaskStatus::RolledBack | TaskStatus::Succeeded, world::Kind::Current) if mode == Mode::AutoUpdate => {
                UnitStatus::Unchanged
            }
            (TaskStatus::RolledBack | TaskStatus::Succeeded, _) => UnitStatus::Succeeded,
            (TaskStatus::Failed, _) if k > 0 => UnitStatus::Cancelled,
            (other, _) => other.into(),
        };
        if unit_status == UnitStatus::Skipped {
            continue;
        }
        let up = UnitUpdate {
            status: Some(UnitStatus::Running),
            phase: Some("inspect"),
            from_digest: Some(&from),
            ..Default::default()
        };
        tasks::update_unit(conn, id, name, &up, ts)?;
        let image = format!("{}:{}", u.repo, u.tag);
        if mode == Mode::AutoUpdate {
            ts += 2_000;
        } else {
            command(
                conn,
                id,
                ts,
                "inspect",
                Some(name),
                [vec!["podman".into()], podman::unit_containers(name)].concat(),
                0,
                "",
            )?;
            log(
                conn,
                id,
                ts + 50,
                LogLevel::Info,
                "inspect",
                Some(name),
                &format!("runs image '{}' ({from})", &world::image_id(&from)[..12]),
            )?;
            ts += 1_500;
            if s.reason == "pull_failed" {
                let err = format!(
                    "Trying to pull {image}...\nError: initializing source docker://{image}: reading manifest nightly in ghcr.io/acme/batch: manifest unknown"
                );
                command(
                    conn,
                    id,
                    ts,
                    "pull",
                    Some(name),
                    [vec!["podman".into()], podman::pull(&image)].concat(),
                    125,
                    &err,
                )?;
                log(conn, id, ts + 10, LogLevel::Error, "pull", Some(name), s.message)?;
                break;
            }
            command(
                conn,
                id,
                ts,
                "pull",
                Some(name),
                [vec!["podman".into()], podman::pull(&image)].concat(),
                0,
                "Writing manifest to image destination",
            )?;
            if matches!(s.status, TaskStatus::Cancelled | TaskStatus::Unknown)
                || (s.status == TaskStatus::Failed && k == 0)
            {
                break;
            }
            ts += 700;
            let restart = [
                vec!["systemctl".into()],
                systemd::systemctl_argv(Scope::System, "restart", name),
            ]
            .concat();
            command(conn, id, ts, "restart", Some(name), restart, 0, "")?;
        }
        let up = UnitUpdate {
            to_digest: Some(&to),
            phase: Some("verify"),
            ..Default::default()
        };
        tasks::update_unit(conn, id, name, &up, ts)?;
        ts += 3_200;
        if unit_status == UnitStatus::RolledBack {
            log(
                conn,
                id,
                ts,
                LogLevel::Error,
                "verify",
                Some(name),
                "the unit stopped being active 1.2 s after the restart (failed, exit-code)",
            )?;
            log(
                conn,
                id,
                ts + 900,
                LogLevel::Warn,
                "rollback",
                Some(name),
                &format!("rolled back to {from}"),
            )?;
        } else if unit_status == UnitStatus::Succeeded {
            log(
                conn,
                id,
                ts,
                LogLevel::Info,
                "verify",
                Some(name),
                &format!("active for 3 s on {to}"),
            )?;
        }
        let msg = match unit_status {
            UnitStatus::Succeeded => format!("runs {to}"),
            UnitStatus::Unchanged => "podman: false".into(),
            _ => s.message.to_string(),
        };
        let end = UnitUpdate {
            status: Some(unit_status),
            phase: Some("done"),
            message: Some(&msg),
            ..Default::default()
        };
        tasks::update_unit(conn, id, name, &end, ts + 1_000)?;
    }
    if s.kind == TaskKind::Maintenance {
        log(conn, id, ts, LogLevel::Info, "prune", None, s.message)?;
    }
    tasks::transition(conn, id, s.status, s.reason, s.message, ts + 1_200)?;
    tasks::end_open_units(conn, id, s.status.into(), s.message, ts + 1_200)?;
    let (method, path, action, reason, status) = match s.source {
        "github" => ("POST", "/hooks/github", "github_webhook", "accepted", 202),
        "api" if s.kind == TaskKind::UpdateAll => ("POST", "/api/v1/update-all", "update_all", "accepted", 202),
        "api" => ("POST", "/api/v1/services/x/update", "update_service", "accepted", 202),
        _ => return Ok(()),
    };
    let path = path.replace("/x/", &format!("/{}/", s.units.first().unwrap_or(&"web.service")));
    let meta = if s.source == "github" {
        let u = unit(s.units[0]);
        json!({"event": "registry_package", "delivery": delivery, "image": format!("{}:{}", u.repo, u.tag), "digest": world::digest(u.repo, n as u32 + 1)})
    } else {
        json!({})
    };
    event(
        conn,
        &request_id,
        created,
        method,
        &path,
        status,
        action,
        reason,
        meta,
        Some(id),
    )
}
