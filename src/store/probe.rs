//! Probes of the database itself, with no table of their own: does it answer a read,
//! can it take the write lock and commit, and the commit that changes no row that
//! starts the write-ahead log.

use super::immediate;
use rusqlite::Connection;

/// The database answers a read (what `/health` asks on every call).
pub fn answers_read(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
}

/// Takes the write lock and lets it go, then commits the schema version it has: the
/// database is writable (`podup check`'s state-database check). Changes no row.
pub fn takes_writes(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE; PRAGMA user_version = user_version; ROLLBACK;")
        .and_then(|()| {
            let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            conn.execute_batch(&format!("BEGIN IMMEDIATE; PRAGMA user_version = {v}; COMMIT;"))
        })
}

/// Writes back the schema version the database has, in an IMMEDIATE transaction: a
/// commit that changes no row (the event writer starts the write-ahead log with it).
pub fn write_back_version(conn: &mut Connection) -> rusqlite::Result<()> {
    immediate(conn).and_then(|tx| {
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()
    })
}
