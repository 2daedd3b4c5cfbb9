//! Subcommands and their flags (getopts), the usage text and the exit codes.
//! The top level picks the subcommand; each family's file parses its own flags and
//! runs it, returning a [`Error`]. Only [`run`] prints an error and turns it into
//! the exit code.

mod check;
mod completions;
mod completions_bash;
mod completions_fish;
mod completions_zsh;
mod demo;
mod error;
mod notify;
mod ops;
mod policy;
mod recover;
mod services;
pub mod spec;
#[cfg(test)]
mod spec_docs_tests;
mod tasks;
mod tokens;
mod trigger;
mod usage;

pub use error::{EXIT_OK, Error};

use crate::build_info::{BUILD_COMMIT, BUILD_DATE, VERSION};
use crate::config::Config;
use crate::{logging, serve};
use spec::options;
use usage::USAGE;

/// What the command line asked for.
#[derive(Debug, PartialEq)]
pub enum Command {
    Demo(crate::demo::DemoArgs),
    Serve(ServeArgs),
    Trigger(trigger::TriggerArgs),
    AutoUpdate(trigger::AutoUpdateArgs),
    Recover(recover::RecoverArgs),
    Tasks(tasks::ListArgs),
    Task(tasks::TaskArgs),
    Token(tokens::TokenArgs),
    /// `podup check [--json]`
    Check {
        json: bool,
    },
    CheckUpdates(check::CheckArgs),
    Policy(policy::PolicyArgs),
    Prune(ops::PruneArgs),
    /// `podup discover [--json]`
    Discover {
        json: bool,
    },
    Services(services::ServicesArgs),
    Notify(notify::NotifyArgs),
    RunTask(tasks::RunTaskArgs),
    Completions(completions::Shell),
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

/// Parses `args` (without the program name): picks the subcommand, whose own
/// parser reads its flags.
pub fn parse(args: &[String]) -> Result<Command, UsageError> {
    let Some((sub, rest)) = args.split_first() else {
        return Err(UsageError("missing command".into()));
    };
    match sub.as_str() {
        "help" | "--help" | "-h" => Ok(Command::Help),
        "version" | "--version" | "-V" => {
            let m = parse_opts(options("version"), rest, sub)?;
            Ok(if m.opt_present("h") {
                Command::Help
            } else {
                Command::Version
            })
        }
        "serve" => {
            let m = parse_opts(options("serve"), rest, sub)?;
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
        "demo" => Ok(demo::parse(rest)?.map_or(Command::Help, Command::Demo)),
        "trigger" => trigger::parse(rest).map(Command::Trigger),
        "auto-update" => trigger::parse_auto_update(rest).map(Command::AutoUpdate),
        "recover" => recover::parse(rest).map(Command::Recover),
        "tasks" => tasks::parse_list(rest).map(Command::Tasks),
        "task" => tasks::parse_task(rest).map(Command::Task),
        "token" => tokens::parse(rest).map(Command::Token),
        "check" => parse_opts(options("check"), rest, sub).map(|m| Command::Check {
            json: m.opt_present("json"),
        }),
        "check-updates" => check::parse(rest).map(Command::CheckUpdates),
        "policy" => policy::parse(rest).map(Command::Policy),
        "discover" => parse_opts(options("discover"), rest, sub).map(|m| Command::Discover {
            json: m.opt_present("json"),
        }),
        "services" => services::parse(rest).map(Command::Services),
        "prune" => ops::parse_prune(rest).map(Command::Prune),
        "run-task" => tasks::parse_run_task(rest).map(Command::RunTask),
        "notify" => notify::parse(rest).map(Command::Notify),
        "completions" => completions::parse(rest).map(Command::Completions),
        other => Err(UsageError(format!("unknown command '{other}'"))),
    }
}

fn task_id(text: &str) -> Result<i64, UsageError> {
    text.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| UsageError(format!("'{text}' is not a task id")))
}

/// Parses the flags of a subcommand that takes no free arguments.
fn parse_opts(o: getopts::Options, rest: &[String], sub: &str) -> Result<getopts::Matches, UsageError> {
    let m = o.parse(rest).map_err(|e| UsageError(format!("{sub}: {e}")))?;
    if let Some(extra) = m.free.first() {
        return Err(UsageError(format!("{sub}: unexpected argument '{extra}'")));
    }
    Ok(m)
}

/// Runs the command line and returns the process exit code. The one place that
/// prints an error.
pub fn run(args: Vec<String>) -> u8 {
    match parse(&args).map_err(Error::Usage).and_then(|c| execute(c, &args)) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            match &e {
                Error::Usage(u) => eprintln!("podup: {u}\n\n{USAGE}"),
                Error::Serve(s) => log::error!(error_kind = s.kind(); "{s}"),
                Error::Demo(crate::demo::Error::Serve(s)) => log::error!("{s}"),
                e if e.is_reported() => {}
                e => eprintln!("podup: {e}"),
            }
            e.exit_code()
        }
    }
}

/// Carries out a parsed command line.
fn execute(command: Command, args: &[String]) -> Result<(), Error> {
    match command {
        Command::Help => {
            print!("{USAGE}");
            return Ok(());
        }
        Command::Version => {
            println!("podup {VERSION} (commit {BUILD_COMMIT}, built {BUILD_DATE})");
            return Ok(());
        }
        // A completion script is the same wherever it is printed: no configuration.
        Command::Completions(shell) => {
            print!("{}", completions::script(shell));
            return Ok(());
        }
        // The demo never reads PODUP_* variables: it builds its own configuration.
        Command::Demo(args) => return crate::demo::run(&args).map_err(Error::Demo),
        _ => {}
    }
    let mut config = Config::from_env()?;
    // getopts accepted it as the flag, so it is one (not a free argument).
    if args.iter().any(|a| a == "--discover") {
        config.auto_discover = true;
    }
    logging::init(config.log_level, 0);
    config.warn_unknown();
    // `podup serve` has no network: it leaves delivery to a flush it schedules.
    let may_send = !matches!(command, Command::Serve(_));
    let exe = std::env::current_exe().unwrap_or_default();
    // A worker and a flush are told their database (`--db`): flushes they schedule use it.
    let db = match &command {
        Command::RunTask(a) => std::path::PathBuf::from(&a.db),
        Command::Notify(notify::NotifyArgs::Flush { db: Some(p) }) => std::path::PathBuf::from(p),
        _ => config.db_path(),
    };
    crate::notify::install(crate::tasks::notify::notifier(&config, exe, db, may_send));
    crate::tasks::check::configure(crate::tasks::check::Settings {
        ttl_secs: config.check.ttl_secs,
        timeout_secs: config.check.timeout_secs,
    });
    crate::tasks::retag::configure(crate::host::image_dropin::Places {
        quadlet_dirs: config.quadlet_dirs.clone(),
        unit_dirs: config.unit_dirs.clone(),
        images_dir: config.images_dir.clone(),
    });
    match command {
        Command::Serve(args) => {
            logging::raise(args.verbose);
            serve::run(
                config,
                &serve::Options {
                    listen: args.listen,
                    idle_exit_secs: args.idle_exit_secs,
                },
            )
            .map_err(Error::Serve)
        }
        Command::Trigger(args) => trigger::run(&config, &args),
        Command::AutoUpdate(args) => trigger::auto_update(&config, &args),
        Command::Recover(args) => recover::run(&config, &args),
        Command::Tasks(args) => tasks::list(&config, &args),
        Command::Task(args) => tasks::one(&config, &args),
        Command::Token(args) => tokens::run(&config, &args),
        Command::RunTask(args) => tasks::run_task(&config, &args),
        Command::Check { json } => ops::check(&config, json),
        Command::CheckUpdates(args) => check::run(&config, &args),
        Command::Policy(args) => policy::run(&config, &args),
        Command::Prune(args) => ops::prune(&config, &args),
        Command::Discover { json } => ops::discover(&config, json),
        Command::Services(args) => services::run(&config, &args),
        Command::Notify(args) => notify::run(&config, &args),
        Command::Help | Command::Version | Command::Demo(_) | Command::Completions(_) => {
            unreachable!("handled above")
        }
    }
}

/// Prints `value` as the `--json` of every command does: indented, one object.
fn print_json(value: &serde_json::Value) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value).expect("JSON serializes");
    write_stdout(&(text + "\n"))
}

/// Writes `text` to stdout. A reader that stopped reading (`podup tasks --json | head`)
/// has what it wanted: that is not an error, and never a panic as `println!`'s.
fn write_stdout(text: &str) -> Result<(), Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Stdout(e)),
        _ => Ok(()),
    }
}

/// Opens the state database or explains why not.
pub fn open_db(config: &Config) -> Result<rusqlite::Connection, Error> {
    Ok(crate::store::open(&config.db_path())?)
}

/// What the commands that create or steer tasks need: the host, this binary (task
/// units run it) and the state database.
pub struct TaskEnv {
    pub host: crate::host::Host,
    pub exe: std::path::PathBuf,
    pub conn: rusqlite::Connection,
}

impl TaskEnv {
    pub fn open(config: &Config) -> Result<TaskEnv, Error> {
        let exe = std::env::current_exe().map_err(Error::NoBinary)?;
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
