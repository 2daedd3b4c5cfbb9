//! Subcommands and their flags (getopts), the usage text and the exit codes.
//! Only `run` turns an error into a log line and a number; the commands themselves
//! live in one file per family.

mod ops;
mod tasks;
mod tokens;
mod trigger;

use crate::config::{Config, ConfigError};
use crate::{logging, serve};
use getopts::Options;

/// Everything worked.
pub const EXIT_OK: u8 = 0;
/// A runtime failure (socket, database, host command).
pub const EXIT_FAILURE: u8 = 1;
/// A usage or configuration error: fix the command line or the environment.
pub const EXIT_USAGE: u8 = 2;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Set by `make release` (`git rev-parse HEAD`); `unknown` for a plain cargo build.
pub const BUILD_COMMIT: &str = match option_env!("PODUP_BUILD_COMMIT") {
    Some(c) => c,
    None => "unknown",
};
/// Set by `make release` from `SOURCE_DATE_EPOCH` (the last commit's date).
pub const BUILD_DATE: &str = match option_env!("PODUP_BUILD_DATE") {
    Some(d) => d,
    None => "unknown",
};

const USAGE: &str = "\
Usage: podup <command> [options]

Commands:
  demo [--listen ADDR] [--state DIR]
                 try podup: the admin panel on ADDR (default 127.0.0.1:8777)
                 over a simulated host with three days of history, a fresh
                 state database in DIR (default ./state-demo); prints a token
  serve [--listen ADDR] [--idle-exit SECS]
                 answer HTTP requests: on the sockets systemd hands over
                 (podup.socket, Accept=no or Accept=yes), else on ADDR
                 (default 127.0.0.1:8777; 'unix:/path' for a Unix socket)
  trigger SERVICE... | --all [--caller C] [--reason R] [--dry-run] [--wait]
                 update services now, as POST /api/v1/services/S/update does
  auto-update [--caller C] [--dry-run]
                 run podman auto-update as a task (what the timer runs)
  tasks [--status S] [--limit N]
                 list tasks, newest first
  task ID        show one task: units and log
  task stop|kill|retry ID
                 stop (SIGTERM), kill (SIGKILL) or retry a task
  check          run every self-check and print a verdict with a fix each
  prune [--dry-run] [--older-than DURATION]
                 remove old events and finished tasks (default: the retention
                 settings PODUP_RETENTION_EVENTS / PODUP_RETENTION_TASKS)
  discover       find webhook-capable units (Quadlet markers, labelled containers)
  token add NAME --role admin|trigger|read
                 create an API token and print it (once)
  token list     list tokens (never their values)
  token revoke NAME
  run-task ID --db PATH
                 carry out a task (what podup-task-<id>.service runs)
  version        print the version
  help           print this help

Options for every command:
  -v, --verbose  more log output (repeat for more); PODUP_LOG_LEVEL sets the base
  --discover     also take units found by discovery (as PODUP_AUTO_DISCOVER=1)
  -h, --help     print this help

Configuration comes from PODUP_* environment variables; env/podup.env.example
lists every one with its default.

Exit codes:
  0  ok
  1  runtime failure
  2  usage or configuration error
";

/// What the command line asked for.
#[derive(Debug, PartialEq)]
pub enum Command {
    Demo(crate::demo::DemoArgs),
    Serve(ServeArgs),
    Trigger(trigger::TriggerArgs),
    AutoUpdate {
        caller: Option<String>,
        dry_run: bool,
    },
    Tasks {
        status: Option<String>,
        limit: usize,
    },
    Task {
        verb: Option<String>,
        id: i64,
    },
    Token(tokens::TokenArgs),
    Check,
    Prune {
        dry_run: bool,
        older_than_secs: Option<u64>,
    },
    Discover,
    RunTask {
        id: i64,
        db: String,
    },
    Version,
    Help,
}

#[derive(Debug, Default, PartialEq)]
pub struct ServeArgs {
    pub listen: Option<String>,
    pub idle_exit_secs: Option<u64>,
    pub verbose: usize,
}

/// A command line that could not be understood; `Display` is the sentence to print.
#[derive(Debug, PartialEq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn common_options() -> Options {
    let mut o = Options::new();
    o.optflagmulti("v", "verbose", "more log output");
    o.optflag("h", "help", "print help");
    o.optflag(
        "",
        "discover",
        "also take units found by discovery (as PODUP_AUTO_DISCOVER=1)",
    );
    o
}

/// Parses `args` (without the program name): the subcommand first, then its flags.
pub fn parse(args: &[String]) -> Result<Command, UsageError> {
    let Some((sub, rest)) = args.split_first() else {
        return Err(UsageError("missing command".into()));
    };
    match sub.as_str() {
        "help" | "--help" | "-h" => Ok(Command::Help),
        "version" | "--version" | "-V" => {
            let m = parse_opts(common_options(), rest, sub)?;
            Ok(if m.opt_present("h") {
                Command::Help
            } else {
                Command::Version
            })
        }
        "serve" => {
            let mut o = common_options();
            o.optopt("", "listen", "address to bind without socket activation", "ADDR");
            o.optopt("", "idle-exit", "exit after SECS without a request", "SECS");
            let m = parse_opts(o, rest, sub)?;
            if m.opt_present("h") {
                return Ok(Command::Help);
            }
            let idle_exit_secs =
                match m.opt_str("idle-exit") {
                    None => None,
                    Some(v) => Some(v.parse::<u64>().map_err(|_| {
                        UsageError(format!("--idle-exit: expected a whole number of seconds, got '{v}'"))
                    })?),
                };
            Ok(Command::Serve(ServeArgs {
                listen: m.opt_str("listen"),
                idle_exit_secs,
                verbose: m.opt_count("v"),
            }))
        }
        "demo" => {
            let mut o = common_options();
            o.optopt("", "listen", "address to serve the panel on", "ADDR");
            o.optopt("", "state", "directory of the demo's state database", "DIR");
            let m = parse_opts(o, rest, sub)?;
            if m.opt_present("h") {
                return Ok(Command::Help);
            }
            Ok(Command::Demo(crate::demo::DemoArgs {
                listen: m
                    .opt_str("listen")
                    .unwrap_or_else(|| crate::demo::DEFAULT_LISTEN.into()),
                state: m.opt_str("state"),
                verbose: m.opt_count("v"),
            }))
        }
        "trigger" => trigger::parse(rest).map(Command::Trigger),
        "auto-update" => {
            let mut o = common_options();
            o.optopt("", "caller", "who asks", "C");
            o.optflag("", "dry-run", "only report what would be updated");
            let m = parse_opts(o, rest, sub)?;
            let caller = m.opt_str("caller");
            crate::tasks::fields::flag("--caller", caller.as_deref(), crate::tasks::fields::MAX_CALLER_CHARS)
                .map_err(|e| UsageError(format!("auto-update: {e}")))?;
            Ok(Command::AutoUpdate {
                caller,
                dry_run: m.opt_present("dry-run"),
            })
        }
        "tasks" => {
            let mut o = common_options();
            o.optopt("", "status", "only tasks with this status", "S");
            o.optopt("", "limit", "how many (default 20)", "N");
            let m = parse_opts(o, rest, sub)?;
            let limit = match m.opt_str("limit") {
                None => 20,
                Some(v) => v
                    .parse()
                    .map_err(|_| UsageError(format!("--limit: expected a whole number, got '{v}'")))?,
            };
            Ok(Command::Tasks {
                status: m.opt_str("status"),
                limit,
            })
        }
        "task" => {
            let m = common_options()
                .parse(rest)
                .map_err(|e| UsageError(format!("task: {e}")))?;
            let (verb, id) = match m.free.as_slice() {
                [id] => (None, id),
                [verb, id] if matches!(verb.as_str(), "stop" | "kill" | "retry") => (Some(verb.clone()), id),
                [verb, _] => {
                    return Err(UsageError(format!(
                        "task: unknown action '{verb}' (stop, kill or retry)"
                    )));
                }
                _ => {
                    return Err(UsageError(
                        "task: expected 'task ID' or 'task stop|kill|retry ID'".into(),
                    ));
                }
            };
            Ok(Command::Task { verb, id: task_id(id)? })
        }
        "token" => tokens::parse(rest).map(Command::Token),
        "check" => parse_opts(common_options(), rest, sub).map(|_| Command::Check),
        "discover" => parse_opts(common_options(), rest, sub).map(|_| Command::Discover),
        "prune" => {
            let mut o = common_options();
            o.optflag("", "dry-run", "count, remove nothing");
            o.optopt(
                "",
                "older-than",
                "remove what is older than this (30d, 12h)",
                "DURATION",
            );
            let m = parse_opts(o, rest, sub)?;
            let older_than_secs = match m.opt_str("older-than") {
                None => None,
                Some(v) => Some(crate::duration::parse_secs(&v).map_err(|e| {
                    UsageError(match e {
                        crate::duration::DurationError::Invalid => {
                            format!("--older-than: expected a duration such as 30d or 12h, got '{v}'")
                        }
                        crate::duration::DurationError::OutOfRange => {
                            format!("--older-than: at most {}, got '{v}'", crate::duration::MAX_TEXT)
                        }
                    })
                })?),
            };
            Ok(Command::Prune {
                dry_run: m.opt_present("dry-run"),
                older_than_secs,
            })
        }
        "run-task" => {
            let mut o = common_options();
            o.optopt("", "db", "the state database", "PATH");
            let m = o.parse(rest).map_err(|e| UsageError(format!("run-task: {e}")))?;
            let [id] = m.free.as_slice() else {
                return Err(UsageError("run-task: expected one task id".into()));
            };
            let db = m
                .opt_str("db")
                .ok_or_else(|| UsageError("run-task: --db PATH is required".into()))?;
            Ok(Command::RunTask { id: task_id(id)?, db })
        }
        other => Err(UsageError(format!("unknown command '{other}'"))),
    }
}

fn task_id(text: &str) -> Result<i64, UsageError> {
    text.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| UsageError(format!("'{text}' is not a task id")))
}

fn parse_opts(o: Options, rest: &[String], sub: &str) -> Result<getopts::Matches, UsageError> {
    let m = o.parse(rest).map_err(|e| UsageError(format!("{sub}: {e}")))?;
    if let Some(extra) = m.free.first() {
        return Err(UsageError(format!("{sub}: unexpected argument '{extra}'")));
    }
    Ok(m)
}

/// Runs the command line and returns the process exit code.
pub fn run(args: Vec<String>) -> u8 {
    let command = match parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("podup: {e}\n\n{USAGE}");
            return EXIT_USAGE;
        }
    };
    match command {
        Command::Help => {
            print!("{USAGE}");
            EXIT_OK
        }
        Command::Version => {
            println!("podup {VERSION} (commit {BUILD_COMMIT}, built {BUILD_DATE})");
            EXIT_OK
        }
        // The demo never reads PODUP_* variables: it builds its own configuration.
        Command::Demo(args) => crate::demo::run(&args),
        command => {
            let mut config = match load_config() {
                Ok(c) => c,
                Err(code) => return code,
            };
            // getopts accepted it as the flag, so it is one (not a free argument).
            if args.iter().any(|a| a == "--discover") {
                config.auto_discover = true;
            }
            logging::init(config.log_level, 0);
            config.warn_unknown();
            match command {
                Command::Serve(args) => {
                    logging::raise(args.verbose);
                    match serve::run(
                        config,
                        &serve::Options {
                            listen: args.listen,
                            idle_exit_secs: args.idle_exit_secs,
                        },
                    ) {
                        Ok(()) => EXIT_OK,
                        Err(e) => {
                            log::error!(error_kind = e.kind(); "{e}");
                            EXIT_FAILURE
                        }
                    }
                }
                Command::Trigger(args) => trigger::run(&config, &args),
                Command::AutoUpdate { caller, dry_run } => trigger::auto_update(&config, caller.as_deref(), dry_run),
                Command::Tasks { status, limit } => tasks::list(&config, status.as_deref(), limit),
                Command::Task { verb, id } => tasks::one(&config, verb.as_deref(), id),
                Command::Token(args) => tokens::run(&config, &args),
                Command::RunTask { id, db } => tasks::run_task(&config, id, &db),
                Command::Check => ops::check(&config),
                Command::Prune {
                    dry_run,
                    older_than_secs,
                } => ops::prune(&config, dry_run, older_than_secs),
                Command::Discover => ops::discover(&config),
                Command::Help | Command::Version | Command::Demo(_) => unreachable!("handled above"),
            }
        }
    }
}

/// Prints `podup: <message>` and returns the runtime-failure exit code.
pub fn fail(message: impl std::fmt::Display) -> u8 {
    eprintln!("podup: {message}");
    EXIT_FAILURE
}

/// Opens the state database or explains why not.
pub fn open_db(config: &Config) -> Result<rusqlite::Connection, u8> {
    crate::store::open(&config.db_path()).map_err(fail)
}

/// What the commands that create or steer tasks need: the host, this binary (task
/// units run it) and the state database.
pub struct TaskEnv {
    pub host: crate::host::Host,
    pub exe: std::path::PathBuf,
    pub conn: rusqlite::Connection,
}

impl TaskEnv {
    pub fn open(config: &Config) -> Result<TaskEnv, u8> {
        let exe = std::env::current_exe().map_err(|e| fail(format!("cannot find the podup binary: {e}")))?;
        Ok(TaskEnv {
            host: crate::tasks::host_for(config),
            exe,
            conn: open_db(config)?,
        })
    }

    /// The dispatcher and the connection, borrowed together.
    pub fn split<'a>(
        &'a mut self,
        config: &'a Config,
    ) -> (crate::tasks::dispatch::Dispatcher<'a>, &'a mut rusqlite::Connection) {
        (
            crate::tasks::dispatch::Dispatcher {
                config,
                host: &self.host,
                exe: &self.exe,
            },
            &mut self.conn,
        )
    }
}

fn load_config() -> Result<Config, u8> {
    Config::from_env().map_err(|e: ConfigError| {
        eprintln!("podup: {e}");
        EXIT_USAGE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn serve_flags_are_parsed() {
        let c = parse(&args("serve --listen 127.0.0.1:9 --idle-exit 5 -vv")).unwrap();
        assert_eq!(
            c,
            Command::Serve(ServeArgs {
                listen: Some("127.0.0.1:9".into()),
                idle_exit_secs: Some(5),
                verbose: 2
            })
        );
    }

    #[test]
    fn help_spellings() {
        for a in ["help", "--help", "-h", "serve --help", "version -h"] {
            assert_eq!(parse(&args(a)).unwrap(), Command::Help, "{a}");
        }
    }

    #[test]
    fn bad_command_lines_name_the_problem() {
        assert_eq!(parse(&[]).unwrap_err().0, "missing command");
        assert_eq!(
            parse(&args("frobnicate")).unwrap_err().0,
            "unknown command 'frobnicate'"
        );
        assert!(parse(&args("serve --bogus")).unwrap_err().0.contains("bogus"));
        assert_eq!(
            parse(&args("serve --idle-exit ten")).unwrap_err().0,
            "--idle-exit: expected a whole number of seconds, got 'ten'"
        );
        assert_eq!(
            parse(&args("version extra")).unwrap_err().0,
            "version: unexpected argument 'extra'"
        );
    }
}
