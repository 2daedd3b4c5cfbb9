//! Host facts that request handlers show (podman's version, a timer's state), probed
//! with a short deadline and shared by the whole process: a fresh answer is reused for
//! `PROBE_FRESH`; while one request's thread probes, the others get the last known
//! answer, or `Probed::Probing` when there is none yet, and never wait for it. So a
//! hanging `podman` costs one worker `PROBE_TIMEOUT` at a time, however many readers
//! ask (finding 5 of issue 17).

use super::HostError;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one probe may run: both are local queries that answer in milliseconds.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long an answer is reused before the next request probes again.
pub const PROBE_FRESH: Duration = Duration::from_secs(5);
/// Keys kept at most (one per probed program and unit): beyond, the answers not being
/// probed are forgotten.
const MAX_KEYS: usize = 64;

/// What a request gets back.
#[derive(Debug, Clone, PartialEq)]
pub enum Probed<T> {
    /// An answer probed `age` ago; `refreshing` while a newer one is being probed.
    Known {
        result: Result<T, HostError>,
        age: Duration,
        refreshing: bool,
    },
    /// The first probe is under way for another request; nothing is known yet.
    Probing,
}

impl<T> Probed<T> {
    /// The marker the overview shows: `done`, `timed_out` (the deadline killed the
    /// last probe) or `probing`.
    pub fn marker(&self) -> &'static str {
        match self {
            Probed::Known { result: Err(e), .. } if e.kind == "command_timeout" => "timed_out",
            Probed::Known { .. } => "done",
            Probed::Probing => "probing",
        }
    }
}

struct Entry<T> {
    last: Option<(Result<T, HostError>, Instant)>,
    running: bool,
}

/// One kind of fact, by key.
pub struct Probes<T> {
    entries: Mutex<BTreeMap<String, Entry<T>>>,
}

impl<T: Clone> Probes<T> {
    pub const fn new() -> Probes<T> {
        Probes {
            entries: Mutex::new(BTreeMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry<T>>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The answer for `key`: reused while fresh, else probed with `run` on this thread
    /// unless another thread is probing it already.
    pub fn get(&self, key: &str, run: impl FnOnce() -> Result<T, HostError>) -> Probed<T> {
        {
            let mut entries = self.lock();
            if entries.len() >= MAX_KEYS && !entries.contains_key(key) {
                entries.retain(|_, e| e.running);
            }
            let entry = entries.entry(key.to_string()).or_insert(Entry {
                last: None,
                running: false,
            });
            let known = |refreshing| {
                entry.last.as_ref().map(|(result, at)| Probed::Known {
                    result: result.clone(),
                    age: at.elapsed(),
                    refreshing,
                })
            };
            match known(entry.running) {
                Some(k @ Probed::Known { age, .. }) if age < PROBE_FRESH || entry.running => return k,
                None if entry.running => return Probed::Probing,
                _ => entry.running = true,
            }
        }
        // Cleared however `run` ends, so a panic cannot leave the key probing for ever.
        struct Running<'a, T>(&'a Probes<T>, &'a str, Option<Result<T, HostError>>);
        impl<T> Drop for Running<'_, T> {
            fn drop(&mut self) {
                let mut entries = self.0.entries.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(entry) = entries.get_mut(self.1) {
                    entry.running = false;
                    if let Some(result) = self.2.take() {
                        entry.last = Some((result, Instant::now()));
                    }
                }
            }
        }
        let mut running = Running(self, key, None);
        let result = run();
        running.2 = Some(result.clone());
        drop(running);
        Probed::Known {
            result,
            age: Duration::ZERO,
            refreshing: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeout() -> HostError {
        HostError {
            kind: "command_timeout",
            message: "'podman --version' did not finish within 3 s and was killed".into(),
            record: None,
        }
    }

    #[test]
    fn callers_share_one_probe_and_never_wait_for_it() {
        let probes: Probes<String> = Probes::new();
        let (started, release) = (std::sync::Barrier::new(2), std::sync::Barrier::new(2));
        std::thread::scope(|s| {
            let prober = s.spawn(|| {
                probes.get("podman", || {
                    started.wait();
                    release.wait();
                    Err(timeout())
                })
            });
            started.wait();
            // The probe is under way: nothing known, and no second probe.
            assert_eq!(probes.get("podman", || panic!("a second probe ran")), Probed::Probing);
            release.wait();
            assert_eq!(prober.join().unwrap().marker(), "timed_out");
        });
        // Fresh: reused, not probed again.
        let again = probes.get("podman", || panic!("probed while fresh"));
        assert_eq!(again.marker(), "timed_out");
    }

    #[test]
    fn a_stale_answer_is_probed_again_and_a_panic_does_not_leave_it_probing() {
        let probes: Probes<String> = Probes::new();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            probes.get("k", || panic!("boom"));
        }));
        assert!(caught.is_err());
        let ok = probes.get("k", || Ok("5.0".to_string()));
        assert!(matches!(ok, Probed::Known { result: Ok(ref v), .. } if v == "5.0"));
        // Made stale by hand: the next caller probes.
        probes.lock().get_mut("k").unwrap().last.as_mut().unwrap().1 -= PROBE_FRESH;
        let newer = probes.get("k", || Ok("5.1".to_string()));
        assert!(matches!(newer, Probed::Known { result: Ok(ref v), .. } if v == "5.1"));
    }
}
