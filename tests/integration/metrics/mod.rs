//! `GET /metrics` (docs/operations.md, "Metrics"): its values after a known sequence
//! of deliveries and deploys, who may read it, and `promtool check metrics` on it.

mod promtool;

use crate::support::*;
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

const OLD_ID: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const NEW_ID: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const BAD_ID: &str = "3333333333333333333333333333333333333333333333333333333333333333";
const BAD_DIGEST: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

/// `setup`'s podup, with fakes a deploy of `app.service` runs against: each restart
/// starts the container the next line of `restarts` names (`old`, `new`, `bad`: one that
/// exits at once).
pub fn bed(name: &str, extra: &[(&str, &str)]) -> (Fakes, Podup) {
    let (fakes, podup) = setup(name, extra);
    let podup = podup.env("PODUP_VERIFY_SECS", "1");
    let ps = |id: &str, state: &str| {
        json!([{"Id": format!("c-{}", &id[..4]), "Names": ["app"], "Image": "x", "ImageID": id,
                "State": state, "Labels": {"PODMAN_SYSTEMD_UNIT": "app.service"}}])
        .to_string()
    };
    let dir = fakes.dir();
    std::fs::write(dir.join("ps-old.json"), ps(OLD_ID, "running")).unwrap();
    std::fs::write(dir.join("ps-new.json"), ps(NEW_ID, "running")).unwrap();
    std::fs::write(dir.join("ps-bad.json"), ps(BAD_ID, "exited")).unwrap();
    std::fs::copy(dir.join("ps-old.json"), dir.join("podman.ps.stdout")).unwrap();
    fakes.before(
        "systemctl",
        "if [ \"$1\" = restart ] && [ -s \"$FAKE_DIR/restarts\" ]; then\n  \
         w=$(head -n 1 \"$FAKE_DIR/restarts\"); sed -i 1d \"$FAKE_DIR/restarts\"\n  \
         cp \"$FAKE_DIR/ps-$w.json\" \"$FAKE_DIR/podman.ps.stdout\"\nfi",
    );
    let show = "LoadState=loaded\nActiveState=active\nSubState=running\nResult=success\nMainPID=7\n\
                NRestarts=0\nInvocationID=abc\nActiveEnterTimestampMonotonic=1\n";
    fakes.answer_args("systemctl", &["show"], 0, show, "");
    (fakes, podup)
}

/// Runs task `id`'s worker while `app.service` runs `running` (id, digest), the pull
/// gives `pulled` (id, digest), and each restart starts what a line of `restarts`
/// names; the task's status.
pub fn run_task(
    fakes: &Fakes,
    podup: &Podup,
    id: i64,
    running: (&str, &str),
    pulled: (&str, &str),
    restarts: &str,
) -> String {
    let inspect = json!([{"Image": running.0, "ImageName": IMAGE, "ImageDigest": running.1}]).to_string();
    fakes.answer_args("podman", &["inspect"], 0, &inspect, "");
    fakes.answer_args("podman", &["pull"], 0, &format!("{}\n", pulled.0), "");
    fakes.answer_args("podman", &["image", "inspect"], 0, &format!("{}\n", pulled.1), "");
    std::fs::write(fakes.dir().join("restarts"), restarts).unwrap();
    let db = podup.db_path();
    let out = podup.run(&["run-task", &id.to_string(), "--db", db.to_str().unwrap()]);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let status: String = conn
        .query_row("SELECT status FROM tasks WHERE id = ?1", [id], |r| r.get(0))
        .unwrap();
    assert!(
        status == "succeeded" || status == "rolled_back",
        "{status}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    status
}

/// A delivery accepted and deployed, one refused for its signature, a manual deploy
/// rolled back: the database `GET /metrics` reads. The read token.
pub fn sequence(fakes: &Fakes, podup: &Podup) -> String {
    let read = podup.token("scraper", "read");
    let server = podup.serve(&[]);
    let r = published(server.addr, "metrics-1");
    assert_eq!(r.status, 202, "{}", r.body);
    let first = r.json()["task_id"].as_i64().unwrap();
    let body = fixture("package.published.container-tagged.json");
    let r = deliver(
        server.addr,
        "/hooks/github",
        "package",
        "metrics-2",
        &body,
        Some(&sign("wrong", &body)),
    );
    assert_eq!(r.status, 401, "{}", r.body);
    drop(server);
    let old = (
        OLD_ID,
        "sha256:1111111111111111111111111111111111111111111111111111111111111111",
    );
    assert_eq!(
        run_task(fakes, podup, first, old, (NEW_ID, DIGEST), "new\n"),
        "succeeded"
    );
    let out = podup.run(&["trigger", "app.service"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let second: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let status = run_task(
        fakes,
        podup,
        second,
        (NEW_ID, DIGEST),
        (BAD_ID, BAD_DIGEST),
        "bad\nnew\n",
    );
    assert_eq!(status, "rolled_back");
    read
}

/// The samples of an exposition as (name{labels}, value), comments left out.
fn samples(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn value<'a>(s: &'a [(String, String)], key: &str) -> &'a str {
    s.iter()
        .find(|(k, _)| k == key)
        .map_or_else(|| panic!("no sample {key} in {s:?}"), |(_, v)| v.as_str())
}

#[test]
fn a_scrape_after_known_deliveries_and_deploys_counts_exactly_them() {
    let (fakes, podup) = bed("metrics-values", &[]);
    let started = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let read = sequence(&fakes, &podup);
    let server = podup.serve(&[]);
    let rows_before = event_count(&podup.db_path());
    let r = call(server.addr, "GET", "/metrics", Some(&read), "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let s = samples(&r.body);
    for (key, want) in [
        ("podup_deliveries_total{sender=\"github\",verdict=\"accepted\"}", "1"),
        ("podup_deliveries_total{sender=\"github\",verdict=\"rejected\"}", "1"),
        ("podup_tasks_total{kind=\"webhook\",status=\"succeeded\"}", "1"),
        ("podup_tasks_total{kind=\"manual\",status=\"rolled_back\"}", "1"),
        ("podup_rollbacks_total{service=\"app.service\"}", "1"),
        ("podup_deploy_duration_seconds_count", "2"),
        ("podup_deploy_duration_seconds_bucket{le=\"+Inf\"}", "2"),
        ("podup_event_log_rows", &rows_before.to_string()),
        (
            &format!("podup_service_info{{service=\"app.service\",image=\"{IMAGE}\",digest=\"{DIGEST}\"}}"),
            "1",
        ),
    ] {
        assert_eq!(value(&s, key), want, "{key} in:\n{}", r.body);
    }
    let count = |prefix: &str| s.iter().filter(|(k, _)| k.starts_with(prefix)).count();
    assert_eq!(count("podup_deliveries_total"), 2, "{}", r.body);
    assert_eq!(count("podup_tasks_total"), 2, "{}", r.body);
    assert_eq!(count("podup_rate_limit_refusals_total"), 0, "{}", r.body);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    for key in [
        "podup_last_successful_deploy_timestamp_seconds{service=\"app.service\"}",
        "podup_last_rollback_timestamp_seconds{service=\"app.service\"}",
        "podup_last_task_finished_timestamp_seconds{kind=\"manual\",status=\"rolled_back\"}",
    ] {
        let at: u64 = value(&s, key).parse().unwrap();
        assert!((started..=now).contains(&at), "{key}: {started} <= {at} <= {now}");
    }
    let size: u64 = value(&s, "podup_database_size_bytes").parse().unwrap();
    assert!(size >= 4096, "{size}");
    // The scrape is a read request like the others: one event row.
    let rows = events(&podup.db_path());
    let last_row = rows.last().unwrap();
    assert_eq!(
        (
            last_row.0.as_str(),
            last_row.1.as_str(),
            last_row.2,
            last_row.3.as_str()
        ),
        ("GET", "/metrics", 200, "metrics")
    );
    assert_eq!(rows.len() as i64, rows_before + 1);
}

#[test]
fn a_scrape_needs_a_read_token_unless_metrics_are_open() {
    let (_fakes, podup) = bed("metrics-auth", &[]);
    let server = podup.serve(&[]);
    let r = call(server.addr, "GET", "/metrics", None, "");
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (401, Some("missing_credentials")),
        "{}",
        r.body
    );
    let r = call(server.addr, "GET", "/metrics", Some("not-a-token"), "");
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (401, Some("invalid_token")),
        "{}",
        r.body
    );
    drop(server);

    let (_fakes, podup) = bed("metrics-open", &[("PODUP_METRICS_OPEN", "1")]);
    let server = podup.serve(&[]);
    let r = call(server.addr, "GET", "/metrics", None, "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("\npodup_event_log_rows "), "{}", r.body);
}

#[test]
fn a_bad_metrics_open_is_a_configuration_error_naming_it() {
    let (_fakes, podup) = bed("metrics-bad", &[("PODUP_METRICS_OPEN", "maybe")]);
    let out = podup.run(&["serve", "--listen", "127.0.0.1:0"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("PODUP_METRICS_OPEN: expected 1 or 0, got 'maybe'"),
        "{err}"
    );
}
