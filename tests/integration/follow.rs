//! A deploy that `Follow=` moves to a new tag (`UnitSpec::retag`), run as the worker
//! (`podup run-task`) with recording fakes: the Quadlet drop-in podup writes and takes
//! back, the daemon-reloads around it, the pull by digest and the new tag, and the unit
//! row's words. The fake `systemctl restart` starts whatever the drop-in names, as
//! Quadlet would after a daemon-reload.

use crate::support::*;
use serde_json::json;
use std::path::{Path, PathBuf};

const UNIT: &str = "app.service";
const OLD_REF: &str = "ghcr.io/acme/app:1.4.2";
const NEW_REF: &str = "ghcr.io/acme/app:1.5.0";
const NEW_DIGEST: &str = "sha256:5555555555555555555555555555555555555555555555555555555555555555";
const OLD_ID: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const NEW_ID: &str = "2222222222222222222222222222222222222222222222222222222222222222";

/// A user-scope podup whose Quadlet directory holds `app.container` on 1.4.2, with fakes
/// answering for the old container; `new_state` is the state the new image's container
/// reaches (`running`, or `exited` for an image that does not come up).
fn bed(name: &str, new_state: &str) -> (Fakes, Podup, PathBuf) {
    let fakes = Fakes::new();
    let podup = Podup::new(name);
    let config = podup.state.path().join("config");
    let quadlet = config.join("containers/systemd");
    std::fs::create_dir_all(&quadlet).unwrap();
    std::fs::write(quadlet.join("app.container"), format!("[Container]\nImage={OLD_REF}\n")).unwrap();
    let podup = podup
        .env("PATH", &fakes.path_env())
        .env("FAKE_DIR", fakes.dir().to_str().unwrap())
        .env("PODUP_SYSTEMD_SCOPE", "user")
        .env("XDG_CONFIG_HOME", config.to_str().unwrap())
        .env("PODUP_VERIFY_SECS", "1")
        .env("PODUP_SERVICES", &format!("{UNIT}={OLD_REF}"));
    let dropin = quadlet.join("app.container.d/90-podup-image.conf");
    let ps = |id: &str, state: &str| {
        json!([{"Id": format!("c-{}", &id[..4]), "Names": ["app"], "Image": "x", "ImageID": id,
                "State": state, "Labels": {"PODMAN_SYSTEMD_UNIT": UNIT}}])
        .to_string()
    };
    std::fs::write(fakes.dir().join("ps-old.json"), ps(OLD_ID, "running")).unwrap();
    std::fs::write(fakes.dir().join("ps-new.json"), ps(NEW_ID, new_state)).unwrap();
    std::fs::copy(fakes.dir().join("ps-old.json"), fakes.dir().join("podman.ps.stdout")).unwrap();
    fakes.before(
        "systemctl",
        &format!(
            "if [ \"$2\" = restart ]; then\n  if grep -qx 'Image={NEW_REF}' '{}' 2>/dev/null; then w=new; else w=old; fi\n  \
             cp \"$FAKE_DIR/ps-$w.json\" \"$FAKE_DIR/podman.ps.stdout\"\nfi",
            dropin.display()
        ),
    );
    let inspect = json!([{"Image": OLD_ID, "ImageName": OLD_REF, "ImageDigest": "sha256:1111"}]).to_string();
    fakes.answer_args("podman", &["inspect"], 0, &inspect, "");
    fakes.answer_args("podman", &["pull"], 0, &format!("{NEW_ID}\n"), "");
    let show = "LoadState=loaded\nActiveState=active\nSubState=running\nResult=success\nMainPID=7\n\
                NRestarts=0\nInvocationID=abc\nActiveEnterTimestampMonotonic=1\n";
    fakes.answer_args("systemctl", &["--user", "show"], 0, show, "");
    (fakes, podup, dropin)
}

/// A deploy task of `unit` whose spec moves it to `retag` at `NEW_DIGEST`, run to its
/// end by the worker; its id.
fn deploy(podup: &Podup, unit: &str, retag: &str) -> i64 {
    let id = planned(podup, unit, retag);
    let db = podup.db_path();
    podup.run(&["run-task", &id.to_string(), "--db", db.to_str().unwrap()]);
    id
}

/// The task `deploy` runs, created but not run; its id.
fn planned(podup: &Podup, unit: &str, retag: &str) -> i64 {
    let out = podup.run(&["trigger", unit]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let id: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let spec = json!({"units": [{"unit": unit, "image": OLD_REF, "digest": NEW_DIGEST, "retag": retag}],
                      "scope": "user", "verify_secs": 1, "dry_run": false, "mode": "deploy"});
    let conn = rusqlite::Connection::open(podup.db_path()).unwrap();
    conn.execute(
        "UPDATE tasks SET spec = ?1 WHERE id = ?2",
        rusqlite::params![spec.to_string(), id],
    )
    .unwrap();
    id
}

/// The task's status and the unit row's status, reason-bearing message.
fn outcome(db: &Path, id: i64) -> (String, String, String) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT t.status, u.status, coalesce(u.message, '') FROM tasks t JOIN task_units u ON u.task_id = t.id
         WHERE t.id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

/// What the worker told systemctl and podman to change, in order (queries left out).
fn changes(fakes: &Fakes) -> Vec<String> {
    fakes
        .calls()
        .into_iter()
        .filter(|c| {
            let verb = c.get(1).map(String::as_str).unwrap_or("");
            let words = if verb == "--user" { &c[2..] } else { &c[1..] };
            matches!(
                (c[0].as_str(), words.first().map(String::as_str)),
                ("systemctl", Some("daemon-reload" | "restart" | "reset-failed")) | ("podman", Some("pull" | "tag"))
            )
        })
        .map(|c| c.join(" "))
        .collect()
}

#[test]
fn a_unit_moves_to_the_new_tag_through_a_dropin_and_a_daemon_reload() {
    let (fakes, podup, dropin) = bed("follow-moves", "running");
    let id = deploy(&podup, UNIT, NEW_REF);
    let (task, unit, message) = outcome(&podup.db_path(), id);
    assert_eq!((task.as_str(), unit.as_str()), ("succeeded", "succeeded"), "{message}");
    assert!(
        message.starts_with("moved 1.4.2 → 1.5.0; runs sha256:5555"),
        "{message}"
    );
    assert_eq!(
        changes(&fakes),
        [
            format!("podman pull -q ghcr.io/acme/app@{NEW_DIGEST}"),
            format!("podman tag {NEW_ID} {NEW_REF}"),
            "systemctl --user daemon-reload".to_string(),
            format!("systemctl --user restart {UNIT}"),
        ]
    );
    let text = std::fs::read_to_string(&dropin).unwrap();
    assert!(text.starts_with("# Written by podup for Follow=:"), "{text}");
    assert!(text.ends_with(&format!("[Container]\nImage={NEW_REF}\n")), "{text}");
}

#[test]
fn a_new_tag_that_fails_verification_is_rolled_back_and_its_dropin_removed() {
    let (fakes, podup, dropin) = bed("follow-rollback", "exited");
    let id = deploy(&podup, UNIT, NEW_REF);
    let (task, unit, message) = outcome(&podup.db_path(), id);
    assert_eq!(
        (task.as_str(), unit.as_str()),
        ("rolled_back", "rolled_back"),
        "{message}"
    );
    assert!(message.contains("runs no container"), "{message}");
    assert!(
        message.ends_with(&format!("which runs; back on {OLD_REF}")),
        "{message}"
    );
    assert_eq!(
        changes(&fakes),
        [
            format!("podman pull -q ghcr.io/acme/app@{NEW_DIGEST}"),
            format!("podman tag {NEW_ID} {NEW_REF}"),
            "systemctl --user daemon-reload".to_string(),
            format!("systemctl --user restart {UNIT}"),
            // The rollback: the drop-in goes, the manager reloads, the old tag stays on the old image.
            "systemctl --user daemon-reload".to_string(),
            format!("podman tag {OLD_ID} {OLD_REF}"),
            format!("systemctl --user reset-failed {UNIT}"),
            format!("systemctl --user restart {UNIT}"),
        ]
    );
    assert!(!dropin.exists(), "the drop-in is removed");
    assert!(!dropin.parent().unwrap().exists(), "and the .d podup made for it");
}

#[test]
fn a_plain_unit_without_an_owned_environment_file_is_refused_before_anything_runs() {
    let (fakes, podup, _) = bed("follow-refused", "running");
    let podup = podup.env("PODUP_SERVICES", &format!("{UNIT}={OLD_REF}, plain.service={OLD_REF}"));
    let id = deploy(&podup, "plain.service", NEW_REF);
    let (task, unit, message) = outcome(&podup.db_path(), id);
    assert_eq!((task.as_str(), unit.as_str()), ("failed", "failed"), "{message}");
    let expected = podup.state.path().join("config/podup/images/plain.service.env");
    assert_eq!(
        message,
        format!(
            "Follow= on a plain unit needs its image in an environment file podup owns ({}); 'plain.service' has none",
            expected.display()
        )
    );
    let conn = rusqlite::Connection::open(podup.db_path()).unwrap();
    let reason: String = conn
        .query_row("SELECT reason FROM tasks WHERE id = ?1", [id], |r| r.get(0))
        .unwrap();
    assert_eq!(reason, "follow_refused");
    assert!(changes(&fakes).is_empty(), "{:?}", fakes.calls());
    assert!(fakes.calls_of("podman").is_empty(), "not even an inspect");
}

#[test]
fn another_repository_is_not_a_new_tag() {
    let (fakes, podup, dropin) = bed("follow-other-repo", "running");
    let id = deploy(&podup, UNIT, "ghcr.io/acme/other:1.5.0");
    let (_, unit, message) = outcome(&podup.db_path(), id);
    assert_eq!(unit, "failed", "{message}");
    assert!(message.contains("is not a tag of 'ghcr.io/acme/app'"), "{message}");
    assert!(changes(&fakes).is_empty() && !dropin.exists());
}

#[test]
fn a_worker_lost_after_the_dropin_is_recovered_on_the_old_tag() {
    let (fakes, podup, dropin) = bed("follow-lost", "running");
    let id = planned(&podup, UNIT, NEW_REF);
    let pauses = podup.state.path().join("pauses");
    std::fs::create_dir_all(&pauses).unwrap();
    let db = podup.db_path();
    let mut worker = podup
        .command(&["run-task", &id.to_string(), "--db", db.to_str().unwrap()])
        .env("PODUP_TEST_PAUSE_AT", "restarting")
        .env("PODUP_TEST_PAUSE_DIR", pauses.to_str().unwrap())
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let paused = pauses.join(format!("task-{id}.restarting"));
    assert!(
        wait_until(std::time::Duration::from_secs(30), || paused.exists()),
        "the worker never paused"
    );
    assert!(
        std::fs::read_to_string(&dropin)
            .unwrap()
            .contains(&format!("Image={NEW_REF}"))
    );
    worker.kill().unwrap();
    worker.wait().unwrap();
    // Its transient unit is gone, as systemd says of a killed worker's unit.
    let systemctl = fakes.dir().join("systemctl");
    let script = std::fs::read_to_string(&systemctl).unwrap().replacen(
        "#!/bin/sh\n",
        "#!/bin/sh\ncase \"$*\" in *show*podup-task-*) printf 'LoadState=not-found\\nActiveState=inactive\\nSubState=dead\\nResult=success\\nMainPID=0\\nNRestarts=0\\nInvocationID=\\nActiveEnterTimestampMonotonic=0\\n'; exit 0;; esac\n",
        1,
    );
    std::fs::write(&systemctl, script).unwrap();
    // What runs is still the old container; the drop-in names the new tag: a restart now
    // would start 1.5.0 unverified. Recovery points the drop-in back first.
    let out = podup.run(&["recover"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&dropin).unwrap_or_default();
    assert!(!text.contains(&format!("Image={NEW_REF}")), "{text}");
    let reloads = changes(&fakes).iter().filter(|c| c.contains("daemon-reload")).count();
    assert!(reloads >= 2, "written, then pointed back: {:?}", changes(&fakes));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let line: String = conn
        .query_row(
            "SELECT message FROM task_logs WHERE step = 'recover' AND message LIKE '%names%again%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(line.contains(OLD_REF), "{line}");
}
