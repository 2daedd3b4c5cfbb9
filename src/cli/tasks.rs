//! `podup tasks [--json]`, `podup task ID [--json]`, `podup task stop|force-stop|retry|approve|reject ID`, and
//! `podup run-task ID --db PATH` (the worker inside `podup-task-<id>.service`):
//! their flags and what they do.

use super::{Error, TaskEnv, UsageError, open_db, options, parse_opts, print_json, task_id};
use crate::config::Config;
use crate::model::TaskStatus;
use crate::store::tasks::{self, ListFilter};
use crate::tasks::approval;
use crate::tasks::control::{self, Origin};
use crate::tasks::dispatch::Dispatcher;
use crate::tasks::view;
use crate::tasks::{host_for, worker};

/// How many tasks `podup tasks` lists without `--limit`.
const DEFAULT_LIMIT: usize = 20;

/// `podup tasks [--status S] [--limit N] [--json]`
#[derive(Debug, PartialEq)]
pub struct ListArgs {
    pub status: Option<String>,
    /// `None`: [`DEFAULT_LIMIT`] in the table, the API's page for `--json`.
    pub limit: Option<usize>,
    /// Print `GET /api/v1/tasks`'s answer.
    pub json: bool,
}

/// `podup task [VERB] ID [--json]`
#[derive(Debug, PartialEq)]
pub struct TaskArgs {
    /// `None` shows the task.
    pub verb: Option<TaskVerb>,
    pub id: i64,
    /// Show the task as `GET /api/v1/tasks/<id>` answers.
    pub json: bool,
}

/// `podup run-task ID --db PATH`
#[derive(Debug, PartialEq)]
pub struct RunTaskArgs {
    pub id: i64,
    pub db: String,
}

/// What `podup task VERB ID` does to a task, in the words of the API
/// (`POST /api/v1/tasks/<id>/force-stop`) and the panel's buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskVerb {
    /// SIGTERM: the worker ends its step and stops.
    Stop,
    /// SIGKILL: the worker dies at once.
    ForceStop,
    /// A new task with the same spec.
    Retry,
    /// Approve a task that awaits an approval (docs/policy.md).
    Approve,
    /// Reject it.
    Reject,
}

impl TaskVerb {
    pub fn parse(word: &str) -> Option<TaskVerb> {
        match word {
            "stop" => Some(TaskVerb::Stop),
            // `kill` is what the CLI called it before; scripts may still say so.
            "force-stop" | "kill" => Some(TaskVerb::ForceStop),
            "retry" => Some(TaskVerb::Retry),
            "approve" => Some(TaskVerb::Approve),
            "reject" => Some(TaskVerb::Reject),
            _ => None,
        }
    }
}

pub fn parse_list(rest: &[String]) -> Result<ListArgs, UsageError> {
    let m = parse_opts(options("tasks"), rest, "tasks")?;
    let limit = match m.opt_str("limit") {
        None => None,
        Some(v) => Some(
            v.parse()
                .map_err(|_| UsageError(format!("--limit: expected a whole number, got '{v}'")))?,
        ),
    };
    Ok(ListArgs {
        status: m.opt_str("status"),
        limit,
        json: m.opt_present("json"),
    })
}

pub fn parse_task(rest: &[String]) -> Result<TaskArgs, UsageError> {
    let m = options("task")
        .parse(rest)
        .map_err(|e| UsageError(format!("task: {e}")))?;
    let (verb, id) = match m.free.as_slice() {
        [id] => (None, id),
        [verb, id] => match TaskVerb::parse(verb) {
            Some(v) => (Some(v), id),
            None => {
                return Err(UsageError(format!(
                    "task: unknown action '{verb}' (stop, force-stop, retry, approve or reject)"
                )));
            }
        },
        _ => {
            return Err(UsageError(
                "task: expected 'task ID' or 'task stop|force-stop|retry|approve|reject ID'".into(),
            ));
        }
    };
    let json = m.opt_present("json");
    if json && verb.is_some() {
        return Err(UsageError(
            "task: --json shows a task ('task ID --json'); the actions print a sentence".into(),
        ));
    }
    Ok(TaskArgs {
        verb,
        id: task_id(id)?,
        json,
    })
}

pub fn parse_run_task(rest: &[String]) -> Result<RunTaskArgs, UsageError> {
    let m = options("run-task")
        .parse(rest)
        .map_err(|e| UsageError(format!("run-task: {e}")))?;
    let [id] = m.free.as_slice() else {
        return Err(UsageError("run-task: expected one task id".into()));
    };
    let db = m
        .opt_str("db")
        .ok_or_else(|| UsageError("run-task: --db PATH is required".into()))?;
    Ok(RunTaskArgs { id: task_id(id)?, db })
}

pub fn list(config: &Config, args: &ListArgs) -> Result<(), Error> {
    let status = match args.status.as_deref() {
        None => None,
        Some(s) => Some(TaskStatus::parse(s).ok_or_else(|| Error::UnknownStatus { value: s.into() })?),
    };
    let conn = open_db(config)?;
    if args.json {
        // The API's page: its default size, and no more than its largest.
        let filter = ListFilter {
            status,
            limit: args.limit.map_or(view::DEFAULT_PAGE, |n| n.min(view::MAX_PAGE)),
            ..Default::default()
        };
        return print_json(&view::list(&conn, &filter)?);
    }
    let filter = ListFilter {
        status,
        limit: args.limit.unwrap_or(DEFAULT_LIMIT),
        ..Default::default()
    };
    let list = tasks::list(&conn, &filter)?;
    println!("{:<7} {:<12} {:<12} {:<16} UNITS", "ID", "KIND", "STATUS", "CALLER");
    for t in list {
        println!(
            "{:<7} {:<12} {:<12} {:<16} {}",
            t.id,
            t.kind,
            t.status,
            t.caller.unwrap_or_default(),
            t.units.join(" ")
        );
    }
    Ok(())
}

pub fn one(config: &Config, args: &TaskArgs) -> Result<(), Error> {
    let id = args.id;
    let mut env = TaskEnv::open(config)?;
    let (d, conn) = env.split(config);
    control::check_alive(conn, &d, id);
    let caller = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    let message = match args.verb {
        None if args.json => {
            return print_json(&view::one(conn, id)?.ok_or(Error::NoTask { id })?);
        }
        None => return show(conn, id),
        Some(TaskVerb::Retry) => control::retry(
            conn,
            &d,
            id,
            &Origin {
                source: "cli",
                caller: &caller,
                reason: Some("retry"),
                request_id: None,
            },
        )
        .map(|new| format!("task {new} retries task {id}"))?,
        Some(TaskVerb::Approve) => match approval::approve(conn, &d, id, &caller)? {
            approval::Approved::Started => format!("task {id} approved by {caller}; it runs now"),
            approval::Approved::Scheduled(at) => format!(
                "task {id} approved by {caller}; scheduled for {} (its service's window)",
                crate::clock::format_utc(at)
            ),
        },
        Some(TaskVerb::Reject) => {
            approval::reject(conn, id, &caller)?;
            format!("task {id} rejected by {caller}; it is skipped")
        }
        Some(verb @ (TaskVerb::Stop | TaskVerb::ForceStop)) => {
            let stopped = control::stop(conn, &d, id, verb == TaskVerb::ForceStop)?;
            let changed = stopped.changed;
            let now = tasks::get(conn, id)
                .ok()
                .flatten()
                .map(|t| t.status.as_str())
                .unwrap_or_default();
            if let Some(r) = stopped.recovery {
                format!("task {id} is {now}; recovery task {r} repairs what its worker left")
            } else if changed {
                format!("task {id} is {now}")
            } else {
                format!("task {id} had already ended ({now})")
            }
        }
    };
    println!("{message}");
    Ok(())
}

fn show(conn: &rusqlite::Connection, id: i64) -> Result<(), Error> {
    let t = tasks::get(conn, id)?.ok_or(Error::NoTask { id })?;
    let units = tasks::units(conn, id)?;
    let logs = tasks::logs(conn, id)?;
    println!(
        "task {} ({}) {} {}",
        t.id,
        t.kind,
        t.status,
        t.reason.as_deref().unwrap_or("")
    );
    println!(
        "  by {} via {}; {}",
        t.caller.as_deref().unwrap_or("?"),
        t.source,
        t.message.as_deref().unwrap_or("")
    );
    let utc = crate::clock::format_utc;
    if let Some(deadline) = t.deadline_ms.filter(|_| t.status == TaskStatus::AwaitingApproval) {
        println!(
            "  awaits an approval until {} (podup task approve|reject {id})",
            utc(deadline)
        );
    }
    if let Some(at) = t.not_before_ms.filter(|_| t.status == TaskStatus::Scheduled) {
        println!("  scheduled for {} (podup-task-{id}.timer)", utc(at));
    }
    if let (Some(by), Some(at)) = (&t.decided_by, t.decided_ms) {
        println!("  decided by {by} at {}", utc(at));
    }
    for u in units {
        let from = u.from_digest.as_deref().unwrap_or("?");
        let to = u.to_digest.as_deref().unwrap_or("?");
        println!(
            "  {} {} ({}): {from} -> {to} {}",
            u.unit,
            u.status,
            u.phase,
            u.message.as_deref().unwrap_or("")
        );
    }
    for l in logs {
        let argv = l.argv.map(|a| format!(" $ {}", a.join(" "))).unwrap_or_default();
        let exit = l.exit_status.map(|c| format!(" [exit {c}]")).unwrap_or_default();
        println!("  {} {:<5} {:<10} {}{argv}{exit}", l.ts_ms, l.level, l.step, l.message);
        if let Some(err) = l.stderr.filter(|e| !e.is_empty()) {
            for line in err.lines().take(10) {
                println!("      | {line}");
            }
        }
    }
    Ok(())
}

/// The worker: exit 0 when the task succeeded, 1 otherwise.
pub fn run_task(config: &Config, args: &RunTaskArgs) -> Result<(), Error> {
    let id = args.id;
    crate::sys::catch_stop_signals().map_err(Error::Signals)?;
    let mut conn = crate::store::open(std::path::Path::new(&args.db))?;
    let host = host_for(config);
    // A task the previous worker left saying running, with its unit gone, is marked.
    let exe = std::env::current_exe().unwrap_or_default();
    let d = Dispatcher {
        config,
        host: &host,
        exe: &exe,
    };
    if let Ok(open) = tasks::open_ids(&conn) {
        for other in open.into_iter().filter(|o| *o != id) {
            control::check_alive(&conn, &d, other);
        }
    }
    let code = worker::run(&mut conn, &host, id);
    // A check's new images meet their services' policies (docs/policy.md).
    if tasks::get(&conn, id)
        .ok()
        .flatten()
        .is_some_and(|t| t.kind == crate::model::TaskKind::Check)
    {
        if let Err(e) = crate::tasks::admit::act_on_check(&mut conn, &d, id, false) {
            log::error!(podup_task_id = id; "the policies' pass after the check failed: {e}");
        }
    }
    Error::from_code(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn kill_is_still_accepted_as_force_stop() {
        for word in ["kill", "force-stop"] {
            let a = parse_task(&args(&format!("{word} 42"))).unwrap();
            assert_eq!(
                a,
                TaskArgs {
                    verb: Some(TaskVerb::ForceStop),
                    id: 42,
                    json: false
                },
                "{word}"
            );
        }
        assert_eq!(parse_task(&args("stop 7")).unwrap().verb, Some(TaskVerb::Stop));
        assert_eq!(parse_task(&args("retry 7")).unwrap().verb, Some(TaskVerb::Retry));
        assert_eq!(parse_task(&args("7")).unwrap().verb, None);
        assert_eq!(
            parse_task(&args("frob 7")).unwrap_err().0,
            "task: unknown action 'frob' (stop, force-stop, retry, approve or reject)"
        );
    }

    #[test]
    fn a_bad_flag_is_named_with_its_subcommand() {
        let e = parse_list(&args("--bogus")).unwrap_err().0;
        assert!(e.starts_with("tasks: ") && e.contains("'bogus'"), "{e}");
        assert_eq!(
            parse_list(&args("--limit many")).unwrap_err().0,
            "--limit: expected a whole number, got 'many'"
        );
        assert_eq!(
            parse_list(&args("--json --limit 5")).unwrap(),
            ListArgs {
                status: None,
                limit: Some(5),
                json: true
            }
        );
        assert!(parse_task(&args("7 --json")).unwrap().json);
        assert_eq!(
            parse_task(&args("stop 7 --json")).unwrap_err().0,
            "task: --json shows a task ('task ID --json'); the actions print a sentence"
        );
        let e = parse_task(&args("--bogus 7")).unwrap_err().0;
        assert!(e.starts_with("task: ") && e.contains("'bogus'"), "{e}");
        let e = parse_run_task(&args("7 --bogus")).unwrap_err().0;
        assert!(e.starts_with("run-task: ") && e.contains("'bogus'"), "{e}");
        assert_eq!(
            parse_run_task(&args("7")).unwrap_err().0,
            "run-task: --db PATH is required"
        );
    }
}
