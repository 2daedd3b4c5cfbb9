//! `make bench`'s update rows (issue 24): on each bed, (a) twenty units each with a new
//! image, and (b) fifty units of which five have one; for each, the wall time from the
//! start to every unit running its new digest of `podman auto-update`, podup's update-all
//! (`podup trigger --all --wait`, verifying 5 s and 0 s) and podup's timer job with
//! `PODUP_AUTO_UPDATE_ENGINE=podup`, timed inside the bed; for (b) also the registry's
//! requests per kind for the 45 units without a new image (its access log). Every run
//! starts from units on their old image: each run pushes a new version of the images it
//! updates. Ignored by `cargo test`: tests/bench/bench.py runs it with `--ignored` and
//! prints the table (a timed test is no test).

use crate::harness::{Harness, Kind, bed_bin, copy_binary, run_on, shout};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[test]
#[ignore = "a benchmark: make bench runs it"]
fn bench_update_bookworm() {
    run_on(Kind::Bookworm, "bench-update", bench);
}

#[test]
#[ignore = "a benchmark: make bench runs it"]
fn bench_update_trixie() {
    run_on(Kind::Trixie, "bench-update", bench);
}

/// The ways to update, in the order each round runs them.
const METHODS: [(&str, &str); 4] = [
    ("podman", "podman auto-update"),
    ("podup_verify5", "podup update-all, PODUP_VERIFY_SECS=5"),
    ("podup_verify0", "podup update-all, PODUP_VERIFY_SECS=0"),
    (
        "podup_timer",
        "podup auto-update, PODUP_AUTO_UPDATE_ENGINE=podup, PODUP_VERIFY_SECS=5",
    ),
];

/// The repository a registry request's path names (`/v2/<name>/manifests/...`), or
/// `None` for the version check `/v2/` and for lines that are no request.
fn request(line: &str) -> Option<(String, String, Option<String>)> {
    let request = line.split('"').nth(1)?;
    let mut parts = request.split(' ');
    let (method, path) = (parts.next()?, parts.next()?);
    let rest = path.strip_prefix("/v2/")?;
    if rest.is_empty() {
        return Some((format!("{method} /v2/"), String::new(), None));
    }
    for (marker, kind) in [("/manifests/", "manifest"), ("/blobs/", "blob"), ("/tags/", "tags")] {
        if let Some((name, _)) = rest.split_once(marker) {
            return Some((format!("{method} {kind}"), kind.into(), Some(name.to_string())));
        }
    }
    Some(("other".into(), String::new(), None))
}

/// Requests per kind in `lines` whose repository `keep` accepts (the version check,
/// which names none, is counted as well).
fn kinds(lines: &str, keep: impl Fn(&str) -> bool) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (kind, _, repo) in lines.lines().filter_map(request) {
        if repo.as_deref().is_none_or(&keep) {
            *out.entry(kind).or_default() += 1;
        }
    }
    out
}

/// Runs `command` (a shell command) inside the bed, timed there: seconds, exit code,
/// and the registry's access log lines written meanwhile.
fn timed(bed: &Harness, log: &PathBuf, command: &str) -> (f64, i32, String) {
    let before = std::fs::read_to_string(log).unwrap_or_default().len();
    let script = format!(
        "s=$(date +%s%N); {command} >\"$PODUP_LOGS/bench-update.out\" 2>&1; rc=$?; e=$(date +%s%N); echo $(( (e - s) / 1000 )) $rc"
    );
    let line = bed.exec_ok(&["sh", "-c", &script]);
    let mut it = line.split_whitespace();
    let micros: f64 = it.next().unwrap().parse().unwrap();
    let rc = it.next().unwrap().parse().unwrap();
    let after = std::fs::read_to_string(log).unwrap_or_default();
    (micros / 1e6, rc, after[before.min(after.len())..].to_string())
}

/// One scenario's units on the bed: `n` container units `container-<prefix>NN.service`
/// on `acme/<prefix>NN`, started on v1.
struct Fleet {
    names: Vec<String>,
    repos: Vec<String>,
    services: String,
}

fn fleet(bed: &Harness, prefix: &str, n: usize) -> Fleet {
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i:02}")).collect();
    let repos: Vec<String> = names.iter().map(|n| format!("acme/{n}")).collect();
    bed.push_image("acme/base", &format!("{prefix}-v1"), None);
    bed.copy_image("acme/base:latest", &repos);
    let pairs: Vec<(String, String)> = names
        .iter()
        .zip(&repos)
        .map(|(n, r)| (n.clone(), bed.image_ref(r)))
        .collect();
    let units = bed.container_units(&pairs);
    // Ten at a time, and once more for one that failed: fifty podman starts at once on
    // two busy cores can lose one to a timeout, which is not what is measured here.
    for chunk in units.chunks(10) {
        let mut start = vec!["start"];
        start.extend(chunk.iter().map(String::as_str));
        if !bed.systemctl(&start).status.success() {
            let mut again = vec!["reset-failed"];
            again.extend(chunk.iter().map(String::as_str));
            bed.systemctl(&again);
            start[0] = "start";
            bed.systemctl_ok(&start);
        }
    }
    let services = units
        .iter()
        .zip(&repos)
        .map(|(u, r)| format!("{u}={}", bed.image_ref(r)))
        .collect::<Vec<_>>()
        .join(",");
    Fleet { names, repos, services }
}

/// Runs every method `rounds` times on `fleet`, the first `new` of its units with a new
/// image before each run; returns the scenario's JSON.
fn scenario(bed: &Harness, f: &Fleet, new: usize, rounds: usize, label: &str) -> serde_json::Value {
    let bin = bed_bin(bed);
    let state = bed.dir().join(format!("bench-update-{label}"));
    let log = PathBuf::from(bed.env_var("PODUP_LOGS")).join("registry.log");
    let env = |verify: &str| {
        format!(
            "env PODUP_STATE_DIR={} PODUP_SYSTEMD_SCOPE=user PODUP_LIMIT_UPDATE_ALL=1000/1m PODUP_VERIFY_SECS={verify}",
            state.display()
        )
    };
    let command = |method: &str| match method {
        "podman" => "podman auto-update".to_string(),
        "podup_verify5" => format!("{} PODUP_SERVICES={} {bin} trigger --all --wait", env("5"), f.services),
        "podup_verify0" => format!("{} PODUP_SERVICES={} {bin} trigger --all --wait", env("0"), f.services),
        _ => format!(
            "{} PODUP_AUTO_UPDATE_ENGINE=podup {bin} auto-update --caller bench",
            env("5")
        ),
    };
    let updated: Vec<String> = f.names[..new].to_vec();
    let mut secs: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    let mut others: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
    let mut version = 0;
    for _ in 0..rounds {
        for (method, _) in METHODS {
            version += 1;
            let digest = bed.push_image("acme/base", &format!("{label}-r{version}"), None);
            bed.copy_image("acme/base:latest", &f.repos[..new]);
            let (s, rc, lines) = timed(bed, &log, &command(method));
            let running = bed.running_digests(&updated);
            let behind = running.iter().filter(|d| **d != digest).count();
            if rc != 0 || behind > 0 {
                let out = std::fs::read_to_string(PathBuf::from(bed.env_var("PODUP_LOGS")).join("bench-update.out"))
                    .unwrap_or_default();
                let tail: String = out.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
                failures.push(format!(
                    "{method}: rc {rc}, {behind} of {new} not on the new digest: {tail}"
                ));
            }
            secs.entry(method).or_default().push(s);
            let fresh = &f.repos[..new];
            others.insert(method, kinds(&lines, |repo| !fresh.iter().any(|r| r == repo)));
        }
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let medians: BTreeMap<&str, f64> = secs.iter().map(|(k, v)| (*k, median(v))).collect();
    let podman = medians["podman"];
    let ratios: BTreeMap<String, f64> = medians
        .iter()
        .filter(|(k, _)| **k != "podman")
        .map(|(k, v)| (format!("podman/{k}"), podman / v))
        .collect();
    serde_json::json!({
        "units": f.names.len(),
        "new": new,
        "secs": secs,
        "median": medians,
        "ratios": ratios,
        "requests_for_the_others": if new < f.names.len() { serde_json::json!(others) } else { serde_json::Value::Null },
        "failures": failures,
    })
}

fn bench() {
    let Some(bed) = Harness::up_with("bench-update", &[("PODUP_REGISTRY_ACCESSLOG", "1")]) else {
        return;
    };
    let rounds: usize = std::env::var("BENCH_UPDATE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    copy_binary(&bed);
    let load = || {
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let (load_before, cores) = (load(), std::thread::available_parallelism().map_or(0, |n| n.get()));
    let twenty = fleet(&bed, "t", 20);
    let a = scenario(&bed, &twenty, 20, rounds, "twenty");
    shout(&format!("bench-update twenty {a}"));
    // Only (b)'s units run during (b): podman auto-update and the timer job look at every
    // labelled container.
    let mut stop = vec!["stop".to_string()];
    stop.extend(twenty.names.iter().map(|n| format!("container-{n}.service")));
    bed.systemctl_ok(&stop.iter().map(String::as_str).collect::<Vec<_>>());
    let fifty = fleet(&bed, "f", 50);
    let b = scenario(&bed, &fifty, 5, rounds, "fifty");
    let report = serde_json::json!({
        "twenty_all_new": a,
        "fifty_five_new": b,
        "rounds": rounds,
        "cores": cores,
        "load_before": load_before,
        "load_after": load(),
        "podman_version": bed.exec_ok(&["podman", "--version"]),
        "systemd_version": bed.exec_ok(&["sh", "-c", "systemctl --version | head -1"]),
        "podup_version": bed.exec_ok(&[&bed_bin(&bed), "version"]),
    });
    shout(&format!("bench-update {report}"));
}
