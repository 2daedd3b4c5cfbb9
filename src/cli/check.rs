//! `podup check-updates [--fresh] [--json] [SERVICE...]`: an update check of every
//! service (or those named) as a `check` task run in this process, then its verdicts.

use super::{Error, TaskEnv, UsageError, options};
use crate::config::Config;
use crate::model::{UnitSpec, UpdateStatus};
use crate::tasks::check;
use crate::tasks::control::Origin;

#[derive(Debug, Default, PartialEq)]
pub struct CheckArgs {
    pub services: Vec<String>,
    pub fresh: bool,
    pub json: bool,
    pub caller: Option<String>,
}

pub fn parse(rest: &[String]) -> Result<CheckArgs, UsageError> {
    let m = options("check-updates")
        .parse(rest)
        .map_err(|e| UsageError(format!("check-updates: {e}")))?;
    let caller = m.opt_str("caller");
    crate::tasks::fields::flag("--caller", caller.as_deref(), crate::tasks::fields::MAX_CALLER_CHARS)
        .map_err(|e| UsageError(format!("check-updates: {e}")))?;
    Ok(CheckArgs {
        services: m.free.clone(),
        fresh: m.opt_present("fresh"),
        json: m.opt_present("json"),
        caller,
    })
}

/// Runs the check; exits 1 when a service's verdict is `unknown`.
pub fn run(config: &Config, a: &CheckArgs) -> Result<(), Error> {
    let mut env = TaskEnv::open(config)?;
    let (d, conn) = env.split(config);
    let only = (!a.services.is_empty()).then_some(a.services.as_slice());
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
    let user = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    let caller = a.caller.clone().unwrap_or(user);
    let source = if caller == "timer" { "timer" } else { "cli" };
    let origin = Origin {
        source,
        caller: &caller,
        reason: Some(if a.fresh { "check now" } else { "check" }),
        request_id: None,
    };
    let mut spec = check::spec(units, a.fresh);
    check::note_follows(Some(conn), config, &mut spec);
    let (id, _) = check::run_here(conn, d.host, &spec, origin)?;
    let acted = crate::tasks::admit::act_on_check(conn, &d, id, a.caller.as_deref() == Some("timer"))?;
    let verdicts = check::verdicts_of(conn, id)?;
    if a.json {
        let list: Vec<serde_json::Value> = verdicts
            .iter()
            .map(|v| {
                let mut o = check::view::update_json(Some(v), None);
                o["unit"] = v.unit.clone().into();
                o["image"] = v.image.clone().into();
                o
            })
            .collect();
        let out = serde_json::json!({"task_id": id, "services": list, "policy_tasks": acted});
        super::print_json(&out)?;
    } else {
        for v in &verdicts {
            let detail = match (v.status, &v.reason) {
                (UpdateStatus::Unknown, Some(r)) => format!("{r}: {}", v.message.as_deref().unwrap_or("")),
                _ => v.remote_digest.clone().unwrap_or_default(),
            };
            println!("{:<32} {:<11} {detail}", v.unit, v.status.as_str());
        }
        eprintln!("podup: check task {id}");
        for t in &acted {
            eprintln!("podup: task {t} follows a service's policy (podup task {t})");
        }
    }
    let unknown = verdicts.iter().filter(|v| v.status == UpdateStatus::Unknown).count();
    if unknown > 0 {
        return Err(Error::TaskFailed { id });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn flags_and_services() {
        let a = parse(&args("--fresh --json app.service db.service")).unwrap();
        assert!(a.fresh && a.json);
        assert_eq!(a.services, vec!["app.service".to_string(), "db.service".to_string()]);
        let e = parse(&args("--bogus")).unwrap_err().0;
        assert!(e.starts_with("check-updates: ") && e.contains("'bogus'"), "{e}");
    }
}
