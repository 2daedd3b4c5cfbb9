//! The demo's podman and registry: `podman ps`, `inspect`, `pull`, `tag`, `rmi` and
//! `auto-update` of the simulated units and images, as podman 4.3.1 prints them. A
//! pull by tag takes the release the registry's tag points at; when the host has it
//! already, units that release often publish a new one first.

use super::world::{
    DemoUnit, Image, Kind, PULL_MS, Running, SLOW_PULL_MS, SimulatedRun, State, UNITS, World, digest, fail, image_id,
    ok, take,
};
use serde_json::{Value, json};

/// One container of `podman ps --format json`.
fn container(s: &State, unit: &str, r: &Running) -> Value {
    let name = unit.trim_end_matches(".service");
    let image = UNITS
        .iter()
        .find(|u| u.unit == unit)
        .map(|u| format!("{}:{}", u.repo, u.tag));
    let state = if World::crashed(s, unit) { "exited" } else { "running" };
    let labels = json!({"PODMAN_SYSTEMD_UNIT": unit, "io.containers.autoupdate": "registry"});
    json!({"Id": r.container_id, "Names": [name], "Image": image, "ImageID": r.image_id, "State": state, "Labels": labels})
}

/// The release a pull of `u`'s tag finds: the one its registry's tag points at, unless
/// the host has it already; then the registry publishes the next one first.
fn next_release(s: &mut State, u: &DemoUnit) -> u32 {
    let head = s.releases.get(u.repo).copied().unwrap_or(0);
    let tag = format!("{}:{}", u.repo, u.tag);
    let have = s
        .tags
        .get(&tag)
        .is_some_and(|id| *id == image_id(&digest(u.repo, head)));
    let n = if have { head + 1 } else { head };
    s.releases.insert(u.repo, n);
    n
}

/// `podman images --format json`: every image, with its name and digests.
fn all_images(s: &State) -> SimulatedRun {
    let found: Vec<Value> = s
        .images
        .iter()
        .map(|(id, i)| {
            let tags: Vec<&String> = s.tags.iter().filter(|(_, t)| *t == id).map(|(r, _)| r).collect();
            json!({"Id": id, "Digest": i.digest, "RepoTags": tags, "RepoDigests": [format!("{}@{}", i.repo, i.digest)]})
        })
        .collect();
    ok(format!("{:#}\n", Value::Array(found)))
}

impl World {
    pub(super) fn podman(&self, args: &[&str]) -> SimulatedRun {
        match args {
            ["--version"] => ok("podman version 4.3.1\n"),
            ["ps", "-a", "--filter", "label=PODMAN_SYSTEMD_UNIT", "--format", "json"] => {
                let s = self.lock();
                let all: Vec<Value> = s.running.iter().map(|(unit, r)| container(&s, unit, r)).collect();
                ok(format!("{:#}\n", Value::Array(all)))
            }
            ["ps", "-a", "--filter", label, "--format", "json"] => {
                let unit = label.trim_start_matches("label=PODMAN_SYSTEMD_UNIT=");
                let s = self.lock();
                let Some(r) = s.running.get(unit) else {
                    return ok("[]\n");
                };
                ok(format!("{:#}\n", json!([container(&s, unit, r)])))
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
            ["image", "inspect", "--format", "{{.Id}}", reference] => {
                let s = self.lock();
                // A tag names the image it points at; an id names itself.
                match s.tags.get(*reference) {
                    Some(id) => ok(format!("{id}\n")),
                    None if s.images.contains_key(*reference) => ok(format!("{reference}\n")),
                    None => fail(125, format!("Error: {reference}: image not known\n")),
                }
            }
            ["images", "--format", "json"] => all_images(&self.lock()),
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

    /// `repo:tag` finds the release the registry's tag points at, after publishing a
    /// new one when the host has that one already (for units that release often);
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
            None => digest(u.repo, next_release(&mut s, u)),
        };
        let id = image_id(&d);
        let crashes = u.kind == Kind::Crashes && d != digest(u.repo, 0);
        s.images.entry(id.clone()).or_insert(Image {
            repo: u.repo,
            digest: d,
            crashes,
        });
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
                let id = {
                    let mut s = self.lock();
                    let d = digest(u.repo, next_release(&mut s, u));
                    let id = image_id(&d);
                    s.images.insert(
                        id.clone(),
                        Image {
                            repo: u.repo,
                            digest: d,
                            crashes: false,
                        },
                    );
                    // podman auto-update pulls by tag: the tag moves with it.
                    s.tags.insert(format!("{}:{}", u.repo, u.tag), id.clone());
                    id
                };
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
}
