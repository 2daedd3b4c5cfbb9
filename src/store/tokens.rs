//! Bearer tokens (`tokens`): one row per name with its role and the SHA-256 of the
//! token, never the token. Hashing, generating and comparing are `auth::tokens`'s.

use rusqlite::{Connection, OptionalExtension, params};

/// A stored token as listed, without its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRow {
    pub name: String,
    /// `admin`, `trigger` or `read`, as stored.
    pub role: String,
    pub created_ms: i64,
    pub last_used_ms: Option<i64>,
}

/// The row a presented token's hash found.
#[derive(Debug, Clone, PartialEq)]
pub struct HashMatch {
    pub name: String,
    pub role: String,
    pub hash: String,
}

/// Stores a token unless one of that name exists; whether it was stored.
pub fn insert(conn: &Connection, name: &str, role: &str, hash: &str, now_ms: i64) -> rusqlite::Result<bool> {
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO tokens (name, role, hash, created_ms) VALUES (?1, ?2, ?3, ?4)",
        params![name, role, hash, now_ms],
    )?;
    Ok(inserted != 0)
}

/// Every token, by name.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<TokenRow>> {
    let mut st = conn.prepare("SELECT name, role, created_ms, last_used_ms FROM tokens ORDER BY name")?;
    st.query_map([], |r| {
        Ok(TokenRow {
            name: r.get(0)?,
            role: r.get(1)?,
            created_ms: r.get(2)?,
            last_used_ms: r.get(3)?,
        })
    })?
    .collect()
}

/// Removes the token called `name`; whether there was one.
pub fn delete(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM tokens WHERE name = ?1", [name])? == 1)
}

/// The token whose hash is `hash`, if any.
pub fn find_by_hash(conn: &Connection, hash: &str) -> rusqlite::Result<Option<HashMatch>> {
    conn.query_row("SELECT name, role, hash FROM tokens WHERE hash = ?1", [hash], |r| {
        Ok(HashMatch {
            name: r.get(0)?,
            role: r.get(1)?,
            hash: r.get(2)?,
        })
    })
    .optional()
}

/// Records that token `name` was used at `now_ms`.
pub fn touch(conn: &Connection, name: &str, now_ms: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE tokens SET last_used_ms = ?2 WHERE name = ?1",
        params![name, now_ms],
    )
}
