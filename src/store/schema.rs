//! The schema, as an ordered list of migrations. `PRAGMA user_version` is the number
//! of migrations applied; new ones are appended, never edited.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: the event log, one row per HTTP request.
    "CREATE TABLE event_log (
        id          INTEGER PRIMARY KEY,
        request_id  TEXT    NOT NULL UNIQUE,
        ts_ms       INTEGER NOT NULL,
        method      TEXT    NOT NULL,
        path        TEXT    NOT NULL,
        status      INTEGER NOT NULL,
        action      TEXT    NOT NULL,
        reason      TEXT    NOT NULL,
        duration_ms INTEGER NOT NULL,
        remote_addr TEXT,
        meta        TEXT    NOT NULL DEFAULT '{}'
    );
    CREATE INDEX event_log_ts ON event_log (ts_ms);",
];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Why the schema could not be brought up to date.
#[derive(Debug)]
pub enum MigrateError {
    Sql(rusqlite::Error),
    TooNew(i64),
}

impl MigrateError {
    /// True when another process held a lock and trying again can succeed.
    pub fn is_busy(&self) -> bool {
        matches!(self, MigrateError::Sql(rusqlite::Error::SqliteFailure(e, _))
            if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
    }
}

impl std::fmt::Display for MigrateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MigrateError::Sql(e) => write!(f, "{e}"),
            MigrateError::TooNew(found) => {
                write!(
                    f,
                    "the database has schema version {found}, newer than the {VERSION} this podup knows"
                )
            }
        }
    }
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> MigrateError {
        MigrateError::Sql(e)
    }
}

/// Brings the schema up to `VERSION`. Concurrent callers serialize on the
/// IMMEDIATE transaction and re-read the version under the lock.
pub fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    let found = version(conn)?;
    if found == VERSION {
        return Ok(());
    }
    if found > VERSION {
        return Err(MigrateError::TooNew(found));
    }
    let tx = super::immediate(conn)?;
    let found = version(&tx)?;
    if found > VERSION {
        return Err(MigrateError::TooNew(found));
    }
    for sql in &MIGRATIONS[found as usize..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    Ok(tx.commit()?)
}
