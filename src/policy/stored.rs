//! The last good policy as the state database keeps it (`store::policies`): the policy in
//! the JSON the API shows, and where its keys came from. Reading it back parses the
//! window and `Follow=` from their spellings again, with the same parsers as the files,
//! so the model needs no deserializer of its own.

use super::keys::{self, KEYS};
use super::{Source, Sources, spans};
use crate::model::Policy;
use crate::store::policies;
use rusqlite::Connection;
use serde::Deserialize;

/// The stored policy: `Policy`'s JSON.
#[derive(Deserialize)]
struct StoredPolicy {
    policy: String,
    min_age_secs: u64,
    window: Option<String>,
    timer: bool,
    follow: String,
}

/// A stored source: `"default"` or `{"file", "line"}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredSource {
    Text(String),
    File { file: String, line: usize },
}

/// Keeps `policy` (read without an error) as `unit`'s last good one. A policy nobody set
/// (every key the default) is kept as no row, which falls back the same way: a service
/// without a policy never writes.
pub fn save(
    conn: &Connection,
    unit: &str,
    policy: &Policy,
    sources: &[(&'static str, Source)],
    now_ms: i64,
) -> rusqlite::Result<()> {
    if sources.iter().all(|(_, s)| *s == Source::Default) {
        return policies::forget(conn, unit);
    }
    let policy_json = serde_json::to_string(policy).expect("a policy serializes");
    let map: serde_json::Map<String, serde_json::Value> = sources
        .iter()
        .map(|(k, s)| (k.to_string(), serde_json::to_value(s).expect("a source serializes")))
        .collect();
    let sources_json = serde_json::Value::Object(map).to_string();
    policies::save_good(conn, unit, &policy_json, &sources_json, now_ms)
}

/// `unit`'s last good policy and its sources; an error names what in the row is not one.
pub fn load(conn: &Connection, unit: &str) -> Result<Option<(Policy, Sources)>, String> {
    let Some((policy_json, sources_json)) = policies::last_good(conn, unit).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let p: StoredPolicy = serde_json::from_str(&policy_json).map_err(|e| format!("stored policy: {e}"))?;
    let policy = Policy {
        policy: keys::action(&p.policy)?,
        min_age_secs: p.min_age_secs,
        window: p.window.as_deref().map(spans::window).transpose()?,
        timer: p.timer,
        follow: keys::follow(&p.follow)?,
    };
    let mut stored: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&sources_json).map_err(|e| format!("stored sources: {e}"))?;
    let mut sources = Vec::new();
    for key in KEYS {
        let source = match stored.remove(key).map(serde_json::from_value::<StoredSource>) {
            None => Source::Default,
            Some(Ok(StoredSource::Text(t))) if t == "default" => Source::Default,
            Some(Ok(StoredSource::Text(t))) => return Err(format!("stored source of {key}: '{t}'")),
            Some(Ok(StoredSource::File { file, line })) => Source::File { path: file, line },
            Some(Err(e)) => return Err(format!("stored source of {key}: {e}")),
        };
        sources.push((key, source));
    }
    Ok(Some((policy, sources)))
}
