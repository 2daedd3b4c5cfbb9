//! `podup services [--names] [--json]`: the services podup may touch (declared, and
//! with `--discover` or `PODUP_AUTO_DISCOVER=1` the discovered ones) as a table, as
//! unit names for the shell completions, or as `GET /api/v1/services` answers.

use super::{Error, TaskEnv, UsageError, options, parse_opts, print_json, write_stdout};
use crate::config::Config;
use serde_json::Value;

/// `podup services [--names] [--json]`
#[derive(Debug, PartialEq)]
pub struct ServicesArgs {
    /// Only the unit names, one a line.
    pub names: bool,
    /// `GET /api/v1/services`'s answer.
    pub json: bool,
}

pub fn parse(rest: &[String]) -> Result<ServicesArgs, UsageError> {
    let m = parse_opts(options("services"), rest, "services")?;
    let (names, json) = (m.opt_present("names"), m.opt_present("json"));
    if names && json {
        return Err(UsageError(
            "services: --names and --json print different things; pick one".into(),
        ));
    }
    Ok(ServicesArgs { names, json })
}

pub fn run(config: &Config, args: &ServicesArgs) -> Result<(), Error> {
    if args.names {
        return write_stdout(&names(config));
    }
    let mut env = TaskEnv::open(config)?;
    let (d, conn) = env.split(config);
    let answer = crate::tasks::catalog::services(&d, conn, crate::clock::now_ms())?;
    if args.json {
        return print_json(&answer);
    }
    write_stdout(&table(&answer))
}

/// One unit name a line, and nothing else: the shell completions call it on every
/// Tab. It asks neither systemd nor podman, and reads the state database only for the
/// discovered units (when discovery is on and the database exists); it never creates
/// the database, and when it cannot read it, it says so on stderr and lists the
/// declared services.
fn names(config: &Config) -> String {
    let path = config.db_path();
    let conn = if config.auto_discover && path.exists() {
        match crate::store::open(&path) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("podup: services --names: only the declared services: {e}");
                None
            }
        }
    } else {
        None
    };
    crate::discovery::services(config, conn.as_ref())
        .into_iter()
        .map(|(s, _)| s.unit + "\n")
        .collect()
}

/// The table: unit, where it came from, image, policy, running digest (short), and
/// whether an update waits.
fn table(answer: &Value) -> String {
    let list = answer["services"].as_array().map(Vec::as_slice).unwrap_or_default();
    if list.is_empty() {
        eprintln!("podup: no service is declared: set PODUP_SERVICES (or turn discovery on: --discover)");
        return String::new();
    }
    let mut out = format!(
        "{:<28} {:<10} {:<44} {:<20} {:<14} UPDATE\n",
        "UNIT", "SOURCE", "IMAGE", "POLICY", "RUNNING"
    );
    for s in list {
        out += &format!(
            "{:<28} {:<10} {:<44} {:<20} {:<14} {}\n",
            text(&s["unit"]),
            text(&s["source"]),
            text(&s["image"]),
            policy_summary(&s["policy"]),
            short_digest(&s["running_digest"]),
            update_summary(s)
        );
    }
    out
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

/// `sha256:3da1996a8115…` as `3da1996a8115`; `-` when not known.
fn short_digest(v: &Value) -> String {
    v.as_str()
        .map(|d| d.strip_prefix("sha256:").unwrap_or(d).chars().take(12).collect())
        .unwrap_or_else(|| "-".into())
}

/// `auto`, with the keys that hold it back: `approve window=Sat 02:00-04:00 min-age=3d`.
fn policy_summary(p: &Value) -> String {
    let p = &p["policy"];
    let mut out = text(&p["policy"]).to_string();
    if let Some(w) = p["window"].as_str() {
        out += &format!(" window={w}");
    }
    if let Some(secs) = p["min_age_secs"].as_u64().filter(|s| *s > 0) {
        out += &format!(" min-age={}", crate::policy::keys::min_age_text(secs));
    }
    if p["timer"] == false {
        out += " timer=no";
    }
    out
}

/// The last check's verdict (`available`, `up_to_date`, `unknown`; `-` before any
/// check) and how many tasks wait for an approval or a window.
fn update_summary(s: &Value) -> String {
    let mut out = s["update"]["status"].as_str().unwrap_or("-").to_string();
    if let Some(n) = s["waiting"].as_array().map(Vec::len).filter(|n| *n > 0) {
        out += &format!(", {n} waiting");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn services_names_its_bad_flag() {
        let e = parse(&args("--bogus")).unwrap_err().0;
        assert!(e.starts_with("services: ") && e.contains("'bogus'"), "{e}");
        assert!(parse(&args("--names --json")).is_err());
        assert_eq!(
            parse(&args("--names")).unwrap(),
            ServicesArgs {
                names: true,
                json: false
            }
        );
    }

    #[test]
    fn the_table_shortens_digests_and_sums_up_policies() {
        assert_eq!(short_digest(&json!("sha256:3da1996a8115d7616457")), "3da1996a8115");
        assert_eq!(short_digest(&Value::Null), "-");
        let p =
            json!({"policy": {"policy": "approve", "min_age_secs": 0, "window": "Sat 02:00-04:00", "timer": false}});
        assert_eq!(policy_summary(&p), "approve window=Sat 02:00-04:00 timer=no");
        let s = json!({"update": {"status": "available"}, "waiting": [{}, {}]});
        assert_eq!(update_summary(&s), "available, 2 waiting");
        assert_eq!(update_summary(&json!({"update": null, "waiting": []})), "-");
    }
}
