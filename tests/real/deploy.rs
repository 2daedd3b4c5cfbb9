//! The task engine end to end on the real bed: a signed webhook or an API call, a
//! real `podup-task-<id>.service`, real podman pulls and restarts, verification,
//! rollback, stop / force-stop / retry, supersede, and the auto-update timer.

use crate::harness::{setup, shout, wait_until};
use std::time::Duration;

const VERIFY_SECS: &str = "3";

on_kinds!(a_webhook_deploys_and_broken_images_roll_back);
fn a_webhook_deploys_and_broken_images_roll_back() {
    let Some((b, v1)) = setup("deploy-rollback", VERIFY_SECS) else {
        return;
    };
    // (1) v2 pushed, webhook with v2's digest: the real manager runs podup-task-<id>.
    let v2 = b.bed.push_image("acme/app", "v2", None);
    // Wall-clock ms, to end the deploy at the task's own finished_ms rather than at
    // this test's next poll (every 250 ms).
    let sent_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let r = b.podup.webhook(&b.repository, "latest", &v2, "delivery-v2");
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["task_id"].as_i64().unwrap();
    let t = b.podup.wait_task(id, Duration::from_secs(90));
    assert_eq!(b.status(&t), ("succeeded".into(), "ok".into()), "{t:#}");
    assert_eq!(b.bed.running_digest("app"), v2, "the unit runs v2's digest");
    assert_eq!(t["units"][0]["from_digest"], v1.as_str());
    assert_eq!(t["units"][0]["to_digest"], v2.as_str());
    let logs = t["logs"].as_array().unwrap();
    let pulled = logs.iter().any(|l| {
        l["argv"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(&format!("{}@{v2}", b.repository))))
    });
    assert!(pulled, "pulled by digest: {logs:#?}");
    assert!(
        logs.iter().all(|l| l["argv"].is_null() || l["exit_status"].is_i64()),
        "every command has its exit status"
    );
    let (started, finished) = (
        t["task"]["started_ms"].as_i64().unwrap(),
        t["task"]["finished_ms"].as_i64().unwrap(),
    );
    let command_ms: i64 = logs
        .iter()
        .filter(|l| l["step"] != "verify")
        .filter_map(|l| l["message"].as_str())
        .filter_map(|m| m.split(", ").nth(1)?.strip_suffix(" ms)")?.parse::<i64>().ok())
        .sum();
    // The split the issue asks for: podman/systemctl commands (outside the stay-active
    // polling), the stay-active window (a policy wait), and the remainder: podup's own
    // work (HTTP, DB, dispatch, locks, its polling) and the manager starting the unit.
    let (total_s, commands_s, window_s) = (
        (finished - sent_ms) as f64 / 1000.0,
        command_ms as f64 / 1000.0,
        VERIFY_SECS.parse::<f64>().unwrap(),
    );
    shout(&format!(
        "deploy: webhook to verified digest {total_s:.2} s = podman/systemctl commands {commands_s:.2} s + stay-active window {window_s:.0} s + the rest {:.2} s (worker ran {:.2} s)",
        total_s - commands_s - window_s,
        (finished - started) as f64 / 1000.0,
    ));
    assert_eq!(
        b.podup.webhook(&b.repository, "latest", &v2, "delivery-v2").status,
        200,
        "a repeated delivery does nothing"
    );

    // (2) v3 starts and exits 1 a second later: rolled back to v2.
    let v3 = b
        .bed
        .push_image("acme/app", "v3", Some("echo started $(cat /version); sleep 1; exit 1"));
    let t = b.podup.wait_task(b.update(&v3), Duration::from_secs(120));
    assert_eq!(b.status(&t), ("rolled_back".into(), "verify_failed".into()), "{t:#}");
    assert_eq!(b.bed.running_digest("app"), v2, "runs v2 again");
    assert!(b.bed.unit_property("container-app.service", "ActiveState") == "active");

    // (3) v4 cannot start at all: rolled back.
    let v4 = b.bed.push_image("acme/app", "v4", Some(r#"["/nonexistent"]"#));
    let t = b.podup.wait_task(b.update(&v4), Duration::from_secs(120));
    assert_eq!(b.status(&t).0, "rolled_back", "{t:#}");
    assert!(t["task"]["message"].as_str().unwrap().contains("rolled back"), "{t:#}");
    assert_eq!(b.bed.running_digest("app"), v2);
}

on_kinds!(a_rollback_starts_the_unit_although_the_failed_deploy_used_up_its_start_limit);
fn a_rollback_starts_the_unit_although_the_failed_deploy_used_up_its_start_limit() {
    let Some((b, v1)) = setup("rollback-start-limit", VERIFY_SECS) else {
        return;
    };
    // Two starts in ten minutes: the failed restart onto v2 and the manager's own retry
    // (`Restart=on-failure`, as podman generates it) use them up, so a plain restart
    // back to v1 is refused ("start of the service was attempted too often").
    let dropin = b.bed.unit_dir().join("container-app.service.d");
    std::fs::create_dir_all(&dropin).unwrap();
    b.bed.install_unit(
        "container-app.service.d/start-limit.conf",
        "[Unit]\nStartLimitIntervalSec=600\nStartLimitBurst=2\n",
    );
    let v2 = b.bed.push_image("acme/app", "v2", Some(r#"["/nonexistent"]"#));
    let t = b.podup.wait_task(b.update(&v2), Duration::from_secs(120));
    assert_eq!(b.status(&t).0, "rolled_back", "{t:#}");
    assert_eq!(b.bed.running_digest("app"), v1, "runs v1 again");
    assert_eq!(b.bed.unit_property("container-app.service", "ActiveState"), "active");
}

on_kinds!(stop_force_stop_retry_and_a_killed_worker);
fn stop_force_stop_retry_and_a_killed_worker() {
    let Some((b, v1)) = setup("deploy-stop", "10") else {
        return;
    };
    // Each step deploys an image the unit does not run yet, so it reaches verification.
    let v2 = b.bed.push_image("acme/app", "v2", None);
    let v3 = b.bed.push_image("acme/app", "v3", None);
    let v4 = b.bed.push_image("acme/app", "v4", None);
    // (4) stop during the 10 s verification: cancelled, after rolling back to v1.
    let id = b.update(&v2);
    b.podup.wait_status(id, "running", Some("verify"));
    let r = b.podup.api("POST", &format!("/api/v1/tasks/{id}/stop"), "");
    assert_eq!(r.status, 200, "{}", r.body);
    let t = b.podup.task(id);
    assert_eq!(t["task"]["status"], "cancelled", "{t:#}");
    assert!(
        t["task"]["message"].as_str().unwrap().contains("rolled back to"),
        "{t:#}"
    );
    assert_eq!(b.bed.running_digest("app"), v1, "a stop puts back what ran before");
    assert_eq!(
        b.bed.unit_property(&format!("podup-task-{id}.service"), "LoadState"),
        "not-found"
    );
    // force-stop: failed, reason killed.
    let id2 = b.update(&v3);
    b.podup.wait_status(id2, "running", Some("verify"));
    let r = b.podup.api("POST", &format!("/api/v1/tasks/{id2}/force-stop"), "");
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("failed")),
        "{}",
        r.body
    );
    assert_eq!(b.podup.task(id2)["task"]["reason"], "killed");
    // ... and a recovery task repairs what the killed worker left: v3 runs unverified,
    // so the recovery verifies it (it is a good image) and keeps it.
    let rec = r.body["recovery_task_id"].as_i64().expect("a recovery task");
    let t = b.podup.wait_task(rec, Duration::from_secs(120));
    assert_eq!(
        (&t["task"]["kind"], &t["task"]["trigger_reason"], &t["task"]["status"]),
        (&"maintenance".into(), &"recovered".into(), &"succeeded".into()),
        "{t:#}"
    );
    assert_eq!(t["task"]["spec"]["recovers"].as_i64(), Some(id2), "{t:#}");
    assert_eq!(b.bed.running_digest("app"), v3, "verified after the force-stop");
    // (7) the worker killed behind podup's back: never stays running.
    let id3 = b.update(&v4);
    b.podup.wait_status(id3, "running", Some("verify"));
    let db = crate::harness::state_db(&b.bed);
    let before = crate::harness::ids(&db);
    let logged = task_log_count(&db, id3);
    b.bed
        .systemctl_ok(&["kill", "--signal=SIGKILL", &format!("podup-task-{id3}.service")]);
    assert!(wait_until(Duration::from_secs(10), || b
        .bed
        .unit_property(&format!("podup-task-{id3}.service"), "LoadState")
        == "not-found"));
    let t = b.podup.task(id3);
    let status = t["task"]["status"].as_str().unwrap().to_string();
    assert!(status == "unknown" || status == "failed", "{t:#}");
    assert_eq!(t["task"]["reason"], "worker_lost");
    // A SIGKILL mid-write loses no committed row and leaves the database intact.
    crate::harness::assert_intact(&db, &before);
    assert!(task_log_count(&db, id3) >= logged, "the killed task's log is all there");
    assert_eq!(t["units"][0]["unit"], "container-app.service", "{t:#}");
    // retry of the cancelled task: a new task that succeeds.
    let r = b.podup.api("POST", &format!("/api/v1/tasks/{id}/retry"), "");
    assert_eq!(r.status, 202, "{}", r.body);
    let retry = r.body["task_id"].as_i64().unwrap();
    let t = b.podup.wait_task(retry, Duration::from_secs(120));
    assert_eq!(t["task"]["status"], "succeeded", "{t:#}");
    assert_eq!(t["task"]["retry_of"].as_i64(), Some(id));
    assert_eq!(b.bed.running_digest("app"), v2);
    // Its worker first repaired what the worker killed behind podup's back left.
    let lost = b.podup.task(id3);
    assert!(lost["units"][0]["recovered_by"].is_i64(), "{lost:#}");
    assert_eq!(lost["units"][0]["intent"], "recovered", "{lost:#}");
}

on_kinds!(quick_webhooks_deploy_one_at_a_time_and_the_older_waiting_one_is_superseded);
fn quick_webhooks_deploy_one_at_a_time_and_the_older_waiting_one_is_superseded() {
    let Some((b, _v1)) = setup("deploy-supersede", VERIFY_SECS) else {
        return;
    };
    let digests: Vec<String> = ["v2", "v3", "v4"]
        .iter()
        .map(|v| b.bed.push_image("acme/app", v, None))
        .collect();
    let ids: Vec<i64> = digests
        .iter()
        .enumerate()
        .map(|(n, d)| {
            let r = b.podup.webhook(&b.repository, "latest", d, &format!("quick-{n}"));
            assert_eq!(r.status, 202, "{}", r.body);
            r.body["task_id"].as_i64().unwrap()
        })
        .collect();
    let tasks: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| b.podup.wait_task(*id, Duration::from_secs(120)))
        .collect();
    let statuses: Vec<&str> = tasks.iter().map(|t| t["task"]["status"].as_str().unwrap()).collect();
    assert_eq!(statuses[2], "succeeded", "the newest runs: {statuses:?}");
    assert!(
        statuses[..2].contains(&"skipped"),
        "an older waiting one is superseded: {statuses:?}"
    );
    for t in &tasks {
        if t["task"]["status"] == "skipped" {
            assert_eq!(t["task"]["reason"], "superseded");
        }
    }
    // Deploys never overlap.
    let mut spans: Vec<(i64, i64)> = tasks
        .iter()
        .filter(|t| t["task"]["status"] == "succeeded")
        .map(|t| {
            (
                t["task"]["started_ms"].as_i64().unwrap(),
                t["task"]["finished_ms"].as_i64().unwrap(),
            )
        })
        .collect();
    spans.sort();
    assert!(
        spans.windows(2).all(|w| w[0].1 <= w[1].0),
        "overlapping deploys: {spans:?}"
    );
    assert_eq!(b.bed.running_digest("app"), digests[2]);
}

on_kinds!(the_auto_update_timer_records_one_row_per_labelled_container);
fn the_auto_update_timer_records_one_row_per_labelled_container() {
    let Some((b, _v1)) = setup("deploy-timer", VERIFY_SECS) else {
        return;
    };
    // A second labelled container unit.
    let other = b.bed.push_image("acme/other", "v1", None);
    let other_unit = b.bed.container_unit("other", &b.bed.image_ref("acme/other"));
    b.bed.systemctl_ok(&["start", &other_unit]);
    assert_eq!(b.bed.running_digest("other"), other);
    let v2 = b.bed.push_image("acme/app", "v2", None);
    b.start_timer(&[("PODUP_VERIFY_SECS", VERIFY_SECS), ("PODUP_CHECK_ON_TIMER", "0")]);
    let fired = wait_until(Duration::from_secs(90), || {
        let r = b.podup.api("GET", "/api/v1/tasks?kind=auto-update", "");
        r.body["tasks"]
            .as_array()
            .is_some_and(|l| l.iter().any(|t| t["status"] != "pending" && t["status"] != "running"))
    });
    assert!(fired, "the timer ran podup auto-update");
    let list = b.podup.api("GET", "/api/v1/tasks?kind=auto-update", "");
    let id = list.body["tasks"][0]["id"].as_i64().unwrap();
    let t = b.podup.task(id);
    assert_eq!(t["task"]["caller"], "timer");
    let units = t["units"].as_array().unwrap();
    assert_eq!(units.len(), 2, "one row per labelled container: {t:#}");
    let status_of = |u: &str| {
        units
            .iter()
            .find(|x| x["unit"] == u)
            .map(|x| x["status"].as_str().unwrap().to_string())
    };
    assert_eq!(
        status_of("container-app.service").as_deref(),
        Some("succeeded"),
        "{t:#}"
    );
    assert_eq!(status_of(&other_unit).as_deref(), Some("unchanged"), "{t:#}");
    assert_eq!(b.bed.running_digest("app"), v2);
    // The timer job also applies the retention settings, as a maintenance task.
    let pruned = wait_until(Duration::from_secs(30), || {
        let r = b.podup.api("GET", "/api/v1/tasks?kind=maintenance", "");
        r.body["tasks"]
            .as_array()
            .is_some_and(|l| l.iter().any(|t| t["caller"] == "timer" && t["status"] == "succeeded"))
    });
    assert!(pruned, "the timer job pruned with the retention settings");
    assert_eq!(b.bed.unit_property("podup-auto-update.service", "Result"), "success");
}

/// Lines in a task's log.
fn task_log_count(db: &std::path::Path, id: i64) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM task_logs WHERE task_id = ?1", [id], |r| r.get(0))
        .unwrap()
}
