//! The timer job with `PODUP_AUTO_UPDATE_ENGINE=podup` on the real bed: podup itself
//! finds the units whose containers are labelled `io.containers.autoupdate`, asks the
//! bed's registry, and deploys only those with a new image, verified, rolling back one
//! that does not stay up; a current unit keeps its container.

use crate::harness::{setup, shout, wait_until};
use std::time::{Duration, Instant};

const VERIFY_SECS: &str = "3";

on_kinds!(the_podup_engine_updates_labelled_units_verified);
fn the_podup_engine_updates_labelled_units_verified() {
    let Some((b, _v1)) = setup("auto-engine", VERIFY_SECS) else {
        return;
    };
    // Three labelled units (the harness's images carry io.containers.autoupdate=registry):
    // app gets a new image, keep does not, bad gets one that exits at once.
    let keep = b.bed.push_image("acme/keep", "v1", None);
    let keep_unit = b.bed.container_unit("keep", &b.bed.image_ref("acme/keep"));
    let bad1 = b.bed.push_image("acme/bad", "v1", None);
    let bad_unit = b.bed.container_unit("bad", &b.bed.image_ref("acme/bad"));
    b.bed.systemctl_ok(&["start", &keep_unit, &bad_unit]);
    assert_eq!(b.bed.running_digest("keep"), keep);
    let keep_started = b.bed.started_at("keep");
    let v2 = b.bed.push_image("acme/app", "v2", None);
    let bad2 = b.bed.push_image("acme/bad", "v2", Some("echo broken; exit 3"));
    let started = Instant::now();
    b.start_timer(&[
        ("PODUP_VERIFY_SECS", VERIFY_SECS),
        ("PODUP_CHECK_ON_TIMER", "0"),
        ("PODUP_AUTO_UPDATE_ENGINE", "podup"),
    ]);
    let done = wait_until(Duration::from_secs(150), || {
        let r = b.podup.api("GET", "/api/v1/tasks?kind=auto-update", "");
        r.body["tasks"]
            .as_array()
            .is_some_and(|l| l.iter().any(|t| t["status"] != "pending" && t["status"] != "running"))
    });
    assert!(done, "the timer ran podup auto-update");
    shout(&format!(
        "podup engine: 3 labelled units, 1 updated, 1 rolled back, in {:.1} s (timer start to end)",
        started.elapsed().as_secs_f64()
    ));
    let list = b.podup.api("GET", "/api/v1/tasks?kind=auto-update", "");
    let id = list.body["tasks"][0]["id"].as_i64().unwrap();
    let t = b.podup.task(id);
    assert_eq!(b.status(&t), ("rolled_back".into(), "rolled_back".into()), "{t:#}");
    let units = t["units"].as_array().unwrap();
    assert_eq!(units.len(), 3, "one row per labelled unit: {t:#}");
    let row = |u: &str| {
        units
            .iter()
            .find(|x| x["unit"] == u)
            .unwrap_or_else(|| panic!("{u}: {t:#}"))
    };
    // app: podup's deploy ran it, pulled by digest and verified.
    let app = row("container-app.service");
    assert_eq!(app["status"], "succeeded", "{t:#}");
    assert_eq!(app["to_digest"], v2.as_str(), "{t:#}");
    assert!(
        app["message"].as_str().unwrap_or("").starts_with(&format!("runs {v2}")),
        "podup's verified deploy, not podman's report: {t:#}"
    );
    assert_eq!(b.bed.running_digest("app"), v2);
    // keep: current, left alone: the same container, not restarted.
    assert_eq!(row(&keep_unit)["status"], "unchanged", "{t:#}");
    assert_eq!(
        b.bed.started_at("keep"),
        keep_started,
        "the current unit kept its container"
    );
    // bad: its new image exits at once; podup rolled it back to v1, which runs.
    let bad = row(&bad_unit);
    assert_eq!(bad["status"], "rolled_back", "{t:#}");
    assert_eq!(bad["to_digest"], bad2.as_str(), "{t:#}");
    assert_eq!(b.bed.running_digest("bad"), bad1);
    assert_eq!(b.bed.unit_property(&bad_unit, "ActiveState"), "active");
}
