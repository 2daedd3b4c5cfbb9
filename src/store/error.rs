//! Why the state database cannot be used, in one sentence with the path and the fix.

use std::fmt;
use std::path::{Path, PathBuf};

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

pub(super) fn store_error(path: &Path, error: impl fmt::Display) -> StoreError {
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
