//! `cli::Error`: every way a subcommand can fail, each with its exit code. Subcommands
//! return it; only `cli::run` prints it (as `podup: <sentence>` on stderr, or as a log
//! line for `serve`) and turns it into the process exit code.

use super::UsageError;
use crate::config::ConfigError;
use crate::serve::ServeError;
use crate::store::StoreError;
use crate::tasks::control::ControlError;
use std::fmt;

/// Everything worked.
pub const EXIT_OK: u8 = 0;
/// A runtime failure (socket, database, host command).
pub const EXIT_FAILURE: u8 = 1;
/// A usage or configuration error: fix the command line or the environment.
pub const EXIT_USAGE: u8 = 2;

/// Why a subcommand failed. `Display` is the sentence `run` prints after `podup: `.
#[derive(Debug)]
pub enum Error {
    /// The command line could not be understood; printed with the usage text.
    Usage(UsageError),
    /// A `PODUP_*` variable is invalid (the message names it).
    Config(ConfigError),
    /// `podup serve` could not start or stopped serving; logged with its `kind()`.
    Serve(ServeError),
    /// `podup tasks --status S` names no task status.
    UnknownStatus { value: String },
    /// `podup trigger NAME`: NAME is neither declared nor discovered.
    UnknownService { name: String },
    /// `podup trigger --all` with no service declared.
    NoServices,
    /// `podup task ID`: there is no such task.
    NoTask { id: i64 },
    /// `podup token revoke NAME`: there is no such token.
    NoToken { name: String },
    /// `podup token add` refused the name or could not store it.
    Token(String),
    /// The path of this binary (which task units run) cannot be found.
    NoBinary(std::io::Error),
    /// The state database cannot be opened (the message names the file and the fix).
    Database(StoreError),
    /// A query on the state database failed.
    Query(rusqlite::Error),
    /// `podup prune` failed.
    Prune(rusqlite::Error),
    /// Creating, stopping or retrying a task was refused or failed.
    Control(ControlError),
    /// SIGTERM / SIGINT handlers could not be installed.
    Signals(std::io::Error),
    /// `podup trigger --wait`: the task was still running when the wait ended.
    WaitExpired { id: i64, secs: u64 },
    /// Discovery could not run at all.
    Discovery(rusqlite::Error),
    /// `podup check`: the verdicts are printed; some failed.
    ChecksFailed { failed: usize },
    /// `podup discover`: the units found and the errors are printed; some scans failed.
    DiscoveryIncomplete { errors: usize },
    /// `podup trigger --wait`: the task ended failed or cancelled (already printed).
    TaskFailed { id: i64 },
    /// `podup demo` could not start or stopped serving.
    Demo(crate::demo::Error),
    /// `podup policy`: the policies are printed; some services' files have errors.
    PolicyErrors { services: usize },
    /// `podup notify test`: no sink is configured.
    NoSinks,
    /// `podup notify test`: some sinks failed (each is printed).
    NotifyFailed { failed: usize },
    /// A command that reports on its own (the worker) ended with this code.
    Exit(u8),
    /// What a command prints could not be written to stdout (a full disk, a closed
    /// terminal; a reader that stopped reading is not an error).
    Stdout(std::io::Error),
}

impl Error {
    /// The process exit code: 2 for what the command line or the environment must fix,
    /// 1 for everything else (as `just`'s `Error::code()`).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::Config(_) | Error::UnknownStatus { .. } | Error::UnknownService { .. } => {
                EXIT_USAGE
            }
            Error::Exit(code) => *code,
            Error::Demo(e) if e.is_usage() => EXIT_USAGE,
            _ => EXIT_FAILURE,
        }
    }

    /// False when the command already printed what went wrong (the check verdicts,
    /// discovery's errors, the task's end, the worker's log): `run` adds nothing.
    pub fn is_reported(&self) -> bool {
        matches!(
            self,
            Error::ChecksFailed { .. }
                | Error::DiscoveryIncomplete { .. }
                | Error::PolicyErrors { .. }
                | Error::TaskFailed { .. }
                | Error::Exit(_)
        )
    }

    /// `Ok` for exit code 0, else the code of a command that already reported why.
    pub fn from_code(code: u8) -> Result<(), Error> {
        if code == EXIT_OK {
            Ok(())
        } else {
            Err(Error::Exit(code))
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(e) => write!(f, "{e}"),
            Error::Config(e) => write!(f, "{e}"),
            Error::NoSinks => write!(
                f,
                "no notification sink is configured: set PODUP_NOTIFY_FILE (or PODUP_NOTIFY in the user scope, or the credential notify); docs/notifications.md"
            ),
            Error::NotifyFailed { failed } => write!(f, "{failed} sink(s) failed the test"),
            Error::Serve(e) => write!(f, "{e}"),
            Error::UnknownStatus { value } => write!(f, "--status: '{value}' is not a task status"),
            Error::UnknownService { name } => {
                write!(f, "'{name}' is not a declared or discovered service (PODUP_SERVICES)")
            }
            Error::NoServices => f.write_str("no service is declared: set PODUP_SERVICES"),
            Error::NoTask { id } => write!(f, "there is no task {id}"),
            Error::NoToken { name } => write!(f, "there is no token named '{name}'"),
            Error::Token(e) => f.write_str(e),
            Error::NoBinary(e) => write!(f, "cannot find the podup binary: {e}"),
            Error::Database(e) => write!(f, "{e}"),
            Error::Query(e) | Error::Discovery(e) => write!(f, "{e}"),
            Error::Prune(e) => write!(f, "the prune failed: {e}"),
            Error::Control(e) => write!(f, "{e}"),
            Error::Signals(e) => write!(f, "{e}"),
            Error::WaitExpired { id, secs } => write!(f, "task {id} did not end within {secs} s"),
            Error::ChecksFailed { failed } => write!(f, "{failed} check(s) failed"),
            Error::DiscoveryIncomplete { errors } => write!(f, "discovery: {errors} error(s)"),
            Error::PolicyErrors { services } => write!(f, "{services} service(s) have errors in their policy"),
            Error::TaskFailed { id } => write!(f, "task {id} did not succeed"),
            Error::Exit(code) => write!(f, "exit code {code}"),
            Error::Stdout(e) => write!(f, "cannot write to stdout: {e}"),
            Error::Demo(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<UsageError> for Error {
    fn from(e: UsageError) -> Error {
        Error::Usage(e)
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Error {
        Error::Config(e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        Error::Database(e)
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::Query(e)
    }
}

impl From<ControlError> for Error {
    fn from(e: ControlError) -> Error {
        Error::Control(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_and_configuration_errors_exit_2_the_rest_1() {
        let usage = Error::Usage(UsageError("missing command".into()));
        assert_eq!(usage.exit_code(), EXIT_USAGE);
        assert_eq!(Error::UnknownService { name: "x".into() }.exit_code(), EXIT_USAGE);
        assert_eq!(Error::NoTask { id: 7 }.exit_code(), EXIT_FAILURE);
        assert_eq!(Error::NoTask { id: 7 }.to_string(), "there is no task 7");
        assert_eq!(Error::Exit(3).exit_code(), 3);
        let policy = Error::PolicyErrors { services: 2 };
        assert_eq!((policy.exit_code(), policy.is_reported()), (EXIT_FAILURE, true));
        assert!(Error::from_code(0).is_ok());
        assert!(Error::from_code(1).unwrap_err().is_reported());
    }
}
