//! The demo's simulated host: six container units, a registry that publishes new
//! digests, and a systemd manager, answering the exact commands `host` runs with
//! the output podman 4.3.1 and systemd 252 print (the same shapes as
//! `tests/fixtures/podman/`). Steps take realistic time; `worker.service`'s new
//! images crash a second after they start, so its deploys roll back; `batch.service`
//! pulls slowly, so there is time to stop it; `cache.service` is always current, and
//! so is `app.service`, which runs a version tag (`1.4.2`) and follows newer versions
//! by its policy (`waiting`).
//! An update check finds `api.service`'s next release already published, and
//! `cache.service`'s registry (Docker Hub) rate-limited for the demo's first
//! [`RATE_LIMIT_MS`] (`registry.rs`).

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a unit's registry and image behave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Every pull of its tag finds a new release, which runs fine.
    Releases,
    /// Every new release crashes shortly after it starts: deploys roll back.
    Crashes,
    /// Releases like `Releases`, but a pull takes half a minute.
    Slow,
    /// The tag never moves: updates find it current.
    Current,
}

/// One simulated unit and the image it runs.
#[derive(Debug, Clone, Copy)]
pub struct DemoUnit {
    pub unit: &'static str,
    pub repo: &'static str,
    pub tag: &'static str,
    pub kind: Kind,
}

pub const UNITS: &[DemoUnit] = &[
    DemoUnit {
        unit: "web.service",
        repo: "ghcr.io/acme/web",
        tag: "stable",
        kind: Kind::Releases,
    },
    DemoUnit {
        unit: "api.service",
        repo: "ghcr.io/acme/api",
        tag: "stable",
        kind: Kind::Releases,
    },
    DemoUnit {
        unit: "worker.service",
        repo: "ghcr.io/acme/worker",
        tag: "stable",
        kind: Kind::Crashes,
    },
    DemoUnit {
        unit: "batch.service",
        repo: "ghcr.io/acme/batch",
        tag: "nightly",
        kind: Kind::Slow,
    },
    DemoUnit {
        unit: "cache.service",
        repo: "docker.io/library/redis",
        tag: "7.2",
        kind: Kind::Current,
    },
    DemoUnit {
        unit: "app.service",
        repo: "ghcr.io/acme/app",
        tag: "1.4.2",
        kind: Kind::Current,
    },
];

pub(super) const PULL_MS: u64 = 1_200;
pub(super) const SLOW_PULL_MS: u64 = 30_000;
pub(super) const RESTART_MS: u64 = 600;
/// A crashing image's container exits this long after its start.
pub(super) const CRASH_AFTER_MS: u64 = 1_200;
pub(super) const QUERY_MS: u64 = 40;
/// A registry's answer to a check's `HEAD`.
pub(super) const HEAD_MS: u64 = 150;

/// The unit whose registry has published a release the host has not pulled when the
/// demo starts: a check finds its update waiting, and "Update" deploys it.
pub const RELEASED_AHEAD: &str = "api.service";
/// The registry that answers checks with a rate limit for the demo's first
/// [`RATE_LIMIT_MS`], as Docker Hub does to a host that pulled too often.
pub const RATE_LIMITED_REGISTRY: &str = "docker.io";
/// The host name it says the limit comes from.
pub const RATE_LIMITED_HOST: &str = "registry-1.docker.io";
pub const RATE_LIMIT_MS: i64 = 40 * 60_000;

/// The SHA-256 of `text` in hex: ids and digests for the simulated host.
pub fn sha256_hex(text: &str) -> String {
    crate::hex::sha256_hex(text.as_bytes())
}

/// The digest of release `n` of `repo`.
pub fn digest(repo: &str, n: u32) -> String {
    format!("sha256:{}", sha256_hex(&format!("{repo}#{n}")))
}

/// The local image id of a digest.
pub fn image_id(digest: &str) -> String {
    sha256_hex(&format!("image {digest}"))
}

/// What a simulated command did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimulatedRun {
    /// Exit status; `None` as if killed by a signal.
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

pub(super) struct Image {
    pub(super) repo: &'static str,
    pub(super) digest: String,
    pub(super) crashes: bool,
}

pub(super) struct Running {
    pub(super) image_id: String,
    pub(super) container_id: String,
    pub(super) invocation: String,
    pub(super) since: Instant,
}

pub(super) struct State {
    pub(super) running: BTreeMap<&'static str, Running>,
    pub(super) images: BTreeMap<String, Image>,
    /// `repo:tag` → image id.
    pub(super) tags: BTreeMap<String, String>,
    /// The newest release number of each repository: the one its registry's tag
    /// points at (a host may not have pulled it yet).
    pub(super) releases: BTreeMap<&'static str, u32>,
    pub(super) workers: BTreeMap<String, Arc<AtomicBool>>,
    pub(super) counter: u64,
}

/// The simulated host `podup demo` builds every `Host` on (`super::backend`).
pub struct World {
    state: Mutex<State>,
    pub(super) booted: Instant,
    /// Until when (ms since the epoch) [`RATE_LIMITED_REGISTRY`] refuses checks.
    pub(super) limited_until_ms: i64,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("World(demo)")
    }
}

pub(super) fn ok(stdout: impl Into<String>) -> SimulatedRun {
    SimulatedRun {
        status: Some(0),
        stdout: stdout.into(),
        stderr: String::new(),
    }
}

pub(super) fn fail(code: i32, stderr: impl Into<String>) -> SimulatedRun {
    SimulatedRun {
        status: Some(code),
        stdout: String::new(),
        stderr: stderr.into(),
    }
}

/// Sleeps as long as the real command would take; a stopped worker's command ends
/// at once, so the worker sees the stop at its next step and ends `cancelled`.
pub(super) fn take(ms: u64) {
    let until = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < until && !super::stop::requested() {
        std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
    }
}

impl World {
    /// Every unit runs release 0 of its image; [`RELEASED_AHEAD`]'s registry has
    /// release 1 already.
    pub fn new() -> World {
        let mut s = State {
            running: BTreeMap::new(),
            images: BTreeMap::new(),
            tags: BTreeMap::new(),
            releases: BTreeMap::new(),
            workers: BTreeMap::new(),
            counter: 0,
        };
        for u in UNITS {
            let d = digest(u.repo, 0);
            let id = image_id(&d);
            s.images.insert(
                id.clone(),
                Image {
                    repo: u.repo,
                    digest: d,
                    crashes: false,
                },
            );
            s.tags.insert(format!("{}:{}", u.repo, u.tag), id.clone());
            s.releases.insert(u.repo, u32::from(u.unit == RELEASED_AHEAD));
            s.counter += 1;
            let container_id = sha256_hex(&format!("container {} {}", u.unit, s.counter));
            let invocation = sha256_hex(&format!("invocation {}", s.counter))[..32].to_string();
            s.running.insert(
                u.unit,
                Running {
                    image_id: id,
                    container_id,
                    invocation,
                    since: Instant::now(),
                },
            );
        }
        World {
            state: Mutex::new(s),
            booted: Instant::now(),
            limited_until_ms: crate::clock::now_ms() + RATE_LIMIT_MS,
        }
    }

    /// Until when (ms since the epoch) [`RATE_LIMITED_REGISTRY`] refuses checks.
    pub fn limited_until_ms(&self) -> i64 {
        self.limited_until_ms
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn crashed(s: &State, unit: &str) -> bool {
        s.running.get(unit).is_some_and(|r| {
            s.images.get(&r.image_id).is_some_and(|i| i.crashes)
                && r.since.elapsed() > Duration::from_millis(CRASH_AFTER_MS)
        })
    }

    /// (Re)starts `unit` on `image` (or on what its tag points at).
    pub(super) fn start(&self, unit: &str, image: Option<&str>) {
        let mut s = self.lock();
        let Some(u) = UNITS.iter().find(|u| u.unit == unit) else {
            return;
        };
        let id = image
            .map(String::from)
            .or_else(|| s.tags.get(&format!("{}:{}", u.repo, u.tag)).cloned());
        s.counter += 1;
        let n = s.counter;
        if let (Some(id), Some(r)) = (id, s.running.get_mut(u.unit)) {
            r.image_id = id;
            r.container_id = sha256_hex(&format!("container {unit} {n}"));
            r.invocation = sha256_hex(&format!("invocation {n}"))[..32].to_string();
            r.since = Instant::now();
        }
    }
}
