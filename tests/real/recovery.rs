//! Issue 27's kill-point matrix: a deploy's worker paused at each step (the test-only
//! `PODUP_TEST_PAUSE_AT`), then SIGKILLed there and recovered by the next worker, the
//! timer job or `podup recover`; or stopped there (`POST /api/v1/tasks/<id>/stop`).
//! Afterwards the invariant holds (the unit's tag points at the image its container runs,
//! and it is the image the rules name) and the tasks' statuses say what happened.
//!
//! All cases of one kind run in sequence on one bed; each deploys a fresh image (pushed
//! under its own tag, so the registry's `latest` moves only when a case says so).

use crate::harness::{Bed, RECOVERY_VERIFY_SECS, RecoverBy, output_text, setup, shout};
use std::time::Instant;

/// One kill case: where the worker dies, whether its target is good, who recovers.
struct Kill {
    point: &'static str,
    bad: bool,
    by: RecoverBy,
}

/// Each pause point once (verification twice: a good and a bad target); each recovery
/// path at least twice.
const KILLS: &[Kill] = &[
    kill("pulled", false, RecoverBy::NextWorker),
    kill("tagged", false, RecoverBy::Timer),
    kill("restarting", false, RecoverBy::Cli),
    kill("verifying", false, RecoverBy::NextWorker),
    kill("verifying", true, RecoverBy::Timer),
    kill("rollback-tagged", true, RecoverBy::Cli),
    kill("rollback-verifying", true, RecoverBy::NextWorker),
];

const fn kill(point: &'static str, bad: bool, by: RecoverBy) -> Kill {
    Kill { point, bad, by }
}

on_kinds!(a_deploy_killed_at_any_step_is_recovered_to_a_verified_image);
fn a_deploy_killed_at_any_step_is_recovered_to_a_verified_image() {
    let Some((b, _v1)) = setup("recovery-kill", RECOVERY_VERIFY_SECS) else {
        return;
    };
    let started = Instant::now();
    for (n, case) in KILLS.iter().enumerate() {
        let t = Instant::now();
        kill_case(&b, n, case);
        shout(&format!(
            "kill at {} ({} target), recovered by {}: {:.1} s",
            case.point,
            if case.bad { "bad" } else { "good" },
            case.by.name(),
            t.elapsed().as_secs_f64()
        ));
    }
    shout(&format!(
        "kill matrix: {} cases in {:.1} s",
        KILLS.len(),
        started.elapsed().as_secs_f64()
    ));
}

fn kill_case(b: &Bed, n: usize, case: &Kill) {
    let what = format!(
        "kill at {} ({} target), recovered by {}",
        case.point,
        if case.bad { "bad" } else { "good" },
        case.by.name()
    );
    let (id, v_old, target) = b.paused_deploy(&format!("k{n}"), case.point, case.bad);
    b.kill_worker(id);
    b.set_pause(None, true);
    b.assert_lost(id);
    // What the recovery must leave: the target only when it was restarted onto and is good.
    let verified_target = case.point == "verifying" && !case.bad;
    let recovered = if verified_target { &target } else { &v_old };
    let end = b.recover(case.by, recovered, &format!("k{n}-next"), &what);
    if case.point == "pulled" {
        // Nothing was noted, nothing changed on the host: nothing to repair, no task.
        assert_eq!(b.recoveries_of(id), Vec::<serde_json::Value>::new(), "{what}");
        b.assert_lost(id);
        b.assert_runs(&end, &what);
        return;
    }
    let r = b.recovery_of(id);
    let status = r["task"]["status"].as_str().unwrap_or("");
    let allowed: &[&str] = match (case.point, case.bad) {
        ("verifying", true) => &["rolled_back"],
        // the rollback was under way: finishing it may count as either (interface file)
        ("rollback-tagged" | "rollback-verifying", _) => &["succeeded", "rolled_back"],
        _ => &["succeeded"],
    };
    assert!(
        allowed.contains(&status),
        "{what}: recovery status {status}, want one of {allowed:?}: {r:#}"
    );
    b.assert_lost(id);
    b.assert_runs(&end, &what);
}

/// One stop case: where the stop lands, and whether the target is good.
struct Stop {
    point: &'static str,
    bad: bool,
}

const STOPS: &[Stop] = &[
    stop("pulled", false),
    stop("tagged", false),
    stop("restarting", false),
    stop("verifying", false),
    stop("rollback-tagged", true),
    stop("rollback-verifying", true),
];

const fn stop(point: &'static str, bad: bool) -> Stop {
    Stop { point, bad }
}

on_kinds!(a_deploy_stopped_at_any_step_ends_on_the_image_it_found);
fn a_deploy_stopped_at_any_step_ends_on_the_image_it_found() {
    let Some((b, _v1)) = setup("recovery-stop", RECOVERY_VERIFY_SECS) else {
        return;
    };
    let started = Instant::now();
    for (n, case) in STOPS.iter().enumerate() {
        let t = Instant::now();
        stop_case(&b, n, case);
        shout(&format!(
            "stop at {} ({} target): {:.1} s",
            case.point,
            if case.bad { "bad" } else { "good" },
            t.elapsed().as_secs_f64()
        ));
    }
    shout(&format!(
        "stop matrix: {} cases in {:.1} s",
        STOPS.len(),
        started.elapsed().as_secs_f64()
    ));
}

fn stop_case(b: &Bed, n: usize, case: &Stop) {
    let what = format!("stop at {}", case.point);
    let (id, v_old, _target) = b.paused_deploy(&format!("s{n}"), case.point, case.bad);
    let before = b.recovery_tasks().len();
    let r = b.podup.api("POST", &format!("/api/v1/tasks/{id}/stop"), "");
    assert_eq!(r.status, 200, "{what}: {}", r.body);
    let t = b.podup.task(id);
    let status = t["task"]["status"].as_str().unwrap_or("");
    // A stop during a rollback lets it finish: the task ends as the rollback does.
    let want = if case.point.starts_with("rollback") {
        ("rolled_back", "verify_failed")
    } else {
        ("cancelled", "stopped")
    };
    assert_eq!(
        (status, t["task"]["reason"].as_str().unwrap_or("")),
        want,
        "{what}: the stopped task: {t:#}"
    );
    b.assert_runs(&v_old, &what);
    // Nothing was left to repair: a recovery finds nothing and records nothing.
    let out = b.recover_cli();
    assert!(out.status.success(), "{what}: podup recover: {}", output_text(&out));
    assert_eq!(
        b.recovery_tasks().len(),
        before,
        "{what}: no recovery task after a stop: {:#?}",
        b.recovery_tasks()
    );
    b.assert_runs(&v_old, &format!("{what}, after podup recover"));
}
