//! [`Db`], the database handle of a long-running process: it opens the file again
//! after a failure, and restores it from the open connection when it is deleted.

use super::{StoreError, identity, open_with, store_error};
use rusqlite::Connection;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often a failed database is tried again while serving.
const REOPEN_INTERVAL_MS: u64 = 2_000;
/// How long a new handle waits for a deleted database to be restored before it fails.
const RESTORE_WAIT_MS: u64 = 250;

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
