//! Update checks' state (docs/updates.md): the latest verdict per unit
//! (`update_checks`), a tag's digest as its registry last gave it (`registry_cache`,
//! reused until PODUP_CHECK_TTL passes), hosts that asked to be left alone until a time
//! (`registry_holds`), and which new digests were already announced (`update_notices`).
//! Every stored text is bounded.

use crate::model::UpdateStatus;
use crate::store::outbox::bound;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// Longest stored message, reference or endpoint.
const MAX_TEXT: usize = 500;
/// Most digests kept for the running image.
const MAX_DIGESTS: usize = 16;

/// The latest verdict of an update check for one unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub unit: String,
    pub image: Option<String>,
    pub status: UpdateStatus,
    pub remote_digest: Option<String>,
    /// When the registry says the image was made (its `Last-Modified`), as it said it.
    pub remote_created: Option<String>,
    /// Every digest the running image is known by.
    pub local_digests: Vec<String>,
    /// For `unknown`: a reason code (docs/updates.md).
    pub reason: Option<String>,
    pub message: Option<String>,
    /// `host/name:tag` that answered.
    pub endpoint: Option<String>,
    pub checked_ms: i64,
    /// When the remote digest was asked of the registry (older than `checked_ms` when
    /// the cache answered).
    pub fetched_ms: Option<i64>,
    pub task_id: Option<i64>,
    /// For `Follow=semver:…`/`regex:`: the higher version tag the check proposes
    /// (`remote_digest` is its digest); None: the running tag's own new digest.
    pub remote_tag: Option<String>,
}

/// Stores `v` as the unit's latest verdict.
pub fn record(conn: &Connection, v: &Verdict) -> rusqlite::Result<()> {
    let b = |s: &Option<String>| s.as_deref().map(|s| bound(s, MAX_TEXT));
    let digests: Vec<String> = v
        .local_digests
        .iter()
        .take(MAX_DIGESTS)
        .map(|d| bound(d, 200))
        .collect();
    conn.execute(
        "INSERT INTO update_checks (unit, image, status, remote_digest, remote_created, local_digests,
             reason, message, endpoint, checked_ms, fetched_ms, task_id, remote_tag)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (unit) DO UPDATE SET image = ?2, status = ?3, remote_digest = ?4,
             remote_created = ?5, local_digests = ?6, reason = ?7, message = ?8, endpoint = ?9,
             checked_ms = ?10, fetched_ms = ?11, task_id = ?12, remote_tag = ?13",
        params![
            bound(&v.unit, MAX_TEXT),
            b(&v.image),
            v.status,
            b(&v.remote_digest),
            b(&v.remote_created),
            serde_json::to_string(&digests).expect("strings serialize"),
            b(&v.reason),
            b(&v.message),
            b(&v.endpoint),
            v.checked_ms,
            v.fetched_ms,
            v.task_id,
            b(&v.remote_tag),
        ],
    )?;
    Ok(())
}

fn verdict(r: &rusqlite::Row<'_>) -> rusqlite::Result<Verdict> {
    let digests: String = r.get(5)?;
    Ok(Verdict {
        unit: r.get(0)?,
        image: r.get(1)?,
        status: r.get(2)?,
        remote_digest: r.get(3)?,
        remote_created: r.get(4)?,
        local_digests: serde_json::from_str(&digests).unwrap_or_default(),
        reason: r.get(6)?,
        message: r.get(7)?,
        endpoint: r.get(8)?,
        checked_ms: r.get(9)?,
        fetched_ms: r.get(10)?,
        task_id: r.get(11)?,
        remote_tag: r.get(12)?,
    })
}

const COLUMNS: &str = "unit, image, status, remote_digest, remote_created, local_digests, reason, message,
    endpoint, checked_ms, fetched_ms, task_id, remote_tag";

/// Every stored verdict, by unit.
pub fn all(conn: &Connection) -> rusqlite::Result<Vec<Verdict>> {
    let mut st = conn.prepare(&format!("SELECT {COLUMNS} FROM update_checks ORDER BY unit"))?;
    st.query_map([], verdict)?.collect()
}

/// A tag's digest as its registry gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached {
    pub digest: String,
    pub created: Option<String>,
    pub endpoint: String,
    pub fetched_ms: i64,
}

/// The cached digest of `reference` (`repository:tag`) fetched at or after `since_ms`.
pub fn cached(conn: &Connection, reference: &str, since_ms: i64) -> rusqlite::Result<Option<Cached>> {
    conn.query_row(
        "SELECT digest, created, endpoint, fetched_ms FROM registry_cache WHERE reference = ?1 AND fetched_ms >= ?2",
        params![reference, since_ms],
        |r| {
            Ok(Cached {
                digest: r.get(0)?,
                created: r.get(1)?,
                endpoint: r.get(2)?,
                fetched_ms: r.get(3)?,
            })
        },
    )
    .optional()
}

/// Remembers what the registry said of `reference`.
pub fn cache(conn: &Connection, reference: &str, c: &Cached) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO registry_cache (reference, digest, created, endpoint, fetched_ms) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (reference) DO UPDATE SET digest = ?2, created = ?3, endpoint = ?4, fetched_ms = ?5",
        params![
            bound(reference, MAX_TEXT),
            bound(&c.digest, 200),
            c.created.as_deref().map(|s| bound(s, 100)),
            bound(&c.endpoint, MAX_TEXT),
            c.fetched_ms
        ],
    )?;
    Ok(())
}

/// Forgets cached digests fetched and notices sent before `cutoff_ms`, and holds that
/// ended by `now_ms`; how many rows.
pub fn forget_before(conn: &Connection, cutoff_ms: i64, now_ms: i64) -> rusqlite::Result<usize> {
    let a = conn.execute("DELETE FROM registry_cache WHERE fetched_ms < ?1", [cutoff_ms])?;
    let b = conn.execute("DELETE FROM registry_holds WHERE until_ms <= ?1", [now_ms])?;
    let c = conn.execute("DELETE FROM update_notices WHERE sent_ms < ?1", [cutoff_ms])?;
    Ok(a + b + c)
}

/// Registry hosts asked to be left alone, with when that ends, still in force at `now_ms`.
pub fn holds(conn: &Connection, now_ms: i64) -> rusqlite::Result<Vec<(String, i64)>> {
    let mut st = conn.prepare("SELECT host, until_ms FROM registry_holds WHERE until_ms > ?1 ORDER BY host")?;
    st.query_map([now_ms], |r| Ok((r.get(0)?, r.get(1)?)))?.collect()
}

/// Leaves `host` alone until `until_ms` (a later end wins).
pub fn hold(conn: &Connection, host: &str, until_ms: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO registry_holds (host, until_ms) VALUES (?1, ?2)
         ON CONFLICT (host) DO UPDATE SET until_ms = max(until_ms, ?2)",
        params![bound(host, MAX_TEXT), until_ms],
    )?;
    Ok(())
}

/// Records that `digest` was announced for `unit`; false when it already was.
pub fn first_notice(conn: &Connection, unit: &str, digest: &str, now_ms: i64) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO update_notices (unit, digest, sent_ms) VALUES (?1, ?2, ?3)",
        params![unit, digest, now_ms],
    )?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests;
