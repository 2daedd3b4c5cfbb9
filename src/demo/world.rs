//! The demo's simulated host: five container units, a registry that publishes new
//! digests, and a systemd manager, answering the exact commands `host` runs with
//! the output podman 4.3.1 and systemd 252 print (the same shapes as
//! `tests/fixtures/podman/`). Steps take realistic time; `worker.service`'s new
//! images crash a second after they start, so its deploys roll back; `batch.service`
//! pulls slowly, so there is time to stop it; `cache.service` is always current.

use crate::host::{SimulatedRun, Simulator};
use serde_json::json;
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
];

const PULL_MS: u64 = 1_200;
const SLOW_PULL_MS: u64 = 30_000;
pub(super) const RESTART_MS: u64 = 600;
/// A crashing image's container exits this long after its start.
const CRASH_AFTER_MS: u64 = 1_200;
const QUERY_MS: u64 = 40;

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

pub(super) struct Image {
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
    /// The newest release number of each repository.
    pub(super) releases: BTreeMap<&'static str, u32>,
    pub(super) workers: BTreeMap<String, Arc<AtomicBool>>,
    pub(super) counter: u64,
}

/// The simulator `podup demo` hands to every `Host`.
pub struct World {
    state: Mutex<State>,
    pub(super) booted: Instant,
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
    while Instant::now() < until && !crate::sys::stop_requested() {
        std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
    }
}

impl World {
    /// Every unit runs release 0 of its image.
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
                    digest: d,
                    crashes: false,
                },
            );
            s.tags.insert(format!("{}:{}", u.repo, u.tag), id.clone());
            s.releases.insert(u.repo, 0);
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
        }
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

    fn podman(&self, args: &[&str]) -> SimulatedRun {
        match args {
            ["--version"] => ok("podman version 4.3.1\n"),
            ["ps", "-a", "--filter", label, "--format", "json"] => {
                let unit = label.trim_start_matches("label=PODMAN_SYSTEMD_UNIT=");
                let s = self.lock();
                let Some(r) = s.running.get(unit) else {
                    return ok("[]\n");
                };
                let name = unit.trim_end_matches(".service");
                let image = UNITS
                    .iter()
                    .find(|u| u.unit == unit)
                    .map(|u| format!("{}:{}", u.repo, u.tag));
                let state = if Self::crashed(&s, unit) { "exited" } else { "running" };
                let labels = json!({"PODMAN_SYSTEMD_UNIT": unit, "io.containers.autoupdate": "registry"});
                let c = json!([{"Id": r.container_id, "Names": [name], "Image": image, "ImageID": r.image_id, "State": state, "Labels": labels}]);
                ok(format!("{c:#}\n"))
            }
            ["ps", "-a", "-q", "--filter", ancestor] => {
                let id = ancestor.trim_start_matches("ancestor=");
                let s = self.lock();
                let users: Vec<&str> = s
                    .running
                    .values()
                    .filter(|r| r.image_id == id)
                    .map(|r| &r.container_id[..12])
                    .collect();
                ok(users.iter().map(|c| format!("{c}\n")).collect::<String>())
            }
            ["inspect", "--type", "container", "--format", "json", id] => {
                let s = self.lock();
                let found = s.running.iter().find(|(_, r)| r.container_id == *id);
                match found.and_then(|(unit, r)| Some((unit, r, s.images.get(&r.image_id)?))) {
                    Some((unit, r, img)) => {
                        let name = UNITS
                            .iter()
                            .find(|u| u.unit == *unit)
                            .map(|u| format!("{}:{}", u.repo, u.tag));
                        ok(format!(
                            "{:#}\n",
                            json!([{"Image": r.image_id, "ImageName": name, "ImageDigest": img.digest}])
                        ))
                    }
                    None => SimulatedRun {
                        status: Some(125),
                        stdout: "[]\n".into(),
                        stderr: format!("Error: no such container {id}\n"),
                    },
                }
            }
            ["pull", "-q", reference] => self.pull(reference),
            ["image", "inspect", "--format", _, image] => match self.lock().images.get(*image) {
                Some(i) => ok(format!("{}\n", i.digest)),
                None => fail(125, format!("Error: {image}: image not known\n")),
            },
            ["tag", image, reference] => {
                let mut s = self.lock();
                if !s.images.contains_key(*image) {
                    return fail(125, format!("Error: {image}: image not known\n"));
                }
                s.tags.insert(reference.to_string(), image.to_string());
                ok("")
            }
            ["rmi", image] => {
                let mut s = self.lock();
                if s.running.values().any(|r| r.image_id == *image) {
                    return fail(2, format!("Error: image used by a container: {image}\n"));
                }
                s.images.remove(*image);
                s.tags.retain(|_, id| id != image);
                ok(format!("Untagged: {image}\nDeleted: {image}\n"))
            }
            ["auto-update", "--format", "json", rest @ ..] => self.auto_update(rest.contains(&"--dry-run")),
            _ => fail(
                125,
                format!("Error: the demo host does not simulate 'podman {}'\n", args.join(" ")),
            ),
        }
    }

    /// `repo:tag` finds the newest release (a new one for units that release often);
    /// `repo@digest` is taken as a release of that repository.
    fn pull(&self, reference: &str) -> SimulatedRun {
        let (repo, by_digest) = match reference.split_once('@') {
            Some((r, d)) => (r, Some(d)),
            None => (reference.rsplit_once(':').map_or(reference, |(r, _)| r), None),
        };
        let Some(u) = UNITS.iter().find(|u| u.repo == repo) else {
            return fail(
                125,
                format!(
                    "Trying to pull {reference}...\nError: initializing source docker://{reference}: reading manifest: manifest unknown\n"
                ),
            );
        };
        let ms = if u.kind == Kind::Slow { SLOW_PULL_MS } else { PULL_MS };
        take(ms);
        let mut s = self.lock();
        let d = match by_digest {
            Some(d) => d.to_string(),
            None if u.kind == Kind::Current => digest(u.repo, 0),
            None => {
                let n = s.releases.entry(u.repo).or_insert(0);
                *n += 1;
                digest(u.repo, *n)
            }
        };
        let id = image_id(&d);
        let crashes = u.kind == Kind::Crashes && d != digest(u.repo, 0);
        s.images.entry(id.clone()).or_insert(Image { digest: d, crashes });
        if by_digest.is_none() {
            s.tags.insert(reference.to_string(), id.clone());
        }
        SimulatedRun {
            status: Some(0),
            stdout: format!("{id}\n"),
            stderr: format!("Trying to pull {reference}...\nWriting manifest to image destination\n"),
        }
    }

    fn auto_update(&self, dry_run: bool) -> SimulatedRun {
        take(PULL_MS * 2);
        let mut rows = Vec::new();
        for u in UNITS.iter().filter(|u| u.kind != Kind::Slow) {
            let updated = match (u.kind, dry_run) {
                (Kind::Current, _) => "false",
                (_, true) => "pending",
                (Kind::Crashes, false) => "rolled back",
                _ => "true",
            };
            if updated == "true" {
                let d = {
                    let mut s = self.lock();
                    let n = s.releases.entry(u.repo).or_insert(0);
                    *n += 1;
                    digest(u.repo, *n)
                };
                let id = image_id(&d);
                self.lock().images.insert(
                    id.clone(),
                    Image {
                        digest: d,
                        crashes: false,
                    },
                );
                self.start(u.unit, Some(&id));
            }
            let s = self.lock();
            let cid = s
                .running
                .get(u.unit)
                .map(|r| r.container_id.clone())
                .unwrap_or_default();
            let name = u.unit.trim_end_matches(".service");
            rows.push(json!({"Unit": u.unit, "Container": format!("{} ({name})", &cid[..12]), "ContainerName": name, "ContainerID": cid, "Image": format!("{}:{}", u.repo, u.tag), "Policy": "registry", "Updated": updated}));
        }
        ok(format!("{:#}\n", json!(rows)))
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

impl Simulator for World {
    fn run(&self, argv: &[String]) -> SimulatedRun {
        std::thread::sleep(Duration::from_millis(QUERY_MS));
        let args: Vec<&str> = argv.iter().skip(1).map(String::as_str).collect();
        match argv.first().map(String::as_str) {
            Some("podman") => self.podman(&args),
            Some("systemctl") => self.systemctl(&args),
            Some("journalctl") => self.journal(args.iter().skip_while(|a| **a != "-u").nth(1).copied().unwrap_or("")),
            Some(other) => fail(127, format!("the demo host does not simulate '{other}'\n")),
            None => fail(127, "no program\n"),
        }
    }

    fn worker_started(&self, unit: &str) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(false));
        self.lock().workers.insert(unit.to_string(), flag.clone());
        flag
    }

    fn worker_ended(&self, unit: &str) {
        self.lock().workers.remove(unit);
    }
}
