//! Why `podup demo` could not start or stopped: `Display` is the sentence `cli::run`
//! prints after `podup: `, `is_usage` tells a bad `--listen` or `--state` (exit 2)
//! from a failure (exit 1).

use crate::config::ConfigError;
use crate::serve::ServeError;
use crate::store::StoreError;
use crate::tasks::control::ControlError;
use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub enum Error {
    /// `--listen` names an address the demo cannot bind.
    Listen { addr: String, error: std::io::Error },
    /// `--state` holds a database this demo did not create (it would delete it).
    NotOwned { db: PathBuf },
    /// The state directory could not be emptied and the new database created.
    Fresh { dir: PathBuf, error: std::io::Error },
    /// No random webhook secret could be made.
    Secret(std::io::Error),
    /// The demo's own configuration did not validate.
    Config(ConfigError),
    /// Seeding the history, the admin token or the two live tasks failed.
    Prepare(Prepare),
    /// Serving stopped (logged, as `podup serve` is, not printed).
    Serve(ServeError),
}

/// What failed while the demo's database was prepared.
#[derive(Debug)]
pub enum Prepare {
    Open(StoreError),
    Seed(rusqlite::Error),
    Token(String),
    Binary(std::io::Error),
    Task(ControlError),
    /// A scheduled task's worker could not be launched.
    Arm(String),
    /// The policy file could not be rewritten.
    Policy(std::io::Error),
}

impl Error {
    /// A bad `--listen` or `--state`: fix the command line.
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::Listen { .. } | Error::NotOwned { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Listen { addr, error } => {
                write!(
                    f,
                    "cannot listen on '{addr}': {error} (choose another address with --listen)"
                )
            }
            Error::NotOwned { db } => write!(
                f,
                "'{}' was not created by podup demo, which starts from a fresh database and would delete it: \
                 choose another directory with --state",
                db.display()
            ),
            Error::Fresh { dir, error } => {
                write!(
                    f,
                    "cannot prepare the demo state directory '{}': {error}",
                    dir.display()
                )
            }
            Error::Secret(e) => write!(f, "{e}"),
            Error::Config(e) => write!(f, "{e}"),
            Error::Prepare(e) => write!(f, "cannot prepare the demo: {e}"),
            Error::Serve(e) => write!(f, "{e}"),
        }
    }
}

impl fmt::Display for Prepare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Prepare::Open(e) => write!(f, "{e}"),
            Prepare::Seed(e) => write!(f, "{e}"),
            Prepare::Token(e) => f.write_str(e),
            Prepare::Binary(e) => write!(f, "{e}"),
            Prepare::Task(e) => write!(f, "{e}"),
            Prepare::Arm(e) => write!(f, "cannot arm the scheduled task: {e}"),
            Prepare::Policy(e) => write!(f, "cannot write the policy file: {e}"),
        }
    }
}

impl std::error::Error for Error {}
