//! Update checks end to end (docs/updates.md): `podup check-updates` against a real
//! `docker-registry` on loopback, with podman faked on PATH (what runs is whatever the
//! fake's `ps` and `images` say), registries.conf and auth.json files of the
//! test's own, and a scripted registry for the faults a real one cannot show.

mod auth;
mod faults;
mod registry;
mod serve;
mod tags;

use crate::support::registry::Registry;
use crate::support::*;
use serde_json::{Value, json};
use std::process::Output;

/// A podup with fakes, `services` (`unit=image`), a registries.conf of `conf` lines and
/// an auth file of `auth` (both in its state directory).
pub fn checker(name: &str, services: &[String], conf: &str, auth: &str) -> (Fakes, Podup) {
    let fakes = Fakes::new();
    let p = Podup::new(name);
    let conf_path = p.state.path().join("registries.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let auth_path = p.state.path().join("auth.json");
    std::fs::write(&auth_path, auth).unwrap();
    let p = p
        .env("PATH", &fakes.path_env())
        .env("FAKE_DIR", fakes.dir().to_str().unwrap())
        .env("PODUP_SYSTEMD_SCOPE", "system")
        .env("PODUP_SERVICES", &services.join(", "))
        .env("CONTAINERS_REGISTRIES_CONF", conf_path.to_str().unwrap())
        .env("REGISTRY_AUTH_FILE", auth_path.to_str().unwrap())
        .env("PODUP_CHECK_TIMEOUT_SECS", "2");
    (fakes, p)
}

/// registries.conf marking `hosts` insecure (plain HTTP, as the loopback registries speak).
pub fn insecure(hosts: &[String]) -> String {
    hosts
        .iter()
        .map(|h| format!("[[registry]]\nlocation = \"{h}\"\ninsecure = true\n\n"))
        .collect()
}

/// What the fake podman says runs: each `(unit, image id, Digest, RepoDigests)`.
pub fn runs(fakes: &Fakes, units: &[(&str, &str, &str, &[String])]) {
    let ps: Vec<Value> = units
        .iter()
        .map(|(unit, id, _, _)| {
            json!({"Id": format!("c-{id}"), "Names": [unit], "Image": "x", "ImageID": id, "State": "running",
                   "Labels": {"PODMAN_SYSTEMD_UNIT": unit}})
        })
        .collect();
    let images: Vec<Value> = units
        .iter()
        .map(|(_, id, digest, repo_digests)| json!({"Id": id, "Digest": digest, "RepoDigests": repo_digests}))
        .collect();
    fakes.answer_args("podman", &["ps"], 0, &Value::from(ps).to_string(), "");
    fakes.answer_args("podman", &["images"], 0, &Value::from(images).to_string(), "");
}

/// `podup check-updates ARGS --json`: its output and the verdicts by unit.
pub fn check(podup: &Podup, args: &[&str]) -> (Output, Value) {
    let mut all = vec!["check-updates", "--json"];
    all.extend_from_slice(args);
    let out = podup.run(&all);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, v)
}

/// The verdict of `unit` in a check's JSON.
pub fn verdict<'a>(v: &'a Value, unit: &str) -> &'a Value {
    v["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["unit"] == unit)
        .unwrap_or_else(|| panic!("no verdict for {unit}: {v:#}"))
}

/// `repository@digest`, a RepoDigests entry.
pub fn at(registry: &Registry, repo: &str, digest: &str) -> String {
    format!("{}/{repo}@{digest}", registry.host())
}

/// `host/repo:latest`, an image as PODUP_SERVICES names it.
pub fn image(registry: &Registry, repo: &str) -> String {
    format!("{}/{repo}:latest", registry.host())
}
