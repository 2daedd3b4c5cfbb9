//! Helpers for unit tests only: a scratch directory and a migrated in-memory database, so
//! that no test module makes its own.

use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh, empty directory under the system temp dir, named for the test: `podup-<name>-
/// <pid>-<n>`, unique across the tests of this process. Left in place; a test that wants
/// it gone removes it.
pub(crate) fn scratch_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("podup-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An in-memory database migrated to the current schema.
pub(crate) fn migrated_db() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    crate::store::schema::migrate(&mut conn).unwrap();
    conn
}
