//! `MinAge=` and `Window=`: a delivery makes a `scheduled` task whose worker a transient
//! timer starts at its time (`systemd-run --on-calendar=`); a newer image supersedes it;
//! a stop cancels it; the timer job leaves a `Timer=no` unit alone.

use super::*;

/// The `--on-calendar=` value of `systemd-run`'s call for task `id`.
fn calendar_of(fakes: &Fakes, id: i64) -> String {
    let runs = fakes.calls_of("systemd-run");
    let run = runs
        .iter()
        .find(|r| r.contains(&format!("--unit=podup-task-{id}.service")))
        .unwrap_or_else(|| panic!("no systemd-run for task {id}: {runs:?}"));
    assert!(run.contains(&"--timer-property=AccuracySec=1s".to_string()), "{run:?}");
    run.iter()
        .find_map(|a| a.strip_prefix("--on-calendar="))
        .unwrap_or_else(|| panic!("no timer: {run:?}"))
        .to_string()
}

/// `YYYY-MM-DD HH:MM:SS UTC` of epoch ms, by `date` (an independent computation).
fn utc(ms: i64) -> String {
    let secs = (ms + 999) / 1000;
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%d %H:%M:%S UTC"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn a_young_image_is_scheduled_and_a_newer_digest_supersedes_it() {
    let (fakes, podup) = with_policy("pol-minage", "[app.service]\nMinAge=1h\n", &[]);
    let admin = podup.token("ops", "admin");
    let server = podup.serve(&[]);
    let before = now_ms();
    let r = published(server.addr, "age-1");
    assert_eq!(r.status, 202, "{}", r.body);
    let v = r.json();
    assert_eq!(v["status"], "scheduled", "{v}");
    let (id, at) = (v["task_id"].as_i64().unwrap(), v["not_before_ms"].as_i64().unwrap());
    assert!((before + 3_600_000..=now_ms() + 3_600_000).contains(&at), "{v}");
    assert_eq!(calendar_of(&fakes, id), utc(at));
    assert_eq!(task(server.addr, &admin, id)["status"], "scheduled");

    // The same digest again joins it; a newer one supersedes it and waits its own hour.
    let r = published_again(server.addr, "age-2");
    assert_eq!(
        (r.json()["status"].as_str(), r.json()["task_id"].as_i64()),
        (Some("joined"), Some(id)),
        "{}",
        r.body
    );
    let newer = "sha256:".to_string() + &"b".repeat(64);
    let r = published_digest(server.addr, "age-3", &newer);
    let v = r.json();
    assert_eq!(v["status"], "scheduled", "{v}");
    let second = v["task_id"].as_i64().unwrap();
    let t = task(server.addr, &admin, id);
    assert_eq!(
        (t["status"].as_str(), t["reason"].as_str()),
        (Some("skipped"), Some("superseded"))
    );
    assert!(
        t["message"].as_str().unwrap().contains(&format!("task {second}")),
        "{t}"
    );
    assert!(
        v["not_before_ms"].as_i64().unwrap() >= at,
        "a newer digest restarts the clock"
    );

    // A stop cancels what waits.
    let r = call(
        server.addr,
        "POST",
        &format!("/api/v1/tasks/{second}/stop"),
        Some(&admin),
        "",
    );
    assert_eq!(
        (r.status, r.json()["status"].as_str()),
        (200, Some("cancelled")),
        "{}",
        r.body
    );
}

#[test]
fn a_closed_window_schedules_its_opening() {
    // A window that opens two hours from now (UTC) and lasts one.
    let now = now_ms();
    let open_min = ((now / 60_000) + 120) % 1440;
    let hm = |m: i64| format!("{:02}:{:02}", m / 60, m % 60);
    let window = format!("{}-{} TZ=UTC", hm(open_min), hm((open_min + 60) % 1440));
    let ini = format!("[app.service]\nWindow={window}\n");
    let (fakes, podup) = with_policy("pol-window", &ini, &[]);
    let server = podup.serve(&[]);
    let v = published(server.addr, "win-1").json();
    assert_eq!(v["status"], "scheduled", "{v}");
    let at = v["not_before_ms"].as_i64().unwrap();
    let opening = (now / 60_000 + 120) * 60_000;
    assert_eq!(at, opening, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains(&format!("Window={window}")),
        "{v}"
    );
    assert_eq!(calendar_of(&fakes, v["task_id"].as_i64().unwrap()), utc(at));
}

#[test]
fn the_timer_job_leaves_a_timer_no_unit_alone() {
    let (fakes, podup) = with_policy("pol-timer", "[container-app.service]\nTimer=no\n", &[]);
    // podman answers the dry run with the unit pending; a real run would be recorded.
    let pending = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/podman/auto-update-dry-run-pending.json"
    ))
    .unwrap();
    std::fs::write(fakes.dir().join("dry-run.json"), pending).unwrap();
    let script = "#!/bin/sh\n\
        { printf '%s' podman; for a in \"$@\"; do printf '\\t%s' \"$a\"; done; printf '\\n'; } >> \"$FAKE_DIR/calls.log\"\n\
        case \"$*\" in *auto-update*--dry-run*) cat \"$FAKE_DIR/dry-run.json\" ;; *auto-update*) echo '[]' ;; esac\n\
        exit 0\n";
    let podman = fakes.dir().join("podman");
    std::fs::write(&podman, script).unwrap();
    let out = podup.command(&["auto-update", "--caller", "timer"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let runs: Vec<Vec<String>> = fakes
        .calls_of("podman")
        .into_iter()
        .filter(|c| c.get(1).map(String::as_str) == Some("auto-update"))
        .collect();
    assert_eq!(runs.len(), 1, "only the dry run: {runs:?}");
    assert!(runs[0].contains(&"--dry-run".to_string()), "{runs:?}");
    let conn = rusqlite::Connection::open(podup.db_path()).unwrap();
    let line: String = conn
        .query_row(
            "SELECT message FROM task_logs WHERE step = 'policy' AND unit = 'container-app.service'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(line.contains("Timer=no"), "{line}");
}
