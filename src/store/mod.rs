//! The SQLite state database: opening it (WAL, busy timeout), migrating its schema
//! inside one IMMEDIATE transaction so that any number of processes can open a new
//! database at once, and one small module per table family.

pub mod events;
pub mod fair;
pub mod fold;
pub mod locks;
pub mod prune;
pub mod replay;
pub mod schema;
pub mod stats;
pub mod tasks;

use rusqlite::{Connection, MAIN_DB, OpenFlags, TransactionBehavior};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a statement waits for another process's write lock.
pub const BUSY_TIMEOUT_MS: u64 = 10_000;
/// How often a failed database is tried again while serving.
const REOPEN_INTERVAL_MS: u64 = 2_000;
/// How long a new handle waits for a deleted database to be restored before it fails.
const RESTORE_WAIT_MS: u64 = 250;

/// The database cannot be used: which path, what went wrong, what to do.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreError {
    pub path: PathBuf,
    pub error: String,
    pub fix: String,
}

impl StoreError {
    pub fn kind(&self) -> &'static str {
        "db_unavailable"
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "state database '{}' is unusable: {}; {}",
            self.path.display(),
            self.error,
            self.fix
        )
    }
}

impl std::error::Error for StoreError {}

fn store_error(path: &Path, error: impl fmt::Display) -> StoreError {
    let error = error.to_string();
    let dir = path.parent().unwrap_or(Path::new("/")).display().to_string();
    // SAFETY: geteuid has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let lower = error.to_ascii_lowercase();
    let fix = if lower.contains("permission denied") || lower.contains("readonly") || lower.contains("read-only") {
        // Root ignores file modes: what stops it is a read-only mount or the immutable flag.
        let root_hint = if uid == 0 {
            ": root ignores file modes, so look for a read-only mount (findmnt) or the immutable attribute (lsattr)"
        } else {
            ""
        };
        format!(
            "make '{dir}' and the files in it writable by uid {uid} (the user podup runs as){root_hint}, or point PODUP_STATE_DIR at a writable directory"
        )
    } else if lower.contains("newer") {
        "run the podup version that created this database, or a newer one".to_string()
    } else if lower.contains("not a database") || lower.contains("malformed") {
        format!(
            "restore '{}' from a backup or move it away to start afresh (docs/state.md)",
            path.display()
        )
    } else {
        format!(
            "check that '{dir}' exists or can be created and is writable by uid {uid}; PODUP_STATE_DIR chooses another directory"
        )
    };
    StoreError {
        path: path.to_path_buf(),
        error,
        fix,
    }
}

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

/// A database handle for a long-running process: remembers why it could not be
/// opened and tries again now and then, so an operator's fix takes effect; and
/// notices when the file it has open was deleted or replaced (see `check_file`).
pub struct Db {
    path: PathBuf,
    state: Result<Connection, StoreError>,
    tried: Instant,
    /// Device and inode of the file the connection has open.
    file: Option<(u64, u64)>,
    /// The connection to a deleted file that could not be restored yet.
    orphan: Option<Connection>,
    /// Whether opening may create the file (see `Db::open_existing`).
    create: bool,
}

/// One thread at a time restores a deleted database (each worker has its own `Db`);
/// holds the device and inode of the last file this process restored.
static RESTORED: std::sync::Mutex<Option<(u64, u64)>> = std::sync::Mutex::new(None);

/// Device and inode of the file at `path`, if there is one.
fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

impl Db {
    pub fn open(path: &Path) -> Db {
        Db::open_with(path, true)
    }

    /// Another handle to a database this process has open: it never creates the
    /// file, which is missing only when it was deleted while serving. The handles
    /// open on the deleted file restore it (`check_file`); a new, empty file there
    /// would take its place, and every row would be lost.
    pub fn open_existing(path: &Path) -> Db {
        Db::open_with(path, false)
    }

    fn open_with(path: &Path, create: bool) -> Db {
        let mut db = Db {
            path: path.to_path_buf(),
            state: Err(store_error(path, "not opened yet")),
            tried: Instant::now(),
            file: None,
            orphan: None,
            create,
        };
        db.reopen();
        db
    }

    /// The connection, or why there is none.
    pub fn get(&mut self) -> Result<&Connection, &StoreError> {
        self.get_mut().map(|c| &*c)
    }

    /// The connection for a write transaction, or why there is none.
    pub fn get_mut(&mut self) -> Result<&mut Connection, &StoreError> {
        self.check_file();
        self.reopen_if_due();
        match &mut self.state {
            Ok(c) => Ok(c),
            Err(e) => Err(e),
        }
    }

    fn reopen(&mut self) {
        if !self.create {
            self.wait_for_restore();
        }
        self.state = open_with(&self.path, self.create);
        self.file = identity(&self.path);
        self.tried = Instant::now();
    }

    /// A missing file (deleted while serving) comes back as soon as a handle open on
    /// it restores it, which the next request through any of them does: wait that
    /// long, up to `RESTORE_WAIT_MS`, rather than answer 503 meanwhile.
    fn wait_for_restore(&self) {
        let until = Instant::now() + Duration::from_millis(RESTORE_WAIT_MS);
        while identity(&self.path).is_none() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// After a failure, tries to open (or restore) the database again, at most every
    /// few seconds; a handle that found its file missing, as soon as it is back.
    fn reopen_if_due(&mut self) {
        if self.state.is_err()
            && (self.tried.elapsed() >= Duration::from_millis(REOPEN_INTERVAL_MS)
                || !self.create && self.file.is_none() && identity(&self.path).is_some())
        {
            if self.orphan.is_some() {
                let mut restored = RESTORED.lock().unwrap_or_else(|p| p.into_inner());
                self.restore_orphan(&mut restored);
            } else {
                self.reopen();
            }
        }
    }

    /// A file deleted while open stays readable and writable through the open
    /// connection, so without this check every later row went into a file nobody
    /// would ever see again, while other processes (the CLI, task workers) created
    /// a new, empty database at the path and shared the old write-ahead log with it.
    ///
    /// When the file is gone, the database is restored at its path from the open
    /// connection (`VACUUM INTO`, a consistent copy of everything committed), after
    /// removing the orphaned `-wal` and `-shm`; when it was replaced, the new file is
    /// used. (Closing a connection whose file has moved neither checkpoints nor removes
    /// the `-wal` and `-shm` by name: SQLite checks, so the new files are safe.)
    fn check_file(&mut self) {
        if self.state.is_err() || (self.file.is_some() && identity(&self.path) == self.file) {
            return;
        }
        let mut restored = RESTORED.lock().unwrap_or_else(|p| p.into_inner());
        let Ok(old) = std::mem::replace(&mut self.state, Err(store_error(&self.path, "closed"))) else {
            return;
        };
        let now = identity(&self.path);
        if now.is_none() {
            self.orphan = Some(old);
            self.restore_orphan(&mut restored);
            return;
        }
        if now != *restored {
            log::warn!(
                error_kind = "db_replaced";
                "the state database '{}' was replaced while podup had it open; using the new file",
                self.path.display()
            );
        } // else another worker thread of this process restored it already
        drop(old);
        self.reopen();
    }

    /// Restores the deleted database from the orphaned connection; while it cannot
    /// (no space, say), the database is unavailable and this is tried again later.
    fn restore_orphan(&mut self, restored: &mut Option<(u64, u64)>) {
        let Some(old) = self.orphan.take() else { return };
        let path = self.path.display().to_string();
        if identity(&self.path).is_some() {
            log::error!(
                error_kind = "db_deleted";
                "the state database '{path}' was deleted while podup had it open and another file took its place; using that one"
            );
            drop(old);
            self.reopen();
            return;
        }
        match restore(&old, &self.path) {
            Ok(()) => {
                *restored = identity(&self.path);
                log::error!(
                    error_kind = "db_restored";
                    "the state database '{path}' was deleted while podup had it open; restored it from the open connection"
                );
                drop(old);
                self.reopen();
            }
            Err(e) => {
                log::error!(
                    error_kind = "db_deleted";
                    "the state database '{path}' was deleted while podup had it open and could not be restored yet: {e}"
                );
                self.orphan = Some(old);
                self.fail(format!(
                    "the file was deleted while podup had it open and could not be restored yet ({e}); podup tries again every 2 s"
                ));
            }
        }
    }

    /// Records a failure found while using the connection (the file was removed,
    /// became read-only, ...), so that `/health` reports it.
    pub fn fail(&mut self, error: impl fmt::Display) {
        self.state = Err(store_error(&self.path, error));
        self.tried = Instant::now();
    }
}

/// Writes what `conn` sees into a new file at `path`, which must not exist: into a
/// temporary file beside it first, then linked into place (never over a file
/// another process created meanwhile).
fn restore(conn: &Connection, path: &Path) -> Result<(), String> {
    let sibling = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let temp = sibling(&format!(".restore-{}", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    conn.execute("VACUUM INTO ?1", [temp.to_string_lossy()])
        .map_err(|e| format!("copying the open database failed: {e}"))?;
    // The old write-ahead log and its index belong to the deleted file: a new file
    // at the path must not read them.
    if identity(path).is_none() {
        let _ = std::fs::remove_file(sibling("-wal"));
        let _ = std::fs::remove_file(sibling("-shm"));
    }
    let linked = std::fs::hard_link(&temp, path);
    let _ = std::fs::remove_file(&temp);
    linked.map_err(|e| format!("another file appeared at the path meanwhile ({e})"))
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
