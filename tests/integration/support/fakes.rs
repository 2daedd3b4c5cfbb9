//! Recording fakes for `systemd-run`, `systemctl`, `podman` and `journalctl`, first
//! on PATH: each appends its argv (tab-separated) to `calls.log` and answers with
//! `<name>.stdout`, `<name>.stderr` and `<name>.exit` when a test wrote them. An answer
//! for the first one or two arguments (`podman.image.inspect.stdout`, `podman.ps.stdout`)
//! comes first: each of the three files is looked up as `<name>.<arg1>.<arg2>.<what>`,
//! then `<name>.<arg1>.<what>`, then `<name>.<what>`. These test argv and parsing only;
//! tests/real/ runs the real programs.

use crate::support::TempDir;
use std::path::{Path, PathBuf};

pub struct Fakes {
    pub dir: TempDir,
}

const SCRIPT: &str = r#"#!/bin/sh
name=$(basename "$0")
# One write a line, so that the lines of commands run at once never interleave.
line=$name; for a in "$@"; do line="$line$(printf '\t%s' "$a")"; done
printf '%s\n' "$line" >> "$FAKE_DIR/calls.log"
pick() {
  for f in "$FAKE_DIR/$name.$1.$2.$3" "$FAKE_DIR/$name.$1.$3" "$FAKE_DIR/$name.$3"; do
    [ -f "$f" ] && { printf '%s' "$f"; return 0; }
  done
  return 1
}
f=$(pick "$1" "$2" stdout) && cat "$f"
f=$(pick "$1" "$2" stderr) && cat "$f" >&2
f=$(pick "$1" "$2" exit) && exit "$(cat "$f")"
exit 0
"#;

impl Fakes {
    pub fn new() -> Fakes {
        let dir = TempDir::new("fakes");
        for name in ["systemd-run", "systemctl", "podman", "journalctl"] {
            let p = dir.path().join(name);
            std::fs::write(&p, SCRIPT).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Fakes { dir }
    }

    /// Makes `name` run the shell `snippet` first, then record and answer as before:
    /// for a fake whose answers change with what it is told (a restart that starts
    /// another container).
    pub fn before(&self, name: &str, snippet: &str) {
        let text = SCRIPT.replacen("#!/bin/sh\n", &format!("#!/bin/sh\n{snippet}\n"), 1);
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }

    /// PATH with the fakes first.
    pub fn path_env(&self) -> String {
        format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Makes `name` answer with `exit` and `stderr`.
    pub fn answer(&self, name: &str, exit: i32, stdout: &str, stderr: &str) {
        std::fs::write(self.file(name, "exit"), exit.to_string()).unwrap();
        std::fs::write(self.file(name, "stdout"), stdout).unwrap();
        std::fs::write(self.file(name, "stderr"), stderr).unwrap();
    }

    /// Makes `name` answer so when its first arguments are `args` (one or two, such
    /// as `["image", "inspect"]`); other calls keep their answer.
    pub fn answer_args(&self, name: &str, args: &[&str], exit: i32, stdout: &str, stderr: &str) {
        assert!(
            matches!(args.len(), 1 | 2),
            "answer_args takes one or two arguments: {args:?}"
        );
        let name = [&[name], args].concat().join(".");
        self.answer(&name, exit, stdout, stderr);
    }

    fn file(&self, name: &str, what: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.{what}"))
    }

    /// Every recorded call as its argv (program name first).
    pub fn calls(&self) -> Vec<Vec<String>> {
        std::fs::read_to_string(self.dir.path().join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| l.split('\t').map(String::from).collect())
            .collect()
    }

    pub fn calls_of(&self, name: &str) -> Vec<Vec<String>> {
        self.calls().into_iter().filter(|c| c[0] == name).collect()
    }
}
