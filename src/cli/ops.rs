//! Operations from the shell: `podup check`, `podup prune`, `podup discover`.

use super::{EXIT_FAILURE, EXIT_OK, fail, open_db};
use crate::clock::now_ms;
use crate::config::Config;
use crate::tasks::{host_for, maintenance};

/// Prints every self-check with its verdict and fix; exit 1 when any failed.
pub fn check(config: &Config) -> u8 {
    let host = host_for(config);
    let checks = crate::checks::run(config, &host);
    let mut failed = 0;
    for c in &checks {
        if c.ok {
            println!("ok    {:<15} {}", c.name, c.detail);
        } else {
            failed += 1;
            println!("FAIL  {:<15} {}", c.name, c.detail);
            println!("      {:<15} fix: {}", "", c.fix);
        }
    }
    println!("{} check(s), {failed} failed", checks.len());
    if failed > 0 { EXIT_FAILURE } else { EXIT_OK }
}

pub fn prune(config: &Config, dry_run: bool, older_than_secs: Option<u64>) -> u8 {
    let conn = match open_db(config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let host = host_for(config);
    let caller = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    match maintenance::prune(&conn, &host, config, "cli", &caller, dry_run, older_than_secs) {
        Ok((task, counts)) => {
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
            if let Some(id) = task {
                println!("maintenance task {id}");
            }
            println!(
                "state database: {} bytes",
                crate::store::prune::size_bytes(&config.db_path())
            );
            EXIT_OK
        }
        Err(e) => fail(format!("the prune failed: {e}")),
    }
}

pub fn discover(config: &Config) -> u8 {
    let conn = match open_db(config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let host = host_for(config);
    match crate::discovery::run(&conn, &host, config, &config.unit_dirs, now_ms()) {
        Ok(r) => {
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
            if r.errors.is_empty() { EXIT_OK } else { EXIT_FAILURE }
        }
        Err(e) => fail(e),
    }
}
