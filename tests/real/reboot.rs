//! Issue 27 beyond one worker: the whole host losing power mid-deploy (the bed's
//! powercycle: every process SIGKILLed, a new manager booted on the same disk), repaired
//! by `podup-recover.service` before `podup.socket` serves; and an operator restarting the
//! unit right after a killed deploy, before any recovery ran, which the next recovery
//! verifies and records.

use crate::harness::{RECOVERY_VERIFY_SECS as VERIFY_SECS, RecoverBy, setup, setup_with, shout, state_db};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A monotonic timestamp property of a unit, in µs (0 when it never happened).
fn mono(b: &crate::harness::Bed, unit: &str, prop: &str) -> u64 {
    let v = b.bed.unit_property(unit, prop);
    v.parse().unwrap_or_else(|e| panic!("{unit} {prop}={v:?}: {e}"))
}

on_kinds!(a_host_that_loses_power_mid_deploy_is_repaired_before_podup_serves);
fn a_host_that_loses_power_mid_deploy_is_repaired_before_podup_serves() {
    // podup on the bed's disk, so that it is still there after the power cut
    let Some((b, _v1)) = setup_with("recovery-boot", VERIFY_SECS, true) else {
        return;
    };
    let recover_unit = "podup-recover.service";
    crate::harness::install_shipped_with(
        &b.bed,
        recover_unit,
        0,
        Some(&format!("[Service]\nEnvironment=PODUP_VERIFY_SECS={VERIFY_SECS}\n")),
        &b.bin,
    );
    b.bed
        .systemctl_ok(&["enable", recover_unit, "podup.socket", "container-app.service"]);
    let started = Instant::now();
    // Nothing runs at boot yet: podup-recover.service points the tag back at the image the
    // unit ran before (also when the lost worker had restarted onto the target, which
    // nobody verified), and the unit starts on it as the host boots (docs/tasks.md).
    for (n, point) in ["verifying", "tagged"].iter().enumerate() {
        let what = format!("power cut at {point}");
        let t0 = Instant::now();
        let (id, v_old, _target) = b.paused_deploy(&format!("b{n}"), point, false);
        // the next boot's podup.service pauses nowhere
        b.set_pause(None, false);
        let cut_ms = now_ms();
        b.bed.powercycle();
        // podup-recover.service ran at boot, and podup.socket listened only after it ended.
        assert_eq!(b.bed.unit_property(recover_unit, "Result"), "success", "{what}");
        let recovered_at = mono(&b, recover_unit, "ExecMainExitTimestampMonotonic");
        let listening_at = mono(&b, "podup.socket", "ActiveEnterTimestampMonotonic");
        assert!(recovered_at > 0, "{what}: {recover_unit} did not run at boot");
        assert!(
            listening_at >= recovered_at,
            "{what}: podup.socket listened at {listening_at} µs, before the recovery ended at {recovered_at} µs"
        );
        let r = b.recovery_of(id);
        assert_eq!(r["task"]["status"], "succeeded", "{what}: {r:#}");
        assert_eq!(r["task"]["caller"], "boot", "{what}: {r:#}");
        // ... and before the first request after the boot was answered
        let conn = rusqlite::Connection::open(state_db(&b.bed)).unwrap();
        let first: i64 = conn
            .query_row("SELECT min(ts_ms) FROM event_log WHERE ts_ms >= ?1", [cut_ms], |row| {
                row.get(0)
            })
            .unwrap();
        let finished = r["task"]["finished_ms"].as_i64().unwrap();
        assert!(
            finished <= first,
            "{what}: the recovery finished at {finished}, after the first request at {first}"
        );
        b.assert_lost(id);
        b.assert_runs(&v_old, &what);
        shout(&format!(
            "{what}: repaired at boot in {:.1} s",
            t0.elapsed().as_secs_f64()
        ));
    }
    shout(&format!(
        "power-cut matrix: 2 cases in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
}

on_kinds!(an_operator_restart_after_a_killed_deploy_is_verified_and_recorded);
fn an_operator_restart_after_a_killed_deploy_is_verified_and_recorded() {
    let Some((b, _v1)) = setup("recovery-operator", VERIFY_SECS) else {
        return;
    };
    let started = Instant::now();
    // (target bad?, recovery path)
    for (n, (bad, by)) in [(false, RecoverBy::Cli), (true, RecoverBy::Timer)]
        .into_iter()
        .enumerate()
    {
        let what = format!(
            "operator restart after a kill at tagged ({} target), recovered by {}",
            if bad { "bad" } else { "good" },
            by.name()
        );
        let t0 = Instant::now();
        let (id, v_old, target) = b.paused_deploy(&format!("o{n}"), "tagged", bad);
        b.kill_worker(id);
        b.set_pause(None, true);
        // The operator restarts the unit: it runs the target nobody verified.
        b.bed.systemctl_ok(&["restart", "container-app.service"]);
        assert_eq!(
            b.bed.running_digest("app"),
            target,
            "{what}: the restart ran the moved tag"
        );
        let recovered = if bad { &v_old } else { &target };
        let end = b.recover(by, recovered, &format!("o{n}-next"), &what);
        let r = b.recovery_of(id);
        let want = if bad { "rolled_back" } else { "succeeded" };
        assert_eq!(r["task"]["status"], want, "{what}: {r:#}");
        b.assert_lost(id);
        b.assert_runs(&end, &what);
        shout(&format!("{what}: {:.1} s", t0.elapsed().as_secs_f64()));
    }
    shout(&format!(
        "operator-restart matrix: 2 cases in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
}
