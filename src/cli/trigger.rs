//! `podup trigger SERVICE... | --all` and `podup auto-update`: their flags, and the
//! same task creation and dispatch as the API, without HTTP.

use super::{Error, TaskEnv, UsageError, options, parse_opts};
use crate::config::Config;
use crate::model::{Mode, TaskKind, TaskStatus, UnitSpec};
use crate::tasks::control::{self, Origin};
use crate::tasks::dispatch;
use crate::tasks::lifecycle;
use crate::tasks::worker;
use std::time::Duration;

/// How long `--wait` waits for the task to end.
const WAIT_SECS: u64 = 3600;

#[derive(Debug, Default, PartialEq)]
pub struct TriggerArgs {
    pub services: Vec<String>,
    pub all: bool,
    pub caller: Option<String>,
    pub reason: Option<String>,
    pub dry_run: bool,
    pub wait: bool,
}

/// `podup auto-update [--caller C] [--dry-run]`
#[derive(Debug, Default, PartialEq)]
pub struct AutoUpdateArgs {
    pub caller: Option<String>,
    pub dry_run: bool,
}

pub fn parse(rest: &[String]) -> Result<TriggerArgs, UsageError> {
    let m = options("trigger")
        .parse(rest)
        .map_err(|e| UsageError(format!("trigger: {e}")))?;
    let a = TriggerArgs {
        services: m.free.clone(),
        all: m.opt_present("all"),
        caller: m.opt_str("caller"),
        reason: m.opt_str("reason"),
        dry_run: m.opt_present("dry-run"),
        wait: m.opt_present("wait"),
    };
    use crate::tasks::fields::{MAX_CALLER_CHARS, MAX_REASON_CHARS, flag};
    flag("--caller", a.caller.as_deref(), MAX_CALLER_CHARS).map_err(|e| UsageError(format!("trigger: {e}")))?;
    flag("--reason", a.reason.as_deref(), MAX_REASON_CHARS).map_err(|e| UsageError(format!("trigger: {e}")))?;
    if a.all != a.services.is_empty() {
        return Err(UsageError("trigger: name one or more services, or --all".into()));
    }
    Ok(a)
}

pub fn parse_auto_update(rest: &[String]) -> Result<AutoUpdateArgs, UsageError> {
    let m = parse_opts(options("auto-update"), rest, "auto-update")?;
    let caller = m.opt_str("caller");
    crate::tasks::fields::flag("--caller", caller.as_deref(), crate::tasks::fields::MAX_CALLER_CHARS)
        .map_err(|e| UsageError(format!("auto-update: {e}")))?;
    Ok(AutoUpdateArgs {
        caller,
        dry_run: m.opt_present("dry-run"),
    })
}

pub fn run(config: &Config, a: &TriggerArgs) -> Result<(), Error> {
    let mut env = TaskEnv::open(config)?;
    let (d, conn) = env.split(config);
    let only = (!a.all).then_some(a.services.as_slice());
    let resolved = d
        .resolve(Some(conn), only)
        .map_err(|name| Error::UnknownService { name })?;
    if resolved.is_empty() {
        return Err(Error::NoServices);
    }
    let units: Vec<UnitSpec> = resolved
        .into_iter()
        .map(|r| UnitSpec {
            unit: r.unit,
            image: r.image.map(|i| i.to_string()),
            digest: None,
            retag: None,
        })
        .collect();
    let spec = d.spec(units, a.dry_run, Mode::Deploy);
    if a.dry_run {
        let plan = dispatch::plan(d.host, &spec);
        println!("{}", serde_json::to_string_pretty(&plan).expect("a plan serializes"));
        return Ok(());
    }
    let user = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    let caller = a.caller.clone().unwrap_or(user);
    let kind = if a.all { TaskKind::UpdateAll } else { TaskKind::Manual };
    let origin = Origin {
        source: "cli",
        caller: &caller,
        reason: a.reason.as_deref(),
        request_id: None,
    };
    let limit = if a.all {
        ("update-all".to_string(), config.limit_update_all.clone())
    } else {
        (String::new(), Vec::new())
    };
    let limit = a.all.then_some((limit.0.as_str(), limit.1.as_slice()));
    let id = control::create(conn, &d, kind, &spec, &origin, limit)?;
    println!("{id}");
    eprintln!("podup: task {id} dispatched as podup-task-{id}.service");
    if !a.wait {
        return Ok(());
    }
    match dispatch::wait(conn, id, Duration::from_secs(WAIT_SECS))? {
        Some(t) if t.status().is_terminal() => {
            eprintln!(
                "podup: task {id} {}: {}",
                t.status,
                t.message.clone().unwrap_or_default()
            );
            if t.status().is_failure() || t.status == TaskStatus::Cancelled {
                Err(Error::TaskFailed { id })
            } else {
                Ok(())
            }
        }
        _ => Err(Error::WaitExpired { id, secs: WAIT_SECS }),
    }
}

/// `podup auto-update`: creates an `auto-update` task and runs it in this process
/// (the timer's service is already a unit of its own). Exits 1 when any unit
/// failed or rolled back, so `systemctl` shows it and `OnFailure=` fires.
pub fn auto_update(config: &Config, args: &AutoUpdateArgs) -> Result<(), Error> {
    let dry_run = args.dry_run;
    let mut env = TaskEnv::open(config)?;
    let (d, conn) = env.split(config);
    // With policies, podman is asked for a dry run first (docs/policy.md).
    let policies = crate::tasks::timer_policy::any_policy(config);
    let spec = d.spec(Vec::new(), dry_run || policies, Mode::AutoUpdate);
    let caller = args.caller.as_deref().unwrap_or("cli");
    let source = if caller == "timer" { "timer" } else { "cli" };
    let origin = Origin {
        source,
        caller,
        reason: Some(if dry_run {
            "scheduled check (dry run)"
        } else if policies {
            "scheduled update (a dry run first: some units have policies)"
        } else {
            "scheduled update"
        }),
        request_id: None,
    };
    crate::sys::catch_stop_signals().map_err(Error::Signals)?;
    // podman auto-update must not find a tag a lost worker moved: repair first.
    super::recover::before(conn, d.host, &origin);
    let id = lifecycle::record(conn, TaskKind::AutoUpdate, Origin { ..origin }, &spec)?;
    let origin = Origin {
        reason: Some("scheduled update"),
        ..origin
    };
    if let Some(unit) = crate::sys::own_unit() {
        crate::store::tasks::set_runner(conn, id, &unit)?;
    }
    eprintln!("podup: auto-update task {id}");
    // The timer job also keeps discovery current and the database bounded.
    if config.auto_discover {
        if let Err(e) = crate::discovery::run(conn, d.host, config, &config.unit_dirs, crate::clock::now_ms()) {
            log::error!(error_kind = "discovery_failed"; "discovery failed: {e}");
        }
    }
    let mut code = worker::run(conn, d.host, id);
    if policies && !dry_run {
        // Waiting tasks' timers and deadlines are the timer job's to keep.
        if let Err(e) = crate::tasks::approval::sweep(conn, &d) {
            log::error!("the sweep of waiting tasks failed: {e}");
        }
        match crate::tasks::timer_policy::follow_up(conn, &d, id, &origin) {
            Ok(c) => code = code.max(c),
            Err(e) => log::error!(podup_task_id = id; "the policies' pass failed: {e}"),
        }
    } else if !dry_run {
        if let Err(e) = crate::tasks::approval::sweep(conn, &d) {
            log::error!("the sweep of waiting tasks failed: {e}");
        }
    }
    // Then what is still waiting in the registries (docs/updates.md).
    if config.check.on_timer && !dry_run {
        check_after(&d, conn, source, caller);
    }
    if !dry_run {
        if let Err(e) = crate::tasks::maintenance::prune(conn, d.host, config, source, caller, false, None) {
            log::error!(error_kind = "prune_failed"; "the retention prune failed: {e}");
        }
    }
    // The timer job also delivers what waits in the outbox (docs/notifications.md).
    if let Some(n) = crate::notify::installed() {
        if let Err(e) = crate::notify::deliver::flush(conn, n, None) {
            log::error!(error_kind = "notify_failed"; "could not work the outbox: {e}");
        }
    }
    Error::from_code(code)
}

/// The timer job's update check of every service with an image, after its
/// auto-update; a check that fails is logged, and the timer's verdict stays the
/// auto-update's.
fn check_after(d: &dispatch::Dispatcher<'_>, conn: &mut rusqlite::Connection, source: &str, caller: &str) {
    let units: Vec<UnitSpec> = d
        .resolve(Some(conn), None)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| {
            r.image.map(|i| UnitSpec {
                unit: r.unit,
                image: Some(i.to_string()),
                digest: None,
                retag: None,
            })
        })
        .collect();
    if units.is_empty() {
        log::info!("no service with a known image: nothing to check for updates");
        return;
    }
    let origin = Origin {
        source,
        caller,
        reason: Some("scheduled check"),
        request_id: None,
    };
    let mut spec = crate::tasks::check::spec(units, false);
    crate::tasks::check::note_follows(Some(conn), d.config, &mut spec);
    let ran = crate::tasks::check::run_here(conn, d.host, &spec, origin);
    if let Ok((id, _)) = &ran {
        if let Err(e) = crate::tasks::admit::act_on_check(conn, d, *id, true) {
            log::error!(podup_task_id = *id; "the policies' pass after the check failed: {e}");
        }
    }
    match ran {
        Ok((id, 0)) => eprintln!("podup: check task {id}"),
        Ok((id, _)) => log::warn!(podup_task_id = id; "the update check (task {id}) could not tell for any service"),
        Err(e) => log::error!(error_kind = "check_failed"; "the update check could not run: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn trigger_and_auto_update_name_their_bad_flag() {
        let e = parse(&args("app.service --bogus")).unwrap_err().0;
        assert!(e.starts_with("trigger: ") && e.contains("'bogus'"), "{e}");
        let e = parse_auto_update(&args("--bogus")).unwrap_err().0;
        assert!(e.starts_with("auto-update: ") && e.contains("'bogus'"), "{e}");
        assert_eq!(
            parse_auto_update(&args("--caller timer --dry-run")).unwrap(),
            AutoUpdateArgs {
                caller: Some("timer".into()),
                dry_run: true
            }
        );
    }
}
