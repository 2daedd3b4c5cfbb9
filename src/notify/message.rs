//! The message a notification carries: podup's own JSON, `"schema": 1`
//! (docs/notifications.md). It is built once, when the outbox row is written, from
//! what the state database knows; it holds no secret. Each sink renders it in its own
//! format (`format`) when it is delivered.

pub use crate::model::NotifyEvent as Event;
use serde::{Deserialize, Serialize};

/// The version of the JSON below; a receiver checks it before reading the rest.
pub const SCHEMA: u32 = 1;

/// Lines of the task's log a message carries at most.
pub const LOG_TAIL_LINES: usize = 10;

/// One notification, as stored in the outbox and as the `webhook+` and `exec:` sinks
/// send it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub schema: u32,
    /// Stable across retries and sinks: a receiver drops a message it has seen.
    pub id: String,
    pub event: Event,
    /// The host's name (a sink's `host=` replaces it when rendered).
    pub host: String,
    /// When the message was written (ms since the epoch).
    pub ts_ms: i64,
    /// One line: what happened, e.g. `web.service rolled back on host-a`.
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub task: Option<TaskPart>,
    /// The units of the task, each with its own verdict.
    #[serde(default)]
    pub units: Vec<UnitPart>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trigger: Option<TriggerPart>,
    /// The last lines of the task's log, oldest first.
    #[serde(default)]
    pub log_tail: Vec<String>,
    /// A link to the task in the panel, when `PODUP_PUBLIC_URL` is set.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub auth_failures: Option<AuthFailuresPart>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskPart {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub created_ms: i64,
    pub finished_ms: Option<i64>,
    /// From the start of its work (or its creation) to its end.
    pub duration_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitPart {
    pub unit: String,
    pub status: String,
    /// The image reference as the unit names it, e.g. `ghcr.io/acme/web:latest`.
    pub image: Option<String>,
    /// The tag of `image`, when it has one.
    pub tag: Option<String>,
    pub from_digest: Option<String>,
    pub to_digest: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerPart {
    /// `github`, `harbor`, `api`, `cli`, `timer`...
    pub source: String,
    pub caller: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthFailuresPart {
    pub count: u64,
    pub window_secs: u64,
    pub first_ms: i64,
    pub last_ms: i64,
    /// Failed requests per route, e.g. `{"/hooks/github": 40}`.
    pub routes: std::collections::BTreeMap<String, u64>,
}

/// `sha256:0123456789ab…` → `0123456789ab` (12 hex digits, as podman prints ids).
pub fn short_digest(digest: &str) -> &str {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    &hex[..hex.len().min(12)]
}

/// The tag of an image reference (`repo:tag`, not a registry port), if any.
pub fn tag_of(image: &str) -> Option<&str> {
    let name = image.split('@').next().unwrap_or(image);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split_once(':').map(|(_, t)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_shortened_as_podman_does() {
        assert_eq!(short_digest("sha256:0123456789abcdef0123"), "0123456789ab");
        assert_eq!(short_digest("abc"), "abc");
    }

    #[test]
    fn tags_are_not_ports() {
        assert_eq!(tag_of("localhost:5000/web:1.2"), Some("1.2"));
        assert_eq!(tag_of("localhost:5000/web"), None);
        assert_eq!(tag_of("web@sha256:00"), None);
        assert_eq!(tag_of("docker.io/library/nginx:latest@sha256:00"), Some("latest"));
    }
}
