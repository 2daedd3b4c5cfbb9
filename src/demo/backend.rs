//! How the demo plugs into `host`: the [`World`] answers every command and every
//! update check's registry request (a [`Runner`]), and [`Threads`] launches each
//! task's worker on a thread of this process where `systemd-run` would start
//! `podup-task-<id>.service` (a [`Launcher`]). The simulated systemd manager knows the
//! thread as that unit, so stop, force-stop and `check_alive` work, and holds the stop
//! flag the thread owns.

use super::world::{QUERY_MS, World, fail};
use crate::host::{Backend, Host, Launcher, Outcome, Programs, Runner, TaskUnit};
use std::ffi::OsString;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// The backend of every `Host` of `podup demo`.
pub fn backend(world: Arc<World>) -> Backend {
    Backend {
        runner: world.clone(),
        launcher: Arc::new(Threads { world }),
    }
}

impl Runner for World {
    fn run(
        &self,
        program: &str,
        args: &[String],
        _env: &[(OsString, OsString)],
        _timeout: Duration,
    ) -> Result<Outcome, (&'static str, String)> {
        let started = Instant::now();
        std::thread::sleep(Duration::from_millis(QUERY_MS));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = match program {
            "podman" => self.podman(&args),
            "systemctl" => self.systemctl(&args),
            "journalctl" => self.journal(args.iter().skip_while(|a| **a != "-u").nth(1).copied().unwrap_or("")),
            "" => fail(127, "no program\n"),
            other => fail(127, format!("the demo host does not simulate '{other}'\n")),
        };
        Ok(Outcome {
            status: run.status,
            stdout: run.stdout.into_bytes(),
            stderr: run.stderr.into_bytes(),
            timed_out: false,
            duration: started.elapsed(),
        })
    }

    fn simulated(&self) -> bool {
        true
    }

    fn registry_digest(&self, reference: &str) -> Option<Result<String, (&'static str, String)>> {
        Some(self.registry_answer(reference, crate::clock::now_ms()))
    }
}

/// Launches task workers on threads.
#[derive(Debug)]
pub struct Threads {
    world: Arc<World>,
}

impl Launcher for Threads {
    fn launch(&self, host: &Host, task: &TaskUnit<'_>) -> Result<(), String> {
        let (id, unit, db, scope) = (task.task_id, task.unit.to_string(), task.db.to_path_buf(), host.scope);
        let stop = self.world.worker_started(&unit);
        let world = self.world.clone();
        let at_ms = task.at_ms;
        let spawned = std::thread::Builder::new().name(unit.clone()).spawn(move || {
            super::stop::own(stop.clone());
            // A scheduled task: the thread is its timer.
            if let Some(wait) = at_ms.map(|at| at - crate::clock::now_ms()).filter(|w| *w > 0) {
                std::thread::sleep(std::time::Duration::from_millis(wait as u64));
            }
            let host = Host::with_env(scope, Programs::default(), [])
                .on(&backend(world.clone()))
                .stopping(stop);
            match crate::store::open(&db) {
                Ok(mut conn) => {
                    crate::tasks::worker::run(&mut conn, &host, id);
                }
                Err(e) => log::error!(podup_task_id = id; "{e}"),
            }
            world.worker_ended(&unit);
        });
        spawned
            .map(drop)
            .map_err(|e| format!("cannot start a thread for task {id}: {e}"))
    }
}

impl World {
    /// A task's worker started on a thread as transient unit `unit`; the flag turns
    /// true when the unit is stopped or killed (the thread's SIGTERM).
    fn worker_started(&self, unit: &str) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(false));
        self.lock().workers.insert(unit.to_string(), flag.clone());
        flag
    }

    /// The worker's thread ended: the unit is gone, as a collected transient unit is.
    fn worker_ended(&self, unit: &str) {
        self.lock().workers.remove(unit);
    }
}
