//! Notification sinks (docs/notifications.md): one URL per line in `PODUP_NOTIFY`,
//! `PODUP_NOTIFY_FILE` or the credential `notify`, and the knobs of their delivery.
//! Sink URLs hold secrets, so errors name the source and the line, never the line's
//! text, and the processes that deliver (task units, the flush timer) are told where
//! the sinks are rather than given them in their environment where systemd would show
//! them to every user (`worker_environment`).

use super::{ConfigError, err};
use crate::host::Scope;
use crate::notify::sink::{self, Sink};
use crate::ratelimit::parse_duration_secs;
use std::path::{Path, PathBuf};

/// More sinks than this is a mistake, not a configuration.
pub const MAX_SINKS: usize = 32;

/// Where the sinks were read from.
#[derive(Clone, PartialEq)]
pub enum Source {
    None,
    /// `PODUP_NOTIFY` itself (the text holds secrets: never printed).
    Inline(String),
    File(PathBuf),
    /// `$CREDENTIALS_DIRECTORY/notify`.
    Credential(PathBuf),
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::None => f.write_str("None"),
            Source::Inline(_) => f.write_str("Inline(***)"),
            Source::File(p) => write!(f, "File({})", p.display()),
            Source::Credential(p) => write!(f, "Credential({})", p.display()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NotifyConfig {
    pub sinks: Vec<Sink>,
    pub source: Source,
    /// How long one delivery may take (`PODUP_NOTIFY_TIMEOUT_SECS`).
    pub timeout_secs: u64,
    /// The first retry's delay, doubled per failure up to an hour (`PODUP_NOTIFY_RETRY`).
    pub retry_secs: u64,
    /// How long a message is retried before it is given up (`PODUP_NOTIFY_GIVE_UP`).
    pub give_up_secs: u64,
    /// Failed authentications within this window make one message (`PODUP_NOTIFY_AUTH_WINDOW`).
    pub auth_window_secs: u64,
}

pub(super) fn read(get: &impl Fn(&str) -> Option<String>, scope: Scope) -> Result<NotifyConfig, ConfigError> {
    let (source, text, name) = match (get("PODUP_NOTIFY"), get("PODUP_NOTIFY_FILE")) {
        (Some(_), Some(_)) => {
            return Err(err(
                "PODUP_NOTIFY",
                "is set together with PODUP_NOTIFY_FILE: set only one".into(),
            ));
        }
        (Some(v), None) => (Source::Inline(v.clone()), v, "PODUP_NOTIFY".to_string()),
        (None, Some(path)) => {
            let p = PathBuf::from(&path);
            if !p.is_absolute() {
                return Err(err(
                    "PODUP_NOTIFY_FILE",
                    format!("expected an absolute path, got '{path}'"),
                ));
            }
            let text = read_file("PODUP_NOTIFY_FILE", &p)?;
            (Source::File(p), text, "PODUP_NOTIFY_FILE".into())
        }
        (None, None) => match get("CREDENTIALS_DIRECTORY").map(|d| Path::new(&d).join("notify")) {
            Some(p) if p.exists() => {
                let text = read_file("PODUP_NOTIFY (credential 'notify')", &p)?;
                (Source::Credential(p), text, "PODUP_NOTIFY (credential 'notify')".into())
            }
            _ => (Source::None, String::new(), String::new()),
        },
    };
    let sinks = sink::parse_list(&text).map_err(|(line, e)| err(&name, format!("line {line}: {e}")))?;
    if sinks.len() > MAX_SINKS {
        return Err(err(
            &name,
            format!("names {} sinks; at most {MAX_SINKS} are allowed", sinks.len()),
        ));
    }
    if matches!(source, Source::Inline(_)) && scope == Scope::System && !sinks.is_empty() {
        return Err(err(
            "PODUP_NOTIFY",
            "in the system scope, put the sinks in a file (PODUP_NOTIFY_FILE, mode 0600) or the \
             credential 'notify': task units read them from there, while a value passed in their \
             environment would be shown to every user by 'systemctl show'"
                .into(),
        ));
    }
    let timeout_secs = seconds(get, "PODUP_NOTIFY_TIMEOUT_SECS", 5, 60)?;
    Ok(NotifyConfig {
        sinks,
        source,
        timeout_secs,
        retry_secs: duration(get, "PODUP_NOTIFY_RETRY", "30s")?,
        give_up_secs: duration(get, "PODUP_NOTIFY_GIVE_UP", "24h")?,
        auth_window_secs: duration(get, "PODUP_NOTIFY_AUTH_WINDOW", "5m")?,
    })
}

fn read_file(variable: &str, path: &Path) -> Result<String, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| err(variable, format!("cannot read '{}': {e}", path.display())))?;
    if text.len() > 64 * 1024 {
        return Err(err(variable, format!("'{}' is larger than 64 KiB", path.display())));
    }
    Ok(text)
}

pub(super) fn seconds(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| (1..=max).contains(s))
            .ok_or_else(|| err(name, format!("expected 1 to {max} seconds, got '{v}'"))),
    }
}

pub(super) fn duration(get: &impl Fn(&str) -> Option<String>, name: &str, default: &str) -> Result<u64, ConfigError> {
    let v = get(name).unwrap_or_else(|| default.to_string());
    parse_duration_secs(&v)
        .filter(|s| *s > 0)
        .ok_or_else(|| err(name, format!("expected a duration such as 30s, 5m or 24h, got '{v}'")))
}

impl NotifyConfig {
    /// What a process that delivers notifications for this one (a task unit, the flush
    /// timer) needs: `--setenv` pairs and unit properties. The sinks travel by
    /// reference (a file, a credential) except in the user scope, whose manager shows
    /// a unit's environment to its own user only; there `PODUP_NOTIFY` goes by name,
    /// its value given to systemd-run alone (`pass_env`).
    pub fn worker_environment(&self, public_url: Option<&str>) -> (Vec<(String, String)>, Vec<String>) {
        let mut env = vec![
            ("PODUP_NOTIFY_TIMEOUT_SECS".to_string(), self.timeout_secs.to_string()),
            ("PODUP_NOTIFY_RETRY".to_string(), format!("{}s", self.retry_secs)),
            ("PODUP_NOTIFY_GIVE_UP".to_string(), format!("{}s", self.give_up_secs)),
            (
                "PODUP_NOTIFY_AUTH_WINDOW".to_string(),
                format!("{}s", self.auth_window_secs),
            ),
        ];
        if let Some(u) = public_url {
            env.push(("PODUP_PUBLIC_URL".into(), u.to_string()));
        }
        let mut properties = Vec::new();
        match &self.source {
            Source::None => {}
            // Passed by name from systemd-run's environment (`Host::passing`).
            Source::Inline(_) => env.push(("PODUP_NOTIFY".into(), String::new())),
            Source::File(p) => env.push(("PODUP_NOTIFY_FILE".into(), p.display().to_string())),
            Source::Credential(p) => properties.push(format!("LoadCredential=notify:{}", p.display())),
        }
        (env, properties)
    }

    /// The variables `Host::passing` gives systemd-run: the inline sinks, if any.
    pub fn pass_env(&self) -> Vec<(String, String)> {
        match &self.source {
            Source::Inline(text) => vec![("PODUP_NOTIFY".into(), text.clone())],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
#[path = "notify_tests.rs"]
mod tests;
