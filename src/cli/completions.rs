//! `podup completions bash|zsh|fish`: the shell completion scripts, written from the
//! command table ([`super::spec`]) so a command or flag cannot be in one and not the
//! other. This file holds what the three shells share: which values a flag takes,
//! which commands take service names or task ids, and one line about each command;
//! `completions_bash`, `completions_zsh` and `completions_fish` write the scripts.
//!
//! Service names and task ids are asked of podup itself when Tab is pressed
//! (`podup services --names`, `podup tasks --limit 20`), behind a two-second
//! `timeout` and with stderr dropped, so a broken configuration stays silent.

use super::UsageError;
use super::spec::{COMMANDS, CommandSpec, Flag};
use crate::auth::credential::Role;
use crate::model::TaskStatus;

/// A shell podup writes a completion script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// `completions SHELL`
pub fn parse(rest: &[String]) -> Result<Shell, UsageError> {
    let m = super::spec::options("completions")
        .parse(rest)
        .map_err(|e| UsageError(format!("completions: {e}")))?;
    match m.free.as_slice() {
        [s] if s == "bash" => Ok(Shell::Bash),
        [s] if s == "zsh" => Ok(Shell::Zsh),
        [s] if s == "fish" => Ok(Shell::Fish),
        [s] => Err(UsageError(format!(
            "completions: unknown shell '{s}' (bash, zsh or fish)"
        ))),
        _ => Err(UsageError("completions: expected one shell: bash, zsh or fish".into())),
    }
}

/// The script for `shell`.
pub fn script(shell: Shell) -> String {
    match shell {
        Shell::Bash => super::completions_bash::script(),
        Shell::Zsh => super::completions_zsh::script(),
        Shell::Fish => super::completions_fish::script(),
    }
}

/// What the value of a flag can be completed with.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Nothing known (a number, a name, a duration).
    Free,
    /// One of these words.
    Words(Vec<&'static str>),
    /// A file name.
    File,
    /// A directory name.
    Dir,
}

/// The value `--flag` takes, where podup knows it.
pub fn values(flag: &Flag) -> Values {
    match flag.long {
        "role" => Values::Words(Role::ALL.iter().map(|r| r.as_str()).collect()),
        "status" => Values::Words(TaskStatus::ALL.iter().map(|s| s.as_str()).collect()),
        "db" => Values::File,
        "state" => Values::Dir,
        _ => Values::Free,
    }
}

/// What a command's free arguments are, beyond its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operands {
    None,
    /// Service names (`podup services --names`), any number.
    Services,
    /// One task id (`podup tasks`), first or after a word (`task stop ID`).
    Task,
}

/// Commands that take service names or a task id.
const OPERANDS: &[(&str, Operands)] = &[
    ("trigger", Operands::Services),
    ("check-updates", Operands::Services),
    ("policy", Operands::Services),
    ("services", Operands::Services),
    ("task", Operands::Task),
];

pub fn operands(command: &str) -> Operands {
    OPERANDS
        .iter()
        .find(|(c, _)| *c == command)
        .map_or(Operands::None, |(_, o)| *o)
}

/// One line about each command: the description the shells show beside it.
const SUMMARIES: &[(&str, &str)] = &[
    ("demo", "try podup: the panel over a simulated host"),
    ("serve", "answer HTTP requests"),
    ("trigger", "update services now"),
    ("auto-update", "run podman auto-update as a task"),
    ("recover", "repair units a lost worker left half-deployed"),
    ("tasks", "list tasks, newest first"),
    ("task", "show or steer one task"),
    ("token", "add, list or revoke API tokens"),
    ("check", "run every self-check"),
    ("check-updates", "ask the registries for newer images"),
    ("policy", "show each service's update policy"),
    ("services", "list the services podup may update"),
    ("prune", "remove old events and finished tasks"),
    ("discover", "find webhook-capable units"),
    ("notify", "deliver, list or test notifications"),
    ("run-task", "carry out a task (what its unit runs)"),
    ("completions", "print a shell completion script"),
    ("version", "print the version"),
    ("help", "print the help"),
];

pub fn summary(command: &str) -> &'static str {
    SUMMARIES.iter().find(|(c, _)| *c == command).map_or("", |(_, s)| s)
}

/// Every command, in the table's order.
pub fn commands() -> impl Iterator<Item = &'static CommandSpec> {
    COMMANDS.iter()
}

/// `s` in single quotes, for every shell here (`'` becomes `'\''`).
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Every flag a command takes: its own, then [`super::spec::COMMON`].
pub fn all_flags(c: &'static CommandSpec) -> impl Iterator<Item = &'static Flag> {
    c.flags.iter().chain(super::spec::COMMON.iter())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn every_command_has_a_summary_and_every_summary_a_command() {
        for c in COMMANDS {
            assert!(
                !summary(c.name).is_empty(),
                "'{}' has no summary in cli::completions",
                c.name
            );
        }
        let named = SUMMARIES
            .iter()
            .map(|(n, _)| *n)
            .chain(OPERANDS.iter().map(|(n, _)| *n));
        for name in named {
            assert!(
                COMMANDS.iter().any(|c| c.name == name),
                "cli::completions names '{name}', which is not a command"
            );
        }
    }

    #[test]
    fn known_values_come_from_the_types() {
        let role = super::super::spec::command("token").flags[0];
        assert_eq!(values(&role), Values::Words(vec!["admin", "trigger", "read"]));
        let status = super::super::spec::command("tasks").flags[0];
        match values(&status) {
            Values::Words(w) => assert!(w.contains(&"rolled_back") && w.contains(&"awaiting_approval")),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn the_shell_is_one_of_three() {
        assert_eq!(parse(&args("zsh")), Ok(Shell::Zsh));
        assert_eq!(
            parse(&args("tcsh")).unwrap_err().0,
            "completions: unknown shell 'tcsh' (bash, zsh or fish)"
        );
        assert!(parse(&[]).is_err());
    }
}
