//! Self-checks: is podup able to do its job here? Each check is a verdict, what was
//! seen, and the fix. One module for all three readers: `podup check` prints `run`
//! (every check, asking systemd and podman directly), `/health` asks
//! `database_answers` on every call, and the panel's overview shows `overview` (the
//! checks it can make from bounded probes, named as its JSON always named them:
//! `PANEL_NAMES`).

use crate::config::Config;
use crate::host::HostError;
use crate::host::info::TimerInfo;
use crate::host::probe::Probed;
use crate::host::{Host, Scope};
use crate::store::stats::DbStats;
use crate::store::{Db, probe};
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
    /// What to do when it failed (empty when ok).
    pub fix: String,
}

fn ok(name: &'static str, detail: impl Into<String>) -> Check {
    Check {
        name,
        ok: true,
        detail: detail.into(),
        fix: String::new(),
    }
}

fn bad(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        name,
        ok: false,
        detail: detail.into(),
        fix: fix.into(),
    }
}

/// What `podup check --json` prints: `{"checks": [...], "failed": n}`, each check as
/// `{"name", "ok", "detail", "fix"}` (the fields of the overview's checks; `fix` is
/// `null` when it passed), in the order `run` made them (docs/operations.md).
pub fn report(checks: &[Check]) -> Value {
    let list: Vec<Value> = checks
        .iter()
        .map(|c| json!({"name": c.name, "ok": c.ok, "detail": c.detail, "fix": if c.ok { None } else { Some(&c.fix) }}))
        .collect();
    json!({"checks": list, "failed": checks.iter().filter(|c| !c.ok).count()})
}

/// The senders with a secret, with their counts: `github (1), harbor (2)`.
fn configured_senders(config: &Config) -> String {
    crate::providers::Sender::ALL
        .into_iter()
        .filter_map(|s| match config.secrets_of(s).len() {
            0 => None,
            n => Some(format!("{} ({n} secret(s))", s.name())),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every check, in order.
pub fn run(config: &Config, host: &Host) -> Vec<Check> {
    let user = if host.scope == Scope::User { "--user " } else { "" };
    let mut checks = vec![db_writable(config)];
    let senders = configured_senders(config);
    checks.push(if senders.is_empty() {
        bad(
            "webhook-secret",
            "no webhook secret is set for any sender",
            "put the secret in a file and set PODUP_GITHUB_SECRET_FILE (or another sender's, such as PODUP_GITEA_SECRET_FILE; or LoadCredential=github-secret:...)",
        )
    } else {
        ok("webhook-secret", format!("configured: {senders}"))
    });
    checks.push(
        match crate::store::open(&config.db_path()).and_then(|c| {
            crate::store::tokens::count(&c).map_err(|e| crate::store::StoreError {
                path: config.db_path(),
                error: e.to_string(),
                fix: String::new(),
            })
        }) {
            Ok(0) => bad(
                "api-tokens",
                "no API token exists",
                "podup token add admin --role admin",
            ),
            Ok(n) => ok("api-tokens", format!("{n} token(s)")),
            Err(e) => bad("api-tokens", e.error, "see the state-database check"),
        },
    );
    let manager = host.unit_state("podup.socket");
    checks.push(match &manager {
        Ok(_) => ok("manager", format!("the {} manager answers", host.scope)),
        Err(e) => bad("manager", e.to_string(), format!("is systemd running? try 'systemctl {user}is-system-running'; PODUP_SYSTEMD_SCOPE chooses system or user")),
    });
    if config.services.is_empty() && !config.auto_discover {
        checks.push(bad(
            "services",
            "no service is declared and discovery is off",
            "set PODUP_SERVICES=app.service=ghcr.io/acme/app:stable (or PODUP_AUTO_DISCOVER=1)",
        ));
    }
    for s in &config.services {
        checks.push(match host.unit_state(&s.unit) {
            Ok(st) if st.exists() => ok("unit-exists", format!("{}: {}", s.unit, st.active_state)),
            Ok(st) => bad(
                "unit-exists",
                format!("{}: {}", s.unit, st.load_state),
                format!("check the name in PODUP_SERVICES against 'systemctl {user}list-units --type=service'"),
            ),
            Err(e) => bad("unit-exists", format!("{}: {e}", s.unit), "see the manager check"),
        });
    }
    checks.push(match host.unit_containers("podup-check.service") {
        Ok(_) => ok("podman", "podman answers"),
        Err(e) => bad(
            "podman",
            e.to_string(),
            "install podman (apt-get install podman) and check 'podman info'",
        ),
    });
    for unit in ["podup.socket", "podup-auto-update.timer"] {
        checks.push(match host.is_enabled(unit) {
            Ok(s) if s.enabled => ok("enabled", format!("{unit}: {}", s.state)),
            Ok(s) => bad(
                "enabled",
                format!("{unit}: {}", s.state),
                format!("systemctl {user}enable --now {unit}"),
            ),
            Err(e) => bad(
                "enabled",
                format!("{unit}: {e}"),
                format!("install the units (make install), then 'systemctl {user}enable --now {unit}'"),
            ),
        });
    }
    host.drain_records();
    checks
}

/// Why the state database did not answer.
#[derive(Debug)]
pub enum Unanswered {
    /// It could not be opened: the error it could not be opened with.
    Unopened(String),
    /// It is open and a read failed: SQLite's error.
    Read(rusqlite::Error),
}

impl std::fmt::Display for Unanswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unanswered::Unopened(error) => f.write_str(error),
            Unanswered::Read(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Unanswered {}

/// The state database answers a read (what `/health` asks on every call): `Err` with
/// SQLite's error, or the error it could not be opened with.
pub fn database_answers(db: &mut Db) -> Result<(), Unanswered> {
    match db.get() {
        Ok(conn) => probe::answers_read(conn).map_err(Unanswered::Read),
        Err(e) => Err(Unanswered::Unopened(e.error.clone())),
    }
}

fn db_writable(config: &Config) -> Check {
    let path = config.db_path();
    let mut db = Db::open(&path);
    let result = match db.get() {
        Ok(conn) => probe::takes_writes(conn).map_err(|e| {
            (
                e.to_string(),
                format!("make '{}' writable by the user podup runs as", path.display()),
            )
        }),
        Err(e) => Err((e.error.clone(), e.fix.clone())),
    };
    match result {
        Ok(()) => ok("state-database", format!("{} is writable", path.display())),
        Err((error, fix)) => bad("state-database", format!("{}: {error}", path.display()), fix),
    }
}

// The panel's overview: the same checks, made from what the overview has already
// probed (bounded and shared, `host::probe`, so a hanging podman does not hold a
// request), in the shape and words its JSON has always had.

/// `podup check`'s name of a check → the name the panel's overview gives it (its JSON
/// predates this module and stays as it is). The one place the two names meet.
pub const PANEL_NAMES: &[(&str, &str)] = &[
    ("state-database", "database"),
    ("manager", "scope"),
    ("podman", "podman"),
    ("webhook-secret", "webhook_secret"),
    ("services", "services"),
];

/// The panel's name of check `name` (itself when it has no other).
pub fn panel_name(name: &str) -> &str {
    PANEL_NAMES.iter().find(|(c, _)| *c == name).map_or(name, |(_, p)| p)
}

fn check(name: &str, ok: bool, detail: String, fix: Option<String>) -> Value {
    json!({"name": panel_name(name), "ok": ok, "detail": detail, "fix": if ok { None } else { fix }})
}

/// A probe's answer, or for `Probing` an error saying so (kind `probing`).
pub fn known<T: Clone>(p: &Probed<T>, program: &str) -> Result<T, HostError> {
    match p {
        Probed::Known { result, .. } => result.clone(),
        Probed::Probing => Err(HostError {
            kind: "probing",
            message: format!("'{program}' is being asked by another request; the answer shows within seconds"),
            record: None,
        }),
    }
}

/// A check from a probe says how fresh it is: `probe` is `done`, `timed_out` or
/// `probing`, and `age_ms` how old the answer shown is.
fn probed<T>(p: &Probed<T>, mut check: Value) -> Value {
    check["probe"] = json!(p.marker());
    if let Probed::Known { age, refreshing, .. } = p {
        check["age_ms"] = json!(age.as_millis() as u64);
        check["refreshing"] = json!(refreshing);
    }
    check
}

/// The checks the overview shows: the database (`db`, its stats or the error reading
/// them), the manager of the scope (from the timer probe), podman, the webhook secret
/// and the declared services; each failing one with its fix.
pub fn overview(
    config: &Config,
    db: &rusqlite::Result<DbStats>,
    (timer_probe, timer): (&Probed<TimerInfo>, &Result<TimerInfo, HostError>),
    (podman_probe, podman): (&Probed<String>, &Result<String, HostError>),
) -> Vec<Value> {
    let scope = config.scope().as_str();
    let db_path = config.db_path();
    let mut checks = Vec::new();
    checks.push(match db {
        Ok(s) => check(
            "state-database",
            true,
            format!("{} ({} bytes, schema {})", s.path, s.size_bytes, s.schema_version),
            None,
        ),
        Err(e) => check(
            "state-database",
            false,
            e.to_string(),
            Some(format!("check '{}' (PODUP_STATE_DIR)", db_path.display())),
        ),
    });
    checks.push(probed(timer_probe, match timer {
        Ok(_) => check("manager", true, format!("systemctl reaches the {scope} manager"), None),
        Err(e) => check(
            "manager",
            false,
            e.message.clone(),
            Some(if config.systemd_user {
                "run podup as the user whose manager runs the containers (loginctl enable-linger USER), or set PODUP_SYSTEMD_SCOPE=system as root".into()
            } else {
                "run podup as root for the system manager, or set PODUP_SYSTEMD_SCOPE=user for rootless Podman".into()
            }),
        ),
    }));
    checks.push(probed(
        podman_probe,
        match podman {
            Ok(v) => check("podman", true, format!("podman {v}"), None),
            Err(e) => check(
                "podman",
                false,
                e.message.clone(),
                Some("install podman (apt-get install podman) and make sure it is on the PATH of podup.service".into()),
            ),
        },
    ));
    let senders = configured_senders(config);
    checks.push(check(
        "webhook-secret",
        !senders.is_empty(),
        if senders.is_empty() { "not set for any sender: every /hooks/<sender> answers 503".into() } else { format!("configured: {senders}") },
        Some("put the secret in /etc/podup/github-secret and set PODUP_GITHUB_SECRET_FILE=/etc/podup/github-secret (or another sender's: docs/operations.md, \"Senders\")".into()),
    ));
    checks.push(check(
        "services",
        !config.services.is_empty(),
        format!("{} declared", config.services.len()),
        Some("declare them: PODUP_SERVICES=app.service=ghcr.io/acme/app:stable, worker.service".into()),
    ));
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overview_names_its_checks_as_the_panel_always_has() {
        let config = Config::from_pairs(&[], 0).unwrap();
        let timer = known(&Probed::<TimerInfo>::Probing, "systemctl");
        let podman = known(&Probed::<String>::Probing, "podman");
        let db = Err(rusqlite::Error::InvalidQuery);
        let checks = overview(&config, &db, (&Probed::Probing, &timer), (&Probed::Probing, &podman));
        let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["database", "scope", "podman", "webhook_secret", "services"]);
        assert!(checks.iter().all(|c| c["ok"] == false && c["fix"].is_string()));
        assert_eq!(panel_name("unit-exists"), "unit-exists");
    }
}
