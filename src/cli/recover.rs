//! `podup recover`: repairs what lost workers left (docs/tasks.md, "Crash safety"), in
//! this process: marks tasks whose worker is gone as lost, then runs one recovery task
//! per lost task with unsettled units. `podup-recover.service` runs it at boot, before
//! `podup.socket` serves. Exits 1 when a repair failed.

use super::{Error, TaskEnv, UsageError, options, parse_opts};
use crate::config::Config;
use crate::model::TaskStatus;
use crate::tasks::lifecycle::Origin;
use crate::tasks::recover::{self, Caller};

#[derive(Debug, Clone, PartialEq)]
pub struct RecoverArgs {
    pub caller: Option<String>,
}

pub fn parse(rest: &[String]) -> Result<RecoverArgs, UsageError> {
    let m = parse_opts(options("recover"), rest, "recover")?;
    let caller = m.opt_str("caller");
    crate::tasks::fields::flag("--caller", caller.as_deref(), crate::tasks::fields::MAX_CALLER_CHARS)
        .map_err(|e| UsageError(format!("recover: {e}")))?;
    Ok(RecoverArgs { caller })
}

pub fn run(config: &Config, args: &RecoverArgs) -> Result<(), Error> {
    let mut env = TaskEnv::open(config)?;
    let (d, conn) = env.split(config);
    crate::sys::catch_stop_signals().map_err(Error::Signals)?;
    let caller = args.caller.as_deref().unwrap_or("cli");
    let source = if caller == "boot" { "boot" } else { "cli" };
    let origin = Origin {
        source,
        caller,
        reason: None,
        request_id: None,
    };
    let when = if source == "boot" { Caller::Boot } else { Caller::Job };
    let repaired = recover::sweep(conn, d.host, &origin, None, when)?;
    if repaired.is_empty() {
        eprintln!("podup: nothing to recover");
    }
    let mut failed = None;
    for r in &repaired {
        println!(
            "task {}: {} what task {} left: {}",
            r.task_id, r.status, r.lost_task, r.message
        );
        if r.status == TaskStatus::Failed {
            failed = Some(r.task_id);
        }
    }
    match failed {
        Some(id) => Err(Error::TaskFailed { id }),
        None => Ok(()),
    }
}

/// The timer job's and the CLI's first step: repairs before anything else runs. A
/// failure is logged, not fatal: the job's own work still runs.
pub fn before(conn: &mut rusqlite::Connection, host: &crate::host::Host, origin: &Origin<'_>) {
    match recover::sweep(conn, host, origin, None, Caller::Job) {
        Ok(done) => {
            for r in done {
                eprintln!("podup: recovery task {} {}: {}", r.task_id, r.status, r.message);
            }
        }
        Err(e) => log::error!(error_kind = "recovery_failed"; "recovery failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recover_names_its_bad_flag() {
        let e = parse(&["--bogus".to_string()]).unwrap_err().0;
        assert!(e.starts_with("recover: ") && e.contains("'bogus'"), "{e}");
        assert_eq!(parse(&[]).unwrap(), RecoverArgs { caller: None });
    }
}
