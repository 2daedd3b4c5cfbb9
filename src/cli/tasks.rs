//! `podup tasks`, `podup task ID`, `podup task stop|kill|retry ID`, and
//! `podup run-task ID --db PATH` (the worker inside `podup-task-<id>.service`).

use super::{EXIT_OK, EXIT_USAGE, TaskEnv, fail, open_db};
use crate::config::Config;
use crate::model::TaskStatus;
use crate::store::tasks::{self, ListFilter};
use crate::tasks::control::{self, Origin};
use crate::tasks::dispatch::Dispatcher;
use crate::tasks::{host_for, worker};

pub fn list(config: &Config, status: Option<&str>, limit: usize) -> u8 {
    let status = match status.map(|s| (s, TaskStatus::parse(s))) {
        None => None,
        Some((_, Some(s))) => Some(s),
        Some((s, None)) => {
            eprintln!("podup: --status: '{s}' is not a task status");
            return EXIT_USAGE;
        }
    };
    let conn = match open_db(config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match tasks::list(
        &conn,
        &ListFilter {
            status,
            limit,
            ..Default::default()
        },
    ) {
        Ok(list) => {
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
            EXIT_OK
        }
        Err(e) => fail(e),
    }
}

pub fn one(config: &Config, verb: Option<&str>, id: i64) -> u8 {
    let mut env = match TaskEnv::open(config) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let (d, conn) = env.split(config);
    control::check_alive(conn, &d, id);
    let caller = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    let result = match verb {
        None => return show(conn, id),
        Some("retry") => control::retry(
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
        .map(|new| format!("task {new} retries task {id}")),
        Some(v) => control::stop(conn, &d, id, v == "kill").map(|changed| {
            let now = tasks::get(conn, id)
                .ok()
                .flatten()
                .map(|t| t.status.as_str())
                .unwrap_or_default();
            if changed {
                format!("task {id} is {now}")
            } else {
                format!("task {id} had already ended ({now})")
            }
        }),
    };
    match result {
        Ok(message) => {
            println!("{message}");
            EXIT_OK
        }
        Err(e) => fail(e),
    }
}

fn show(conn: &rusqlite::Connection, id: i64) -> u8 {
    let found = tasks::get(conn, id).map(|t| t.map(|t| (t, tasks::units(conn, id), tasks::logs(conn, id))));
    let (t, units, logs) = match found {
        Ok(Some((t, Ok(u), Ok(l)))) => (t, u, l),
        Ok(None) => return fail(format!("there is no task {id}")),
        Ok(Some((_, Err(e), _) | (_, _, Err(e)))) | Err(e) => return fail(e),
    };
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
    EXIT_OK
}

/// The worker: exit 0 when the task succeeded, 1 otherwise.
pub fn run_task(config: &Config, id: i64, db: &str) -> u8 {
    if let Err(e) = crate::sys::catch_stop_signals() {
        return fail(e);
    }
    let mut conn = match crate::store::open(std::path::Path::new(db)) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let host = host_for(config);
    // A task the previous worker left saying running, with its unit gone, is marked.
    if let Ok(open) = tasks::open_ids(&conn) {
        let exe = std::env::current_exe().unwrap_or_default();
        let d = Dispatcher {
            config,
            host: &host,
            exe: &exe,
        };
        for other in open.into_iter().filter(|o| *o != id) {
            control::check_alive(&conn, &d, other);
        }
    }
    worker::run(&mut conn, &host, id)
}
