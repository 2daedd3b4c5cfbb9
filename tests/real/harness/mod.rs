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
//!
//! It is also the one support module of the real suite: podup installed and serving in a
//! bed ([`podup`]), the bed with an app that the deploy tests share ([`app`]). Test files
//! import it, never each other.

// A toolbox for every real test: at any moment some helpers have no caller yet.
#![allow(dead_code)]

mod app;
mod bed;
mod fleet;
mod images;
mod notify;
mod podup;
mod policy;
mod preflight;
mod recovery;

pub use app::{Bed, setup, setup_env, setup_with};
pub use bed::Harness;
pub use notify::{Ntfy, Receiver};
pub use podup::*;
pub use policy::{PolicyBed, Scope, now_ms, policy_bed, policy_bed_in};
pub use preflight::skip_reason;
pub use recovery::{RECOVERY_VERIFY_SECS, RecoverBy, output_text};

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
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

/// How long to wait between two polls in [`wait_until`].
const POLL_INTERVAL_MILLIS: u64 = 100;

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
