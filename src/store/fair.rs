//! Pruning failed credentials (tier 3, `fold::Tier::FailedCredential`) fairly by
//! source (docs/security.md, third probe, G4). Anyone can make a tier-3 row by
//! presenting a nonsense credential, and spread over many sources such junk pushed a
//! real guesser's rows out when tier 3 went oldest-first. Now, while over the budget,
//! the sources holding the most tier-3 rows are compacted first: each source's rows
//! of one reason become one row that counts them all (the first one, its query cut to
//! `COMPACT_PATH_CHARS`, with the time of the last in `meta.last_ts_ms`), so every
//! failure stays accounted for. Only when every source is down to one row per reason
//! are rows removed: the oldest single failures first, then the oldest of any.
//! `fold::enforce_budget` calls this after tiers 2 and 1.

use rusqlite::{Connection, params};

/// Characters of a compacted row's path that are kept (enough for the route and a
/// short query; a flood's 1,000-byte queries are what made its rows heavy).
const COMPACT_PATH_CHARS: i64 = 64;
/// Sources looked at per step: the ones with the most rows to spare.
const SOURCES_PER_STEP: i64 = 64;

/// What `trim` did: rows removed, steps taken, and whether the database is within
/// `target` afterwards.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Trimmed {
    pub removed: i64,
    pub steps: usize,
    pub within: bool,
}

/// Removes tier-3 rows in at most `max_steps` steps of about `batch_rows` rows each,
/// until `used_bytes` is at most `target`: compacting the sources with the most rows
/// first, then removing single failures oldest first, then any oldest first.
pub fn trim(
    conn: &Connection,
    target: i64,
    max_steps: usize,
    batch_rows: i64,
    used_bytes: impl Fn(&Connection) -> rusqlite::Result<i64>,
) -> rusqlite::Result<Trimmed> {
    let mut done = Trimmed::default();
    while done.steps < max_steps {
        done.steps += 1;
        let n = match compact_step(conn, batch_rows)? {
            0 => remove_oldest(conn, batch_rows)?,
            n => n,
        };
        done.removed += n;
        if used_bytes(conn)? <= target {
            done.within = true;
            break;
        }
        if n == 0 {
            break;
        }
    }
    Ok(done)
}

/// Compacts the sources with the most rows to spare (rows beyond one per reason),
/// most first, until about `batch_rows` rows are gone. Ties go to the source whose
/// rows are heavier. Returns the rows removed (0: every source is compact).
fn compact_step(conn: &Connection, batch_rows: i64) -> rusqlite::Result<i64> {
    let ranked: Vec<(String, i64)> = conn
        .prepare_cached(
            "SELECT source, count(*) - count(DISTINCT reason) AS spare FROM event_log
             WHERE tier = 3 AND source IS NOT NULL GROUP BY source HAVING spare > 0
             ORDER BY spare DESC, sum(length(path)) DESC LIMIT ?1",
        )?
        .query_map([SOURCES_PER_STEP], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut removed = 0;
    for (source, _) in ranked {
        removed += compact(conn, &source)?;
        if removed >= batch_rows {
            break;
        }
    }
    Ok(removed)
}

/// One row per reason for `source`: its first, counting all, path cut short.
fn compact(conn: &Connection, source: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "UPDATE event_log AS k SET
           count = (SELECT sum(e.count) FROM event_log e
                    WHERE e.tier = 3 AND e.source = k.source AND e.reason = k.reason),
           meta = json_set(CASE WHEN json_valid(k.meta) THEN k.meta ELSE '{}' END, '$.last_ts_ms',
                    (SELECT max(e.ts_ms) FROM event_log e
                     WHERE e.tier = 3 AND e.source = k.source AND e.reason = k.reason)),
           path = substr(k.path, 1, ?2)
         WHERE k.id IN (SELECT min(id) FROM event_log WHERE tier = 3 AND source = ?1 GROUP BY reason)",
    )?
    .execute(params![source, COMPACT_PATH_CHARS])?;
    let n = conn
        .prepare_cached(
            "DELETE FROM event_log WHERE tier = 3 AND source = ?1 AND id NOT IN
               (SELECT min(id) FROM event_log WHERE tier = 3 AND source = ?1 GROUP BY reason)",
        )?
        .execute([source])?;
    Ok(n as i64)
}

/// With every source compact: the oldest rows that count one failure, else the oldest.
fn remove_oldest(conn: &Connection, batch_rows: i64) -> rusqlite::Result<i64> {
    let n = conn.execute(
        "DELETE FROM event_log WHERE id IN
           (SELECT id FROM event_log WHERE tier = 3 AND count = 1 ORDER BY id LIMIT ?1)",
        [batch_rows],
    )?;
    if n > 0 {
        return Ok(n as i64);
    }
    let n = conn.execute(
        "DELETE FROM event_log WHERE id IN (SELECT id FROM event_log WHERE tier = 3 ORDER BY id LIMIT ?1)",
        [batch_rows],
    )?;
    Ok(n as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::events::Event;
    use crate::store::fold::{self, Filing};

    fn failure(conn: &Connection, source: &str, i: i64, query: &str) {
        let e = Event {
            request_id: format!("{source}-{i}"),
            // Seconds apart, so none fold: the worst case for the budget.
            ts_ms: i * 1_000,
            method: "GET".into(),
            path: format!("/api/v1/services?{query}"),
            status: 401,
            action: "services".into(),
            reason: "invalid_token".into(),
            duration_ms: 0,
            remote_addr: None,
            meta: "{}".into(),
            task_id: None,
        };
        fold::store(conn, &e, &Filing::failed_credential(source)).unwrap();
    }

    #[test]
    fn a_guesser_outlives_a_flood_spread_over_many_sources() {
        let conn = crate::testing::migrated_db();
        for i in 0..20 {
            failure(&conn, "192.0.2.5", i, "guess=REAL");
        }
        let junk = format!("x={}", "a".repeat(1000));
        for k in 0..60 {
            for i in 0..30 {
                failure(&conn, &format!("203.0.113.{k}"), 100 + i, &junk);
            }
        }
        let used = fold::used_bytes(&conn).unwrap();
        let t = fold::enforce_budget(&conn, used / 4, usize::MAX).unwrap();
        assert!(t.within && t.failed > 0, "{t:?}");
        let (rows, counted): (i64, i64) = conn
            .query_row(
                "SELECT count(*), sum(count) FROM event_log WHERE path LIKE '%guess=REAL%'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((rows, counted), (20, 20), "the guesser is untouched");
        let all: i64 = conn
            .query_row("SELECT sum(count) FROM event_log WHERE tier = 3", [], |r| r.get(0))
            .unwrap();
        assert_eq!(all, 20 + 1_800, "every failure is still accounted for");
        // Nothing left to compact: single failures go first, the counted rows last.
        let t = fold::enforce_budget(&conn, 1, usize::MAX).unwrap();
        assert!(!t.within && t.failed > 0, "{t:?}");
    }
}
