//! Issue 23 on the real bed: each service's update policy, written in `[X-PodUp]` of its
//! Quadlet file (trixie) or unit file (bookworm), as a user meets it: a delivery that waits
//! for an approval, a deploy held until a window opens or the image is old enough (started
//! by a real transient timer), and a unit the timer job leaves alone. Each test looks only
//! at what a user sees: the answers, the tasks, the container, `systemctl list-timers`.

use crate::harness::{PolicyBed, now_ms, policy_bed, shout, wait_until};
use serde_json::Value;
use std::time::Duration;

const VERIFY_SECS: &str = "2";

/// How long a deploy may take once it runs (a pull, a restart, the stay-active window),
/// generously: the machine may be busy.
const DEPLOY: Duration = Duration::from_secs(180);

/// Statuses of a task that has not ended.
const OPEN: [&str; 4] = ["awaiting_approval", "scheduled", "pending", "running"];

impl PolicyBed {
    /// Polls until task `id` has ended; returns it.
    #[track_caller]
    fn wait_end(&self, id: i64, limit: Duration) -> Value {
        let ended = wait_until(limit, || {
            let t = self.podup.task(id);
            !OPEN.contains(&t["task"]["status"].as_str().unwrap_or(""))
        });
        let t = self.podup.task(id);
        assert!(ended, "task {id} still open after {limit:?}: {t:#}");
        t
    }

    /// Watches container `name` until `until_ms` (wall clock) and panics if it starts
    /// another image or restarts, or task `id` leaves `status` meanwhile.
    #[track_caller]
    fn unchanged_until(&self, name: &str, digest: &str, id: i64, status: &str, until_ms: i64) {
        let started = self.bed.started_at(name);
        loop {
            assert_eq!(self.bed.running_digest(name), digest, "{name} runs what it ran");
            assert_eq!(self.bed.started_at(name), started, "{name} was not restarted");
            assert_eq!(self.status_of(id).0, status, "task {id}: {:#}", self.podup.task(id));
            if now_ms() >= until_ms {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// The answer of a delivery that made a waiting task: its id after checking the status.
#[track_caller]
fn waiting_task(answer: &Value, status: &str) -> i64 {
    assert_eq!(answer["status"], status, "{answer:#}");
    answer["task_id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no task id: {answer:#}"))
}

on_kinds!(approve_waits_then_deploys_or_is_rejected);
/// `Policy=approve`: a delivery makes a task that awaits an approval and nothing moves;
/// an admin's approval through the API deploys it; `podup task reject` in the bed skips it.
fn approve_waits_then_deploys_or_is_rejected() {
    let Some((p, services)) = policy_bed("policy-approve", VERIFY_SECS, &[("app", "acme/app", "Policy=approve")])
    else {
        return;
    };
    let (app, v1) = &services[0];
    let v2 = p.bed.push_image("acme/app", "v2", None);
    let id = waiting_task(&p.deliver(app, &v2, "approve-v2"), "awaiting_approval");
    p.unchanged_until("app", v1, id, "awaiting_approval", now_ms() + 5_000);
    let worker = format!("podup-task-{id}.service");
    assert_eq!(p.bed.unit_property(&worker, "LoadState"), "not-found", "no worker yet");

    let r = p.podup.api("POST", &format!("/api/v1/tasks/{id}/approve"), "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["decided_by"], "tests", "the token's name: {}", r.body);
    let t = p.wait_end(id, DEPLOY);
    assert_eq!(p.status_of(id), ("succeeded".into(), "ok".into()), "{t:#}");
    assert_eq!(t["task"]["decided_by"], "tests", "{t:#}");
    assert_eq!(p.bed.running_digest("app"), v2);
    assert_eq!(p.bed.version_in("app"), "v2");

    let v3 = p.bed.push_image("acme/app", "v3", None);
    let id3 = waiting_task(&p.deliver(app, &v3, "approve-v3"), "awaiting_approval");
    let started = p.bed.started_at("app");
    let out = p.cli(&["task", "reject", &id3.to_string()]);
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success() && said.contains(&format!("task {id3} rejected")),
        "podup task reject: {said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = p.podup.task(id3);
    assert_eq!(p.status_of(id3), ("skipped".into(), "rejected".into()), "{t:#}");
    assert!(t["task"]["decided_by"].as_str().is_some_and(|b| !b.is_empty()), "{t:#}");
    p.unchanged_until("app", &v2, id3, "skipped", now_ms() + 3_000);
    assert_eq!(p.bed.started_at("app"), started);
    assert_eq!(p.bed.version_in("app"), "v2");
}

/// A `Window=` (UTC) that opens at the first whole minute at least 20 s from now, for ten
/// minutes: its opening in ms and its text. A minute is the window's unit, so the opening
/// is 20 to 80 s away; past 23:50 the window runs over midnight, as `end < start` says.
fn window_opening_soon() -> (i64, String) {
    let now = now_ms();
    let mut open = (now / 60_000 + 1) * 60_000;
    if open - now < 20_000 {
        open += 60_000;
    }
    let start = (open / 60_000) % 1440;
    let end = (start + 10) % 1440;
    let hm = |m: i64| format!("{:02}:{:02}", m / 60, m % 60);
    (open, format!("{}-{} TZ=UTC", hm(start), hm(end)))
}

on_kinds!(window_opening_starts_a_real_transient_timer);
/// `Window=` closed now, opening within a minute or so (a drop-in sets it): the delivery is
/// scheduled for the opening, `systemctl list-timers` shows the task's transient timer, and
/// when it fires the task deploys; the timer is gone afterwards.
fn window_opening_starts_a_real_transient_timer() {
    let Some((p, services)) = policy_bed("policy-window", VERIFY_SECS, &[("app", "acme/app", "")]) else {
        return;
    };
    let (app, v1) = &services[0];
    let v2 = p.bed.push_image("acme/app", "v2", None);
    let (opening, window) = window_opening_soon();
    p.bed.policy_dropin(
        "app",
        &app.unit,
        "50-window.conf",
        &format!("[X-PodUp]\nWindow={window}\n"),
    );
    let answer = p.deliver(app, &v2, "window-v2");
    let id = waiting_task(&answer, "scheduled");
    assert_eq!(
        answer["not_before_ms"].as_i64(),
        Some(opening),
        "Window={window}: {answer:#}"
    );
    let timer = format!("podup-task-{id}.timer");
    let timers = p.bed.timers();
    assert!(timers.contains(&timer), "list-timers shows {timer}:\n{timers}");
    shout(&format!(
        "Window={window}: scheduled {:.1} s ahead, {timer} listed",
        (opening - now_ms()) as f64 / 1000.0
    ));
    p.unchanged_until("app", v1, id, "scheduled", opening - 2_000);

    let t = p.wait_end(id, Duration::from_millis((opening - now_ms()).max(0) as u64) + DEPLOY);
    assert_eq!(p.status_of(id), ("succeeded".into(), "ok".into()), "{t:#}");
    let started = t["task"]["started_ms"].as_i64().unwrap();
    assert!(
        started >= opening,
        "started {} ms before the window opened",
        opening - started
    );
    shout(&format!(
        "Window=: the timer started the task {:.1} s after the opening",
        (started - opening) as f64 / 1000.0
    ));
    assert_eq!(p.bed.running_digest("app"), v2);
    assert_eq!(p.bed.version_in("app"), "v2");
    let gone = wait_until(Duration::from_secs(30), || !p.bed.timers().contains(&timer));
    assert!(gone, "{timer} is gone once it fired:\n{}", p.bed.timers());
}

on_kinds!(min_age_defers);
/// `MinAge=30s`: a delivery is scheduled 30 s after podup first heard of the digest, nothing
/// moves until then, and then it deploys. A newer digest delivered while one waits
/// supersedes it and waits its own 30 s; the superseded digest never runs.
fn min_age_defers() {
    const MIN_AGE_MS: i64 = 30_000;
    let Some((p, services)) = policy_bed("policy-min-age", VERIFY_SECS, &[("app", "acme/app", "MinAge=30s")]) else {
        return;
    };
    let (app, v1) = &services[0];
    let v2 = p.bed.push_image("acme/app", "v2", None);
    let sent = now_ms();
    let answer = p.deliver(app, &v2, "min-age-v2");
    let id = waiting_task(&answer, "scheduled");
    let due = answer["not_before_ms"].as_i64().unwrap();
    assert!(
        (sent + MIN_AGE_MS..=now_ms() + MIN_AGE_MS).contains(&due),
        "not before the delivery + 30 s: {answer:#}"
    );
    assert!(
        p.bed.timers().contains(&format!("podup-task-{id}.timer")),
        "{}",
        p.bed.timers()
    );
    p.unchanged_until("app", v1, id, "scheduled", due - 2_000);
    let t = p.wait_end(id, Duration::from_secs(10) + DEPLOY);
    assert_eq!(p.status_of(id), ("succeeded".into(), "ok".into()), "{t:#}");
    assert!(t["task"]["started_ms"].as_i64().unwrap() >= due, "{t:#}");
    assert_eq!(p.bed.running_digest("app"), v2);

    // Both pushed first, so that the second delivery surely comes before the first fires.
    let v3 = p.bed.push_image("acme/app", "v3", None);
    let v4 = p.bed.push_image("acme/app", "v4", None);
    let answer = p.deliver(app, &v3, "min-age-v3");
    let id3 = waiting_task(&answer, "scheduled");
    let due3 = answer["not_before_ms"].as_i64().unwrap();
    let sent4 = now_ms();
    let answer = p.deliver(app, &v4, "min-age-v4");
    let id4 = waiting_task(&answer, "scheduled");
    let due4 = answer["not_before_ms"].as_i64().unwrap();
    assert!(
        due4 >= sent4 + MIN_AGE_MS && due4 > due3,
        "v4 waits its own 30 s: {answer:#}"
    );
    let t = p.podup.task(id3);
    assert_eq!(p.status_of(id3), ("skipped".into(), "superseded".into()), "{t:#}");
    // v3's time passes, and it stays superseded: only v2 ran, then v4.
    p.unchanged_until("app", &v2, id4, "scheduled", (due3 + 3_000).min(due4 - 2_000));
    assert_eq!(p.status_of(id3).0, "skipped");
    let t = p.wait_end(id4, Duration::from_secs(10) + DEPLOY);
    assert_eq!(p.status_of(id4), ("succeeded".into(), "ok".into()), "{t:#}");
    assert_eq!(p.status_of(id3), ("skipped".into(), "superseded".into()));
    assert_eq!(p.bed.running_digest("app"), v4);
    let timers = p.bed.timers();
    for id in [id, id3, id4] {
        assert!(!timers.contains(&format!("podup-task-{id}.timer")), "{timers}");
    }
}

on_kinds!(timer_no_keeps_the_timer_job_off_the_unit);
/// Two units whose containers podman auto-update would update, one with `Timer=no`; both
/// have a new image. The timer job updates the other one and leaves the `Timer=no` one as
/// it was (same digest, same start time), and says so in its log.
fn timer_no_keeps_the_timer_job_off_the_unit() {
    let services = [("app", "acme/app", ""), ("kept", "acme/kept", "Timer=no")];
    let Some((p, services)) = policy_bed("policy-timer-no", VERIFY_SECS, &services) else {
        return;
    };
    let ((app, _), (kept, k1)) = (&services[0], &services[1]);
    let a2 = p.bed.push_image("acme/app", "v2", None);
    p.bed.push_image("acme/kept", "v2", None);
    let kept_started = p.bed.started_at("kept");
    let ok = p.run_timer_job(&[]);
    assert!(
        ok,
        "the timer job: {}",
        p.bed.unit_property("podup-auto-update.service", "Result")
    );
    // Whatever the job started has ended (a deploy it dispatched, a check's follow-up).
    let list = || p.podup.api("GET", "/api/v1/tasks?limit=50", "").body;
    let settled = wait_until(DEPLOY, || {
        list()["tasks"]
            .as_array()
            .is_some_and(|l| l.iter().all(|t| !OPEN.contains(&t["status"].as_str().unwrap_or(""))))
    });
    assert!(settled, "tasks still open: {:#}", list());
    assert_eq!(p.bed.running_digest("app"), a2, "{} took its new image", app.unit);
    assert_eq!(p.bed.version_in("app"), "v2");
    let touched: Vec<String> = list()["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["units"].to_string().contains(kept.unit.as_str()))
        .map(|t| format!("task {} {} by {}: {}", t["id"], t["kind"], t["caller"], t["status"]))
        .collect();
    assert_eq!(
        &p.bed.running_digest("kept"),
        k1,
        "{} keeps its image; tasks with it: {touched:#?}",
        kept.unit
    );
    assert_eq!(
        p.bed.started_at("kept"),
        kept_started,
        "{} was not restarted",
        kept.unit
    );
    // The timer task's log says why.
    let tasks = p.podup.api("GET", "/api/v1/tasks?kind=auto-update&limit=20", "").body;
    let said: Vec<String> = tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| p.podup.task(t["id"].as_i64().unwrap()))
        .flat_map(|t| t["logs"].as_array().cloned().unwrap_or_default())
        .filter(|l| l["unit"] == kept.unit.as_str())
        .filter_map(|l| l["message"].as_str().map(String::from))
        .collect();
    assert!(
        said.iter().any(|m| m.contains("Timer=no")),
        "the timer task's log names Timer=no for {}: {said:#?}",
        kept.unit
    );
}
