//! The API side: `POST /api/v1/updates/check` starts a `check` task in a unit (serve
//! never asks a registry), `GET /api/v1/services` shows the verdicts, and a new digest
//! is announced once (`update_available`).

use super::*;
use crate::support::faults::assert_error;
use crate::support::receiver::Receiver;
use crate::support::registry::{Registry, RegistryAuth, available};

#[test]
fn the_api_starts_a_check_in_a_unit_and_services_show_its_verdicts() {
    if !available("checks-api") {
        return;
    }
    let r = Registry::start(RegistryAuth::None);
    let d1 = r.push_image("acme/app", "latest", "v1");
    let d2 = r.push_image("acme/app", "latest", "v2");
    let (fakes, podup) = checker(
        "checks-api",
        &[format!("app.service={}", image(&r, "acme/app"))],
        &insecure(&[r.host()]),
        "{}",
    );
    runs(&fakes, &[("app.service", "img1", &d1, &[at(&r, "acme/app", &d1)])]);
    let (admin, reader) = (podup.token("admin", "admin"), podup.token("reader", "read"));
    let server = podup.serve(&[]);
    let before = call(server.addr, "GET", "/api/v1/services", Some(&reader), "").json();
    assert_eq!(before["services"][0]["update"], Value::Null);
    assert_eq!(before["updates"]["last_check"], Value::Null);

    assert_error(
        &call(server.addr, "POST", "/api/v1/updates/check", Some(&reader), "{}"),
        403,
        &["forbidden", "insufficient_role"],
    );
    assert_error(
        &call(
            server.addr,
            "POST",
            "/api/v1/updates/check",
            Some(&admin),
            r#"{"services": ["nope.service"]}"#,
        ),
        404,
        &["unknown_service"],
    );
    let heads = r.count("HEAD", "/manifests/");
    let resp = call(
        server.addr,
        "POST",
        "/api/v1/updates/check",
        Some(&admin),
        r#"{"fresh": true}"#,
    );
    assert_eq!(resp.status, 202, "{}", resp.body);
    let id = resp.json()["task_id"].as_i64().unwrap();
    assert_eq!(
        r.count("HEAD", "/manifests/"),
        heads,
        "podup serve asked the registry itself"
    );
    let run = fakes
        .calls_of("systemd-run")
        .into_iter()
        .find(|c| c.iter().any(|a| a == &format!("--unit=podup-task-{id}.service")))
        .unwrap_or_else(|| panic!("no task unit: {:?}", fakes.calls()));
    assert!(
        run.iter()
            .any(|a| a.starts_with("--setenv=CONTAINERS_REGISTRIES_CONF=")),
        "{run:?}"
    );
    assert!(
        run.iter().any(|a| a.starts_with("--setenv=PODUP_CHECK_TTL=")),
        "{run:?}"
    );
    // The fake systemd-run starts nothing: run the task as its unit would.
    let db = podup.db_path();
    let out = podup.run(&["run-task", &id.to_string(), "--db", db.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let t = call(server.addr, "GET", &format!("/api/v1/tasks/{id}"), Some(&reader), "").json();
    assert_eq!(
        (t["task"]["kind"].as_str(), t["task"]["status"].as_str()),
        (Some("check"), Some("succeeded")),
        "{t:#}"
    );
    assert_eq!(t["units"][0]["status"], "available", "{t:#}");
    let after = call(server.addr, "GET", "/api/v1/services", Some(&reader), "").json();
    let update = &after["services"][0]["update"];
    assert_eq!(update["status"], "available", "{after:#}");
    assert_eq!(update["remote_digest"], d2.as_str());
    assert_eq!(update["task_id"], id);
    assert!(update["checked_at"].as_i64().unwrap() > 0);
    assert_eq!(after["updates"]["available"], 1);
    assert_eq!(after["updates"]["last_check"]["id"], id);
}

#[test]
fn a_new_digest_is_announced_once() {
    if !available("checks-notify") {
        return;
    }
    let hook = Receiver::start();
    let r = Registry::start(RegistryAuth::None);
    let d1 = r.push_image("acme/app", "latest", "v1");
    let d2 = r.push_image("acme/app", "latest", "v2");
    let (fakes, podup) = checker(
        "checks-notify",
        &[format!("app.service={}", image(&r, "acme/app"))],
        &insecure(&[r.host()]),
        "{}",
    );
    let sinks = podup.state.path().join("notify");
    std::fs::write(
        &sinks,
        format!(
            "webhook+http://{}/hook?secret=s3cret-hook-key&events=update_available\n",
            hook.addr
        ),
    )
    .unwrap();
    let podup = podup.env("PODUP_NOTIFY_FILE", sinks.to_str().unwrap());
    runs(&fakes, &[("app.service", "img1", &d1, &[at(&r, "acme/app", &d1)])]);
    check(&podup, &["--fresh"]);
    check(&podup, &["--fresh"]);
    let got = hook.received();
    assert_eq!(got.len(), 1, "one message for one new digest: {got:?}");
    let m = got[0].json();
    assert_eq!(m["event"], "update_available");
    assert_eq!(m["units"][0]["unit"], "app.service");
    assert_eq!(m["units"][0]["to_digest"], d2.as_str());
    assert_eq!(m["units"][0]["from_digest"], d1.as_str());
    // A newer digest is news again.
    let d3 = r.push_image("acme/app", "latest", "v3");
    check(&podup, &["--fresh"]);
    let got = hook.received();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1].json()["units"][0]["to_digest"], d3.as_str());
}
