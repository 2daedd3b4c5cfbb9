//! The demo's systemd manager: `systemctl show` of the simulated units, of the
//! auto-update timer and of the task "units" (worker threads), restart, stop and
//! kill, `systemctl status` and a journal tail, as systemd 252 prints them.

use super::world::{RESTART_MS, SimulatedRun, UNITS, World, fail, ok, sha256_hex, take};
use crate::clock::now_ms;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

impl World {
    pub(super) fn systemctl(&self, args: &[&str]) -> SimulatedRun {
        let args = if args.first() == Some(&"--user") {
            &args[1..]
        } else {
            args
        };
        match args {
            ["show", props, unit] if props.contains("NextElapseUSecRealtime") => {
                let loaded = *unit == crate::http::overview::TIMER;
                ok(if loaded {
                    format!(
                        "LoadState=loaded\nActiveState=active\nNextElapseUSecRealtime={}\n",
                        super::calendar::next_run_text(now_ms())
                    )
                } else {
                    "LoadState=not-found\nActiveState=inactive\nNextElapseUSecRealtime=\n".into()
                })
            }
            ["show", _, unit] => ok(self.show(unit)),
            ["restart", unit] => {
                take(RESTART_MS);
                if !UNITS.iter().any(|u| u.unit == *unit) {
                    return fail(5, format!("Failed to restart {unit}: Unit {unit} not found.\n"));
                }
                self.start(unit, None);
                ok("")
            }
            ["reset-failed", _] => ok(""),
            ["stop", unit] => self.stop_worker(unit, false),
            ["kill", _signal, unit] => self.stop_worker(unit, true),
            ["status", _, _, unit] => {
                let failed = Self::crashed(&self.lock(), unit);
                let state = if failed {
                    "failed (Result: exit-code)"
                } else {
                    "active (running)"
                };
                SimulatedRun {
                    status: Some(if failed { 3 } else { 0 }),
                    stdout: format!(
                        "● {unit} - {unit} (demo)\n     Loaded: loaded (/etc/containers/systemd/{}.container; generated)\n     Active: {state}\n",
                        unit.trim_end_matches(".service")
                    ),
                    stderr: String::new(),
                }
            }
            _ => fail(
                1,
                format!("the demo host does not simulate 'systemctl {}'\n", args.join(" ")),
            ),
        }
    }

    fn show(&self, unit: &str) -> String {
        let s = self.lock();
        if let Some(flag) = s.workers.get(unit) {
            let state = if flag.load(Ordering::SeqCst) {
                "deactivating"
            } else {
                "active"
            };
            return format!(
                "LoadState=loaded\nActiveState={state}\nSubState=running\nResult=success\nMainPID=4100\nNRestarts=0\nInvocationID={}\nActiveEnterTimestampMonotonic=1\n",
                sha256_hex(unit)[..32].to_owned()
            );
        }
        let Some(r) = s.running.get(unit) else {
            return "LoadState=not-found\nActiveState=inactive\nSubState=dead\nResult=success\nMainPID=0\nNRestarts=0\nInvocationID=\nActiveEnterTimestampMonotonic=0\n".into();
        };
        let since = (r.since.duration_since(self.booted).as_micros() as u64).max(1);
        let (active, sub, result, pid) = if Self::crashed(&s, unit) {
            ("failed", "failed", "exit-code", 0)
        } else {
            ("active", "running", "success", 3000 + s.counter)
        };
        format!(
            "LoadState=loaded\nActiveState={active}\nSubState={sub}\nResult={result}\nMainPID={pid}\nNRestarts=0\nInvocationID={}\nActiveEnterTimestampMonotonic={since}\n",
            r.invocation
        )
    }

    /// `systemctl stop|kill podup-task-<id>.service`: the worker thread is told to
    /// stop; a kill makes the unit disappear at once, a stop waits for the thread.
    fn stop_worker(&self, unit: &str, kill: bool) -> SimulatedRun {
        let Some(flag) = self.lock().workers.get(unit).cloned() else {
            return fail(5, format!("Failed to stop {unit}: Unit {unit} not loaded.\n"));
        };
        flag.store(true, Ordering::SeqCst);
        if kill {
            self.lock().workers.remove(unit);
            return ok("");
        }
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until && self.lock().workers.contains_key(unit) {
            std::thread::sleep(Duration::from_millis(50));
        }
        ok("")
    }

    pub(super) fn journal(&self, unit: &str) -> SimulatedRun {
        let name = unit.trim_end_matches(".service");
        let crashed = Self::crashed(&self.lock(), unit);
        let mut text = format!("2025-01-01T00:00:00+0000 demo {name}[4242]: starting {name}\n");
        if crashed {
            text.push_str(&format!(
                "2025-01-01T00:00:01+0000 demo {name}[4242]: fatal: QUEUE_URL is not set\n"
            ));
            text.push_str(&format!(
                "2025-01-01T00:00:01+0000 demo systemd[1]: {unit}: Main process exited, code=exited, status=1/FAILURE\n"
            ));
        } else {
            text.push_str(&format!("2025-01-01T00:00:01+0000 demo {name}[4242]: ready\n"));
        }
        ok(text)
    }
}
