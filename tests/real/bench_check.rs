//! `make bench`'s update-check rows (docs/updates.md): fifty services on the bed's
//! registry, five of them with a newer image; podup's check beside `podman auto-update
//! --dry-run --format json` over the same fifty units, alternating, timed inside the
//! bed, with the registry's requests per kind from its access log. Ignored by `cargo
//! test`: tests/bench/bench.py runs it with `--ignored` and prints the table (a timed
//! test is no test).

use crate::harness::{Harness, Kind, bed_bin, copy_binary, run_on, shout};
use std::collections::BTreeMap;
use std::path::PathBuf;

const SERVICES: usize = 50;
const NEW: usize = 5;
const RUNS: usize = 3;

#[test]
#[ignore = "a benchmark: make bench runs it"]
fn bench_check_bookworm() {
    run_on(Kind::Bookworm, "bench-check", bench);
}

#[test]
#[ignore = "a benchmark: make bench runs it"]
fn bench_check_trixie() {
    run_on(Kind::Trixie, "bench-check", bench);
}

/// Requests per kind in the registry's access log lines: `HEAD manifest`, `GET
/// manifest`, `GET blob`, `GET /v2/` (the version check) and `other`.
fn kinds(lines: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for line in lines.lines() {
        let Some(request) = line.split('"').nth(1) else {
            continue;
        };
        let mut parts = request.split(' ');
        let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
            continue;
        };
        if !path.starts_with("/v2/") {
            continue;
        }
        let kind = if path == "/v2/" {
            format!("{method} /v2/")
        } else if path.contains("/manifests/") {
            format!("{method} manifest")
        } else if path.contains("/blobs/") {
            format!("{method} blob")
        } else {
            "other".into()
        };
        *out.entry(kind).or_default() += 1;
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `command` (a shell command) inside the bed, timed there; seconds, stdout, and
/// the registry's requests meanwhile.
fn timed(bed: &Harness, log: &PathBuf, command: &str) -> (f64, String, BTreeMap<String, usize>) {
    let before = std::fs::read_to_string(log).unwrap_or_default().len();
    let script = format!(
        "s=$(date +%s%N); out=$({command}); rc=$?; e=$(date +%s%N); echo \"$out\" > \"$PODUP_LOGS/bench.out\"; echo $(( (e - s) / 1000 )) $rc"
    );
    let line = bed.exec_ok(&["sh", "-c", &script]);
    let mut it = line.split_whitespace();
    let micros: f64 = it.next().unwrap().parse().unwrap();
    let rc = it.next().unwrap().to_string();
    let out = std::fs::read_to_string(PathBuf::from(bed.env_var("PODUP_LOGS")).join("bench.out")).unwrap_or_default();
    let after = std::fs::read_to_string(log).unwrap_or_default();
    let requests = kinds(&after[before.min(after.len())..]);
    (micros / 1e6, format!("rc={rc}\n{out}"), requests)
}

fn bench() {
    let Some(bed) = Harness::up_with("bench-check", &[("PODUP_REGISTRY_ACCESSLOG", "1")]) else {
        return;
    };
    let reg = bed.registry();
    bed.push_image("acme/s00", "v1", None);
    for i in 1..SERVICES {
        let out = std::process::Command::new("skopeo")
            .args(["copy", "-q", "--src-tls-verify=false", "--dest-tls-verify=false"])
            .arg(format!("docker://{reg}/acme/s00:latest"))
            .arg(format!("docker://{reg}/acme/s{i:02}:latest"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo copy: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut services = Vec::new();
    let mut units = Vec::new();
    for i in 0..SERVICES {
        let image = bed.image_ref(&format!("acme/s{i:02}"));
        let unit = bed.container_unit(&format!("s{i:02}"), &image);
        services.push(format!("{unit}={image}"));
        units.push(unit);
    }
    let mut start = vec!["start"];
    start.extend(units.iter().map(String::as_str));
    bed.systemctl_ok(&start);
    for i in 0..NEW {
        bed.push_image(&format!("acme/s{i:02}"), "v2", None);
    }
    copy_binary(&bed);
    let bin = bed_bin(&bed);
    let state = bed.dir().join("bench-state");
    let podup = format!(
        "env PODUP_STATE_DIR={} PODUP_SYSTEMD_SCOPE=user PODUP_SERVICES={} {bin} check-updates --fresh --json",
        state.display(),
        services.join(",")
    );
    let podman = "podman auto-update --dry-run --format json";
    let log = PathBuf::from(bed.env_var("PODUP_LOGS")).join("registry.log");
    // One untimed run each: podman's first run and podup's database creation.
    timed(&bed, &log, podman);
    timed(&bed, &log, &podup);
    let (mut tp, mut tu) = (Vec::new(), Vec::new());
    let (mut rp, mut ru) = (BTreeMap::new(), BTreeMap::new());
    for _ in 0..RUNS {
        let (s, out, r) = timed(&bed, &log, podman);
        assert_eq!(
            out.matches("\"pending\"").count(),
            NEW,
            "podman found the new images: {out}"
        );
        tp.push(s);
        rp = r;
        let (s, out, r) = timed(&bed, &log, &podup);
        assert_eq!(
            out.matches("\"available\"").count(),
            NEW,
            "podup found the new images: {out}"
        );
        tu.push(s);
        ru = r;
    }
    let (mp, mu) = (median(tp.clone()), median(tu.clone()));
    // Where podup's time went in its last run: its task's span and podman's two calls.
    let db = rusqlite::Connection::open(state.join("podup.db")).unwrap();
    let (task_ms, id): (i64, i64) = db
        .query_row(
            "SELECT finished_ms - started_ms, id FROM tasks WHERE kind = 'check' ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let mut st = db
        .prepare("SELECT message FROM task_logs WHERE task_id = ?1 AND argv IS NOT NULL ORDER BY id")
        .unwrap();
    let podman_calls: Vec<String> = st.query_map([id], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    let asked: String = db
        .query_row(
            "SELECT message FROM task_logs WHERE task_id = ?1 AND message LIKE 'registry requests:%'",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    let report = serde_json::json!({
        "services": SERVICES,
        "new": NEW,
        "podman_secs": tp,
        "podup_secs": tu,
        "podman_median": mp,
        "podup_median": mu,
        "ratio": mp / mu,
        "podman_requests": rp,
        "podup_requests": ru,
        "podman_version": bed.exec_ok(&["podman", "--version"]),
        "podup_task_ms": task_ms,
        "podup_podman_calls": podman_calls,
        "podup_registries": asked,
    });
    shout(&format!("bench-check {report}"));
}
