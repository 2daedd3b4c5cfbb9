//! Whether a bed can run on this machine: root, the programs and files the scripts use,
//! a writable cgroup hierarchy, and for trixie its root file system (built once if missing).

use super::{Kind, TRIXIE_SCRIPT, shout};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Programs the harness runs, looked up on `PATH` (plus the sbin dirs the script adds).
const REQUIRED_PROGRAMS: &[&str] = &[
    "podman",
    "buildah",
    "skopeo",
    "docker-registry",
    "runc",
    "conmon",
    "unshare",
    "nsenter",
    "setsid",
    "findmnt",
    "curl",
    "dbus-daemon",
    "python3",
    "bash",
];

/// Files the harness needs at fixed paths.
const REQUIRED_FILES: &[&str] = &["/bin/busybox", "/lib/systemd/systemd"];

/// Why the real tests cannot run on this machine, or `None` when they can.
///
/// They need root (mount namespaces, mounts, cgroup writes), the packages listed in
/// `tests/real/README.md`, and a writable cgroup hierarchy.
pub fn skip_reason(kind: Kind) -> Option<String> {
    match effective_uid() {
        Ok(0) => {}
        Ok(uid) => return Some(format!("needs root, running as uid {uid}")),
        Err(e) => return Some(e),
    }
    if kind == Kind::Trixie {
        return trixie_skip_reason();
    }
    let missing: Vec<String> = REQUIRED_PROGRAMS
        .iter()
        .filter(|p| find_program(p).is_none())
        .map(|p| p.to_string())
        .chain(
            REQUIRED_FILES
                .iter()
                .filter(|f| !is_executable(Path::new(f)))
                .map(|f| f.to_string()),
        )
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "missing {} (apt-get install --no-install-recommends podman buildah skopeo \
             docker-registry runc busybox-static dbus-user-session)",
            missing.join(", ")
        ));
    }
    if !has_writable_cgroup_mount() {
        return Some("no writable cgroup2 or name=systemd cgroup mount".to_string());
    }
    None
}

/// Why the trixie bed cannot run here: its root file system is missing and cannot be built
/// (no mmdebstrap), or the host lacks what the script uses. Builds it once per test process
/// when it is missing (`trixie-harness.sh root`, about 30 s; later calls wait for that one).
fn trixie_skip_reason() -> Option<String> {
    let missing: Vec<&str> = ["unshare", "nsenter", "pivot_root", "setsid", "curl", "python3", "flock"]
        .into_iter()
        .filter(|p| find_program(p).is_none())
        .collect();
    if !missing.is_empty() {
        return Some(format!("missing {} on the host", missing.join(", ")));
    }
    if !fs::read_to_string("/proc/self/mountinfo").is_ok_and(|m| m.contains(" - cgroup2 ")) {
        return Some("no cgroup2 mount on this host".to_string());
    }
    static BUILT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let started = Instant::now();
            let out = Command::new(TRIXIE_SCRIPT)
                .arg("root")
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("cannot run {TRIXIE_SCRIPT}: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "no trixie root file system ({TRIXIE_SCRIPT} root: {})",
                    String::from_utf8_lossy(&out.stderr)
                        .trim_end()
                        .lines()
                        .last()
                        .unwrap_or("")
                ));
            }
            let said = String::from_utf8_lossy(&out.stderr);
            if let Some(line) = said.lines().find(|l| l.contains(" built in ")) {
                shout(&format!("real tests: {line} ({:.1}s)", started.elapsed().as_secs_f64()));
            }
            Ok(())
        })
        .clone()
        .err()
}

/// The effective uid of this process, from `/proc/self/status` (no libc needed).
fn effective_uid() -> Result<u32, String> {
    let status = fs::read_to_string("/proc/self/status").map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|uids| uids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .ok_or_else(|| "no Uid line in /proc/self/status".to_string())
}

/// Finds `program` on `PATH` or in the sbin dirs the harness script adds to it.
fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// True when a cgroup2 or `name=systemd` hierarchy is mounted read-write (not in, e.g., a
/// container that shows /sys/fs/cgroup read-only).
fn has_writable_cgroup_mount() -> bool {
    let Ok(mountinfo) = fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    mountinfo.lines().any(|line| {
        let (before, after) = line.split_once(" - ").unwrap_or((line, ""));
        let options = before.split(' ').nth(5).unwrap_or("");
        let mut after = after.split(' ');
        let fstype = after.next().unwrap_or("");
        let super_options = after.nth(1).unwrap_or("");
        let relevant =
            fstype == "cgroup2" || (fstype == "cgroup" && super_options.split(',').any(|o| o == "name=systemd"));
        relevant && options.split(',').any(|o| o == "rw")
    })
}
