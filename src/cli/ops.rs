//! Operations from the shell: `podup check`, `podup prune`, `podup discover` (each
//! with `--json`): their flags and what they do.

use super::{Error, UsageError, open_db, options, parse_opts, print_json};
use crate::clock::now_ms;
use crate::config::Config;
use crate::duration::{self, DurationError};
use crate::tasks::{host_for, maintenance};

/// `podup prune [--dry-run] [--older-than DURATION] [--json]`
#[derive(Debug, PartialEq)]
pub struct PruneArgs {
    pub dry_run: bool,
    pub older_than_secs: Option<u64>,
    /// Print what `POST /api/v1/maintenance/prune` answers.
    pub json: bool,
}

pub fn parse_prune(rest: &[String]) -> Result<PruneArgs, UsageError> {
    let m = parse_opts(options("prune"), rest, "prune")?;
    let older_than_secs = match m.opt_str("older-than") {
        None => None,
        Some(v) => Some(duration::parse_secs(&v).map_err(|e| {
            UsageError(match e {
                DurationError::Invalid => {
                    format!("--older-than: expected a duration such as 30d or 12h, got '{v}'")
                }
                DurationError::OutOfRange => {
                    format!("--older-than: at most {}, got '{v}'", duration::MAX_TEXT)
                }
            })
        })?),
    };
    Ok(PruneArgs {
        dry_run: m.opt_present("dry-run"),
        older_than_secs,
        json: m.opt_present("json"),
    })
}

/// Prints every self-check with its verdict and fix (or, with `json`, the objects of
/// `checks::report`); exit 1 when any failed.
pub fn check(config: &Config, json: bool) -> Result<(), Error> {
    let host = host_for(config);
    let checks = crate::checks::run(config, &host);
    let failed = checks.iter().filter(|c| !c.ok).count();
    if json {
        print_json(&crate::checks::report(&checks))?;
        return if failed > 0 {
            Err(Error::ChecksFailed { failed })
        } else {
            Ok(())
        };
    }
    for c in &checks {
        if c.ok {
            println!("ok    {:<15} {}", c.name, c.detail);
        } else {
            println!("FAIL  {:<15} {}", c.name, c.detail);
            println!("      {:<15} fix: {}", "", c.fix);
        }
    }
    println!("{} check(s), {failed} failed", checks.len());
    if failed > 0 {
        Err(Error::ChecksFailed { failed })
    } else {
        Ok(())
    }
}

pub fn prune(config: &Config, args: &PruneArgs) -> Result<(), Error> {
    let PruneArgs {
        dry_run,
        older_than_secs,
        json,
    } = *args;
    let conn = open_db(config)?;
    let host = host_for(config);
    let caller = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    let report = maintenance::prune_report(&conn, &host, config, ("cli", &caller), dry_run, older_than_secs)
        .map_err(Error::Prune)?;
    if json {
        return print_json(&report.to_json());
    }
    let counts = report.counts;
    let verb = if dry_run { "would remove" } else { "removed" };
    println!(
        "{verb}: {} events, {} tasks, {} task unit rows, {} task log lines, {} sessions, {} rate-limit hits, {} orphaned locks",
        counts.events,
        counts.tasks,
        counts.task_units,
        counts.task_logs,
        counts.sessions,
        counts.rate_hits,
        counts.locks
    );
    if let Some(id) = report.task_id {
        println!("maintenance task {id}");
    }
    println!("state database: {} bytes", report.db_size_bytes);
    Ok(())
}

/// Lists what discovery found (or, with `json`, prints what `POST /api/v1/discover`
/// answers); the scans that failed are reported as it goes, on stderr (in the JSON's
/// `errors` with `json`), and make the exit code 1.
pub fn discover(config: &Config, json: bool) -> Result<(), Error> {
    let conn = open_db(config)?;
    let host = host_for(config);
    let r = crate::discovery::run(&conn, &host, config, &config.unit_dirs, now_ms()).map_err(Error::Discovery)?;
    let incomplete = || match r.errors.len() {
        0 => Ok(()),
        errors => Err(Error::DiscoveryIncomplete { errors }),
    };
    if json {
        print_json(&crate::discovery::answer(config, &r))?;
        return incomplete();
    }
    for f in &r.found {
        println!(
            "{:<40} {:<10} {:<50} {}",
            f.unit,
            f.source,
            f.image.as_deref().unwrap_or("-"),
            f.detail
        );
    }
    for u in &r.excluded {
        println!("{u:<40} excluded (PODUP_EXCLUDE)");
    }
    for e in &r.errors {
        eprintln!("podup: discovery: {e}");
    }
    eprintln!(
        "podup: {} unit(s) found, {} forgotten, in {} ms",
        r.found.len(),
        r.forgotten,
        r.elapsed_ms
    );
    if !config.auto_discover {
        eprintln!("podup: PODUP_AUTO_DISCOVER is off: these units are listed but podup will not update them");
    }
    incomplete()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn prune_names_its_bad_flag() {
        let e = parse_prune(&args("--bogus")).unwrap_err().0;
        assert!(e.starts_with("prune: ") && e.contains("'bogus'"), "{e}");
        assert_eq!(
            parse_prune(&args("--older-than soon")).unwrap_err().0,
            "--older-than: expected a duration such as 30d or 12h, got 'soon'"
        );
        assert_eq!(
            parse_prune(&args("--dry-run --older-than 30d")).unwrap(),
            PruneArgs {
                dry_run: true,
                older_than_secs: Some(30 * 86_400),
                json: false
            }
        );
    }
}
