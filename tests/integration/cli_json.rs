//! `--json` on the command line prints the API's objects: each command runs against
//! the same state database as the API request it stands for, and the two answers,
//! parsed, must be equal. Also `podup services` (the table, `--names` for the shell
//! completions, with or without a state database) and the flags' errors.

use crate::support::*;
use serde_json::{Value, json};
use std::process::Output;

/// `podup ARGS`, which must succeed, its stdout parsed as JSON.
fn cli_json(podup: &Podup, args: &[&str]) -> Value {
    let out = podup.run(args);
    assert!(
        out.status.success(),
        "podup {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse(args, &out)
}

fn parse(args: &[&str], out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "podup {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The API's answer to `method path` with `body`, which must be 200.
fn api_json(server: &Server, token: &str, method: &str, path: &str, body: &str) -> Value {
    let r = call(server.addr, method, path, Some(token), body);
    assert_eq!(r.status, 200, "{method} {path}: {}", r.body);
    r.json()
}

/// A podup with an admin token, a published delivery whose deploy task of
/// `app.service` the worker has run to its end, and its server; the task's id.
fn with_history(name: &str) -> (Fakes, Podup, String, Server, i64) {
    let (fakes, podup) = setup(name, &[("PODUP_VERIFY_SECS", "1")]);
    let admin = podup.token("admin", "admin");
    let server = podup.serve(&[]);
    let r = published(server.addr, "cli-json-1");
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["task_id"].as_i64().expect("the delivery made a task");
    let db = podup.db_path();
    podup.run(&["run-task", &id.to_string(), "--db", db.to_str().unwrap()]);
    (fakes, podup, admin, server, id)
}

#[test]
fn tasks_and_task_json_are_the_apis_answers() {
    let (_fakes, podup, admin, server, id) = with_history("cli-json-tasks");
    // A second task, so that filters and pages choose.
    let out = podup.run(&["trigger", "other.service"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let task = cli_json(&podup, &["task", &id.to_string(), "--json"]);
    assert_eq!(
        task,
        api_json(&server, &admin, "GET", &format!("/api/v1/tasks/{id}"), "")
    );
    assert_eq!(task["task"]["id"], id, "{task:#}");
    assert!(
        !task["logs"].as_array().unwrap().is_empty() && !task["events"].as_array().unwrap().is_empty(),
        "the worker logged and the delivery is linked: {task:#}"
    );
    let all = cli_json(&podup, &["tasks", "--json"]);
    assert_eq!(all, api_json(&server, &admin, "GET", "/api/v1/tasks", ""));
    assert_eq!(all["tasks"].as_array().unwrap().len(), 2, "{all:#}");
    for (args, query) in [
        (&["--limit", "1"][..], "?limit=1"),
        (&["--status", "pending"], "?status=pending"),
        (&["--status", "pending", "--limit", "1"], "?status=pending&limit=1"),
    ] {
        let cli = cli_json(&podup, &[&["tasks", "--json"][..], args].concat());
        let api = api_json(&server, &admin, "GET", &format!("/api/v1/tasks{query}"), "");
        assert_eq!(cli, api, "{args:?}");
    }
    assert!(
        cli_json(&podup, &["tasks", "--json", "--limit", "1"])["next_before"].is_i64(),
        "a full page names the next"
    );
    let missing = podup.run(&["task", "999", "--json"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(missing.stdout.is_empty());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("there is no task 999"));
}

#[test]
fn services_json_is_the_apis_answer_and_the_table_and_names_show_it() {
    let (_fakes, podup, admin, server, id) = with_history("cli-json-services");
    let cli = cli_json(&podup, &["services", "--json"]);
    assert_eq!(cli, api_json(&server, &admin, "GET", "/api/v1/services", ""));
    let app = &cli["services"][0];
    assert_eq!(
        (app["unit"].as_str(), app["last_task"]["id"].as_i64()),
        (Some("app.service"), Some(id))
    );
    let names = podup.run(&["services", "--names"]);
    assert!(names.status.success() && names.stderr.is_empty(), "{names:?}");
    assert_eq!(String::from_utf8(names.stdout).unwrap(), "app.service\nother.service\n");
    let table = podup.run(&["services"]);
    assert!(table.status.success());
    let text = String::from_utf8(table.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("UNIT") && lines[0].contains("RUNNING"), "{text}");
    assert!(
        lines[1].starts_with("app.service") && lines[1].contains(IMAGE) && lines[1].contains("auto"),
        "{text}"
    );
    assert!(lines[2].starts_with("other.service"), "{text}");
}

#[test]
fn services_before_the_state_database_exists() {
    let (_fakes, podup) = setup("cli-json-fresh", &[]);
    let names = podup.run(&["services", "--names"]);
    assert_eq!(
        names.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&names.stderr)
    );
    assert_eq!(String::from_utf8(names.stdout).unwrap(), "app.service\nother.service\n");
    assert!(names.stderr.is_empty(), "{}", String::from_utf8_lossy(&names.stderr));
    assert!(!podup.db_path().exists(), "a completion creates no state database");
    // Discovery on, and still no database: the declared services.
    let names = podup.run(&["services", "--names", "--discover"]);
    assert_eq!(String::from_utf8(names.stdout).unwrap(), "app.service\nother.service\n");
    assert!(!podup.db_path().exists());
    let table = podup.run(&["services"]);
    assert_eq!(
        table.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&table.stderr)
    );
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("app.service") && text.contains("other.service"), "{text}");
}

#[test]
fn discover_json_is_the_apis_answer() {
    let fakes = Fakes::new();
    let home = TempDir::new("cli-json-discover-home");
    let quadlets = home.path().join("containers/systemd");
    std::fs::create_dir_all(&quadlets).unwrap();
    std::fs::write(
        quadlets.join("web.container"),
        "[Container]\nImage=ghcr.io/acme/web:stable\nAutoUpdate=registry\n",
    )
    .unwrap();
    let podup = Podup::new("cli-json-discover")
        .env("PATH", &fakes.path_env())
        .env("FAKE_DIR", fakes.dir().to_str().unwrap())
        .env("PODUP_SYSTEMD_SCOPE", "user")
        .env("XDG_CONFIG_HOME", home.path().to_str().unwrap())
        .env("PODUP_AUTO_DISCOVER", "1")
        .env("PODUP_SERVICES", "declared.service=ghcr.io/acme/declared:1");
    fakes.answer("podman", 0, "[]", "");
    let admin = podup.token("admin", "admin");
    let server = podup.serve(&[]);
    let mut cli = cli_json(&podup, &["discover", "--json"]);
    let mut api = api_json(&server, &admin, "POST", "/api/v1/discover", "");
    // How long the scan took is the one value two runs cannot share.
    for v in [&mut cli, &mut api] {
        assert!(v["report"]["elapsed_ms"].is_u64(), "{v:#}");
        v["report"]["elapsed_ms"] = json!(0);
    }
    assert_eq!(cli, api);
    assert_eq!(cli["enabled"], true);
    assert_eq!(cli["report"]["found"][0]["unit"], "web.service", "{cli:#}");
    // What discovery stored is what `services` lists, with `--names` too.
    assert_eq!(
        cli_json(&podup, &["services", "--json"]),
        api_json(&server, &admin, "GET", "/api/v1/services", "")
    );
    let names = podup.run(&["services", "--names"]);
    assert_eq!(
        String::from_utf8(names.stdout).unwrap(),
        "declared.service\nweb.service\n"
    );
}

/// A copy of `podup`'s state database (the server stopped) in a new podup with the same
/// configuration: two states the same, for a command that changes what it reads.
fn twin(podup: &Podup, name: &str, fakes: &Fakes) -> Podup {
    let (_, copy) = setup(name, &[]);
    let copy = copy
        .env("PATH", &fakes.path_env())
        .env("FAKE_DIR", fakes.dir().to_str().unwrap());
    std::fs::create_dir_all(copy.db_path().parent().unwrap()).unwrap();
    // The server has ended: its WAL is checkpointed into the file; copy whatever is left.
    for ext in ["", "-wal"] {
        let from = format!("{}{ext}", podup.db_path().display());
        if std::path::Path::new(&from).exists() {
            std::fs::copy(&from, format!("{}{ext}", copy.db_path().display())).unwrap();
        }
    }
    copy
}

#[test]
fn prune_json_is_the_apis_answer_dry_run_and_not() {
    let (fakes, podup, admin, server, _id) = with_history("cli-json-prune");
    drop(server);
    // Everything so far is older than a second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    for dry_run in [true, false] {
        let copy = twin(&podup, &format!("cli-json-prune-{dry_run}"), &fakes);
        let server = copy.serve(&[]);
        let mut args = vec!["prune", "--json", "--older-than", "1s"];
        if dry_run {
            args.push("--dry-run");
        }
        let mut cli = cli_json(&podup, &args);
        let body = json!({"dry_run": dry_run, "older_than": "1s"}).to_string();
        let mut api = api_json(&server, &admin, "POST", "/api/v1/maintenance/prune", &body);
        // The file's size on disk depends on when SQLite checkpointed its WAL in each
        // process: the one field that is not a fact about the rows.
        for v in [&mut cli, &mut api] {
            assert!(v["db_size_bytes"].as_u64().is_some_and(|n| n > 0), "{v:#}");
            v["db_size_bytes"] = json!(0);
        }
        assert_eq!(cli, api, "dry_run {dry_run}");
        assert_eq!(cli["dry_run"], dry_run);
        assert!(cli["counts"]["events"].as_i64().unwrap() > 0, "{cli:#}");
        assert!(cli["counts"]["tasks"].as_i64().unwrap() > 0, "{cli:#}");
        assert_eq!(cli["task_id"].is_null(), dry_run, "{cli:#}");
    }
}

#[test]
fn token_list_json_shows_each_token_without_its_secret() {
    let (_fakes, podup) = setup("cli-json-tokens", &[]);
    let admin = podup.token("admin", "admin");
    let viewer = podup.token("viewer", "read");
    let server = podup.serve(&[]);
    api_json(&server, &admin, "GET", "/api/v1/tasks", "");
    let out = podup.run(&["token", "list", "--json"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let conn = rusqlite::Connection::open(podup.db_path()).unwrap();
    let mut st = conn
        .prepare("SELECT name, role, created_ms, last_used_ms, hash FROM tokens ORDER BY name")
        .unwrap();
    let rows: Vec<(String, String, i64, Option<i64>, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for secret in [&admin, &viewer]
        .into_iter()
        .cloned()
        .chain(rows.iter().map(|r| r.4.clone()))
    {
        assert!(!text.contains(&secret), "a token or its hash is printed: {text}");
    }
    let want: Vec<Value> = rows
        .iter()
        .map(|(name, role, created, last, _)| json!({"name": name, "role": role, "created_ms": created, "last_used_ms": last}))
        .collect();
    let got = parse(&["token", "list", "--json"], &out);
    let mut listed = got["tokens"].as_array().unwrap().clone();
    listed.sort_by_key(|t| t["name"].as_str().unwrap().to_string());
    assert_eq!(listed, want);
    assert!(want[0]["last_used_ms"].is_i64(), "admin was used: {got:#}");
}

#[test]
fn check_json_has_one_object_per_check_as_the_text_lists_them() {
    let (_fakes, podup) = setup("cli-json-check", &[]);
    podup.token("admin", "admin");
    let text = podup.run(&["check"]);
    let out = podup.run(&["check", "--json"]);
    assert_eq!(out.status.code(), text.status.code(), "the same verdict");
    let v = parse(&["check", "--json"], &out);
    let checks = v["checks"].as_array().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    let names: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("ok ") || l.starts_with("FAIL "))
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    let json_names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(json_names, names);
    for c in checks {
        let keys: Vec<&String> = c.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["detail", "fix", "name", "ok"], "{c:#}");
        assert_eq!(c["fix"].is_null(), c["ok"] == true, "a fix only for a failure: {c:#}");
    }
    let failed = checks.iter().filter(|c| c["ok"] == false).count();
    assert_eq!(v["failed"], failed);
    assert!(
        text.contains(&format!("{} check(s), {failed} failed", checks.len())),
        "{text}"
    );
}

#[test]
fn notify_list_json_is_the_apis_answer() {
    let (_fakes, podup, admin, server, _id) = with_history("cli-json-notify");
    assert_eq!(
        cli_json(&podup, &["notify", "list", "--json"]),
        api_json(&server, &admin, "GET", "/api/v1/notify", "")
    );
}

#[test]
fn a_bad_flag_is_named_and_json_stays_where_it_belongs() {
    let (_fakes, podup) = setup("cli-json-flags", &[]);
    for (args, needle) in [
        (&["tasks", "--jsno"][..], "tasks: Unrecognized option: 'jsno'"),
        (&["services", "--name"], "services: Unrecognized option: 'name'"),
        (&["services", "--names", "--json"], "services: --names and --json"),
        (&["task", "stop", "3", "--json"], "task: --json shows a task"),
        (
            &["token", "add", "x", "--role", "read", "--json"],
            "token: --json goes with 'list'",
        ),
        (
            &["prune", "--json", "--older-than", "soon"],
            "--older-than: expected a duration",
        ),
    ] {
        let out = podup.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn json_into_a_closed_pipe_ends_quietly() {
    let (_fakes, podup) = setup("cli-json-pipe", &[]);
    podup.token("admin", "admin");
    let mut child = podup
        .command(&["services", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}
