//! Every `PODUP_*` variable and credential, read once at start and validated in one
//! place. Errors name the variable and the bad value; nothing reads the environment
//! after this. `env/podup.env.example` documents each variable.

use crate::auth::proxy::TrustedProxies;
use crate::auth::tokens::Role;
use crate::host::Scope;
use crate::host::dirs::{images_dir, quadlet_dirs, unit_dirs};
use crate::model::Secret;
use crate::providers::Sender;
use crate::ratelimit::{Rule, parse_duration_secs, parse_rules};
use crate::services::{Service, parse_list};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

pub mod check;
pub mod forward;
pub mod notify;
mod senders;
mod sources;
mod variables;

use sources::{path, secrets, state_dir, whole};
pub use variables::VARIABLES;

pub const DEFAULT_IDLE_EXIT_SECS: u64 = 30;
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;
pub const DEFAULT_REQUEST_TIMEOUT_MS: u64 = 10_000;
pub const DEFAULT_WORKERS: usize = 16;
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8777";
pub const DEFAULT_SESSION_SECS: u64 = 12 * 3600;
/// The event log's size budget (docs/security.md, finding 2).
pub const DEFAULT_EVENTS_MAX_MB: u64 = 64;

/// Shortest webhook secret accepted: 16 bytes (128 bits) is beyond guessing at any
/// rate a network allows; shorter ones are refused at start.
pub const MIN_WEBHOOK_SECRET_BYTES: usize = 16;
/// Name of the state database inside the state directory.
pub const DB_FILE_NAME: &str = "podup.db";

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub state_dir: PathBuf,
    /// Which variable (or default) chose `state_dir`, for error messages.
    pub state_dir_source: &'static str,
    pub idle_exit_secs: u64,
    pub max_body_bytes: u64,
    pub request_timeout_ms: u64,
    pub workers: usize,
    pub log_level: log::LevelFilter,
    pub github_secrets: Vec<Secret>,
    /// The other senders' secrets (`config::senders`): only configured ones.
    pub sender_secrets: Vec<(Sender, Vec<Secret>)>,
    pub services: Vec<Service>,
    /// Drive the user manager (`--user`) instead of the system manager.
    pub systemd_user: bool,
    pub verify_secs: u64,
    /// How many pulls a deploy of several units runs at once (`PODUP_PULL_PARALLEL`).
    pub pull_parallel: u32,
    /// `PODUP_AUTO_UPDATE_ENGINE`: what the timer job's `auto-update` task runs.
    pub auto_update_engine: crate::model::Engine,
    pub task_timeout_secs: u64,
    pub public_url: Option<String>,
    pub limit_update_all: Vec<Rule>,
    pub limit_image: Vec<Rule>,
    pub limit_auth_failures: Vec<Rule>,
    pub retention_events_secs: u64,
    /// `PODUP_EVENTS_MAX_MB` in bytes.
    pub events_max_bytes: u64,
    pub retention_tasks_secs: u64,
    pub auto_discover: bool,
    pub exclude: Vec<String>,
    pub discovery_retention_secs: u64,
    /// The unit search path of the scope (discovery reads plain unit files there).
    pub unit_dirs: Vec<PathBuf>,
    /// Where Quadlet files of the scope live (searched for `Image=`).
    pub quadlet_dirs: Vec<PathBuf>,
    /// Where podup keeps the image environment files of plain units that `Follow=` moves
    /// (`host::dirs::images_dir`); None for a user manager without a home.
    pub images_dir: Option<PathBuf>,
    /// `PODUP_POLICY_FILE`: policies of services without a unit file podup finds (read
    /// by `policy` when used).
    pub policy_file: Option<PathBuf>,
    /// PATH, passed on to task units (where podman and systemctl are found).
    pub path_env: Option<String>,
    /// `PODUP_*` variables that were set but mean nothing to podup (typos).
    pub unknown_variables: Vec<String>,
    pub trusted_proxies: TrustedProxies,
    /// The forward-auth header (lower case) and the role its users get.
    pub forward_auth: Option<(String, Role)>,
    /// What the proxy must send in `X-Podup-Proxy-Secret` with the forward-auth header.
    pub forward_auth_secrets: Vec<Secret>,
    pub session_secs: u64,
    /// `PODUP_METRICS_OPEN`: `GET /metrics` needs no token.
    pub metrics_open: bool,
    /// Notification sinks and their delivery knobs.
    pub notify: notify::NotifyConfig,
    /// Update checks' knobs.
    pub check: check::CheckConfig,
}

/// A variable with a value podup cannot use.
#[derive(Debug, PartialEq)]
pub struct ConfigError {
    pub variable: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

impl std::error::Error for ConfigError {}

fn err(variable: &str, message: String) -> ConfigError {
    ConfigError {
        variable: variable.to_string(),
        message,
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        let vars: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        // SAFETY: geteuid has no preconditions and cannot fail.
        let euid = unsafe { libc::geteuid() };
        Config::from_lookup(|name| vars.get(name).cloned(), euid, vars.keys())
    }

    /// The configuration from these variables alone (tests, the demo).
    pub(crate) fn from_pairs(pairs: &[(&str, &str)], euid: u32) -> Result<Config, ConfigError> {
        let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|n| map.get(n).cloned(), euid, map.keys())
    }

    /// Builds the configuration from a variable lookup (tests pass a map).
    pub fn from_lookup<'a>(
        lookup: impl Fn(&str) -> Option<String>,
        euid: u32,
        names: impl Iterator<Item = &'a String>,
    ) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let (state_dir, state_dir_source) = state_dir(&get, euid)?;
        let idle_exit_secs = whole(
            &get,
            "PODUP_IDLE_EXIT_SECS",
            DEFAULT_IDLE_EXIT_SECS,
            "a whole number of seconds",
        )?;
        let max_body_bytes = whole(
            &get,
            "PODUP_MAX_BODY_BYTES",
            DEFAULT_MAX_BODY_BYTES,
            "a whole number of bytes",
        )?;
        let request_timeout_ms = whole(
            &get,
            "PODUP_REQUEST_TIMEOUT_MS",
            DEFAULT_REQUEST_TIMEOUT_MS,
            "a whole number of milliseconds",
        )?;
        if request_timeout_ms == 0 {
            return Err(err(
                "PODUP_REQUEST_TIMEOUT_MS",
                "must be at least 1 millisecond, got '0'".into(),
            ));
        }
        let workers = whole(
            &get,
            "PODUP_WORKERS",
            DEFAULT_WORKERS as u64,
            "a whole number of threads",
        )?;
        if !(1..=64).contains(&workers) {
            return Err(err(
                "PODUP_WORKERS",
                format!("expected 1 to 64 threads, got '{workers}'"),
            ));
        }
        let log_level = match get("PODUP_LOG_LEVEL") {
            None => log::LevelFilter::Info,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "error" => log::LevelFilter::Error,
                "warn" => log::LevelFilter::Warn,
                "info" => log::LevelFilter::Info,
                "debug" => log::LevelFilter::Debug,
                "trace" => log::LevelFilter::Trace,
                _ => {
                    return Err(err(
                        "PODUP_LOG_LEVEL",
                        format!("expected error, warn, info, debug or trace, got '{v}'"),
                    ));
                }
            },
        };
        let github_secrets = secrets(&get, "PODUP_GITHUB_SECRET", "github-secret", MIN_WEBHOOK_SECRET_BYTES)?;
        let sender_secrets = senders::read(&get)?;
        let services = parse_list(&get("PODUP_SERVICES").unwrap_or_default()).map_err(|e| err("PODUP_SERVICES", e))?;
        let systemd_user = match get("PODUP_SYSTEMD_SCOPE").as_deref() {
            None => euid != 0,
            Some("system") => false,
            Some("user") => true,
            Some(v) => {
                return Err(err(
                    "PODUP_SYSTEMD_SCOPE",
                    format!("expected 'system' or 'user', got '{v}'"),
                ));
            }
        };
        let verify_secs = whole(&get, "PODUP_VERIFY_SECS", 10, "a whole number of seconds")?;
        let pull_parallel = whole(&get, "PODUP_PULL_PARALLEL", 4, "a whole number from 1 to 16")?;
        if !(1..=16).contains(&pull_parallel) {
            return Err(err(
                "PODUP_PULL_PARALLEL",
                format!("expected a whole number from 1 to 16, got '{pull_parallel}'"),
            ));
        }
        let pull_parallel = pull_parallel as u32;
        let auto_update_engine = match get("PODUP_AUTO_UPDATE_ENGINE") {
            None => crate::model::Engine::default(),
            Some(v) => crate::model::Engine::parse(&v).ok_or_else(|| {
                err(
                    "PODUP_AUTO_UPDATE_ENGINE",
                    format!("expected 'podman' or 'podup', got '{v}'"),
                )
            })?,
        };
        let task_timeout_secs = whole(&get, "PODUP_TASK_TIMEOUT_SECS", 1800, "a whole number of seconds")?;
        if task_timeout_secs == 0 {
            return Err(err(
                "PODUP_TASK_TIMEOUT_SECS",
                "must be at least 1 second, got '0'".into(),
            ));
        }
        let public_url = match get("PODUP_PUBLIC_URL") {
            None => None,
            Some(u) if (u.starts_with("https://") || u.starts_with("http://")) && !u.contains(char::is_whitespace) => {
                Some(u.trim_end_matches('/').to_string())
            }
            Some(u) => {
                return Err(err(
                    "PODUP_PUBLIC_URL",
                    format!("expected an http:// or https:// URL, got '{u}'"),
                ));
            }
        };
        let rules = |name: &str, default: &str| {
            parse_rules(&get(name).unwrap_or_else(|| default.to_string())).map_err(|e| err(name, e))
        };
        let limit_update_all = rules("PODUP_LIMIT_UPDATE_ALL", "2/10m,10/5h")?;
        let limit_image = rules("PODUP_LIMIT_IMAGE", "6/10m")?;
        let limit_auth_failures = rules("PODUP_LIMIT_AUTH_FAILURES", "20/1m")?;
        let duration = |name: &str, default: &str| {
            let v = get(name).unwrap_or_else(|| default.to_string());
            parse_duration_secs(&v)
                .filter(|s| *s > 0)
                .ok_or_else(|| err(name, format!("expected a duration such as 30d, 12h or 90m, got '{v}'")))
        };
        let retention_events_secs = duration("PODUP_RETENTION_EVENTS", "30d")?;
        let retention_tasks_secs = duration("PODUP_RETENTION_TASKS", "90d")?;
        let events_max_mb = whole(
            &get,
            "PODUP_EVENTS_MAX_MB",
            DEFAULT_EVENTS_MAX_MB,
            "a whole number of MiB",
        )?;
        if events_max_mb == 0 || events_max_mb > 1 << 20 {
            return Err(err(
                "PODUP_EVENTS_MAX_MB",
                format!("must be 1 to 1048576 MiB, got '{events_max_mb}'"),
            ));
        }
        let discovery_retention_secs = duration("PODUP_DISCOVERY_RETENTION", "7d")?;
        let auto_discover = match get("PODUP_AUTO_DISCOVER").as_deref() {
            None | Some("0") | Some("false") | Some("no") => false,
            Some("1") | Some("true") | Some("yes") => true,
            Some(v) => return Err(err("PODUP_AUTO_DISCOVER", format!("expected 1 or 0, got '{v}'"))),
        };
        let mut exclude = Vec::new();
        for unit in get("PODUP_EXCLUDE")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            if !crate::services::valid_unit(unit) {
                return Err(err(
                    "PODUP_EXCLUDE",
                    format!("'{unit}' is not a unit name ending in .service"),
                ));
            }
            exclude.push(unit.to_string());
        }
        let scope = if systemd_user { Scope::User } else { Scope::System };
        let quadlet_dirs = quadlet_dirs(scope, get, euid);
        let config_home = get("XDG_CONFIG_HOME").or_else(|| get("HOME").map(|h| format!("{h}/.config")));
        let unit_dirs = unit_dirs(scope, config_home.as_deref());
        let images_dir = images_dir(scope, config_home.as_deref());
        let path_env = get("PATH");
        let policy_file = path(&get, "PODUP_POLICY_FILE")?;
        let trusted_proxies = TrustedProxies::parse(&get("PODUP_TRUSTED_PROXIES").unwrap_or_default())
            .map_err(|e| err("PODUP_TRUSTED_PROXIES", e))?;
        let forward_auth = get("PODUP_FORWARD_AUTH_HEADER")
            .map(|v| forward_auth(&v))
            .transpose()
            .map_err(|e| err("PODUP_FORWARD_AUTH_HEADER", e.to_string()))?;
        let forward_auth_secrets = forward::secrets_for(&get, &trusted_proxies, forward_auth.is_some())?;
        let session_secs = whole(
            &get,
            "PODUP_SESSION_SECS",
            DEFAULT_SESSION_SECS,
            "a whole number of seconds",
        )?;
        if session_secs == 0 || session_secs > crate::duration::MAX_SECS {
            return Err(err(
                "PODUP_SESSION_SECS",
                format!(
                    "expected 1 to {} seconds, got '{session_secs}'",
                    crate::duration::MAX_SECS
                ),
            ));
        }
        let metrics_open = match get("PODUP_METRICS_OPEN").as_deref().map(str::trim) {
            None | Some("0") | Some("no") | Some("false") => false,
            Some("1") | Some("yes") | Some("true") => true,
            Some(v) => return Err(err("PODUP_METRICS_OPEN", format!("expected 1 or 0, got '{v}'"))),
        };
        let notify = notify::read(&get, scope)?;
        let check = check::read(&get)?;
        let known: Vec<String> = VARIABLES
            .iter()
            .flat_map(|(n, _, _)| [n.to_string(), format!("{n}_FILE")])
            .collect();
        let unknown_variables = names
            .filter(|n| n.starts_with("PODUP_") && !known.contains(n))
            .cloned()
            .collect();
        Ok(Config {
            state_dir,
            state_dir_source,
            idle_exit_secs,
            max_body_bytes,
            request_timeout_ms,
            workers: workers as usize,
            log_level,
            github_secrets,
            sender_secrets,
            services,
            systemd_user,
            verify_secs,
            pull_parallel,
            auto_update_engine,
            task_timeout_secs,
            public_url,
            limit_update_all,
            limit_image,
            limit_auth_failures,
            retention_events_secs,
            events_max_bytes: events_max_mb * 1024 * 1024,
            retention_tasks_secs,
            auto_discover,
            exclude,
            discovery_retention_secs,
            unit_dirs,
            quadlet_dirs,
            images_dir,
            policy_file,
            path_env,
            unknown_variables,
            trusted_proxies,
            forward_auth,
            forward_auth_secrets,
            session_secs,
            metrics_open,
            notify,
            check,
        })
    }

    /// The systemd manager podup talks to (`PODUP_SYSTEMD_SCOPE`).
    pub fn scope(&self) -> Scope {
        if self.systemd_user { Scope::User } else { Scope::System }
    }

    /// The secrets `sender`'s deliveries are checked against (none: not configured).
    pub fn secrets_of(&self, sender: Sender) -> &[Secret] {
        if sender == Sender::Github {
            return &self.github_secrets;
        }
        self.sender_secrets
            .iter()
            .find(|(s, _)| *s == sender)
            .map_or(&[], |(_, list)| list.as_slice())
    }

    /// Path of the state database.
    pub fn db_path(&self) -> PathBuf {
        self.state_dir.join(DB_FILE_NAME)
    }

    /// Logs a warning for each `PODUP_*` variable podup does not know.
    pub fn warn_unknown(&self) {
        for name in &self.unknown_variables {
            log::warn!("ignoring unknown variable '{name}' (see env/podup.env.example)");
        }
    }
}

/// `HEADER` or `HEADER:ROLE`; a session may be admin or read.
fn forward_auth(v: &str) -> Result<(String, Role), BadHeader> {
    let (name, role) = v.split_once(':').unwrap_or((v, "admin"));
    let name = name.trim();
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    match Role::parse(role.trim()) {
        Some(role @ (Role::Admin | Role::Read)) if valid => Ok((name.to_ascii_lowercase(), role)),
        _ => Err(BadHeader(v.to_string())),
    }
}

/// `PODUP_FORWARD_AUTH_HEADER` is neither `HEADER` nor `HEADER:ROLE` (the value as given).
struct BadHeader(String);

impl fmt::Display for BadHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expected a header name, optionally with ':admin' or ':read', got '{}'",
            self.0
        )
    }
}

#[cfg(test)]
mod tests;
