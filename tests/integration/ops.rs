//! Operations: discovery from Quadlet files, `podup check`, prune (CLI and API,
//! dry run first), webhook status and deploy locks.

use crate::support::*;

#[test]
fn discovery_finds_marked_quadlet_files_and_honours_exclude() {
    let fakes = Fakes::new();
    let home = TempDir::new("discover-home");
    let quadlets = home.path().join("containers/systemd");
    std::fs::create_dir_all(quadlets.join("web.container.d")).unwrap();
    std::fs::write(
        quadlets.join("web.container"),
        "[Container]\nImage=ghcr.io/acme/web:stable\n",
    )
    .unwrap();
    std::fs::write(
        quadlets.join("web.container.d/auto.conf"),
        "[Container]\nAutoUpdate=registry\n",
    )
    .unwrap();
    std::fs::write(
        quadlets.join("db.container"),
        "[Unit]\nX-PodUp-Webhook=yes\n[Container]\nImage=docker.io/library/postgres:16\n",
    )
    .unwrap();
    std::fs::write(
        quadlets.join("skip.container"),
        "[Unit]\nX-PodUp-Webhook=no\n[Container]\nImage=x.io/a/b:1\nAutoUpdate=registry\n",
    )
    .unwrap();
    let podup = Podup::new("discover")
        .env("PATH", &fakes.path_env())
        .env("FAKE_DIR", fakes.dir().to_str().unwrap())
        .env("PODUP_SYSTEMD_SCOPE", "user")
        .env("XDG_CONFIG_HOME", home.path().to_str().unwrap())
        .env("PODUP_AUTO_DISCOVER", "1")
        .env("PODUP_EXCLUDE", "db.service")
        .env("PODUP_SERVICES", "declared.service=ghcr.io/acme/declared:1");
    fakes.answer("podman", 0, "[]", "");
    let out = podup.run(&["discover"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("web.service") && text.contains("ghcr.io/acme/web:stable"),
        "{text}"
    );
    assert!(text.contains("db.service") && text.contains("excluded"), "{text}");
    assert!(!text.contains("skip.service"), "{text}");
    let t = podup.token("admin", "admin");
    let server = podup.serve(&[]);
    let r = call(server.addr, "GET", "/api/v1/services", Some(&t), "");
    let v = r.json();
    assert_eq!(
        v["counts"],
        serde_json::json!({"declared": 1, "discovered": 1}),
        "{v:#}"
    );
    let web = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["unit"] == "web.service")
        .unwrap()
        .clone();
    assert_eq!(
        (web["source"].as_str(), web["image"].as_str()),
        (Some("discovered"), Some("ghcr.io/acme/web:stable"))
    );
    // A discovered unit can be updated like a declared one; an excluded one cannot.
    assert_eq!(
        call(server.addr, "POST", "/api/v1/services/web.service/update", Some(&t), "").status,
        202
    );
    assert_eq!(
        call(server.addr, "POST", "/api/v1/services/db.service/update", Some(&t), "").status,
        404
    );
    let r = call(server.addr, "POST", "/api/v1/discover", Some(&t), "");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["report"]["found"].as_array().unwrap().len(), 1);
    // Without PODUP_AUTO_DISCOVER, --discover turns discovery on for one command.
    let off = podup.env("PODUP_AUTO_DISCOVER", "0");
    let out = off.run(&["trigger", "web.service", "--dry-run"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a discovered unit is not used with discovery off"
    );
    let out = off.run(&["trigger", "web.service", "--dry-run", "--discover"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn check_prints_a_verdict_and_fix_per_check_and_fails_when_one_fails() {
    let (fakes, podup) = setup("check", &[]);
    // systemctl answers for a loaded, active unit; is-enabled says disabled.
    fakes.answer("systemctl", 0, "LoadState=loaded\nActiveState=active\nSubState=running\nResult=success\nMainPID=1\nNRestarts=0\nInvocationID=x\nActiveEnterTimestampMonotonic=1\n", "");
    fakes.answer("podman", 0, "[]", "");
    let out = podup.run(&["check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ok    state-database"), "{text}");
    assert!(text.contains("ok    webhook-secret"), "{text}");
    assert!(
        text.contains("FAIL  api-tokens") && text.contains("fix: podup token add"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(1));
    podup.token("admin", "admin");
    let text = String::from_utf8_lossy(&podup.run(&["check"]).stdout).to_string();
    assert!(text.contains("ok    api-tokens"), "{text}");
    assert!(!text.contains(SECRET), "no secret is printed");
}

#[test]
fn prune_dry_run_counts_then_removes_as_a_maintenance_task() {
    let (_fakes, podup) = setup("prune", &[]);
    let t = podup.token("admin", "admin");
    let server = podup.serve(&[]);
    for _ in 0..5 {
        get(server.addr, "/health");
    }
    let conn = rusqlite::Connection::open(&server.db).unwrap();
    conn.execute("UPDATE event_log SET ts_ms = 1000", []).unwrap();
    let out = podup.run(&["prune", "--dry-run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("would remove: 5 events"), "{text}");
    assert_eq!(event_count(&server.db), 5, "a dry run removes nothing");
    let r = call(
        server.addr,
        "POST",
        "/api/v1/maintenance/prune",
        Some(&t),
        r#"{"dry_run": true}"#,
    );
    assert_eq!(r.json()["counts"]["events"], 5, "{}", r.body);
    let r = call(server.addr, "POST", "/api/v1/maintenance/prune", Some(&t), "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["counts"]["events"], 5);
    let id = r.json()["task_id"].as_i64().unwrap();
    let task = call(server.addr, "GET", &format!("/api/v1/tasks/{id}"), Some(&t), "").json();
    assert_eq!(
        (task["task"]["kind"].as_str(), task["task"]["status"].as_str()),
        (Some("maintenance"), Some("succeeded"))
    );
    assert!(task["task"]["message"].as_str().unwrap().contains("removed 5 events"));
    let r = call(
        server.addr,
        "POST",
        "/api/v1/maintenance/prune",
        Some(&t),
        r#"{"older_than": "soon"}"#,
    );
    assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("invalid_duration")));
    let out = podup.run(&["prune", "--older-than", "ten"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--older-than"));
}

#[test]
fn webhook_status_and_locks() {
    let (_fakes, podup) = setup("ops-status", &[("PODUP_PUBLIC_URL", "https://t")]);
    let t = podup.token("admin", "admin");
    let server = podup.serve(&[]);
    let body = fixture("package.published.container-tagged.json");
    let sig = sign(SECRET, &body);
    let raw = |sig: &str| {
        let head = format!(
            "POST /hooks/github HTTP/1.1\r\nHost: t\r\nX-GitHub-Event: package\r\nX-GitHub-Delivery: s1\r\nX-Hub-Signature-256: {sig}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        [head.into_bytes(), body.clone()].concat()
    };
    assert_eq!(exchange(server.addr, &raw(&sig)).status, 202);
    assert_eq!(exchange(server.addr, &raw("sha256=00")).status, 401);
    let v = call(server.addr, "GET", "/api/v1/webhooks/status", Some(&t), "").json();
    let app = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["unit"] == "app.service")
        .unwrap()
        .clone();
    assert_eq!(app["url"], "https://t/hooks/github/app.service");
    assert_eq!(app["secret_set"], true);
    assert_eq!(app["last_success"]["verdict"], "accepted", "{app:#}");
    assert_eq!(v["last_delivery"]["verdict"], "rejected", "{v:#}");
    let conn = rusqlite::Connection::open(&server.db).unwrap();
    conn.execute(
        "INSERT INTO unit_locks (unit, task_id, acquired_ms) VALUES ('app.service', 1, 0)",
        [],
    )
    .unwrap();
    let v = call(server.addr, "GET", "/api/v1/locks", Some(&t), "").json();
    assert_eq!(v["locks"][0]["unit"], "app.service", "{v:#}");
    assert!(
        v["rate_limits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["key"].as_str().unwrap().starts_with("image:"))
    );
    assert_eq!(
        call(server.addr, "DELETE", "/api/v1/locks/app.service", Some(&t), "").status,
        200
    );
    assert_eq!(
        call(server.addr, "DELETE", "/api/v1/locks/app.service", Some(&t), "").status,
        404
    );
}
