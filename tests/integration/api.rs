//! The JSON API and CLI for non-GitHub callers, with recording fakes: tokens and
//! roles, dry-run plans, updates of one service and of all, the update-all limit,
//! task listing filters, and stop / force-stop / retry.

use crate::support::*;

#[test]
fn token_roles_decide_who_may_do_what() {
    let (_fakes, podup) = setup("api-roles", &[]);
    let admin = podup.token("admin", "admin");
    let trigger = podup.token("ci", "trigger");
    let read = podup.token("viewer", "read");
    let server = podup.serve(&[]);
    let cases = [
        ("GET", "/api/v1/tasks", None, 401, "missing_credentials"),
        ("GET", "/api/v1/tasks", Some("podup_not-a-token"), 401, "invalid_token"),
        ("GET", "/api/v1/tasks", Some(trigger.as_str()), 403, "forbidden"),
        ("GET", "/api/v1/tasks", Some(read.as_str()), 200, ""),
        ("GET", "/api/v1/tasks", Some(admin.as_str()), 200, ""),
        (
            "POST",
            "/api/v1/services/app.service/update",
            Some(read.as_str()),
            403,
            "forbidden",
        ),
        ("POST", "/api/v1/tasks/1/stop", Some(trigger.as_str()), 403, "forbidden"),
    ];
    for (method, path, tok, status, code) in cases {
        let r = call(server.addr, method, path, tok, "");
        assert_eq!(r.status, status, "{method} {path} {tok:?}: {}", r.body);
        if !code.is_empty() {
            assert_eq!(r.json()["error"], code);
        }
    }
    let listed = podup.run(&["token", "list"]);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains("ci") && text.contains("trigger") && !text.contains(&trigger),
        "{text}"
    );
    assert!(podup.run(&["token", "revoke", "ci"]).status.success());
    assert_eq!(
        call(server.addr, "POST", "/api/v1/update-all", Some(&trigger), "").status,
        401
    );
    let rows = events(&server.db);
    assert!(
        rows.iter().all(|r| !r.1.contains("podup_")),
        "tokens never reach the event log"
    );
}

#[test]
fn dry_run_answers_the_plan_and_dispatches_nothing() {
    let (fakes, podup) = setup("api-dry", &[]);
    let t = podup.token("ci", "trigger");
    let server = podup.serve(&[]);
    let body = format!(r#"{{"digest": "{DIGEST}", "dry_run": true, "caller": "chatops"}}"#);
    let r = call(
        server.addr,
        "POST",
        "/api/v1/services/app.service/update",
        Some(&t),
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let plan = &r.json()["plan"][0];
    assert_eq!(plan["unit"], "app.service");
    let commands: Vec<String> = plan["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c.as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert!(
        commands
            .iter()
            .any(|c| c == &format!("podman pull -q ghcr.io/codertocat/hello-world@{DIGEST}")),
        "{commands:#?}"
    );
    assert!(
        commands.iter().any(|c| c == "systemctl restart app.service"),
        "{commands:#?}"
    );
    let r = call(
        server.addr,
        "POST",
        "/api/v1/update-all",
        Some(&t),
        r#"{"dry_run": true}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["plan"].as_array().unwrap().len(), 2);
    assert!(fakes.calls_of("systemd-run").is_empty());
    let conn = rusqlite::Connection::open(&server.db).unwrap();
    assert_eq!(
        conn.query_row::<i64, _, _>("SELECT count(*) FROM tasks", [], |r| r.get(0))
            .unwrap(),
        0
    );
}

#[test]
fn update_one_service_and_bad_requests() {
    let (fakes, podup) = setup("api-update", &[]);
    let t = podup.token("ci", "trigger");
    let server = podup.serve(&[]);
    let r = call(
        server.addr,
        "POST",
        "/api/v1/services/app.service/update",
        Some(&t),
        r#"{"tag": "v2", "caller": "bot", "reason": "release"}"#,
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["task_id"].as_i64().unwrap();
    assert_eq!(r.json()["status_url"], format!("/api/v1/tasks/{id}"));
    assert_eq!(fakes.calls_of("systemd-run").len(), 1);
    let conn = rusqlite::Connection::open(&server.db).unwrap();
    let (kind, caller, reason, image): (String, String, String, String) = conn
        .query_row("SELECT t.kind, t.caller, t.trigger_reason, u.image FROM tasks t JOIN task_units u ON u.task_id = t.id WHERE t.id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap();
    assert_eq!(kind, "manual");
    assert_eq!(caller, "ci (bot)", "the token's name, and what the caller said");
    assert_eq!(reason, "release");
    assert_eq!(image, IMAGE.replace("v1.2.3", "v2"));
    for (path, body, status, code) in [
        ("/api/v1/services/nope.service/update", "{}", 404, "unknown_service"),
        ("/api/v1/services/app.service/update", "{bad json", 400, "invalid_json"),
        (
            "/api/v1/services/app.service/update",
            r#"{"image": "docker.io/other/repo:1"}"#,
            400,
            "other_repository",
        ),
        (
            "/api/v1/services/app.service/update",
            r#"{"digest": "sha256:abc"}"#,
            400,
            "invalid_digest",
        ),
        (
            "/api/v1/services/app.service/update",
            r#"{"surprise": 1}"#,
            400,
            "invalid_json",
        ),
        ("/api/v1/services/app.service/update?wait=61", "{}", 400, "invalid_wait"),
    ] {
        let r = call(server.addr, "POST", path, Some(&t), body);
        assert_eq!(
            (r.status, r.json()["error"].as_str()),
            (status, Some(code)),
            "{path} {body}"
        );
    }
}

#[test]
fn update_all_is_rate_limited_with_retry_after() {
    let (fakes, podup) = setup("api-all", &[]);
    let t = podup.token("ci", "trigger");
    let server = podup.serve(&[]);
    for _ in 0..2 {
        assert_eq!(
            call(server.addr, "POST", "/api/v1/update-all", Some(&t), "").status,
            202
        );
    }
    let r = call(server.addr, "POST", "/api/v1/update-all", Some(&t), "");
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (429, Some("update_all_rate_limited")),
        "{}",
        r.body
    );
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() > 500);
    assert_eq!(r.json()["limit"], "2/10m");
    assert_eq!(fakes.calls_of("systemd-run").len(), 2);
    let conn = rusqlite::Connection::open(&server.db).unwrap();
    let units: String = conn
        .query_row("SELECT units_text FROM tasks ORDER BY id LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(units, "app.service other.service");
}

#[test]
fn task_list_filters_and_pages() {
    let (_fakes, podup) = setup("api-list", &[]);
    let admin = podup.token("admin", "admin");
    let server = podup.serve(&[]);
    for _ in 0..3 {
        assert_eq!(
            call(
                server.addr,
                "POST",
                "/api/v1/services/app.service/update",
                Some(&admin),
                ""
            )
            .status,
            202
        );
    }
    assert_eq!(
        call(
            server.addr,
            "POST",
            "/api/v1/services/other.service/update",
            Some(&admin),
            ""
        )
        .status,
        202
    );
    let list = |q: &str| call(server.addr, "GET", &format!("/api/v1/tasks{q}"), Some(&admin), "").json();
    assert_eq!(list("")["tasks"].as_array().unwrap().len(), 4);
    assert_eq!(list("?unit=other")["tasks"].as_array().unwrap().len(), 1);
    assert_eq!(list("?category=manual")["tasks"].as_array().unwrap().len(), 4);
    assert_eq!(list("?category=webhook")["tasks"].as_array().unwrap().len(), 0);
    let page = list("?limit=3");
    assert_eq!(page["tasks"].as_array().unwrap().len(), 3);
    let next = page["next_before"].as_i64().unwrap();
    assert_eq!(
        list(&format!("?limit=3&before={next}"))["tasks"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let r = call(server.addr, "GET", "/api/v1/tasks?status=bogus", Some(&admin), "");
    assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("invalid_filter")));
    let r = call(server.addr, "GET", "/api/v1/tasks/999", Some(&admin), "");
    assert_eq!(r.status, 404);
}

#[test]
fn stop_force_stop_and_retry_use_systemctl_and_respect_the_status_machine() {
    let (fakes, podup) = setup("api-stop", &[]);
    let admin = podup.token("admin", "admin");
    let server = podup.serve(&[]);
    let id = call(
        server.addr,
        "POST",
        "/api/v1/services/app.service/update",
        Some(&admin),
        "",
    )
    .json()["task_id"]
        .as_i64()
        .unwrap();
    let r = call(
        server.addr,
        "POST",
        &format!("/api/v1/tasks/{id}/retry"),
        Some(&admin),
        "",
    );
    assert_eq!((r.status, r.json()["error"].as_str()), (409, Some("task_not_ended")));
    let r = call(
        server.addr,
        "POST",
        &format!("/api/v1/tasks/{id}/force-stop"),
        Some(&admin),
        "",
    );
    assert_eq!(
        (r.status, r.json()["status"].as_str()),
        (200, Some("failed")),
        "{}",
        r.body
    );
    let kill = format!("systemctl\tkill\t--signal=SIGKILL\tpodup-task-{id}.service");
    let calls: Vec<String> = fakes.calls_of("systemctl").iter().map(|c| c.join("\t")).collect();
    assert!(calls.contains(&kill), "{calls:#?}");
    let r = call(
        server.addr,
        "POST",
        &format!("/api/v1/tasks/{id}/stop"),
        Some(&admin),
        "",
    );
    assert_eq!(
        (r.status, r.json()["changed"].as_bool()),
        (200, Some(false)),
        "a terminal task is left alone"
    );
    let r = call(
        server.addr,
        "POST",
        &format!("/api/v1/tasks/{id}/retry"),
        Some(&admin),
        "",
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let new_id = r.json()["task_id"].as_i64().unwrap();
    let detail = call(server.addr, "GET", &format!("/api/v1/tasks/{new_id}"), Some(&admin), "").json();
    assert_eq!(detail["task"]["retry_of"].as_i64(), Some(id));
    let old = call(server.addr, "GET", &format!("/api/v1/tasks/{id}"), Some(&admin), "").json();
    assert_eq!(
        (old["task"]["status"].as_str(), old["task"]["reason"].as_str()),
        (Some("failed"), Some("killed"))
    );
    // Every request about the task links it: create, the refused retry, force-stop, stop.
    let linked = old["events"].as_array().unwrap();
    assert_eq!(linked.len(), 4, "{linked:?}");
    assert_eq!(
        linked[0]["action"], "update_service",
        "the creating request comes first"
    );
    // The CLI goes through the same code.
    let out = podup.run(&["task", "stop", &new_id.to_string()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stop = format!("systemctl\tstop\tpodup-task-{new_id}.service");
    assert!(fakes.calls_of("systemctl").iter().any(|c| c.join("\t") == stop));
}

#[test]
fn cli_trigger_creates_the_same_task_without_http() {
    let (fakes, podup) = setup("cli-trigger", &[]);
    let out = podup.run(&["trigger", "app.service", "--caller", "deploy-bot", "--reason", "hotfix"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let id: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let argv = &fakes.calls_of("systemd-run")[0];
    assert!(argv.contains(&format!("--unit=podup-task-{id}.service")));
    let out = podup.run(&["trigger", "--all", "--dry-run"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("systemctl"));
    let out = podup.run(&["trigger", "nope.service"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.service"));
    let out = podup.run(&["trigger"]);
    assert_eq!(out.status.code(), Some(2));
    let out = podup.run(&["tasks"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("deploy-bot"));
}

#[test]
fn wait_answers_the_task_as_it_is_when_the_time_is_up() {
    let (_fakes, podup) = setup("api-wait", &[]);
    let t = podup.token("ci", "trigger");
    let server = podup.serve(&[]);
    let start = std::time::Instant::now();
    // The fake systemd-run starts no worker: the task stays pending.
    let r = call(
        server.addr,
        "POST",
        "/api/v1/services/app.service/update?wait=1",
        Some(&t),
        "",
    );
    assert!(start.elapsed() >= std::time::Duration::from_secs(1));
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.json()["task"]["status"], "pending");
    assert_eq!(r.json()["units"][0]["unit"], "app.service");
}
