//! Handing a task to systemd: `systemd-run [--user] --unit=podup-task-<id> ...
//! <podup> run-task <id> --db <path>`, and everything the triggers share around it:
//! resolving the images of declared services, the dry-run plan, waiting for a task.

use super::{pause, resolve, sandbox, transient_unit, verify};
use crate::clock::now_ms;
use crate::config::Config;
use crate::host::podman::args as podman_args;
use crate::host::{Host, TaskUnit, systemd};
use crate::model::{LogLevel, Mode, TaskSpec, UnitSpec};
use crate::services::{ImageRef, Service};
use crate::store::tasks::{self, LogEntry, Task};
use rusqlite::Connection;
use serde::Serialize;
use std::path::Path;
use std::time::{Duration, Instant};

/// What the triggers need to hand work to systemd.
pub struct Dispatcher<'a> {
    pub config: &'a Config,
    pub host: &'a Host,
    /// Absolute path of this podup binary.
    pub exe: &'a Path,
}

/// A declared service with the image it runs (declared, or found on the host).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub unit: String,
    /// `declared` (PODUP_SERVICES) or `discovered`.
    pub source: &'static str,
    pub image: Option<ImageRef>,
    /// Where the image came from: `declared`, `quadlet or container`, or `unknown`.
    pub image_source: &'static str,
}

impl Dispatcher<'_> {
    /// The services podup may touch (declared, and discovered when discovery is on),
    /// all or those named, with their images; `Err(name)` for a name that is neither.
    pub fn resolve(&self, conn: Option<&Connection>, only: Option<&[String]>) -> Result<Vec<Resolved>, String> {
        let services = crate::discovery::services(self.config, conn);
        if let Some(names) = only {
            if let Some(n) = names.iter().find(|n| !services.iter().any(|(s, _)| &s.unit == *n)) {
                return Err(n.clone());
            }
        }
        Ok(services
            .iter()
            .filter(|(s, _)| only.is_none_or(|names| names.iter().any(|n| n == &s.unit)))
            .map(|(s, source)| Resolved {
                source,
                ..self.resolve_one(s)
            })
            .collect())
    }

    fn resolve_one(&self, s: &Service) -> Resolved {
        let resolved = |image: Option<ImageRef>, image_source| Resolved {
            unit: s.unit.clone(),
            source: "declared",
            image,
            image_source,
        };
        if let Some(i) = &s.image {
            return resolved(Some(i.clone()), "declared");
        }
        let found = resolve::image_for(self.host, &self.config.quadlet_dirs, &s.unit);
        self.host.drain_records();
        match found.ok().flatten().and_then(|i| ImageRef::parse(&i).ok()) {
            Some(r) => resolved(Some(r), "quadlet or container"),
            None => resolved(None, "unknown"),
        }
    }

    pub fn spec(&self, units: Vec<UnitSpec>, dry_run: bool, mode: Mode) -> TaskSpec {
        TaskSpec {
            units,
            scope: Some(self.config.scope()),
            verify_secs: self.config.verify_secs,
            dry_run,
            mode,
            recovers: None,
            sink: None,
            fresh: false,
            follow: Default::default(),
            pull_parallel: self.config.pull_parallel,
            engine: match mode {
                Mode::AutoUpdate => self.config.auto_update_engine,
                _ => Default::default(),
            },
        }
    }

    /// Launches the worker of task `task_id` (`podup-task-<id>.service`, or what the
    /// host's backend launches instead). On failure the launcher's commands go to the
    /// task's log and the error is returned; `lifecycle::start` then marks it failed.
    pub fn dispatch(&self, conn: &Connection, task_id: i64, description: &str) -> Result<(), String> {
        self.dispatch_at(conn, task_id, description, None)
    }

    /// `dispatch`, with the worker started at `at_ms` by a transient timer
    /// (`podup-task-<id>.timer`) when that is given: a scheduled task.
    pub fn dispatch_at(
        &self,
        conn: &Connection,
        task_id: i64,
        description: &str,
        at_ms: Option<i64>,
    ) -> Result<(), String> {
        let db = self.config.db_path();
        let command = vec![
            self.exe.display().to_string(),
            "run-task".into(),
            task_id.to_string(),
            "--db".into(),
            db.display().to_string(),
        ];
        let mut setenv = vec![
            (
                "PODUP_LOG_LEVEL".to_string(),
                self.config.log_level.as_str().to_ascii_lowercase(),
            ),
            ("PODUP_SYSTEMD_SCOPE".to_string(), self.config.scope().to_string()),
        ];
        if let Some(path) = &self.config.path_env {
            setenv.push(("PATH".into(), path.clone()));
        }
        // Test-only pause points (tasks/pause.rs) reach the worker only when set here.
        for name in [pause::AT_VAR, pause::DIR_VAR] {
            if let Some(value) = std::env::var_os(name).and_then(|v| v.into_string().ok()) {
                setenv.push((name.to_string(), value));
            }
        }
        let (notify_env, notify_properties) = self.config.notify.worker_environment(self.config.public_url.as_deref());
        setenv.extend(notify_env);
        setenv.extend(self.config.check.worker_environment());
        let mut properties =
            sandbox::unit_properties(self.host.scope, self.config.task_timeout_secs, &self.config.state_dir);
        properties.extend(notify_properties);
        properties.extend(sandbox::image_file_paths(
            self.host.scope,
            &self.config.quadlet_dirs,
            self.config.images_dir.as_deref(),
        ));
        properties.extend(stop_properties(self.config.verify_secs));
        let unit = transient_unit(task_id);
        let result = self.host.launch(&TaskUnit {
            task_id,
            unit: &unit,
            description,
            properties: &properties,
            setenv: &setenv,
            command: &command,
            db: &db,
            at_ms,
        });
        let records = self.host.drain_records();
        let Err(message) = result else {
            match at_ms {
                None => log::info!(podup_task_id = task_id; "task {task_id} dispatched as {unit}"),
                Some(at) => log::info!(podup_task_id = task_id;
                    "task {task_id} scheduled as {unit}, its timer fires at {}", crate::clock::format_utc(at)),
            }
            return Ok(());
        };
        for r in records {
            let entry = LogEntry {
                ts_ms: now_ms(),
                level: LogLevel::Error,
                step: "dispatch".into(),
                message: message.clone(),
                argv: Some(r.argv),
                exit_status: r.status,
                stderr: Some(r.stderr),
                ..Default::default()
            };
            let _ = tasks::add_log(conn, task_id, &entry);
        }
        Err(message)
    }

    /// `status_url` for a task.
    pub fn status_url(&self, id: i64) -> String {
        format!("{}/api/v1/tasks/{id}", self.config.public_url.as_deref().unwrap_or(""))
    }
}

/// One unit of a dry-run plan: what the worker would run, in order.
#[derive(Debug, Serialize)]
pub struct PlannedUnit {
    pub unit: String,
    pub image: Option<String>,
    pub digest: Option<String>,
    pub commands: Vec<Vec<String>>,
}

/// The commands the worker would run for `spec`, from the same argv builders the
/// host uses (values known only at run time are shown in angle brackets).
pub fn plan(host: &Host, spec: &TaskSpec) -> Vec<PlannedUnit> {
    let podman = |args: Vec<String>| [vec![host.programs.podman.clone()], args].concat();
    let systemctl = |args: Vec<String>| [vec![host.programs.systemctl.clone()], args].concat();
    if spec.mode == Mode::AutoUpdate && spec.engine == crate::model::Engine::Podup {
        return vec![PlannedUnit {
            unit: "(every unit with a running container labelled io.containers.autoupdate)".into(),
            image: None,
            digest: None,
            commands: vec![
                podman(podman_args::labelled_all()),
                podman(crate::host::podman::images::args_images()),
                vec![
                    "<a HEAD of each registry image's tag; then a verified deploy of each unit with a new image>"
                        .into(),
                ],
            ],
        }];
    }
    if spec.mode == Mode::AutoUpdate {
        return vec![PlannedUnit {
            unit: "(every unit with a container labelled io.containers.autoupdate)".into(),
            image: None,
            digest: None,
            commands: vec![podman(podman_args::auto_update(spec.dry_run))],
        }];
    }
    spec.units
        .iter()
        .map(|u| {
            let image = u
                .image
                .clone()
                .unwrap_or_else(|| "<image of the running container>".into());
            let repo = image.rsplit_once(':').map_or(image.as_str(), |(r, _)| r).to_string();
            let mut commands = vec![
                podman(podman_args::unit_containers(&u.unit)),
                podman(podman_args::container_image("<container id>")),
            ];
            match &u.digest {
                Some(d) => {
                    commands.push(podman(podman_args::pull(&format!("{repo}@{d}"))));
                    commands.push(podman(podman_args::tag("<pulled image id>", &image)));
                }
                None => {
                    commands.push(podman(podman_args::pull(&image)));
                    commands.push(podman(podman_args::image_digest("<pulled image id>")));
                }
            }
            commands.push(systemctl(systemd::systemctl_argv(host.scope, "restart", &u.unit)));
            commands.push(systemctl(systemd::show_argv(host.scope, &u.unit)));
            commands.push(podman(podman_args::image_users("<previous image id>")));
            commands.push(podman(podman_args::rmi("<previous image id>")));
            PlannedUnit {
                unit: u.unit.clone(),
                image: u.image.clone(),
                digest: u.digest.clone(),
                commands,
            }
        })
        .collect()
}

/// Waits up to `limit` for the task to end; returns it as it is then.
pub fn wait(conn: &Connection, id: i64, limit: Duration) -> rusqlite::Result<Option<Task>> {
    let start = Instant::now();
    loop {
        let t = tasks::get(conn, id)?;
        let done = t.as_ref().is_none_or(|t| t.status().is_terminal());
        if done || start.elapsed() >= limit {
            return Ok(t);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// How a stop ends a task unit: SIGTERM to the worker alone (`KillMode=mixed`), so the
/// podman or systemctl command under way finishes its step, and the worker has time for
/// the rollback a stop makes (a restart, the start timeout, the verification window)
/// before the manager sends SIGKILL.
pub fn stop_properties(verify_secs: u64) -> [String; 2] {
    let secs = 2 * verify::START_TIMEOUT_SECS + verify_secs + 30;
    ["KillMode=mixed".into(), format!("TimeoutStopSec={secs}")]
}
