//! Rate-limit hits (`rate_hits`): one row per hit with its time and a per-key sequence
//! number, so that how many hits a window holds is the distance between two sequence
//! numbers, found with a couple of index lookups. Rules and windows are `ratelimit`'s.

use rusqlite::{Connection, OptionalExtension, params};

/// The newest sequence number of `key` (`None` when it has no hits).
pub fn newest_seq(conn: &Connection, key: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(NEWEST)?.query_row(params![key], |r| r.get(0))
}

/// The sequence number of the first hit of `key` after `start_ms`.
pub fn first_seq_after(conn: &Connection, key: &str, start_ms: i64) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(FIRST_IN_WINDOW)?
        .query_row(params![key, start_ms], |r| r.get(0))
        .optional()
}

/// When hit number `seq` of `key` was recorded.
pub fn hit_time(conn: &Connection, key: &str, seq: i64) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(HIT_TIME)?
        .query_row(params![key, seq], |r| r.get(0))
        .optional()
}

/// Removes the hits of `key` recorded at or before `cutoff_ms`.
pub fn drop_until(conn: &Connection, key: &str, cutoff_ms: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached(DROP_OLD)?.execute(params![key, cutoff_ms])
}

/// Records one hit of `key` at `now_ms`, numbered after the key's newest.
pub fn insert_hit(conn: &Connection, key: &str, now_ms: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(INSERT_HIT)?.execute(params![key, now_ms])?;
    Ok(())
}

/// The statements above, for a test that asks SQLite how often each was compiled.
#[cfg(test)]
pub const STATEMENTS: [&str; 5] = [NEWEST, FIRST_IN_WINDOW, HIT_TIME, DROP_OLD, INSERT_HIT];

const NEWEST: &str = "SELECT max(seq) FROM rate_hits WHERE key = ?1";
const FIRST_IN_WINDOW: &str = "SELECT seq FROM rate_hits WHERE key = ?1 AND ts_ms > ?2 ORDER BY ts_ms LIMIT 1";
const HIT_TIME: &str = "SELECT ts_ms FROM rate_hits WHERE key = ?1 AND seq = ?2";
const DROP_OLD: &str = "DELETE FROM rate_hits WHERE key = ?1 AND ts_ms <= ?2";
// A hit is never stored with a time before the key's newest: the window is counted
// by sequence number, which needs times that only grow with it (a worker may record a
// time it read before another worker's later one).
const INSERT_HIT: &str = "INSERT INTO rate_hits (key, ts_ms, seq)
     VALUES (?1, max(?2, coalesce((SELECT max(ts_ms) FROM rate_hits WHERE key = ?1), ?2)),
             coalesce((SELECT max(seq) FROM rate_hits WHERE key = ?1), 0) + 1)";
