//! What can go wrong running a command, and reading what it printed.

use super::{CommandRecord, describe, one_line};
use std::fmt;

/// A command that could not run, failed, timed out or printed something unreadable.
#[derive(Debug, Clone, PartialEq)]
pub struct HostError {
    /// Stable tag: `command_missing`, `command_failed`, `command_timeout`,
    /// `unexpected_output`, `invalid_argument`, `unit_file_unreadable` or
    /// `image_file_unwritable`.
    pub kind: &'static str,
    /// One sentence naming the command, its exit status and the end of its stderr.
    pub message: String,
    /// The command as it ran (boxed: errors travel by value through every `?`).
    pub record: Option<Box<CommandRecord>>,
}

impl HostError {
    pub(super) fn invalid(what: &str, value: &str, why: &str) -> HostError {
        HostError {
            kind: "invalid_argument",
            message: format!("refusing {what} '{}': {why}", value.escape_debug()),
            record: None,
        }
    }

    /// The command ran but exited non-zero (or was killed).
    pub(super) fn failed(record: CommandRecord) -> HostError {
        let how = match record.status {
            Some(code) => format!("exited with status {code}"),
            None => "was killed by a signal".to_string(),
        };
        let message = format!(
            "'{}' {how}: {}",
            describe(&record.argv),
            one_line(&record.stderr, "no output on stderr")
        );
        HostError {
            kind: "command_failed",
            message,
            record: Some(Box::new(record)),
        }
    }

    /// The command printed something podup cannot read.
    pub(super) fn unexpected(record: CommandRecord, error: ParseError) -> HostError {
        HostError {
            kind: "unexpected_output",
            message: format!("'{}' printed output podup cannot read: {error}", describe(&record.argv)),
            record: Some(Box::new(record)),
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HostError {}

/// What a pure parser found wrong with a tool's output.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}
