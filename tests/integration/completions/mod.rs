//! The shell completions as a user meets them: `podup completions SHELL` prints a script
//! each shell accepts (`bash -n`, `zsh -n`, `fish -n`), and Tab in a real interactive
//! shell on a pty (`tab.py`) offers podup's commands, flags, values and service names,
//! and stays silent when podup cannot answer.
//!
//! The shells come from tests/packages.txt (zsh, fish, bash-completion). Where one is
//! missing its test prints `SKIPPED` and passes, unless `PODUP_REAL_TESTS=require` or
//! `CI` is set: there a skip would be a test that cannot fail.

use crate::support::{PODUP, TempDir};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

const SHELLS: [&str; 3] = ["bash", "zsh", "fish"];
const TAB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/integration/completions/tab.py");

/// Whether `shell` can run here; a missing one is a skip, or a failure where skips are
/// not allowed.
fn have(test: &str, shell: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {shell} && command -v python3")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let why = format!("needs {shell} and python3 (tests/packages.txt)");
        let strict =
            std::env::var("PODUP_REAL_TESTS").is_ok_and(|v| v == "require") || std::env::var_os("CI").is_some();
        assert!(!strict, "{test}: {why}");
        eprintln!("SKIPPED {test}: {why}");
    }
    found
}

/// A home for the shells, `podup` first on PATH, and each shell's script where that
/// shell looks for it.
struct Bed {
    dir: TempDir,
}

impl Bed {
    fn new(name: &str) -> Bed {
        let dir = TempDir::new(name);
        for sub in ["bin", "home", "state", "zsh"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        std::os::unix::fs::symlink(PODUP, dir.path().join("bin/podup")).unwrap();
        for (shell, file) in [("bash", "podup.bash"), ("zsh", "zsh/_podup"), ("fish", "podup.fish")] {
            let out = Command::new(PODUP).args(["completions", shell]).output().unwrap();
            assert!(out.status.success(), "podup completions {shell}: {out:?}");
            std::fs::write(dir.path().join(file), &out.stdout).unwrap();
        }
        Bed { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// How each shell loads the script, as its own completion system would.
    fn setup(&self, shell: &str) -> String {
        match shell {
            "bash" => format!("source {}", self.path("podup.bash").display()),
            "zsh" => format!(
                "fpath=({} $fpath)\nautoload -Uz compinit; compinit -u -D",
                self.path("zsh").display()
            ),
            _ => format!("source {}", self.path("podup.fish").display()),
        }
    }

    /// Types `keys` and Tab in `shell` with `env`; what the shell showed.
    fn tab(&self, shell: &str, keys: &str, env: &[(&str, &str)]) -> String {
        let mut c = Command::new("python3");
        c.arg(TAB).args([shell, &self.setup(shell), keys]);
        c.env_clear()
            .env(
                "PATH",
                format!("{}:/usr/local/bin:/usr/bin:/bin", self.path("bin").display()),
            )
            .env("HOME", self.path("home"))
            .env("TERM", "xterm")
            .env("LANG", "C.UTF-8")
            .env("PODUP_STATE_DIR", self.path("state"));
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        let shown = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{shell}: {keys}<Tab>: {}\n{shown}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A completion shows words, never a complaint of the shell or of podup.
        for noise in ["bad option", "not found", "error", "podup: ", "No such"] {
            assert!(
                !shown.contains(noise),
                "{shell}: {keys}<Tab> showed '{noise}':\n{shown}"
            );
        }
        shown
    }
}

/// podup's commands, as `podup help` lists them.
fn commands() -> BTreeSet<String> {
    let out = Command::new(PODUP).arg("help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let section = help.split("Commands:").nth(1).unwrap().split("\n\n").next().unwrap();
    section
        .lines()
        .filter_map(|l| {
            l.strip_prefix("  ")
                .filter(|r| !r.starts_with(' '))?
                .split_whitespace()
                .next()
        })
        .filter(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .map(String::from)
        .collect()
}

/// The words of `shown` that are among `of`.
fn offered<'a>(shown: &str, of: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    let words: BTreeSet<&str> = shown.split_whitespace().collect();
    of.into_iter().filter(|w| words.contains(w)).map(String::from).collect()
}

#[test]
fn completion_scripts_pass_each_shells_syntax_check() {
    let bed = Bed::new("completions-syntax");
    for (shell, file) in [("bash", "podup.bash"), ("zsh", "zsh/_podup"), ("fish", "podup.fish")] {
        if !have("completion_scripts_pass_each_shells_syntax_check", shell) {
            continue;
        }
        let out = Command::new(shell).arg("-n").arg(bed.path(file)).output().unwrap();
        assert!(
            out.status.success(),
            "{shell} -n {file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn tab_after_podup_ta_offers_task_and_tasks_in_each_shell() {
    let bed = Bed::new("completions-ta");
    let commands = commands();
    assert!(commands.contains("tasks") && commands.contains("token"), "{commands:?}");
    for shell in SHELLS {
        if !have("tab_after_podup_ta_offers_task_and_tasks_in_each_shell", shell) {
            continue;
        }
        let shown = bed.tab(shell, "podup ta", &[]);
        assert_eq!(
            offered(&shown, commands.iter().map(String::as_str)),
            BTreeSet::from(["task".to_string(), "tasks".to_string()]),
            "{shell}: podup ta<Tab> showed:\n{shown}"
        );
    }
}

#[test]
fn tab_offers_service_names_from_podup_services_in_each_shell() {
    let bed = Bed::new("completions-services");
    let services = [("PODUP_SERVICES", "app.service, worker.service")];
    for shell in SHELLS {
        if !have("tab_offers_service_names_from_podup_services_in_each_shell", shell) {
            continue;
        }
        let shown = bed.tab(shell, "podup trigger ", &services);
        assert_eq!(
            offered(&shown, ["app.service", "worker.service"]).len(),
            2,
            "{shell}: podup trigger <Tab> showed:\n{shown}"
        );
    }
}

#[test]
fn tab_completes_flags_and_their_values_in_bash() {
    if !have("tab_completes_flags_and_their_values_in_bash", "bash") {
        return;
    }
    let bed = Bed::new("completions-flags");
    // One match is inserted: the rest of the word appears after what was typed.
    let shown = bed.tab("bash", "podup tasks --st", &[]);
    assert!(shown.contains("atus"), "podup tasks --st<Tab> showed:\n{shown}");
    let shown = bed.tab("bash", "podup tasks --status rol", &[]);
    assert!(shown.contains("led_back"), "--status rol<Tab> showed:\n{shown}");
    let shown = bed.tab("bash", "podup token add ci --role ", &[]);
    assert_eq!(
        offered(&shown, ["admin", "trigger", "read"]).len(),
        3,
        "--role <Tab> showed:\n{shown}"
    );
}

#[test]
fn tab_stays_silent_when_podup_cannot_answer() {
    if !have("tab_stays_silent_when_podup_cannot_answer", "bash") {
        return;
    }
    let bed = Bed::new("completions-silent");
    // A configuration podup refuses (exit 2, with a message on stderr).
    let bad = [("PODUP_WORKERS", "many"), ("PODUP_SERVICES", "app.service")];
    for keys in ["podup trigger ", "podup task "] {
        let shown = bed.tab("bash", keys, &bad);
        assert!(
            !shown.contains("PODUP_WORKERS") && !shown.contains("app.service"),
            "{keys}<Tab> with a broken configuration showed:\n{shown}"
        );
    }
}

#[test]
fn tab_after_task_offers_its_actions_and_the_recent_task_ids_in_each_shell() {
    let (_fakes, podup) = crate::support::setup("completions-tasks", &[]);
    let ids: Vec<String> = (0..2)
        .map(|_| {
            let out = podup.run(&["trigger", "other.service"]);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        })
        .collect();
    let state = podup.state.path().join("state");
    let env = [("PODUP_STATE_DIR", state.to_str().unwrap())];
    let bed = Bed::new("completions-tasks");
    for shell in SHELLS {
        if !have(
            "tab_after_task_offers_its_actions_and_the_recent_task_ids_in_each_shell",
            shell,
        ) {
            continue;
        }
        let shown = bed.tab(shell, "podup task ", &env);
        let want = ["stop", "force-stop", "retry", "approve", "reject", &ids[0], &ids[1]];
        assert_eq!(
            offered(&shown, want).len(),
            want.len(),
            "{shell}: podup task <Tab> (tasks {ids:?}) showed:\n{shown}"
        );
        // After an action only the ids.
        let shown = bed.tab(shell, "podup task retry ", &env);
        assert_eq!(
            offered(&shown, [ids[0].as_str(), ids[1].as_str(), "stop", "reject"]),
            BTreeSet::from([ids[0].clone(), ids[1].clone()]),
            "{shell}: podup task retry <Tab> showed:\n{shown}"
        );
    }
}
