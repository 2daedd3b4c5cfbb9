//! The golden replay: one server, one recorded sequence of requests (a webhook, its
//! duplicate, updates, stop, force-stop, retry, list pages, the panel's session and
//! pages, the usual refusals), then every table of the database. The answers and the
//! rows must stay byte-identical to `tests/fixtures/golden/replay.txt`, recorded on the
//! code before the redesign of issue 18, apart from the few values that differ between
//! any two runs (the `Normalizer` below names each one).
//!
//! `PODUP_GOLDEN=record cargo test --test integration golden` rewrites the fixture.

use crate::support::*;
use hmac::{Hmac, KeyInit, Mac};
use rusqlite::types::ValueRef;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/golden/replay.txt");
const GITHUB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/github");
const WEB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/web");
const SECRET: &str = "the golden replay secret";
const IMAGE: &str = "ghcr.io/codertocat/hello-world:v1.2.3";

/// `systemd-run` that records its argv like the other fakes and, while the file
/// `run-workers` exists, runs the task's worker (the argv's last five words:
/// `<podup> run-task <id> --db <path>`) to its end before returning, in an environment
/// without the server's socket-activation variables. The worker has ended before the
/// request that dispatched it is answered, so every later answer sees the same state.
const SYSTEMD_RUN: &str = r#"#!/bin/sh
{ printf '%s' systemd-run; for a in "$@"; do printf '\t%s' "$a"; done; printf '\n'; } >> "$FAKE_DIR/calls.log"
if [ -f "$FAKE_DIR/run-workers" ]; then
    while [ $# -gt 5 ]; do shift; done
    env -u LISTEN_FDS -u LISTEN_PID -u LISTEN_FDNAMES "$@" >> "$FAKE_DIR/worker.log" 2>&1
fi
exit 0
"#;

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// Whether the fake `systemd-run` runs the workers it is handed.
fn run_workers(fakes: &Fakes, on: bool) {
    let gate = fakes.dir().join("run-workers");
    if on {
        std::fs::write(gate, "").unwrap();
    } else {
        let _ = std::fs::remove_file(gate);
    }
}

/// JSON keys whose values differ between runs. Each is replaced by `<key>` wherever it
/// appears (answers and JSON stored in the database); `null` stays `null`.
const VARYING_KEYS: &[&str] = &[
    // Wall-clock times (epoch ms).
    "ts_ms",
    "created_ms",
    "started_ms",
    "finished_ms",
    "updated_ms",
    "expires_ms",
    "acquired_ms",
    "oldest_ms",
    "newest_ms",
    "last_ms",
    "now_ms",
    "since_ms",
    "oldest_event_ms",
    "oldest_task_ms",
    // Elapsed times.
    "duration_ms",
    "elapsed_ms",
    "uptime_secs",
    "age_ms",
    // The state database's size on disk: how much is in the WAL, and so in the main
    // file, depends on when SQLite's checkpoints ran (a loaded machine moves them).
    "wal_bytes",
    "size_bytes",
    // Random per request or per session.
    "request_id",
    "csrf_token",
];

/// Database columns whose values differ between runs (`table.column`, `*` any table).
const VARYING_COLUMNS: &[&str] = &[
    // Wall-clock times and elapsed times.
    "*.ts_ms",
    "*.created_ms",
    "*.started_ms",
    "*.finished_ms",
    "*.updated_ms",
    "*.expires_ms",
    "*.acquired_ms",
    "*.last_used_ms",
    "*.duration_ms",
    "*.received_ms",
    "*.first_seen_ms",
    "*.last_seen_ms",
    // Random: request ids, token and session hashes.
    "*.request_id",
    "tokens.hash",
    "sessions.hash",
    // A task of several units deploys them in parallel: each unit's lines keep their
    // order, but how they interleave with other units' varies (`ORDERED_BY`).
    "task_logs.id",
];

/// Tables whose rows are dumped in an order of their own rather than by key.
const ORDERED_BY: &[(&str, &str)] = &[("task_logs", "task_id, coalesce(unit, ''), id")];

/// What varies between runs, and how each is written in the record.
struct Normalizer {
    /// Exact strings (temp dirs, this binary's path) and their stand-ins.
    paths: Vec<(String, String)>,
}

impl Normalizer {
    /// Temp paths first by length, so a longer one is replaced before a prefix of it.
    fn new(mut paths: Vec<(String, String)>) -> Normalizer {
        paths.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        Normalizer { paths }
    }

    /// Plain text: the temp paths, and
    fn text(&self, s: &str) -> String {
        let mut out = s.to_string();
        for (p, stand_in) in &self.paths {
            out = out.replace(p.as_str(), stand_in);
        }
        // the session cookie's random value (`podup_session=s_...`),
        let out = replace_after(&out, "podup_session=", |c| c != ';' && !c.is_whitespace(), "<cookie>");
        // the random delivery id of `POST /api/v1/webhooks/test`,
        let out = replace_after(&out, "podup-test-", |c| c.is_ascii_hexdigit(), "<random>");
        // the client's port (the event log's `remote_addr`; every request is from loopback),
        let out = replace_after(&out, "127.0.0.1:", |c| c.is_ascii_digit(), "<port>");
        // and how long a command took in the task log's "ran podman (exit 0, 12 ms)".
        replace_before(&out, " ms)", ", ", |c| c.is_ascii_digit(), "<n>")
    }

    /// A JSON text: `text`, then the values of `VARYING_KEYS`.
    fn json(&self, s: &str) -> String {
        let mut out = self.text(s);
        for key in VARYING_KEYS {
            out = replace_json_values(&out, key);
        }
        out
    }
}

/// Replaces every run of characters satisfying `keep` that follows `marker`.
fn replace_after(s: &str, marker: &str, keep: impl Fn(char) -> bool, stand_in: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(marker) {
        out.push_str(&rest[..i + marker.len()]);
        rest = &rest[i + marker.len()..];
        let end = rest.find(|c| !keep(c)).unwrap_or(rest.len());
        if end > 0 {
            out.push_str(stand_in);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Replaces every run of characters satisfying `keep` between `before` and `marker`
/// (`, 12 ms)` with `before` = ", " and `marker` = " ms)").
fn replace_before(s: &str, marker: &str, before: &str, keep: impl Fn(char) -> bool, stand_in: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(marker) {
        let head = &rest[..i];
        let start = head.trim_end_matches(&keep).len();
        if start < i && head[..start].ends_with(before) {
            out.push_str(&head[..start]);
            out.push_str(stand_in);
        } else {
            out.push_str(head);
        }
        out.push_str(marker);
        rest = &rest[i + marker.len()..];
    }
    out.push_str(rest);
    out
}

/// In compact or pretty JSON text, the value of every `"key":` that is a number or a
/// string becomes `"<key>"` (`null`, objects and arrays are kept).
fn replace_json_values(s: &str, key: &str) -> String {
    let marker = format!("\"{key}\":");
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(&marker) {
        out.push_str(&rest[..i + marker.len()]);
        rest = &rest[i + marker.len()..];
        let spaces = rest.len() - rest.trim_start_matches(' ').len();
        out.push_str(&rest[..spaces]);
        rest = &rest[spaces..];
        let end = if rest.starts_with('"') {
            string_end(rest)
        } else {
            rest.find(|c: char| !(c.is_ascii_digit() || "-+.eE".contains(c)))
                .unwrap_or(rest.len())
        };
        if end > 0 {
            out.push_str(&format!("\"<{key}>\""));
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The byte length of the JSON string `s` starts with, quotes included.
fn string_end(s: &str) -> usize {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return i + 1,
            _ => {}
        }
    }
    s.len()
}

/// Compact JSON text laid out one value per line, keeping every byte of it otherwise
/// (the key order and each scalar's text as sent).
fn layout(json: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut chars = json.char_indices().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let end = i + string_end(&json[i..]);
                out.push_str(&json[i..end]);
                while chars.peek().is_some_and(|(j, _)| *j < end) {
                    chars.next();
                }
            }
            '{' | '[' => {
                out.push(c);
                let empty = chars.peek().is_some_and(|(_, n)| matches!(n, '}' | ']'));
                if !empty {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                if !(out.ends_with('{') || out.ends_with('[')) {
                    depth = depth.saturating_sub(1);
                    newline(&mut out, depth);
                }
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The sequence's record, one request at a time.
struct Replay<'a> {
    addr: std::net::SocketAddr,
    norm: &'a Normalizer,
    out: String,
}

/// Response headers left out of the record: they differ on every request.
const VARYING_HEADERS: &[&str] = &["date", "x-request-id"];

impl Replay<'_> {
    /// Sends one request (`Host: t`, `extra` header lines) and records its answer;
    /// `hash_body` records the body's SHA-256 and length instead of its bytes.
    fn send(&mut self, method: &str, target: &str, extra: &[(&str, &str)], body: &[u8], hash_body: bool) -> Resp {
        let mut raw = format!("{method} {target} HTTP/1.1\r\nHost: t\r\n");
        for (k, v) in extra {
            raw += &format!("{k}: {v}\r\n");
        }
        if !body.is_empty() {
            raw += &format!("Content-Length: {}\r\n", body.len());
        }
        raw += "\r\n";
        let mut bytes = raw.into_bytes();
        bytes.extend_from_slice(body);
        let r = exchange(self.addr, &bytes);
        self.record(method, target, &r, hash_body);
        r
    }

    fn record(&mut self, method: &str, target: &str, r: &Resp, hash_body: bool) {
        let body = if hash_body {
            let digest = Sha256::digest(r.body.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("<{} bytes, sha256 {hex}>", r.body.len())
        } else if r.body.starts_with('{') || r.body.starts_with('[') {
            layout(&self.norm.json(&r.body))
        } else {
            self.norm.text(&r.body)
        };
        // The length changes with the normalized values; it is compared when none was.
        let normalized = !hash_body && self.norm.json(&r.body) != r.body;
        let _ = writeln!(self.out, "=== {method} {target}");
        let mut lines = r.head.lines();
        let _ = writeln!(self.out, "{}", lines.next().unwrap_or(""));
        for line in lines {
            let name = line.split(':').next().unwrap_or("").trim().to_ascii_lowercase();
            if VARYING_HEADERS.contains(&name.as_str()) {
                continue;
            }
            if name == "content-length" && normalized {
                let _ = writeln!(self.out, "Content-Length: <varies with the normalized values>");
                continue;
            }
            let _ = writeln!(self.out, "{}", self.norm.text(line));
        }
        let _ = writeln!(self.out, "\n{body}\n");
    }

    fn get(&mut self, target: &str, token: &str) -> Resp {
        let auth = format!("Bearer {token}");
        self.send("GET", target, &[("Authorization", &auth)], b"", false)
    }

    fn post(&mut self, target: &str, token: &str, body: &str) -> Resp {
        let auth = format!("Bearer {token}");
        let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
        self.send("POST", target, &headers, body.as_bytes(), false)
    }

    fn delivery(&mut self, delivery: &str, body: &[u8], signature: &str) -> Resp {
        let headers = [
            ("Content-Type", "application/json"),
            ("X-GitHub-Event", "package"),
            ("X-GitHub-Delivery", delivery),
            ("X-Hub-Signature-256", signature),
        ];
        self.send("POST", "/hooks/github", &headers, body, false)
    }
}

fn task_id(r: &Resp) -> i64 {
    r.json()["task_id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no task_id: {}", r.body))
}

/// Every table but SQLite's own, every column, rows by primary key (by rowid without one).
fn dump(db: &Path, norm: &Normalizer) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut out = String::new();
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    let _ = writeln!(out, "### PRAGMA user_version = {version}\n");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for table in tables {
        let mut columns = Vec::new();
        let mut keys = Vec::new();
        let mut info = conn.prepare(&format!("PRAGMA table_info(\"{table}\")")).unwrap();
        let rows = info
            .query_map([], |r| Ok((r.get::<_, String>(1)?, r.get::<_, i64>(5)?)))
            .unwrap();
        for row in rows {
            let (name, pk) = row.unwrap();
            if pk > 0 {
                keys.push((pk, format!("\"{name}\"")));
            }
            columns.push(name);
        }
        keys.sort();
        let order = if let Some((_, o)) = ORDERED_BY.iter().find(|(t, _)| *t == table) {
            o.to_string()
        } else if keys.is_empty() {
            "rowid".to_string()
        } else {
            keys.into_iter().map(|(_, k)| k).collect::<Vec<_>>().join(", ")
        };
        let _ = writeln!(out, "### table {table} ({})", columns.join(", "));
        let mut st = conn
            .prepare(&format!("SELECT * FROM \"{table}\" ORDER BY {order}"))
            .unwrap();
        let mut rows = st.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            let _ = writeln!(out, "-");
            for (i, column) in columns.iter().enumerate() {
                let varies = VARYING_COLUMNS
                    .iter()
                    .any(|c| *c == format!("{table}.{column}") || *c == format!("*.{column}"));
                let value = match row.get_ref(i).unwrap() {
                    ValueRef::Null => "NULL".to_string(),
                    _ if varies => format!("<{column}>"),
                    ValueRef::Integer(n) => n.to_string(),
                    ValueRef::Real(f) => format!("{f:?}"),
                    ValueRef::Text(t) => format!("{:?}", norm.json(&String::from_utf8_lossy(t))),
                    ValueRef::Blob(b) => format!("x'{}'", b.iter().map(|b| format!("{b:02x}")).collect::<String>()),
                };
                let _ = writeln!(out, "  {column} = {value}");
            }
        }
        out.push('\n');
    }
    out
}

/// The first differing lines of `want` and `got`, with the lines before them: line
/// by line, `-` the fixture's, `+` this run's (an inserted line shifts the rest).
fn diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let len = w.len().max(g.len());
    let differs = |i: usize| w.get(i) != g.get(i);
    let Some(first) = (0..len).find(|&i| differs(i)) else {
        return "(no line differs)".into();
    };
    let mut out = format!("first difference at line {}:\n", first + 1);
    for line in &w[first.saturating_sub(6)..first] {
        let _ = writeln!(out, "    {line}");
    }
    for i in first..(first + 12).min(len) {
        match (w.get(i), g.get(i)) {
            (Some(a), Some(b)) if a == b => {
                let _ = writeln!(out, "    {a}");
            }
            (a, b) => {
                if let Some(a) = a {
                    let _ = writeln!(out, "  - {a}");
                }
                if let Some(b) = b {
                    let _ = writeln!(out, "  + {b}");
                }
            }
        }
    }
    let count = (0..len).filter(|&i| differs(i)).count();
    let _ = write!(
        out,
        "({count} of {len} lines differ; the fixture has {}, this run {})",
        w.len(),
        g.len()
    );
    out
}

/// The panel's files below `web/` but `index.html`, sorted.
fn panel_files(dir: &Path, base: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            panel_files(&path, base, out);
        } else if path.file_name().is_some_and(|n| n != "index.html") {
            out.push(path.strip_prefix(base).unwrap().display().to_string());
        }
    }
    out.sort();
}

#[test]
fn golden_replay_answers_and_rows_are_unchanged() {
    let fakes = Fakes::new();
    let fake_run = fakes.dir().join("systemd-run");
    std::fs::write(&fake_run, SYSTEMD_RUN).unwrap();
    // ghcr.io is blocked: update-all's check before its pulls fails the same way on any
    // machine, without a request.
    let p = Podup::new("golden");
    let conf = p.state.path().join("registries.conf");
    std::fs::write(&conf, "[[registry]]\nlocation = \"ghcr.io\"\nblocked = true\n").unwrap();
    let podup = p
        .env("CONTAINERS_REGISTRIES_CONF", conf.to_str().unwrap())
        .env("PATH", &fakes.path_env())
        .env("FAKE_DIR", fakes.dir().to_str().unwrap())
        .env("PODUP_GITHUB_SECRET", SECRET)
        .env("PODUP_SYSTEMD_SCOPE", "system")
        .env(
            "PODUP_SERVICES",
            &format!("app.service={IMAGE}, other.service=ghcr.io/acme/other:1"),
        );
    let admin = podup.token("admin", "admin");
    let trigger = podup.token("ci", "trigger");
    let read = podup.token("viewer", "read");
    let mut server = podup.serve(&[]);
    // Read the server's output as it comes, so that a full pipe never stalls it.
    let stderr = server.child.stderr.take().unwrap();
    let log = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let norm = Normalizer::new(vec![
        (podup.state.path().display().to_string(), "<STATE>".into()),
        (fakes.dir().display().to_string(), "<FAKES>".into()),
        (PODUP.to_string(), "<PODUP>".into()),
        (admin.clone(), "<admin token>".into()),
        (trigger.clone(), "<trigger token>".into()),
        (read.clone(), "<read token>".into()),
    ]);
    let mut r = Replay {
        addr: server.addr,
        norm: &norm,
        out: String::new(),
    };

    r.send("GET", "/health", &[], b"", false);

    // A webhook delivery creates task 1; its worker is not started, so it stays pending.
    run_workers(&fakes, false);
    let payload = std::fs::read(format!("{GITHUB}/package.published.container-tagged.json")).unwrap();
    let signature = sign(SECRET, &payload);
    let first = task_id(&r.delivery("golden-1", &payload, &signature));
    r.delivery("golden-1", &payload, &signature);
    r.delivery("golden-2", &payload, &sign("another secret", &payload));
    r.post(&format!("/api/v1/tasks/{first}/retry"), &admin, "");
    r.post(&format!("/api/v1/tasks/{first}/stop"), &admin, "");

    // From here on the workers run (and fail: the fake podman pulls nothing).
    run_workers(&fakes, true);
    let manual = task_id(&r.post(
        "/api/v1/services/app.service/update",
        &trigger,
        r#"{"caller": "golden", "reason": "replay"}"#,
    ));
    run_workers(&fakes, false);
    let killed = task_id(&r.post("/api/v1/services/other.service/update", &trigger, ""));
    r.post(&format!("/api/v1/tasks/{killed}/force-stop"), &admin, "");
    run_workers(&fakes, true);
    r.post("/api/v1/update-all", &trigger, r#"{"reason": "nightly"}"#);
    r.post(&format!("/api/v1/tasks/{first}/retry"), &admin, "");
    r.post(&format!("/api/v1/tasks/{manual}/stop"), &admin, "");
    r.post(&format!("/api/v1/tasks/{manual}/force-stop"), &admin, "");
    r.post(
        "/api/v1/services/app.service/update",
        &trigger,
        &format!(r#"{{"digest": "sha256:{}", "dry_run": true}}"#, "a".repeat(64)),
    );

    // Lists, pages, filters.
    let page = r.get("/api/v1/tasks?limit=2", &read).json();
    let next = page["next_before"].as_i64().unwrap();
    r.get(&format!("/api/v1/tasks?limit=2&before={next}"), &read);
    for q in [
        "",
        "?status=failed",
        "?status=cancelled",
        "?kind=manual",
        "?kind=update-all",
        "?category=webhook",
        "?category=automatic",
        "?unit=other",
        "?status=bogus",
    ] {
        r.get(&format!("/api/v1/tasks{q}"), &read);
    }
    for id in [first, manual, killed] {
        r.get(&format!("/api/v1/tasks/{id}"), &read);
    }
    r.get("/api/v1/tasks/999", &read);
    r.get("/api/v1/tasks/abc", &read);
    r.get("/api/v1/services", &read);

    // Operations.
    r.get("/api/v1/overview", &read);
    r.get("/api/v1/settings", &read);
    r.get("/api/v1/webhooks", &read);
    r.get("/api/v1/webhooks/status", &read);
    r.get("/api/v1/locks", &read);
    r.send(
        "DELETE",
        "/api/v1/locks/app.service",
        &[("Authorization", &format!("Bearer {admin}"))],
        b"",
        false,
    );
    r.get("/api/v1/maintenance", &read);
    r.post("/api/v1/discover", &admin, "");
    r.post(
        "/api/v1/maintenance/prune",
        &admin,
        r#"{"dry_run": true, "older_than": "30d"}"#,
    );
    r.post("/api/v1/maintenance/prune", &admin, r#"{"older_than": "30d"}"#);
    r.post("/api/v1/maintenance/prune", &admin, r#"{"older_than": "soon"}"#);
    r.post("/api/v1/webhooks/test", &admin, "");

    // The panel's session: sign in, read it, one change with it, sign out.
    let origin = ("Origin", "http://t");
    let signin = format!(r#"{{"token": "{admin}"}}"#);
    let s = r.send(
        "POST",
        "/api/v1/session",
        &[origin, ("Content-Type", "application/json")],
        signin.as_bytes(),
        false,
    );
    let set = s.header("set-cookie").unwrap();
    let cookie = set.split(';').next().unwrap().to_string();
    let shown = r.send("GET", "/api/v1/session", &[("Cookie", &cookie)], b"", false);
    let csrf = shown.json()["csrf_token"].as_str().unwrap().to_string();
    let retry = format!("/api/v1/tasks/{killed}/retry");
    r.send("POST", &retry, &[("Cookie", &cookie), origin], b"", false);
    r.send(
        "POST",
        &retry,
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf), ("Origin", "http://evil")],
        b"",
        false,
    );
    r.send(
        "POST",
        &retry,
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf), origin],
        b"",
        false,
    );
    r.send(
        "DELETE",
        "/api/v1/session",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf), origin],
        b"",
        false,
    );
    r.send("GET", "/api/v1/session", &[("Cookie", &cookie)], b"", false);
    r.send("GET", "/api/v1/session", &[], b"", false);

    // The panel's pages and files.
    for page in [
        "/",
        "/tasks",
        "/services",
        "/webhooks",
        "/events",
        "/maintenance",
        "/settings",
    ] {
        r.send("GET", page, &[], b"", true);
    }
    let index = exchange(server.addr, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").body;
    let stamp = index
        .split("/assets/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap()
        .to_string();
    let mut files = Vec::new();
    panel_files(Path::new(WEB), Path::new(WEB), &mut files);
    for f in files {
        r.send("GET", &format!("/assets/{stamp}/{f}"), &[], b"", true);
    }
    r.send("GET", &format!("/assets/{stamp}/nope.js"), &[], b"", false);
    r.send("GET", "/assets/0.0.0-000000000000/js/main.js", &[], b"", false);
    r.send("POST", "/", &[], b"", false);

    // Refusals.
    r.send("GET", "/nope", &[], b"", false);
    r.send("POST", "/health", &[], b"", false);
    r.send("PUT", "/api/v1/session", &[], b"", false);
    r.send("GET", "/hooks/github", &[], b"", false);
    r.post("/api/v1/services/app.service/update", &trigger, "{bad json");
    r.post("/api/v1/services/nope.service/update", &trigger, "{}");
    r.send("GET", "/api/v1/tasks", &[], b"", false);
    r.get("/api/v1/tasks", "podup_not-a-token");
    r.get("/api/v1/tasks", &trigger);
    r.post("/api/v1/update-all", &read, "");

    // Every task has ended (the workers ran before their dispatch was answered; this
    // only makes sure), then the event log, in pages.
    let settled = wait_until(Duration::from_secs(60), || {
        let conn = rusqlite::Connection::open(&server.db).unwrap();
        let open: i64 = conn
            .query_row(
                "SELECT count(*) FROM tasks WHERE status IN ('pending', 'running')",
                [],
                |row| row.get(0),
            )
            .unwrap();
        open == 0
    });
    assert!(settled, "every task ends");
    let page = r.get("/api/v1/events?limit=20", &read).json();
    let next = page["next_before"].as_i64().unwrap();
    r.get(&format!("/api/v1/events?limit=20&before={next}"), &read);
    for q in [
        "?status=4xx",
        "?action=github_webhook",
        "?quiet=1&limit=500",
        "?limit=500",
    ] {
        r.get(&format!("/api/v1/events{q}"), &read);
    }

    let _ = server.child.kill();
    let _ = server.child.wait();
    let server_log = log.join().unwrap();
    let mut got = r.out;
    got.push_str("##### the database\n\n");
    got.push_str(&dump(&server.db, &norm));

    if std::env::var("PODUP_GOLDEN").as_deref() == Ok("record") {
        std::fs::create_dir_all(Path::new(FIXTURE).parent().unwrap()).unwrap();
        std::fs::write(FIXTURE, &got).unwrap();
        return;
    }
    let want =
        std::fs::read_to_string(FIXTURE).unwrap_or_else(|e| panic!("{FIXTURE}: {e} (PODUP_GOLDEN=record writes it)"));
    if want != got {
        let worker_log = std::fs::read_to_string(fakes.dir().join("worker.log")).unwrap_or_default();
        panic!(
            "the replay differs from {FIXTURE}\n{}\n(server log:\n{server_log}\nworker log:\n{worker_log})",
            diff(&want, &got)
        );
    }
}

#[test]
fn golden_normalizer_and_layout_are_narrow() {
    let n = Normalizer::new(vec![("/tmp/x".into(), "<STATE>".into())]);
    assert_eq!(
        n.json(r#"{"ts_ms":12,"id":12,"request_id":"ab\"c","x":"/tmp/x/db","started_ms":null}"#),
        r#"{"ts_ms":"<ts_ms>","id":12,"request_id":"<request_id>","x":"<STATE>/db","started_ms":null}"#
    );
    assert_eq!(n.text("podup_session=s_abc; Path=/"), "podup_session=<cookie>; Path=/");
    assert_eq!(n.text("podup_session=; Max-Age=0"), "podup_session=; Max-Age=0");
    assert_eq!(
        layout(r#"{"a":[1,{"b":"x,{"}],"c":{},"d":[]}"#),
        "{\n  \"a\":[\n    1,\n    {\n      \"b\":\"x,{\"\n    }\n  ],\n  \"c\":{},\n  \"d\":[]\n}"
    );
    assert_eq!(
        n.text("ran podman (exit 0, 102 ms) 127.0.0.1:5432 12 ms) podup-test-0a1f/x"),
        "ran podman (exit 0, <n> ms) 127.0.0.1:<port> 12 ms) podup-test-<random>/x"
    );
    assert!(diff("a\nb\n", "a\nc\n").contains("line 2"));
}
