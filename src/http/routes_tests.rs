//! The route table as the router uses it: each row's guard, 404 and 405 as before,
//! and no two rows for one method and path.

use super::*;
use crate::auth::tokens::{self, Role};
use crate::clock::now_ms;
use crate::config::Config;
use crate::host::Host;
use crate::host::{Programs, Scope};
use crate::store::Db;
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// A state directory of its own, a database with one read and one admin token.
struct World {
    config: Config,
    db: Db,
    host: Host,
    read: String,
    admin: String,
}

fn world() -> World {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "podup-routes-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = Config::from_pairs(&[("PODUP_STATE_DIR", dir.to_str().unwrap())], 0).unwrap();
    let mut db = Db::open(&config.db_path());
    let conn = db.get().unwrap();
    let read = tokens::add(conn, "reader", Role::Read, now_ms()).unwrap();
    let admin = tokens::add(conn, "boss", Role::Admin, now_ms()).unwrap();
    let host = Host::with_env(Scope::User, Programs::default(), Vec::new());
    World {
        config,
        db,
        host,
        read,
        admin,
    }
}

fn send(w: &mut World, method: &str, path: &str, token: Option<&str>) -> (Response, Option<String>) {
    let mut headers = vec![("host".to_string(), "127.0.0.1:8777".to_string())];
    if let Some(t) = token {
        headers.push(("authorization".into(), format!("Bearer {t}")));
    }
    let req = Request {
        method: method.into(),
        target: path.into(),
        path: path.into(),
        query: String::new(),
        headers,
        body: Vec::new(),
        keep_alive: false,
    };
    let mut ctx = Ctx {
        config: &w.config,
        started: Instant::now(),
        db: &mut w.db,
        host: &w.host,
        exe: Path::new("/usr/bin/podup"),
        request_id: "test",
        client_ip: "127.0.0.1".into(),
        authenticated: false,
        identity: None,
    };
    let r = handle(&mut ctx, &req);
    (r, ctx.identity)
}

fn body(r: &Response) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
    r.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
}

/// A path that matches `pattern`, with `{id}` a task id and other names a word.
fn path_of(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|s| match s {
            "{id}" => "1",
            s if s.starts_with('{') => "app.service",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn an_admin_route_refuses_a_read_token_with_the_same_403() {
    let mut w = world();
    let (read, admin) = (w.read.clone(), w.admin.clone());
    let admin_rows: Vec<&Route> = ROUTES.iter().filter(|r| r.guard == Role(Admin)).collect();
    assert!(
        admin_rows.len() >= 6,
        "stop, force-stop, retry, locks, discover, prune, test"
    );
    for row in admin_rows {
        let (r, identity) = send(&mut w, row.method, &path_of(row.pattern), Some(&read));
        assert_eq!(
            (r.status, r.action, r.reason),
            (403, row.action, "forbidden"),
            "{}",
            row.pattern
        );
        assert_eq!(
            String::from_utf8(r.body.clone()).unwrap(),
            "{\"error\":\"forbidden\",\"message\":\"a 'read' token may not do this; it needs the Admin right\"}\n"
        );
        assert!(
            !r.auth_failed && identity.is_none(),
            "a wrong role is no failed credential"
        );
    }
    // The read rows let it through, and the context names who it was.
    for row in ROUTES.iter().filter(|r| r.guard == Role(Read)) {
        let (r, identity) = send(&mut w, row.method, &path_of(row.pattern), Some(&read));
        assert_ne!(r.status, 403, "{} {}", row.method, row.pattern);
        assert_ne!(r.status, 401, "{} {}", row.method, row.pattern);
        assert_eq!(identity.as_deref(), Some("reader"), "{}", row.pattern);
    }
    // A trigger route refuses a read token too, and an admin token passes.
    let (r, _) = send(&mut w, "POST", "/api/v1/update-all", Some(&read));
    assert_eq!(
        (r.status, body(&r)["message"].as_str()),
        (403, Some("a 'read' token may not do this; it needs the Trigger right"))
    );
    let (r, identity) = send(&mut w, "POST", "/api/v1/tasks/99/stop", Some(&admin));
    assert_eq!(
        (r.status, r.reason, identity.as_deref()),
        (404, "unknown_task", Some("boss"))
    );
}

#[test]
fn no_credential_is_401_and_a_wrong_one_is_counted() {
    let mut w = world();
    let (r, _) = send(&mut w, "GET", "/api/v1/tasks", None);
    assert_eq!(
        (r.status, r.action, r.reason, r.auth_failed),
        (401, "list_tasks", "missing_credentials", false)
    );
    let (r, _) = send(&mut w, "GET", "/api/v1/tasks", Some("not-a-token"));
    assert_eq!((r.status, r.reason, r.auth_failed), (401, "invalid_token", true));
}

#[test]
fn another_method_is_405_with_allow_only_where_it_was() {
    let mut w = world();
    for (method, path, action, allow) in [
        ("PUT", "/api/v1/session", "session", "GET, POST, DELETE"),
        ("DELETE", "/health", "health", "GET, HEAD"),
        ("GET", "/hooks/github", "github_webhook", "POST"),
        ("POST", "/hooks/github/a/b", "github_webhook", "POST"),
    ] {
        let (r, _) = send(&mut w, method, path, None);
        assert_eq!(
            (r.status, r.action, r.reason),
            (405, action, "method_not_allowed"),
            "{method} {path}"
        );
        assert_eq!(header(&r, "Allow"), Some(allow), "{method} {path}");
        assert_eq!(body(&r)["message"], format!("this route accepts {allow}"));
    }
    for (method, path) in [
        ("PUT", "/api/v1/tasks"),
        ("HEAD", "/api/v1/tasks"),
        ("GET", "/health/"),
        ("POST", "/api/v1/tasks/1/kill"),
    ] {
        let (r, _) = send(&mut w, method, path, None);
        assert_eq!(
            (r.status, r.action, r.reason),
            (404, "not_found", "unknown_route"),
            "{method} {path}"
        );
        assert_eq!(body(&r)["message"], format!("there is no route for {method} '{path}'"));
    }
    // A task id that is none is 404 before any credential is asked for.
    let (r, _) = send(&mut w, "POST", "/api/v1/tasks/x/stop", None);
    assert_eq!((r.status, r.action, r.reason), (404, "get_task", "unknown_task"));
}

#[test]
fn the_table_has_one_row_per_method_and_path() {
    for (i, a) in ROUTES.iter().enumerate() {
        for b in &ROUTES[i + 1..] {
            assert!(
                !(a.method == b.method && segments(a.pattern) == segments(b.pattern)),
                "{} {} twice",
                a.method,
                a.pattern
            );
        }
    }
    // Each 405 path names exactly the methods the table has under it.
    for (pattern, action, allow) in NOT_ALLOWED {
        let prefix = pattern.trim_end_matches("/**");
        let methods: Vec<&str> = ROUTES
            .iter()
            .filter(|r| r.pattern == prefix || (pattern.ends_with("/**") && r.pattern.starts_with(prefix)))
            .map(|r| r.method)
            .fold(Vec::new(), |mut v, m| {
                if !v.contains(&m) {
                    v.push(m);
                }
                v
            });
        assert_eq!(methods.join(", "), *allow, "{pattern}");
        assert!(ROUTES.iter().any(|r| r.action == *action), "{pattern}");
    }
}

#[test]
fn deprecated_routes_name_their_successor() {
    let mut w = world();
    let read = w.read.clone();
    for (path, successor) in [
        ("/api/v1/locks", "/api/v1/maintenance"),
        ("/api/v1/webhooks/status", "/api/v1/webhooks"),
    ] {
        let (r, _) = send(&mut w, "GET", path, Some(&read));
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(header(&r, "Deprecation"), Some(crate::http::answer::DEPRECATED_AT));
        assert_eq!(
            header(&r, "Link"),
            Some(format!("<{successor}>; rel=\"successor-version\"").as_str())
        );
        let (r, _) = send(&mut w, "GET", successor, Some(&read));
        assert_eq!((r.status, header(&r, "Deprecation")), (200, None), "{successor}");
    }
}
