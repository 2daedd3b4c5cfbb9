//! The test bed itself: it can show a deploy, and it leaves nothing behind.
//!
//! These tests do not run podup; they prove that what the other real tests stand on works.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::harness::{Harness, wait_until};

/// How long a container unit may take to become active with the expected image.
const DEPLOY_TIMEOUT_SECS: u64 = 20;

on_kinds!(bed_shows_a_deploy);
/// Push v1, run a unit on it, push v2, `podman pull` + `systemctl restart`: the unit runs
/// v2's digest. A restart alone does not pull (the `--new` unit runs the local tag), which is
/// why a deploy is pull + restart.
fn bed_shows_a_deploy() {
    let Some(h) = Harness::up("bed_shows_a_deploy") else {
        return;
    };
    let image = h.image_ref("demo");
    let v1 = h.push_image("demo", "v1", None);
    let unit = h.container_unit("demo", &image);
    assert_eq!(unit, "container-demo.service");

    h.systemctl_ok(&["start", &unit]);
    assert_runs(&h, &unit, &v1, "v1");

    let v2 = h.push_image("demo", "v2", None);
    assert_ne!(v1, v2, "v2 must be a different image");

    h.systemctl_ok(&["restart", &unit]);
    assert_runs(&h, &unit, &v1, "v1");

    h.exec_ok(&["podman", "pull", "-q", &image]);
    h.systemctl_ok(&["restart", &unit]);
    assert_runs(&h, &unit, &v2, "v2");
}

on_kinds!(up_and_down_leave_no_trace);
/// `up` then `down`: the directory, the cgroups, the processes and the mount namespace are gone.
fn up_and_down_leave_no_trace() {
    let Some(h) = Harness::up("up_and_down_leave_no_trace") else {
        return;
    };
    let dir = h.dir().to_path_buf();
    let cgroup = h.cgroup_name();
    let pids = [h.recorded_pid("manager"), h.recorded_pid("registry")];
    let mntns = fs::read_link(format!("/proc/{}/ns/mnt", pids[0])).expect("manager mount ns");
    assert!(dir.is_dir());
    assert!(
        !cgroup_dirs(&cgroup).is_empty(),
        "no cgroup {cgroup} while up: wrong name?"
    );

    // Namespace inode numbers are reused: a namespace made after the bed's is gone
    // (another bed's sandboxed unit, say) can carry the same number. Only processes
    // that started before `down` can be the bed's leftovers.
    let before_down = ticks_since_boot();
    h.down();

    assert!(!dir.exists(), "{} is left", dir.display());
    assert_eq!(cgroup_dirs(&cgroup), Vec::<PathBuf>::new(), "cgroups left");
    for pid in pids {
        assert!(!is_alive(pid), "pid {pid} still runs");
    }
    let in_ns: Vec<u32> = processes_in_mount_ns(&mntns)
        .into_iter()
        .filter(|pid| start_ticks(*pid).is_some_and(|t| t <= before_down))
        .collect();
    assert!(in_ns.is_empty(), "processes left in {mntns:?}: {in_ns:?}");
}

/// Waits until `unit` is active and its container runs `digest` with `/version` = `version`.
fn assert_runs(h: &Harness, unit: &str, digest: &str, version: &str) {
    let runs = wait_until(Duration::from_secs(DEPLOY_TIMEOUT_SECS), || {
        h.unit_property(unit, "ActiveState") == "active"
            && h.exec(&["podman", "inspect", "demo", "--format", "{{.ImageDigest}}"])
                .stdout
                .trim_ascii_end()
                == digest.as_bytes()
    });
    assert!(
        runs,
        "{unit} does not run {version} ({digest}): ActiveState={}, digest={}",
        h.unit_property(unit, "ActiveState"),
        h.running_digest("demo")
    );
    assert_eq!(h.running_digest("demo"), digest);
    assert_eq!(h.exec_ok(&["podman", "exec", "demo", "cat", "/version"]), version);
}

/// Directories named `name` in every cgroup hierarchy, a few levels deep (v1 controllers may
/// nest ours below the caller's own cgroup, e.g. `memory/process_api/<id>/podup-...`).
fn cgroup_dirs(name: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for hierarchy in fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten() {
        find_dirs(&hierarchy.path(), name, 4, &mut found);
    }
    found
}

fn find_dirs(dir: &Path, name: &str, depth: u32, found: &mut Vec<PathBuf>) {
    if depth == 0 {
        return;
    }
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if entry.file_name() == name {
            found.push(entry.path());
        } else {
            find_dirs(&entry.path(), name, depth - 1, found);
        }
    }
}

/// The fields of `/proc/PID/stat` after the parenthesised name (state first).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// True while `pid` runs (a zombie waiting for PID 1 to reap it does not count).
fn is_alive(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().is_some_and(|state| state != "Z"))
}

/// When `pid` started, in clock ticks since boot (field 22 of `/proc/PID/stat`).
fn start_ticks(pid: u32) -> Option<u64> {
    stat_fields(pid)?.get(19)?.parse().ok()
}

/// Clock ticks since boot, as `/proc/PID/stat` counts a process's start.
fn ticks_since_boot() -> u64 {
    let uptime = fs::read_to_string("/proc/uptime").unwrap();
    let secs: f64 = uptime.split_whitespace().next().unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (secs * hz) as u64
}

/// Pids of the processes whose mount namespace is `ns` (e.g. `mnt:[4026532290]`).
fn processes_in_mount_ns(ns: &Path) -> Vec<u32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| fs::read_link(format!("/proc/{pid}/ns/mnt")).is_ok_and(|l| l == ns))
        .collect()
}
