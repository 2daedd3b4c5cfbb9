//! Self-checks: is podup able to do its job here? Each check is a verdict, what was
//! seen, and the fix. `podup check` prints them; the panel shows them.

use crate::config::Config;
use crate::host::{Host, Scope};
use crate::store::Db;
use serde::Serialize;

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

/// Every check, in order.
pub fn run(config: &Config, host: &Host) -> Vec<Check> {
    let user = if host.scope == Scope::User { "--user " } else { "" };
    let mut checks = vec![db_writable(config)];
    checks.push(if config.github_secrets.is_empty() {
        bad(
            "webhook-secret",
            "no GitHub webhook secret is set",
            "put the secret in a file and set PODUP_GITHUB_SECRET_FILE (or LoadCredential=github-secret:...)",
        )
    } else {
        ok(
            "webhook-secret",
            format!("{} secret(s) configured", config.github_secrets.len()),
        )
    });
    checks.push(
        match crate::store::open(&config.db_path()).and_then(|c| {
            c.query_row("SELECT count(*) FROM tokens", [], |r| r.get::<_, i64>(0))
                .map_err(|e| crate::store::StoreError {
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
        Ok(_) => ok("manager", format!("the {} manager answers", if user.is_empty() { "system" } else { "user" })),
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

/// The state database answers a read (what `/health` asks on every call): `Err` with
/// SQLite's error, or the error it could not be opened with.
pub fn database_answers(db: &mut Db) -> Result<(), String> {
    match db.get() {
        Ok(conn) => conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.error.clone()),
    }
}

fn db_writable(config: &Config) -> Check {
    let path = config.db_path();
    let mut db = Db::open(&path);
    let result = match db.get() {
        Ok(conn) => conn
            .execute_batch("BEGIN IMMEDIATE; PRAGMA user_version = user_version; ROLLBACK;")
            .and_then(|()| {
                let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
                conn.execute_batch(&format!("BEGIN IMMEDIATE; PRAGMA user_version = {v}; COMMIT;"))
            })
            .map_err(|e| {
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
