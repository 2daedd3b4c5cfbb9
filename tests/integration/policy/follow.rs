//! `Follow=` through an update check against a real registry (docs/policy.md): the tags are
//! listed, the highest allowed version proposed (1.4.2 → 1.5.0, never 2.0.0 under
//! `semver:minor`), and the service's policy deploys it as a move to the new tag.

use crate::checks::{at, check, checker, insecure, runs, verdict};
use crate::support::registry::{Registry, RegistryAuth, available};

#[test]
fn semver_minor_proposes_1_5_0_and_its_policy_deploys_the_move() {
    if !available("policy-follow") {
        return;
    }
    let r = Registry::start(RegistryAuth::None);
    let repo = format!("{}/acme/app", r.host());
    let running = r.push_image("acme/app", "1.4.2", "v142");
    let wanted = r.push_image("acme/app", "1.5.0", "v150");
    r.push_image("acme/app", "2.0.0", "v200");
    r.push_image("acme/app", "1.5.1-rc1", "rc");
    r.push_image("acme/app", "latest", "v200");
    let (fakes, podup) = checker(
        "policy-follow",
        &[format!("app.service={repo}:1.4.2")],
        &insecure(&[r.host()]),
        "{}",
    );
    let policy = podup.state.path().join("policy.ini");
    std::fs::write(&policy, "[app.service]\nFollow=semver:minor\n").unwrap();
    let podup = podup.env("PODUP_POLICY_FILE", policy.to_str().unwrap());
    runs(
        &fakes,
        &[("app.service", "img1", &running, &[at(&r, "acme/app", &running)])],
    );
    let (out, v) = check(&podup, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let app = verdict(&v, "app.service");
    assert_eq!(app["status"], "available", "{v:#}");
    assert_eq!(app["remote_digest"], wanted.as_str(), "{v:#}");
    assert_eq!(r.count("GET", "/tags/list"), 1, "the tags were listed once");
    assert_eq!(r.count("GET", "/manifests/"), 0, "never a GET of a manifest");
    // The policy (auto, by default) deployed it at once: a task that moves the unit.
    let tasks = v["policy_tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{v:#}");
    let id = tasks[0].as_i64().unwrap();
    let runs = fakes.calls_of("systemd-run");
    assert!(
        runs.iter()
            .any(|a| a.contains(&format!("--unit=podup-task-{id}.service"))),
        "{runs:?}"
    );
    let conn = rusqlite::Connection::open(podup.db_path()).unwrap();
    let spec: String = conn
        .query_row("SELECT spec FROM tasks WHERE id = ?1", [id], |row| row.get(0))
        .unwrap();
    let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
    let unit = &spec["units"][0];
    assert_eq!(unit["image"], format!("{repo}:1.4.2"), "{spec:#}");
    assert_eq!(unit["retag"], format!("{repo}:1.5.0"), "{spec:#}");
    assert_eq!(unit["digest"], wanted.as_str(), "{spec:#}");
    let line: String = conn
        .query_row(
            "SELECT message FROM task_logs WHERE step = 'follow' AND unit = 'app.service'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(line.contains("1.4.2 → 1.5.0 (Follow=semver:minor)"), "{line}");

    // The same proposal on the next check joins that task instead of making another.
    let (_, v) = check(&podup, &["--fresh"]);
    assert_eq!(v["policy_tasks"], serde_json::json!([]), "{v:#}");
}

#[test]
fn a_service_without_a_policy_is_only_told_about() {
    if !available("policy-nofollow") {
        return;
    }
    let r = Registry::start(RegistryAuth::None);
    let d1 = r.push_image("acme/app", "latest", "v1");
    let (fakes, podup) = checker(
        "policy-nofollow",
        &[format!("app.service={}/acme/app:latest", r.host())],
        &insecure(&[r.host()]),
        "{}",
    );
    runs(&fakes, &[("app.service", "img1", &d1, &[at(&r, "acme/app", &d1)])]);
    r.push_image("acme/app", "latest", "v2");
    let (_, v) = check(&podup, &[]);
    assert_eq!(verdict(&v, "app.service")["status"], "available", "{v:#}");
    assert_eq!(v["policy_tasks"], serde_json::json!([]), "{v:#}");
    assert!(
        fakes.calls_of("systemd-run").is_empty(),
        "a check alone deploys nothing"
    );
}
