//! Every command and its flags, in one table. The parsers build their getopts
//! options from it, the shell completions are generated from it (`cli::completions`),
//! and the man pages are checked against it (`cli::spec_docs_tests`), so a flag cannot
//! exist in one and not the other.

use getopts::Options;

/// How a flag is spelled and what it takes.
#[derive(Debug, Clone, Copy)]
pub struct Flag {
    /// One letter, or "" when there is no short spelling.
    pub short: &'static str,
    pub long: &'static str,
    /// `Some(hint)` when the flag takes a value (`--limit N`), `None` for a switch.
    pub value: Option<&'static str>,
    /// May be repeated (`-vv`).
    pub multi: bool,
    pub help: &'static str,
}

const fn switch(long: &'static str, help: &'static str) -> Flag {
    Flag {
        short: "",
        long,
        value: None,
        multi: false,
        help,
    }
}

const fn valued(long: &'static str, hint: &'static str, help: &'static str) -> Flag {
    Flag {
        short: "",
        long,
        value: Some(hint),
        multi: false,
        help,
    }
}

/// A command: its name, the words it takes after it (`token add|list|revoke`) and
/// its own flags (besides [`COMMON`]).
#[derive(Debug)]
pub struct CommandSpec {
    pub name: &'static str,
    /// Read by the tests that hold the man page and the completions to this table.
    #[cfg_attr(not(test), allow(dead_code))]
    pub words: &'static [&'static str],
    pub flags: &'static [Flag],
}

/// The flags every command takes.
pub const COMMON: &[Flag] = &[
    Flag {
        short: "v",
        long: "verbose",
        value: None,
        multi: true,
        help: "more log output",
    },
    Flag {
        short: "h",
        long: "help",
        value: None,
        multi: false,
        help: "print help",
    },
    switch(
        "discover",
        "also take units found by discovery (as PODUP_AUTO_DISCOVER=1)",
    ),
];

const CALLER: Flag = valued("caller", "C", "who asks");
const JSON: Flag = switch("json", "print JSON (the API's objects)");

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "demo",
        words: &[],
        flags: &[
            valued("listen", "ADDR", "address to serve the panel on"),
            valued("state", "DIR", "directory of the demo's state database"),
        ],
    },
    CommandSpec {
        name: "serve",
        words: &[],
        flags: &[
            valued("listen", "ADDR", "address to bind without socket activation"),
            valued("idle-exit", "SECS", "exit after SECS without a request"),
        ],
    },
    CommandSpec {
        name: "trigger",
        words: &[],
        flags: &[
            switch("all", "every declared service"),
            CALLER,
            valued("reason", "R", "why"),
            switch("dry-run", "print the plan, change nothing"),
            switch("wait", "wait for the task to end"),
        ],
    },
    CommandSpec {
        name: "auto-update",
        words: &[],
        flags: &[CALLER, switch("dry-run", "only report what would be updated")],
    },
    CommandSpec {
        name: "recover",
        words: &[],
        flags: &[CALLER],
    },
    CommandSpec {
        name: "tasks",
        words: &[],
        flags: &[
            valued("status", "S", "only tasks with this status"),
            valued("limit", "N", "how many (default 20)"),
            JSON,
        ],
    },
    CommandSpec {
        name: "task",
        words: &["stop", "force-stop", "kill", "retry", "approve", "reject"],
        flags: &[JSON],
    },
    CommandSpec {
        name: "token",
        words: &["add", "list", "revoke"],
        flags: &[valued("role", "ROLE", "admin, trigger or read"), JSON],
    },
    CommandSpec {
        name: "check",
        words: &[],
        flags: &[JSON],
    },
    CommandSpec {
        name: "check-updates",
        words: &[],
        flags: &[
            switch("fresh", "ask the registries even when their last answer is fresh"),
            JSON,
            CALLER,
        ],
    },
    CommandSpec {
        name: "policy",
        words: &[],
        flags: &[JSON],
    },
    CommandSpec {
        name: "prune",
        words: &[],
        flags: &[
            switch("dry-run", "count, remove nothing"),
            valued("older-than", "DURATION", "remove what is older than this (30d, 12h)"),
            JSON,
        ],
    },
    CommandSpec {
        name: "discover",
        words: &[],
        flags: &[JSON],
    },
    CommandSpec {
        name: "services",
        words: &[],
        flags: &[switch("names", "only the unit names, one a line"), JSON],
    },
    CommandSpec {
        name: "notify",
        words: &["list", "test"],
        flags: &[
            switch("flush", "deliver the notifications that are due"),
            valued("db", "PATH", "the state database (what the flush timer passes)"),
            JSON,
        ],
    },
    CommandSpec {
        name: "run-task",
        words: &[],
        flags: &[valued("db", "PATH", "the state database")],
    },
    CommandSpec {
        name: "completions",
        words: &["bash", "zsh", "fish"],
        flags: &[],
    },
    CommandSpec {
        name: "version",
        words: &[],
        flags: &[],
    },
    CommandSpec {
        name: "help",
        words: &[],
        flags: &[],
    },
];

/// The command of that name; every parser asks for its own, so a missing one is a
/// programming error caught by the first test that parses it.
pub fn command(name: &str) -> &'static CommandSpec {
    COMMANDS
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("command '{name}' is not in cli::spec::COMMANDS"))
}

/// The getopts options of a command: [`COMMON`] and its own flags.
pub fn options(name: &str) -> Options {
    let mut o = Options::new();
    for f in COMMON.iter().chain(command(name).flags) {
        match (f.value, f.multi) {
            (Some(hint), _) => o.optopt(f.short, f.long, f.help, hint),
            (None, true) => o.optflagmulti(f.short, f.long, f.help),
            (None, false) => o.optflag(f.short, f.long, f.help),
        };
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_parses_its_own_flags() {
        for c in COMMANDS {
            let o = options(c.name);
            for f in COMMON.iter().chain(c.flags) {
                let mut argv = vec![format!("--{}", f.long)];
                if f.value.is_some() {
                    argv.push("x".into());
                }
                assert!(o.parse(&argv).is_ok(), "{} --{}", c.name, f.long);
            }
        }
    }

    #[test]
    fn usage_names_every_command() {
        for c in COMMANDS {
            assert!(
                super::super::usage::USAGE.contains(&format!("\n  {}", c.name)),
                "podup help does not list '{}'",
                c.name
            );
            for w in c.words {
                assert!(
                    super::super::usage::USAGE.contains(w),
                    "podup help lacks '{} {w}'",
                    c.name
                );
            }
        }
    }
}
