//! The test bed of the real-component tests: one [`Harness`] is one local registry plus one
//! real `systemd --user` manager in a private mount namespace, started and stopped by
//! `tests/real/podup-harness.sh` (the `bookworm` kind: the host's Debian 12, Podman 4.3,
//! systemd 252) or `tests/real/trixie-harness.sh` (the `trixie` kind: a cached Debian 13 root
//! file system with Podman 5, systemd 257 and Quadlet). Read the scripts' headers for how and why.
//!
//! Tests are written once and run on each kind: [`on_kinds!`] makes `<test>::bookworm` and
//! `<test>::trixie` out of one function, and [`Harness::up`] starts the kind of the test that
//! calls it.
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

/// The bookworm bed's script, inside the repository.
pub const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/real/podup-harness.sh");

/// The trixie bed's script, inside the repository.
pub const TRIXIE_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/real/trixie-harness.sh");

/// The marker file a trixie bed's directory carries (the script's `MARKER`).
const TRIXIE_MARKER: &str = ".podup-trixie-bed";

/// Which bed a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The host's own Debian 12: Podman 4.3.1 (runc), systemd 252, no Quadlet.
    Bookworm,
    /// A Debian 13 root file system: Podman 5.4 (crun), systemd 257, the real Quadlet generator.
    Trixie,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Bookworm => "bookworm",
            Kind::Trixie => "trixie",
        }
    }

    fn script(self) -> &'static str {
        match self {
            Kind::Bookworm => SCRIPT,
            Kind::Trixie => TRIXIE_SCRIPT,
        }
    }
}

thread_local! {
    /// The kind of the test running on this thread (each test has its own thread).
    static KIND: std::cell::Cell<Option<Kind>> = const { std::cell::Cell::new(None) };
}

/// Runs `test` (named `name`) as the test of `kind`: every [`Harness::up`] in it starts that
/// kind of bed, and every line it [`shout`]s names the kind. Prints how long it took.
pub fn run_on(kind: Kind, name: &str, test: fn()) {
    KIND.with(|k| k.set(Some(kind)));
    let started = Instant::now();
    test();
    shout(&format!(
        "real test '{name}' took {:.1} s",
        started.elapsed().as_secs_f64()
    ));
}

/// The kind of the test running on this thread.
pub fn kind() -> Kind {
    KIND.with(|k| k.get()).unwrap_or(Kind::Bookworm)
}

/// Prints why `test` does not run on `kind` (a test about the other kind's own feature).
pub fn not_on(kind: Kind, test: &str, why: &str) {
    KIND.with(|k| k.set(Some(kind)));
    shout(&format!("NOT RUN real test '{test}' on {}: {why}", kind.name()));
}

/// `on_kinds!(test)` makes the tests `test::bookworm` and `test::trixie` that run the
/// function `test` on each bed. `on_kinds!(test, only trixie, "why")` runs it on trixie
/// and makes `test::bookworm` say that it does not run there, and why.
macro_rules! on_kinds {
    ($test:ident) => {
        mod $test {
            #[test]
            fn bookworm() {
                $crate::harness::run_on($crate::harness::Kind::Bookworm, stringify!($test), super::$test)
            }
            #[test]
            fn trixie() {
                $crate::harness::run_on($crate::harness::Kind::Trixie, stringify!($test), super::$test)
            }
        }
    };
    ($test:ident, only trixie, $why:expr) => {
        mod $test {
            #[test]
            fn bookworm() {
                use super::*;
                $crate::harness::not_on($crate::harness::Kind::Bookworm, stringify!($test), $why)
            }
            #[test]
            fn trixie() {
                $crate::harness::run_on($crate::harness::Kind::Trixie, stringify!($test), super::$test)
            }
        }
    };
    ($test:ident, only bookworm, $why:expr) => {
        mod $test {
            #[test]
            fn bookworm() {
                $crate::harness::run_on($crate::harness::Kind::Bookworm, stringify!($test), super::$test)
            }
            #[test]
            fn trixie() {
                use super::*;
                $crate::harness::not_on($crate::harness::Kind::Trixie, stringify!($test), $why)
            }
        }
    };
}

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
    kind: Kind,
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
        let kind = kind();
        let name = &format!("{name}@{}", kind.name());
        if let Some(reason) = skip_reason(kind) {
            if std::env::var("PODUP_REAL_TESTS").as_deref() == Ok("require") {
                panic!("real test '{name}' cannot run (PODUP_REAL_TESTS=require): {reason}");
            }
            shout(&format!("SKIPPED real test '{name}': {reason}"));
            return None;
        }
        fs::create_dir_all(BASE_DIR).unwrap_or_else(|e| panic!("mkdir {BASE_DIR}: {e}"));
        static SWEEP: Once = Once::new();
        SWEEP.call_once(sweep_stale);
        let dir = fresh_dir(name, kind);
        let started = Instant::now();
        let mut up = script_command(kind, &["up", path_str(&dir)]);
        if kind == Kind::Trixie {
            // the built podup, at the same path inside (tests run it there)
            let bin = Path::new(env!("CARGO_BIN_EXE_podup")).parent().unwrap();
            up.env("PODUP_BED_BINDS", bin);
        }
        let up = up
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", kind.script()));
        // `up` cleans up after itself when it fails: nothing to tear down here.
        check(up, &format!("{} up {}", kind.script(), dir.display()));
        let mut harness = Harness {
            kind,
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

    /// The kind of this bed.
    pub fn kind(&self) -> Kind {
        self.kind
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
        script_command(self.kind, &args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.kind.script()))
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
        let output = script_command(self.kind, &args)
            .env("PODUP_IMAGE_SPECIAL", if special { "1" } else { "0" })
            .env("PODUP_IMAGE_PAD_MB", pad_mib.to_string())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.kind.script()));
        let output = check(output, &format!("harness image {reference} {version}"));
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
        let output = script_command(self.kind, &["down", path_str(&self.dir)])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.kind.script()));
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
            .args(["-c", script, self.kind.script(), path_str(&self.dir)])
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
                 (remove it with: {script} down {dir})",
                name = self.name,
                script = self.kind.script()
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
fn fresh_dir(name: &str, kind: Kind) -> PathBuf {
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
    // the kind in front: the test name's end is cut
    let clean = format!("{}{clean}", &kind.name()[..1]);
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
        let kind = if dir.join(TRIXIE_MARKER).exists() {
            Kind::Trixie
        } else {
            Kind::Bookworm
        };
        // (no let chain: the crate's rust-version is 1.85)
        match script_command(kind, &["down", path_str(&dir)]).output() {
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
/// On a test's thread the line starts with the bed's kind, `[trixie] `.
pub fn shout(line: &str) {
    match KIND.with(|k| k.get()) {
        Some(kind) => {
            let _ = writeln!(std::io::stderr(), "[{}] {line}", kind.name());
        }
        None => {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("harness paths are ASCII")
}

/// The kind's script with `ARGS...`, stdin closed (the harness never reads it).
fn script_command(kind: Kind, args: &[&str]) -> Command {
    let mut command = Command::new(kind.script());
    command.args(args).stdin(Stdio::null());
    command
}
