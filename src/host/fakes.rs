//! Tests that run a `Host` against fake programs: shell scripts written into a temp directory
//! that is the children's whole PATH. They check what `exec` promises (environment, stdin,
//! missing programs, exit status, stderr excerpt, deadline) and how the `Host` methods read
//! what the tools print, including exit codes that are answers rather than failures.

use super::auto_update::UpdateStatus;
use super::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A directory of fake programs; removed on drop.
struct Fakes {
    dir: PathBuf,
}

impl Fakes {
    fn new() -> Fakes {
        Fakes {
            dir: crate::testing::scratch_dir("host-fakes"),
        }
    }

    /// Writes `program` as a script that saves its arguments to `<program>.argv`, then runs `body`.
    fn script(&self, program: &str, body: &str) {
        let path = self.dir.join(program);
        let text = format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$FAKE_DIR/{program}.argv\"\n{body}\n");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Copies a captured fixture next to the scripts, for them to `cat`.
    fn fixture(&self, name: &str) -> String {
        let from = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/podman")
            .join(name);
        std::fs::copy(&from, self.dir.join(name)).unwrap();
        format!("/bin/cat \"$FAKE_DIR/{name}\"")
    }

    fn host(&self, scope: Scope, extra: &[(&str, &str)]) -> Host {
        let mut env = vec![
            ("PATH", self.dir.to_str().unwrap()),
            ("FAKE_DIR", self.dir.to_str().unwrap()),
        ];
        env.extend_from_slice(extra);
        Host::with_env(
            scope,
            Programs::default(),
            env.iter().map(|(k, v)| (k.into(), v.into())),
        )
    }

    /// The arguments `program` last received.
    fn argv(&self, program: &str) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.join(format!("{program}.argv"))).unwrap();
        text.lines().map(String::from).collect()
    }
}

impl Drop for Fakes {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// True once `pid` is gone or a zombie.
fn dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

#[test]
fn run_passes_the_environment_minus_activation_and_secret_variables_and_no_stdin() {
    let fakes = Fakes::new();
    fakes.script(
        "podman",
        "/usr/bin/env\nif read -r line; then echo STDIN=data; else echo STDIN=eof; fi",
    );
    let removed = [
        ("NOTIFY_SOCKET", "value-of-notify-socket"),
        ("LISTEN_FDS", "value-of-listen-fds"),
        ("LISTEN_PID", "value-of-listen-pid"),
        ("LISTEN_FDNAMES", "value-of-listen-fdnames"),
        ("CREDENTIALS_DIRECTORY", "value-of-credentials-directory"),
        ("PODUP_GITHUB_SECRET", "value-of-github-secret"),
        ("registry_token", "value-of-registry-token"),
        ("DB_PASSWORD", "value-of-db-password"),
    ];
    let mut env = removed.to_vec();
    env.push(("KEEP_ME", "yes"));
    let host = fakes.host(Scope::System, &env);
    let record = host.run("podman", &[]).unwrap();
    let lines: Vec<&str> = record.stdout.lines().collect();
    assert!(lines.contains(&"KEEP_ME=yes"), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("PATH=")), "{lines:?}");
    for (name, value) in removed {
        assert!(
            !lines.iter().any(|l| l.starts_with(&format!("{name}="))),
            "{name} leaked: {lines:?}"
        );
        assert!(!record.stdout.contains(value), "value of {name} leaked");
    }
    assert_eq!(lines.last(), Some(&"STDIN=eof"));
}

#[test]
fn a_missing_program_is_command_missing_naming_it_and_path() {
    let fakes = Fakes::new();
    let host = fakes.host(Scope::System, &[]);
    let e = host.run("podman", &strings(&["ps"])).unwrap_err();
    assert_eq!(e.kind, "command_missing");
    assert_eq!(
        e.message,
        format!("'podman' was not found in PATH '{}'", fakes.dir.display())
    );
    let records = host.drain_records();
    assert_eq!(records.len(), 1, "the attempt is in the task log");
    assert_eq!(
        (records[0].argv.clone(), records[0].status),
        (strings(&["podman", "ps"]), None)
    );
}

#[test]
fn a_non_zero_exit_is_command_failed_with_the_stderr_tail() {
    let fakes = Fakes::new();
    let noise = "x".repeat(5000);
    fakes.script(
        "podman",
        &format!("echo out\necho {noise} >&2\necho 'Error: final words' >&2\nexit 125"),
    );
    let host = fakes.host(Scope::System, &[]);
    let e = host.run("podman", &strings(&["pull", "-q", "reg/app:1"])).unwrap_err();
    assert_eq!(e.kind, "command_failed");
    assert!(
        e.message
            .starts_with("'podman pull -q reg/app:1' exited with status 125: ..."),
        "{e}"
    );
    assert!(e.message.ends_with("; Error: final words"), "{e}");
    let record = e.record.unwrap();
    assert_eq!((record.status, record.stdout.as_str()), (Some(125), "out\n"));
    assert!(
        record.stderr.len() <= exec::STDERR_EXCERPT_BYTES,
        "{}",
        record.stderr.len()
    );
    assert!(record.stderr.ends_with("x\nError: final words\n"));
    assert_eq!(fakes.argv("podman"), strings(&["pull", "-q", "reg/app:1"]));
}

#[test]
fn a_command_past_its_deadline_is_killed_with_what_it_started() {
    let fakes = Fakes::new();
    fakes.script(
        "podman",
        "echo partial\n/bin/sleep 30 &\necho $! > \"$FAKE_DIR/grandchild\"\necho $$ > \"$FAKE_DIR/child\"\nexec /bin/sleep 30",
    );
    let host = fakes.host(Scope::System, &[]);
    let started = std::time::Instant::now();
    let e = host
        .run_for(
            "podman",
            &strings(&["pull", "-q", "slow/image:1"]),
            Duration::from_millis(300),
        )
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(e.kind, "command_timeout");
    assert!(
        e.message
            .starts_with("'podman pull -q slow/image:1' did not finish within 0.3 s"),
        "{e}"
    );
    let record = e.record.unwrap();
    assert_eq!((record.status, record.stdout.as_str()), (None, "partial\n"));
    for file in ["child", "grandchild"] {
        let pid: u32 = std::fs::read_to_string(fakes.dir.join(file))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let gone = (0..100).any(|_| {
            dead(pid) || {
                std::thread::sleep(Duration::from_millis(20));
                false
            }
        });
        assert!(gone, "{file} {pid} still runs");
    }
}

#[test]
fn a_leftover_process_holding_stdout_does_not_hold_up_the_result() {
    let fakes = Fakes::new();
    fakes.script("systemctl", "/bin/sleep 3 &\necho done");
    let host = fakes.host(Scope::System, &[]);
    let started = std::time::Instant::now();
    let record = host.run("systemctl", &[]).unwrap();
    assert_eq!(record.stdout, "done\n");
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn records_are_kept_in_order_until_drained() {
    let fakes = Fakes::new();
    fakes.script("podman", "echo \"$1\"");
    let host = fakes.host(Scope::System, &[]);
    host.run("podman", &strings(&["one"])).unwrap();
    host.run("podman", &strings(&["two"])).unwrap();
    let records = host.drain_records();
    let stdouts: Vec<&str> = records.iter().map(|r| r.stdout.as_str()).collect();
    assert_eq!(stdouts, ["one\n", "two\n"]);
    assert!(host.drain_records().is_empty());
}

#[test]
fn unit_state_and_friends_talk_to_the_user_manager() {
    let fakes = Fakes::new();
    let show = "MainPID=7\\nResult=success\\nNRestarts=2\\nLoadState=loaded\\nActiveState=active\\n\
                SubState=running\\nActiveEnterTimestampMonotonic=99\\nInvocationID=abc\\n";
    fakes.script("systemctl", &format!("case \"$2\" in show) printf '{show}';; status) echo 'Unit x.service could not be found.' >&2; exit 4;; is-enabled) echo disabled; exit 1;; esac"));
    let host = fakes.host(Scope::User, &[]);
    let state = host.unit_state("app.service").unwrap();
    assert_eq!((state.main_pid, state.n_restarts, state.is_active()), (7, 2, true));
    assert_eq!(fakes.argv("systemctl"), systemd::show_argv(Scope::User, "app.service"));
    assert_eq!(
        host.status_text("x.service").unwrap(),
        "Unit x.service could not be found.\n"
    );
    let enabled = host.is_enabled("app.service").unwrap();
    assert_eq!((enabled.state.as_str(), enabled.enabled), ("disabled", false));
    assert_eq!(host.drain_records().len(), 3);
    assert_eq!(host.unit_state("--all").unwrap_err().kind, "invalid_argument");
    assert!(host.drain_records().is_empty(), "a refused operand runs nothing");
}

#[test]
fn systemd_run_passes_secrets_but_records_them_redacted() {
    let fakes = Fakes::new();
    fakes.script("systemd-run", "exit 0");
    let host = fakes.host(Scope::System, &[]);
    let env = [("REGISTRY_TOKEN".to_string(), "t0ken".to_string())];
    let record = host.systemd_run(
        "podup-task-1",
        "podup task 1",
        &["RuntimeMaxSec=60".to_string()],
        &env,
        &strings(&["/bin/podup", "run-task", "1"]),
    );
    let record = record.unwrap();
    assert!(
        fakes
            .argv("systemd-run")
            .contains(&"--setenv=REGISTRY_TOKEN=t0ken".to_string())
    );
    assert!(
        record.argv.contains(&"--setenv=REGISTRY_TOKEN=(redacted)".to_string()),
        "{:?}",
        record.argv
    );
    let bad = [("1BAD".to_string(), "x".to_string())];
    let e = host
        .systemd_run("podup-task-2", "d", &[], &bad, &strings(&["/bin/true"]))
        .unwrap_err();
    assert_eq!(e.kind, "invalid_argument");
    for bad in ["NoEquals", "ReadWritePaths=/a\nb"] {
        let e = host
            .systemd_run("podup-task-3", "d", &[bad.to_string()], &[], &strings(&["/bin/true"]))
            .unwrap_err();
        assert_eq!(e.kind, "invalid_argument", "{bad}");
    }
}

#[test]
fn auto_update_keeps_the_rows_of_a_run_that_exits_125() {
    let fakes = Fakes::new();
    let cat = fakes.fixture("auto-update-exit125-with-report.json");
    fakes.script(
        "podman",
        &format!("{cat}\necho 'Error: invalid auto-update policy \"bogus\"' >&2\nexit 125"),
    );
    let host = fakes.host(Scope::System, &[]);
    let report = host.auto_update(false).unwrap();
    assert_eq!(report.rows.len(), 1);
    assert_eq!(report.rows[0].updated, UpdateStatus::Updated);
    let error = report.error.unwrap();
    assert_eq!(error.kind, "command_failed");
    assert!(error.message.contains("invalid auto-update policy"), "{error}");
    assert_eq!(fakes.argv("podman"), strings(&["auto-update", "--format", "json"]));
}

#[test]
fn auto_update_without_rows_is_empty_or_an_error() {
    let fakes = Fakes::new();
    let host = fakes.host(Scope::System, &[]);
    fakes.script("podman", "exit 0");
    let report = host.auto_update(true).unwrap();
    assert!(report.rows.is_empty() && report.error.is_none());
    assert_eq!(
        fakes.argv("podman"),
        strings(&["auto-update", "--format", "json", "--dry-run"])
    );
    fakes.script("podman", "echo 'Error: cannot connect to systemd' >&2\nexit 125");
    assert_eq!(host.auto_update(false).unwrap_err().kind, "command_failed");
    fakes.script("podman", "echo 'UNIT CONTAINER'");
    assert_eq!(host.auto_update(false).unwrap_err().kind, "unexpected_output");
}

#[test]
fn podman_queries_read_captured_output() {
    let fakes = Fakes::new();
    let ps = fakes.fixture("ps-one-running.json");
    let pull = fakes.fixture("pull-quiet.stdout");
    fakes.script(
        "podman",
        &format!(
            "case \"$1\" in ps) if [ \"$2\" = -a ] && [ \"$3\" = -q ]; then echo 565d746347e8; else {ps}; fi;;\n\
             pull) {pull};; image) echo sha256:1071;; *) exit 0;; esac"
        ),
    );
    let host = fakes.host(Scope::User, &[]);
    let containers = host.unit_containers("container-app.service").unwrap();
    assert_eq!(containers[0].names, ["app"]);
    assert_eq!(
        fakes.argv("podman"),
        strings(&[
            "ps",
            "-a",
            "--filter",
            "label=PODMAN_SYSTEMD_UNIT=container-app.service",
            "--format",
            "json"
        ])
    );
    assert_eq!(
        host.pull("reg/app:1").unwrap(),
        "458894292f81ca5b90b9695a824c6b450e1aae85a87dd6e53a4103b51fac7097"
    );
    assert_eq!(host.image_digest("reg/app:1").unwrap(), "sha256:1071");
    assert_eq!(host.image_users("7071f2cc7d22").unwrap(), 1);
    assert_eq!(
        fakes.argv("podman"),
        strings(&["ps", "-a", "-q", "--filter", "ancestor=7071f2cc7d22"])
    );
    host.tag("reg/app:1", "reg/app:previous").unwrap();
    assert_eq!(fakes.argv("podman"), strings(&["tag", "reg/app:1", "reg/app:previous"]));
    host.rmi("7071f2cc7d22").unwrap();
    assert_eq!(fakes.argv("podman"), strings(&["rmi", "7071f2cc7d22"]));
}
