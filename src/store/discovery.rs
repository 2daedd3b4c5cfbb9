//! Discovered units (`discovered_units`): what discovery found, where, and when it was
//! first and last seen. Scanning and deciding what to keep are `discovery`'s.

use rusqlite::{Connection, params};
use serde::Serialize;

/// A stored discovered unit.
#[derive(Debug, Clone, Serialize)]
pub struct Stored {
    pub unit: String,
    pub source: String,
    pub image: Option<String>,
    pub detail: Option<String>,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
}

/// Records that `unit` was seen at `now_ms` in `source` (`detail` names the file or
/// container); an image found before is kept when none was found this time.
pub fn upsert(
    conn: &Connection,
    unit: &str,
    source: &str,
    image: Option<&str>,
    detail: &str,
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO discovered_units (unit, source, image, detail, first_seen_ms, last_seen_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (unit) DO UPDATE SET source = ?2, image = coalesce(?3, image), detail = ?4, last_seen_ms = ?5",
        params![unit, source, image, detail, now_ms],
    )?;
    Ok(())
}

/// Forgets the units last seen before `cutoff_ms`; how many.
pub fn forget_before(conn: &Connection, cutoff_ms: i64) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM discovered_units WHERE last_seen_ms < ?1", [cutoff_ms])
}

/// Every stored discovered unit, by name.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<Stored>> {
    let mut st = conn.prepare(
        "SELECT unit, source, image, detail, first_seen_ms, last_seen_ms FROM discovered_units ORDER BY unit",
    )?;
    st.query_map([], |r| {
        Ok(Stored {
            unit: r.get(0)?,
            source: r.get(1)?,
            image: r.get(2)?,
            detail: r.get(3)?,
            first_seen_ms: r.get(4)?,
            last_seen_ms: r.get(5)?,
        })
    })?
    .collect()
}
