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

fn too_new(found: i64) -> String {
    format!("the database has schema version {found}, newer than the {VERSION} this podup knows")
}

/// Brings the schema up to `VERSION`. Concurrent callers serialize on the
/// IMMEDIATE transaction and re-read the version under the lock.
pub fn migrate(conn: &mut Connection) -> Result<(), String> {
    migrate_inner(conn).map_err(|e| match e {
        Migration::Sql(e) => e.to_string(),
        Migration::TooNew(found) => too_new(found),
    })
}

enum Migration {
    Sql(rusqlite::Error),
    TooNew(i64),
}

impl From<rusqlite::Error> for Migration {
    fn from(e: rusqlite::Error) -> Migration {
        Migration::Sql(e)
    }
}

fn migrate_inner(conn: &mut Connection) -> Result<(), Migration> {
    let found = version(conn)?;
    if found == VERSION {
        return Ok(());
    }
    if found > VERSION {
        return Err(Migration::TooNew(found));
    }
    let tx = super::immediate(conn)?;
    let found = version(&tx)?;
    if found > VERSION {
        return Err(Migration::TooNew(found));
    }
    for sql in &MIGRATIONS[found as usize..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    Ok(tx.commit()?)
}
