//! `podup policy [--json] [SERVICE...]`: each service's effective update policy, where each
//! key was set, and what is wrong in its files (docs/policy.md). Reading a policy without
//! errors keeps it as the service's last good one, as every reader does.

use super::{Error, UsageError, open_db, options};
use crate::config::Config;
use crate::policy::window;
use crate::policy::{self, Effective, Source, keys};

#[derive(Debug, Default, PartialEq)]
pub struct PolicyArgs {
    pub services: Vec<String>,
    pub json: bool,
}

pub fn parse(rest: &[String]) -> Result<PolicyArgs, UsageError> {
    let m = options("policy")
        .parse(rest)
        .map_err(|e| UsageError(format!("policy: {e}")))?;
    Ok(PolicyArgs {
        services: m.free.clone(),
        json: m.opt_present("json"),
    })
}

/// Prints the policies; exits 1 when a service's files have an error.
pub fn run(config: &Config, a: &PolicyArgs) -> Result<(), Error> {
    let conn = open_db(config)?;
    let known: Vec<String> = crate::discovery::services(config, Some(&conn))
        .into_iter()
        .map(|(s, _)| s.unit)
        .collect();
    if let Some(name) = a.services.iter().find(|s| !known.contains(s)) {
        return Err(Error::UnknownService { name: name.clone() });
    }
    let units = if a.services.is_empty() {
        known
    } else {
        a.services.clone()
    };
    if units.is_empty() {
        return Err(Error::NoServices);
    }
    let now_ms = crate::clock::now_ms();
    let list: Vec<Effective> = units
        .iter()
        .map(|u| policy::effective(Some(&conn), config, u, now_ms))
        .collect();
    let waiting: Vec<Vec<serde_json::Value>> = list
        .iter()
        .map(|e| crate::tasks::approval::waiting_json(&conn, &e.unit))
        .collect::<rusqlite::Result<_>>()?;
    if a.json {
        let policies: Vec<serde_json::Value> = list
            .iter()
            .zip(&waiting)
            .map(|(e, w)| {
                let mut v = serde_json::to_value(e).expect("a policy serializes");
                v["window_now"] = window_now(e, now_ms).into();
                v["waiting"] = w.clone().into();
                v
            })
            .collect();
        let out = serde_json::json!({ "policies": policies });
        super::print_json(&out)?;
    } else {
        let blocks: Vec<String> = list
            .iter()
            .zip(&waiting)
            .map(|(e, w)| describe(e) + &now_lines(e, w, now_ms))
            .collect();
        print!("{}", blocks.join("\n"));
    }
    match list.iter().filter(|e| !e.errors.is_empty()).count() {
        0 => Ok(()),
        services => Err(Error::PolicyErrors { services }),
    }
}

/// Where the service's window stands at `now_ms`: `open until …`, `opens …`, or None
/// when it has no window.
fn window_now(e: &Effective, now_ms: i64) -> Option<String> {
    let w = e.policy.window.as_ref()?;
    let utc = crate::clock::format_utc;
    Some(match (window::closes_at(w, now_ms), window::next_open(w, now_ms)) {
        (Some(i64::MAX), _) => "open, never closes".to_string(),
        (Some(end), _) => format!("open until {}", utc(end)),
        (None, Some(at)) => format!("closed, opens {}", utc(at)),
        (None, None) => "never opens".to_string(),
    })
}

/// The window's state and the tasks that wait for this service.
fn now_lines(e: &Effective, waiting: &[serde_json::Value], now_ms: i64) -> String {
    let mut out = String::new();
    if let Some(state) = window_now(e, now_ms) {
        out += &format!("  window now: {state}\n");
    }
    let utc = |v: &serde_json::Value| v.as_i64().map(crate::clock::format_utc).unwrap_or_default();
    for w in waiting {
        let id = &w["task_id"];
        out += &match w["status"].as_str() {
            Some("awaiting_approval") => format!(
                "  task {id} awaits an approval until {} (podup task approve|reject {id})\n",
                utc(&w["deadline_ms"])
            ),
            _ => format!("  task {id} is scheduled for {}\n", utc(&w["not_before_ms"])),
        };
    }
    out
}

/// One service: a summary line, then each key set somewhere and where, then its errors.
fn describe(e: &Effective) -> String {
    let p = &e.policy;
    let value = |key: &str| match key {
        "Policy" => p.policy.to_string(),
        "MinAge" => keys::min_age_text(p.min_age_secs),
        "Window" => p.window.as_ref().map(|w| w.text.clone()).unwrap_or_default(),
        "Timer" => if p.timer { "yes" } else { "no" }.to_string(),
        _ => p.follow.spelling(),
    };
    let window = p.window.as_ref().map_or("any", |w| w.text.as_str());
    let mut out = format!(
        "{}  policy={}  min-age={}  window={window}  timer={}  follow={}\n",
        e.unit,
        value("Policy"),
        value("MinAge"),
        value("Timer"),
        value("Follow"),
    );
    for (key, source) in &e.sources {
        if let Source::File { .. } = source {
            out += &format!("  {key}={}   from {source}\n", value(key));
        }
    }
    let keeps = if e.last_good {
        "keeps its last good policy"
    } else {
        "keeps the default policy: none was read without errors before"
    };
    for err in &e.errors {
        out += &format!("  error: {err}  ({keeps})\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, Policy};
    use crate::policy::PolicyError;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn flags_and_services() {
        let a = parse(&args("--json app.service")).unwrap();
        assert!(a.json);
        assert_eq!(a.services, ["app.service"]);
        let e = parse(&args("--bogus")).unwrap_err().0;
        assert!(e.starts_with("policy: ") && e.contains("'bogus'"), "{e}");
    }

    #[test]
    fn a_block_names_each_set_key_and_every_error() {
        let at = |line| Source::File {
            path: "/etc/containers/systemd/app.container".into(),
            line,
        };
        let e = Effective {
            unit: "app.service".into(),
            policy: Policy {
                policy: Action::Approve,
                min_age_secs: 7200,
                window: Some(crate::policy::spans::window("Mon..Fri 02:00-04:00").unwrap()),
                ..Policy::default()
            },
            sources: vec![
                ("Policy", at(7)),
                ("MinAge", at(8)),
                ("Window", at(9)),
                ("Timer", Source::Default),
                ("Follow", Source::Default),
            ],
            errors: vec![PolicyError {
                path: "/etc/containers/systemd/app.container.d/10.conf".into(),
                line: 2,
                key: "Window".into(),
                message: "'25:00' is not a time of day (HH:MM)".into(),
            }],
            last_good: true,
        };
        assert_eq!(
            describe(&e),
            "app.service  policy=approve  min-age=2h  window=Mon..Fri 02:00-04:00  timer=yes  follow=digest\n\
             \x20 Policy=approve   from /etc/containers/systemd/app.container:7\n\
             \x20 MinAge=2h   from /etc/containers/systemd/app.container:8\n\
             \x20 Window=Mon..Fri 02:00-04:00   from /etc/containers/systemd/app.container:9\n\
             \x20 error: /etc/containers/systemd/app.container.d/10.conf:2: Window=: '25:00' is not a time of day (HH:MM)  (keeps its last good policy)\n"
        );
    }
}
