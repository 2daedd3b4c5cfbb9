//! One bed's life: started by its script, commands run inside it, torn down on drop (also
//! when a test panics), and stale beds of dead test processes swept away.

use super::{Kind, TRIXIE_MARKER, check, kind, path_str, script_command, shout, skip_reason, stdout_of};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

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

/// Numbers the harnesses of this test process, so names never collide.
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

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
        Harness::up_with(name, &[])
    }

    /// [`Harness::up`] with `env` for the script's `up` (its knobs, such as
    /// `PODUP_REGISTRY_NOTIFY_URL`).
    pub fn up_with(name: &str, env: &[(&str, &str)]) -> Option<Harness> {
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
        up.envs(env.iter().copied());
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

    /// A power cut and the boot after it (the script's `powercycle`): the manager and all it
    /// runs are SIGKILLed, nothing shuts down; a new manager starts on the same disk (podman
    /// storage, the home directory with unit files and podup's database) with an empty
    /// `/run`, and this returns once its start-up jobs (the enabled units) are done.
    #[track_caller]
    pub fn powercycle(&self) {
        let started = Instant::now();
        let output = script_command(self.kind, &["powercycle", path_str(&self.dir)])
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.kind.script()));
        check(
            output,
            &format!("{} powercycle {}", self.kind.script(), self.dir.display()),
        );
        eprintln!(
            "real test '{}': powercycle in {:.2}s",
            self.name,
            started.elapsed().as_secs_f64()
        );
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
