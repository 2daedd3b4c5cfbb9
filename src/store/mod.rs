//! The SQLite state database: opening it (WAL, busy timeout), migrating its schema
//! inside one IMMEDIATE transaction so that any number of processes can open a new
//! database at once, and one small module per table family. The handle a long-running
//! process keeps is `db`'s; what went wrong and how to fix it, `error`'s.

mod db;
pub mod discovery;
mod error;
pub mod events;
pub mod fair;
pub mod fold;
pub mod locks;
pub mod metrics;
pub mod outbox;
pub mod policies;
pub mod probe;
pub mod prune;
pub mod ratelimit;
pub mod replay;
pub mod schema;
pub mod sessions;
pub mod stats;
pub mod tasks;
pub mod tokens;
pub mod updates;

pub use db::Db;
pub use error::StoreError;
use error::store_error;
use rusqlite::{Connection, MAIN_DB, OpenFlags, TransactionBehavior};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a statement waits for another process's write lock.
pub const BUSY_TIMEOUT_MS: u64 = 10_000;

/// Opens (creating if missing) and migrates the database at `path`.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    open_with(path, true)
}

/// Opens `path`; without `create`, only if the file is there (see `Db::open_existing`).
fn open_with(path: &Path, create: bool) -> Result<Connection, StoreError> {
    if !create && identity(path).is_none() {
        return Err(store_error(
            path,
            "the file is missing: deleted while podup had it open; podup restores it from an open connection",
        ));
    }
    if let Some(dir) = path.parent() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(dir)
            .map_err(|e| store_error(path, format!("cannot create directory '{}': {e}", dir.display())))?;
    }
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let mut conn = Connection::open_with_flags(path, flags).map_err(|e| store_error(path, e))?;
    // SQLite quietly opens a file it may not write (immutable, read-only mount, mode
    // 0444 for another user) for reading only; every request would then fail to store
    // its event row while /health said ok. Refuse it here, naming the path and the fix.
    if conn.is_readonly(MAIN_DB).unwrap_or(false) {
        return Err(store_error(
            path,
            "the file is read-only: SQLite could open it for reading only",
        ));
    }
    // Switching a new file to WAL and the first migration take locks that SQLite
    // may refuse at once (SQLITE_BUSY without calling the busy handler) while other
    // processes do the same: retry the whole step until the busy timeout.
    let deadline = Instant::now() + Duration::from_millis(BUSY_TIMEOUT_MS);
    let mut attempt: u64 = 0;
    loop {
        let result = configure(&conn)
            .map_err(schema::MigrateError::Sql)
            .and_then(|()| schema::migrate(&mut conn));
        match result {
            Ok(()) => return Ok(conn),
            Err(e) if e.is_busy() && Instant::now() < deadline => {
                attempt += 1;
                let jitter = (u64::from(std::process::id()) + attempt * 7) % 20;
                std::thread::sleep(Duration::from_millis(5 + jitter));
            }
            Err(e) => return Err(store_error(path, e)),
        }
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS))?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        log::warn!("state database journal mode is '{mode}', not 'wal'");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Plans that do not depend on bound values: otherwise the bundled SQLite (built
    // with STAT4) compiles a statement again at every run when its plan might, which
    // the rate-limit statements did on every webhook (a sixth of the event writer's
    // time under a flood of bad signatures). podup never runs ANALYZE, so there are
    // no statistics for a value-dependent plan to use anyway.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

/// Begins a write transaction that takes the write lock at once (no upgrade deadlocks).
pub fn immediate(conn: &mut Connection) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

/// Device and inode of the file at `path`, if there is one.
fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_directory_and_schema_and_is_idempotent() {
        let d = crate::testing::scratch_dir("store-create");
        let path = d.join("nested/podup.db");
        let conn = open(&path).unwrap();
        let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v, schema::VERSION);
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        drop(conn);
        open(&path).unwrap();
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn another_handle_never_creates_the_file_and_opens_once_it_is_back() {
        let d = crate::testing::scratch_dir("store-existing");
        let path = d.join("podup.db");
        std::fs::create_dir_all(&d).unwrap();
        let mut db = Db::open_existing(&path);
        let e = db.get().unwrap_err();
        assert!(e.error.contains("missing"), "{e}");
        assert!(!path.exists(), "a new, empty file would stand in for a deleted one");
        drop(Db::open(&path));
        assert!(db.get().is_ok(), "it opens the file as soon as it is there");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_newer_schema_is_refused_with_a_fix() {
        let d = crate::testing::scratch_dir("store-newer");
        let path = d.join("podup.db");
        let conn = open(&path).unwrap();
        conn.pragma_update(None, "user_version", schema::VERSION + 1).unwrap();
        drop(conn);
        let e = open(&path).unwrap_err();
        assert!(e.error.contains("newer"), "{e}");
        assert!(e.fix.contains("newer"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_file_that_is_not_a_database_names_path_and_fix() {
        let d = crate::testing::scratch_dir("store-garbage");
        std::fs::create_dir_all(&d).unwrap();
        let path = d.join("podup.db");
        std::fs::write(&path, vec![b'x'; 4096]).unwrap();
        let e = open(&path).unwrap_err();
        assert_eq!(e.path, path);
        assert!(e.to_string().contains(&path.display().to_string()));
        assert!(e.fix.contains("backup"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
