//! `GET /api/v1/overview` and `GET /api/v1/settings` (read): what the panel's
//! Overview and Settings pages show. The overview shows the self-checks
//! (`checks::overview`: database, the systemd manager of the scope, podman, webhook
//! secret, services), each failing one with its fix, with recent tasks and events.
//! Settings are the effective configuration, with secrets only as set or unset.

use super::Response;
use super::context::{Call, Ctx};
use super::refusal::Refusal;
use crate::build_info::VERSION;
use crate::checks;
use crate::clock::now_ms;
use crate::config::{Config, VARIABLES};
use crate::store::events::{self, EventFilter};
use crate::store::stats;
use crate::store::tasks::{self, ListFilter};
use serde_json::{Value, json};

/// The timer whose next run the overview shows.
pub const TIMER: &str = "podup-auto-update.timer";
const DAY_MS: i64 = 86_400_000;

pub fn overview(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let config = ctx.config;
    let scope = config.scope().as_str();
    // Shared and bounded (host::probe): a hanging podman or systemctl costs one worker
    // a few seconds, and the other readers get the last answer or a marker at once.
    let timer_probe = ctx.host.timer_info_probe(TIMER);
    let podman_probe = ctx.host.podman_version_probe();
    ctx.host.drain_records();
    let (timer, podman) = (
        checks::known(&timer_probe, "systemctl"),
        checks::known(&podman_probe, "podman"),
    );
    let db_path = config.db_path();
    let conn = ctx.db.get()?;
    let db = stats::db_stats(conn, &db_path);
    let checks = checks::overview(config, &db, (&timer_probe, &timer), (&podman_probe, &podman));
    let timer = match timer {
        Ok(t) => {
            json!({"unit": TIMER, "load_state": t.load_state, "active_state": t.active_state, "next": t.next_elapse})
        }
        Err(e) => json!({"unit": TIMER, "error": e.message}),
    };
    let recent_tasks = tasks::list(
        conn,
        &ListFilter {
            limit: 6,
            ..Default::default()
        },
    );
    let running = tasks::list(
        conn,
        &ListFilter {
            status: Some(crate::model::TaskStatus::Running),
            limit: 50,
            ..Default::default()
        },
    );
    let recent_events = events::list(
        conn,
        &EventFilter {
            quiet: true,
            limit: 8,
            ..Default::default()
        },
    );
    let counts = stats::task_counts(conn, now_ms() - DAY_MS);
    let (recent_tasks, running, recent_events, counts) = (recent_tasks?, running?, recent_events?, counts?);
    let counts: serde_json::Map<String, Value> = counts.into_iter().map(|(k, v)| (k, json!(v))).collect();
    call.ok(&json!({
            "version": VERSION,
            "demo": ctx.host.simulated(),
            "uptime_secs": ctx.started.elapsed().as_secs(),
            "scope": scope,
            "checks": checks,
            "timer": timer,
            "tasks": recent_tasks,
            "running": running,
            "events": recent_events,
            "counts_24h": counts,
    }))
}

/// Each variable's effective value as text; `None` for one this page does not know.
/// `86400` → `24h`: the largest of d, h, m, s that divides it evenly.
fn human_secs(secs: u64) -> String {
    match secs {
        s if s > 0 && s % 86_400 == 0 && s / 86_400 != 1 => format!("{}d", s / 86_400),
        s if s > 0 && s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn value_of(c: &Config, name: &str) -> Option<String> {
    let rules = |r: &[crate::ratelimit::Rule]| r.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    Some(match name {
        "PODUP_STATE_DIR" => format!("{} (from {})", c.state_dir.display(), c.state_dir_source),
        "PODUP_IDLE_EXIT_SECS" => c.idle_exit_secs.to_string(),
        "PODUP_MAX_BODY_BYTES" => c.max_body_bytes.to_string(),
        "PODUP_EVENTS_MAX_MB" => (c.events_max_bytes / (1024 * 1024)).to_string(),
        "PODUP_REQUEST_TIMEOUT_MS" => c.request_timeout_ms.to_string(),
        "PODUP_WORKERS" => c.workers.to_string(),
        "PODUP_LOG_LEVEL" => c.log_level.as_str().to_ascii_lowercase(),
        "PODUP_GITHUB_SECRET" if c.github_secrets.is_empty() => "unset".into(),
        "PODUP_GITHUB_SECRET" => format!("set ({} secret(s))", c.github_secrets.len()),
        other if other.ends_with("_SECRET") && crate::providers::Sender::ALL.iter().any(|s| s.variable() == other) => {
            let sender = crate::providers::Sender::ALL
                .into_iter()
                .find(|s| s.variable() == other)?;
            match c.secrets_of(sender).len() {
                0 => "unset".into(),
                n => format!("set ({n} secret(s))"),
            }
        }
        "PODUP_SERVICES" => c.services.iter().map(|s| s.unit.clone()).collect::<Vec<_>>().join(", "),
        "PODUP_POLICY_FILE" => c
            .policy_file
            .as_ref()
            .map_or("unset".into(), |p| p.display().to_string()),
        "PODUP_SYSTEMD_SCOPE" => c.scope().to_string(),
        "PODUP_VERIFY_SECS" => c.verify_secs.to_string(),
        "PODUP_PULL_PARALLEL" => c.pull_parallel.to_string(),
        "PODUP_AUTO_UPDATE_ENGINE" => c.auto_update_engine.to_string(),
        "PODUP_TASK_TIMEOUT_SECS" => c.task_timeout_secs.to_string(),
        "PODUP_PUBLIC_URL" => c.public_url.clone().unwrap_or_else(|| "unset".into()),
        "PODUP_LIMIT_UPDATE_ALL" => rules(&c.limit_update_all),
        "PODUP_LIMIT_IMAGE" => rules(&c.limit_image),
        "PODUP_LIMIT_AUTH_FAILURES" => rules(&c.limit_auth_failures),
        "PODUP_TRUSTED_PROXIES" if c.trusted_proxies.is_empty() => "none".into(),
        "PODUP_TRUSTED_PROXIES" => c.trusted_proxies.describe(),
        "PODUP_FORWARD_AUTH_HEADER" => match &c.forward_auth {
            Some((h, role)) => format!("{h}:{}", role.as_str()),
            None => "unset".into(),
        },
        "PODUP_FORWARD_AUTH_SECRET" if c.forward_auth_secrets.is_empty() => "unset".into(),
        "PODUP_FORWARD_AUTH_SECRET" => format!("set ({} secret(s))", c.forward_auth_secrets.len()),
        "PODUP_SESSION_SECS" => c.session_secs.to_string(),
        "PODUP_METRICS_OPEN" => if c.metrics_open { "1" } else { "0" }.to_string(),
        // The sinks hold tokens: only how many and from where (GET /api/v1/notify lists them masked).
        "PODUP_NOTIFY" => match (&c.notify.source, c.notify.sinks.len()) {
            (_, 0) => "unset".into(),
            (crate::config::notify::Source::Inline(_), n) => format!("set ({n} sink(s))"),
            (crate::config::notify::Source::File(p), n) => {
                format!("{n} sink(s) from PODUP_NOTIFY_FILE {}", p.display())
            }
            (_, n) => format!("{n} sink(s) from the credential notify"),
        },
        "PODUP_NOTIFY_TIMEOUT_SECS" => c.notify.timeout_secs.to_string(),
        "PODUP_NOTIFY_RETRY" => human_secs(c.notify.retry_secs),
        "PODUP_NOTIFY_GIVE_UP" => human_secs(c.notify.give_up_secs),
        "PODUP_NOTIFY_AUTH_WINDOW" => human_secs(c.notify.auth_window_secs),
        "PODUP_CHECK_TTL" => human_secs(c.check.ttl_secs),
        "PODUP_CHECK_TIMEOUT_SECS" => c.check.timeout_secs.to_string(),
        "PODUP_CHECK_ON_TIMER" => if c.check.on_timer { "1" } else { "0" }.to_string(),
        "PODUP_APPROVAL_TTL" => human_secs(c.check.approval_ttl_secs),
        "PODUP_RETENTION_EVENTS" => human_secs(c.retention_events_secs),
        "PODUP_RETENTION_TASKS" => human_secs(c.retention_tasks_secs),
        "PODUP_AUTO_DISCOVER" => if c.auto_discover { "1" } else { "0" }.to_string(),
        "PODUP_EXCLUDE" if c.exclude.is_empty() => "unset".into(),
        "PODUP_EXCLUDE" => c.exclude.join(","),
        "PODUP_DISCOVERY_RETENTION" => human_secs(c.discovery_retention_secs),
        _ => return None,
    })
}

pub fn settings(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let c = ctx.config;
    let variables: Vec<Value> = VARIABLES
        .iter()
        .map(|(name, default, description)| {
            json!({
                "name": name,
                "value": value_of(c, name),
                "default": default,
                "description": description,
                "secret": name.contains("SECRET") || *name == "PODUP_NOTIFY",
            })
        })
        .collect();
    let d = ctx.dispatcher();
    let resolved = d.resolve(ctx.db.get().ok(), None).unwrap_or_default();
    let side = |source: &str| -> Vec<Value> {
        resolved
            .iter()
            .filter(|r| r.source == source)
            .map(|r| json!({"unit": r.unit, "image": r.image.as_ref().map(|i| i.to_string()), "image_source": r.image_source}))
            .collect()
    };
    let (declared, discovered) = (side("declared"), side("discovered"));
    call.ok(&json!({
            "variables": variables,
            "unknown_variables": c.unknown_variables,
            "counts": {"declared": declared.len(), "discovered": discovered.len()},
            "services": {"declared": declared, "discovered": discovered},
            "demo": ctx.host.simulated(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_has_a_value_and_secrets_never_show() {
        let c = Config::from_pairs(&[("PODUP_GITHUB_SECRET", "hunter2-secret-0123")], 0).unwrap();
        for (name, _, _) in VARIABLES {
            let v = value_of(&c, name).unwrap_or_else(|| panic!("{name} has no value on the settings page"));
            assert!(!v.contains("hunter2"), "{name}: {v}");
        }
        assert_eq!(value_of(&c, "PODUP_GITHUB_SECRET").unwrap(), "set (1 secret(s))");
    }

    /// The default each variable is documented with (settings page, `podup env`) is what
    /// podup uses, and env/podup.env.example shows the same; defaults that depend on the
    /// machine are described in words instead and are left out.
    #[test]
    fn the_documented_defaults_are_the_defaults() {
        const DESCRIBED: [&str; 4] = [
            "PODUP_STATE_DIR",
            "PODUP_SERVICES",
            "PODUP_SYSTEMD_SCOPE",
            "PODUP_TRUSTED_PROXIES",
        ];
        let example = include_str!("../../env/podup.env.example");
        let c = Config::from_pairs(&[], 0).unwrap();
        let mut differ = Vec::new();
        for (name, default, _) in VARIABLES.iter().filter(|(n, _, _)| !DESCRIBED.contains(n)) {
            let v = value_of(&c, name).unwrap();
            if v != *default {
                differ.push(format!("{name}: documented '{default}', is '{v}'"));
            }
            let shown = example.lines().find_map(|l| l.strip_prefix(&format!("#{name}=")));
            // An unset variable's line shows an example value instead.
            if let Some(shown) = shown.filter(|v| !v.is_empty() && *default != "unset") {
                if shown != *default {
                    differ.push(format!(
                        "{name}: the example shows '{shown}', the default is '{default}'"
                    ));
                }
            }
        }
        assert!(differ.is_empty(), "{differ:#?}");
    }
}
