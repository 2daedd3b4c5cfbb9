//! The test bed of the real-component tests: one [`Harness`] is one local registry plus one
//! real `systemd --user` manager in a private mount namespace, started and stopped by
//! `tests/real/podup-harness.sh` (read its header for how and why).
//!
//! This module owns starting the bed, running commands inside it and tearing it down (also
//! when a test panics). Deciding what a deploy should look like is left to the tests.
//!
//! Every helper that runs a command either returns its [`Output`] untouched or, for the
//! `*_ok` flavours and the bed-building helpers, panics with the command, its exit status and
//! its stderr.

// A toolbox for every real test: at any moment some helpers have no caller yet.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The harness script, inside the repository.
pub const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/real/podup-harness.sh");

/// Parent of every harness directory: short (unix socket paths live below it) and not masked
/// inside the harness namespace (which hides /run, /var/lib and /var/tmp). Not under /tmp: the manager's runtime directory (and so its
/// NOTIFY_SOCKET) is inside the bed, and a unit with `PrivateTmp=yes` could not
/// reach a notify socket under /tmp. On a booted host it is in /run, which no
/// sandboxing option hides; /srv is not hidden by any either.
const BASE_DIR: &str = "/srv/podup-real";

/// Longest part of a test name that goes into the harness directory name.
const MAX_NAME_CHARS: usize = 24;

/// File a kept bed (`PODUP_KEEP_HARNESS=1`) carries, so that no sweep removes it.
const KEPT_MARKER: &str = "kept";

/// How long to wait between two polls in [`wait_until`].
const POLL_INTERVAL_MILLIS: u64 = 100;

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

/// Numbers the harnesses of this test process, so names never collide.
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// Why the real tests cannot run on this machine, or `None` when they can.
///
/// They need root (mount namespaces, mounts, cgroup writes), the packages listed in
/// `tests/real/README.md`, and a writable cgroup hierarchy.
pub fn skip_reason() -> Option<String> {
    match effective_uid() {
        Ok(0) => {}
        Ok(uid) => return Some(format!("needs root, running as uid {uid}")),
        Err(e) => return Some(e),
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

/// Polls `condition` every 100 ms until it holds (true) or `timeout` has passed (false).
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(POLL_INTERVAL_MILLIS));
    }
}

/// Panics unless `output` is a success; the message names `what`, the status and stderr.
#[track_caller]
pub fn check(output: Output, what: &str) -> Output {
    if !output.status.success() {
        panic!(
            "{what}: {}\nstdout: {}\nstderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stdout).trim_end(),
            String::from_utf8_lossy(&output.stderr).trim_end()
        );
    }
    output
}

/// Stdout of a command, without the trailing newline.
pub fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim_end().to_string()
}

/// A running test bed; dropping it runs `podup-harness.sh down`, which removes every trace.
pub struct Harness {
    name: String,
    dir: PathBuf,
    env: BTreeMap<String, String>,
    is_down: bool,
    started: Instant,
}

impl Harness {
    /// Starts a bed for the test `name`, or returns `None` (after printing
    /// `SKIPPED real test '<name>': <reason>`) when [`skip_reason`] says it cannot run here.
    /// With `PODUP_REAL_TESTS=require` a reason to skip is a panic instead.
    pub fn up(name: &str) -> Option<Harness> {
        if let Some(reason) = skip_reason() {
            if std::env::var("PODUP_REAL_TESTS").as_deref() == Ok("require") {
                panic!("real test '{name}' cannot run (PODUP_REAL_TESTS=require): {reason}");
            }
            shout(&format!("SKIPPED real test '{name}': {reason}"));
            return None;
        }
        fs::create_dir_all(BASE_DIR).unwrap_or_else(|e| panic!("mkdir {BASE_DIR}: {e}"));
        static SWEEP: Once = Once::new();
        SWEEP.call_once(sweep_stale);
        let dir = fresh_dir(name);
        let started = Instant::now();
        let up = script_command(&["up", path_str(&dir)]).output();
        let up = up.unwrap_or_else(|e| panic!("cannot run {SCRIPT}: {e}"));
        // `up` cleans up after itself when it fails: nothing to tear down here.
        check(up, &format!("podup-harness.sh up {}", dir.display()));
        let mut harness = Harness {
            name: name.to_string(),
            dir,
            env: BTreeMap::new(),
            is_down: false,
            started,
        };
        harness.env = harness.load_env();
        eprintln!(
            "real test '{name}': harness up in {:.2}s at {} (registry {})",
            started.elapsed().as_secs_f64(),
            harness.dir.display(),
            harness.registry()
        );
        Some(harness)
    }

    /// The harness directory (`DIR` of the script).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A variable of the environment everything inside the bed runs with: `PODUP_REGISTRY`,
    /// `PODUP_UNIT_DIR`, `PODUP_LOGS`, `XDG_RUNTIME_DIR`, `CONTAINERS_CONF`, ...
    #[track_caller]
    pub fn env_var(&self, name: &str) -> String {
        match self.env.get(name) {
            Some(value) => value.clone(),
            None => panic!("harness env has no {name} (has: {:?})", self.env.keys()),
        }
    }

    /// The local registry, `localhost:PORT`.
    pub fn registry(&self) -> String {
        self.env_var("PODUP_REGISTRY")
    }

    /// The manager's persistent user unit directory (same path inside and outside).
    pub fn unit_dir(&self) -> PathBuf {
        PathBuf::from(self.env_var("PODUP_UNIT_DIR"))
    }

    /// The full reference of `repo` in the local registry; `:latest` unless `repo` has a tag.
    pub fn image_ref(&self, repo: &str) -> String {
        let last = repo.rsplit('/').next().unwrap_or(repo);
        let tag = if last.contains(':') || last.contains('@') {
            ""
        } else {
            ":latest"
        };
        format!("{}/{repo}{tag}", self.registry())
    }

    /// Runs `argv` inside the bed (private mount namespace, harness environment).
    pub fn exec(&self, argv: &[&str]) -> Output {
        let mut args = vec!["exec", path_str(&self.dir), "--"];
        args.extend_from_slice(argv);
        script_command(&args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {SCRIPT}: {e}"))
    }

    /// Like [`Harness::exec`], but panics on failure and returns stdout (trimmed at the end).
    #[track_caller]
    pub fn exec_ok(&self, argv: &[&str]) -> String {
        stdout_of(&check(self.exec(argv), &argv.join(" ")))
    }

    /// Runs a shell script inside the bed (`sh -c SCRIPT`).
    pub fn sh(&self, script: &str) -> Output {
        self.exec(&["sh", "-c", script])
    }

    /// Runs `systemctl --user ARGS...` inside the bed.
    pub fn systemctl(&self, args: &[&str]) -> Output {
        let mut argv = vec!["systemctl", "--user"];
        argv.extend_from_slice(args);
        self.exec(&argv)
    }

    /// Like [`Harness::systemctl`], but panics on failure and returns stdout.
    #[track_caller]
    pub fn systemctl_ok(&self, args: &[&str]) -> String {
        let mut argv = vec!["systemctl", "--user"];
        argv.extend_from_slice(args);
        self.exec_ok(&argv)
    }

    /// One property of a unit (`systemctl --user show -p PROP --value UNIT`).
    #[track_caller]
    pub fn unit_property(&self, unit: &str, prop: &str) -> String {
        self.systemctl_ok(&["show", "-p", prop, "--value", unit])
    }

    /// Writes `contents` to the user unit directory as `name`, then reloads the manager.
    #[track_caller]
    pub fn install_unit(&self, name: &str, contents: &str) {
        let path = self.unit_dir().join(name);
        fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self.systemctl_ok(&["daemon-reload"]);
    }

    /// Builds a busybox image whose `/version` holds `version`, pushes it as `repo` (see
    /// [`Harness::image_ref`]) and returns its digest `sha256:...`. `cmd` is a shell command or
    /// a JSON exec array; the default runs until SIGTERM.
    #[track_caller]
    pub fn push_image(&self, repo: &str, version: &str, cmd: Option<&str>) -> String {
        self.build_and_push(repo, version, cmd, false, 0)
    }

    /// Like [`Harness::push_image`], with a layer of `pad_mib` MiB of random bytes (`/pad`),
    /// for a pull that takes a while.
    #[track_caller]
    pub fn push_padded_image(&self, repo: &str, version: &str, cmd: Option<&str>, pad_mib: u32) -> String {
        self.build_and_push(repo, version, cmd, false, pad_mib)
    }

    /// Like [`Harness::push_image`], plus what real base images carry and unpacking must
    /// keep: under `/special` a set-uid and a set-gid file, a device node (`null`), a file
    /// owned by 1000:1000 (`owned`), a file with a capability (`capped`), and in a second
    /// layer a deleted file (a whiteout).
    #[track_caller]
    pub fn push_image_special(&self, repo: &str, version: &str) -> String {
        self.build_and_push(repo, version, None, true, 0)
    }

    #[track_caller]
    fn build_and_push(&self, repo: &str, version: &str, cmd: Option<&str>, special: bool, pad_mib: u32) -> String {
        let reference = self.image_ref(repo);
        let mut args = vec!["image", path_str(&self.dir), reference.as_str(), version];
        args.extend(cmd);
        let output = script_command(&args)
            .env("PODUP_IMAGE_SPECIAL", if special { "1" } else { "0" })
            .env("PODUP_IMAGE_PAD_MB", pad_mib.to_string())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {SCRIPT}: {e}"));
        let output = check(output, &format!("podup-harness.sh image {reference} {version}"));
        let stdout = stdout_of(&output);
        let digest = stdout.lines().last().unwrap_or("").trim().to_string();
        assert!(digest.starts_with("sha256:"), "image: no digest in {stdout:?}");
        digest
    }

    /// Makes `container-NAME.service` run `image` the way an operator would: `podman create`
    /// (no network), `podman generate systemd --new --name --files`, remove the container,
    /// daemon-reload. Returns the unit name. The unit is installed, not started.
    #[track_caller]
    pub fn container_unit(&self, name: &str, image: &str) -> String {
        self.exec_ok(&["podman", "create", "-q", "--name", name, "--network=none", image]);
        // --stop-timeout 2: an image whose PID 1 ignores SIGTERM stops in 2 s, not 10
        let generate = "cd \"$PODUP_UNIT_DIR\" && \
                        podman generate systemd --new --name --files --stop-timeout 2 \"$1\"";
        check(
            self.exec(&["sh", "-c", generate, "sh", name]),
            &format!("podman generate systemd --new --name --files {name}"),
        );
        self.exec_ok(&["podman", "rm", name]);
        self.systemctl_ok(&["daemon-reload"]);
        let unit = format!("container-{name}.service");
        assert!(self.unit_dir().join(&unit).is_file(), "{unit} was not generated");
        unit
    }

    /// The digest of the image container `name` runs (`podman inspect --format {{.ImageDigest}}`).
    #[track_caller]
    pub fn running_digest(&self, name: &str) -> String {
        self.exec_ok(&["podman", "inspect", name, "--format", "{{.ImageDigest}}"])
    }

    /// The cgroup directory name the script uses for this bed: `podup-` + the first 12 hex
    /// digits of sha1(DIR), as in the script's `set_paths`.
    pub fn cgroup_name(&self) -> String {
        let output = Command::new("sh")
            .args(["-c", "printf %s \"$1\" | sha1sum", "sh", path_str(&self.dir)])
            .output()
            .unwrap_or_else(|e| panic!("cannot run sha1sum: {e}"));
        let hash = stdout_of(&check(output, "sha1sum"));
        format!("podup-{}", &hash[..12])
    }

    /// The pid the script recorded for `what` (`manager` or `registry`).
    pub fn recorded_pid(&self, what: &str) -> u32 {
        let path = self.dir.join("state").join(format!("{what}.pid"));
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        text.trim()
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Stops the bed now and panics if `down` fails (dropping the handle only warns).
    pub fn down(mut self) {
        self.is_down = true;
        check(
            self.run_down(),
            &format!("podup-harness.sh down {}", self.dir.display()),
        );
    }

    fn run_down(&self) -> Output {
        let started = Instant::now();
        let output = script_command(&["down", path_str(&self.dir)])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {SCRIPT}: {e}"));
        eprintln!(
            "real test '{}': harness down in {:.2}s ({:.2}s since up began)",
            self.name,
            started.elapsed().as_secs_f64(),
            self.started.elapsed().as_secs_f64()
        );
        output
    }

    /// Reads the harness environment by letting a shell evaluate `podup-harness.sh env DIR`.
    fn load_env(&self) -> BTreeMap<String, String> {
        let script = r#"e=$("$0" env "$1") || exit 1
eval "$e"
for n in $(printf '%s\n' "$e" | sed -n 's/^export \([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p'); do
  printf '%s=%s\0' "$n" "${!n}"
done"#;
        let output = Command::new("bash")
            .args(["-c", script, SCRIPT, path_str(&self.dir)])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run bash: {e}"));
        let output = check(output, "podup-harness.sh env");
        String::from_utf8_lossy(&output.stdout)
            .split('\0')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if self.is_down {
            return;
        }
        if std::env::var("PODUP_KEEP_HARNESS").as_deref() == Ok("1") {
            let dir = self.dir.display();
            shout(&format!(
                "real test '{name}': PODUP_KEEP_HARNESS=1, harness kept in {dir} \
                 (remove it with: {SCRIPT} down {dir})",
                name = self.name
            ));
            // tells sweep_stale() of later runs to leave this bed alone
            let _ = fs::write(self.dir.join(KEPT_MARKER), "PODUP_KEEP_HARNESS=1\n");
            return;
        }
        // never panic here: this may run while a failed test is unwinding
        let output = self.run_down();
        if !output.status.success() {
            eprintln!(
                "real test '{}': podup-harness.sh down {} failed: {}\n{}",
                self.name,
                self.dir.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim_end()
            );
        }
    }
}

/// A harness directory nobody uses: `/srv/podup-real/<name>-<pid>-<n>`, with `name` cut to
/// the characters and length the script accepts.
fn fresh_dir(name: &str) -> PathBuf {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(MAX_NAME_CHARS)
        .collect();
    let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    PathBuf::from(format!("{BASE_DIR}/{clean}-{}-{n}", std::process::id()))
}

/// Tears down the beds of earlier test processes that died without running `down` (killed,
/// aborted): a dir `<name>-<pid>-<n>` whose pid is gone and that was not kept on purpose.
/// `down` only touches what that bed recorded or created, so this is safe.
fn sweep_stale() {
    let Ok(entries) = fs::read_dir(BASE_DIR) else {
        return;
    };
    for dir in entries.flatten().map(|e| e.path()) {
        let file_name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let Some(pid) = file_name.rsplit('-').nth(1).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() || dir.join(KEPT_MARKER).exists() {
            continue;
        }
        shout(&format!("real tests: removing the stale harness {}", dir.display()));
        // (no let chain: the crate's rust-version is 1.85)
        match script_command(&["down", path_str(&dir)]).output() {
            Ok(output) if !output.status.success() => {
                shout(String::from_utf8_lossy(&output.stderr).trim_end());
            }
            _ => {}
        }
    }
}

/// Prints a line to stderr even while the test harness captures output (it captures
/// `eprintln!`, not writes to the stderr handle): a skip or a kept bed must not go unseen.
/// Prints `line` on the real stderr: the test runner does not capture it, so figures
/// and skip reasons show in `make test` output.
pub fn shout(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("harness paths are ASCII")
}

/// `podup-harness.sh ARGS...` with stdin closed (the harness never reads it).
fn script_command(args: &[&str]) -> Command {
    let mut command = Command::new(SCRIPT);
    command.args(args).stdin(Stdio::null());
    command
}
