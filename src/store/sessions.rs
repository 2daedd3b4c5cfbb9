//! Panel sessions (`sessions`): the SHA-256 of the cookie value with its name, role,
//! how it was signed in and when it expires. Making cookie values, hashing and
//! comparing them are `auth::session`'s.

use rusqlite::{Connection, OptionalExtension, params};

/// A new session's row.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession<'a> {
    pub hash: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    /// `token` or `forward_auth`.
    pub via: &'a str,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub remote_addr: Option<&'a str>,
}

/// A live session's row.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub hash: String,
    pub name: String,
    /// As stored: `admin`, `trigger` or `read`.
    pub role: String,
    pub via: String,
    pub created_ms: i64,
    pub expires_ms: i64,
}

/// Removes the sessions expired at `now_ms`.
pub fn purge_expired(conn: &Connection, now_ms: i64) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM sessions WHERE expires_ms <= ?1", [now_ms])
}

/// Stores a new session, last seen when it was created.
pub fn insert(conn: &Connection, s: &NewSession<'_>) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO sessions (hash, name, role, via, created_ms, expires_ms, last_seen_ms, remote_addr)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5, ?7)",
        params![s.hash, s.name, s.role, s.via, s.created_ms, s.expires_ms, s.remote_addr],
    )?;
    Ok(())
}

/// The session whose hash is `hash`, if it has not expired at `now_ms`.
pub fn find_live(conn: &Connection, hash: &str, now_ms: i64) -> rusqlite::Result<Option<SessionRow>> {
    conn.query_row(
        "SELECT hash, name, role, via, created_ms, expires_ms FROM sessions WHERE hash = ?1 AND expires_ms > ?2",
        params![hash, now_ms],
        |r| {
            Ok(SessionRow {
                hash: r.get(0)?,
                name: r.get(1)?,
                role: r.get(2)?,
                via: r.get(3)?,
                created_ms: r.get(4)?,
                expires_ms: r.get(5)?,
            })
        },
    )
    .optional()
}

/// Records that the session `hash` was used at `now_ms`.
pub fn touch(conn: &Connection, hash: &str, now_ms: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE sessions SET last_seen_ms = ?2 WHERE hash = ?1",
        params![hash, now_ms],
    )
}

/// Removes the session `hash`; how many rows went (0 or 1).
pub fn delete(conn: &Connection, hash: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM sessions WHERE hash = ?1", [hash])
}

/// Removes every session signed in with token `name`.
pub fn delete_for_token(conn: &Connection, name: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM sessions WHERE name = ?1 AND via = 'token'", [name])
}
