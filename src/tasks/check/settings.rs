//! The settings a check runs with, from the configuration of the process that runs it
//! (`podup run-task` reads the variables its dispatcher passed on).

use std::sync::OnceLock;

/// How a check asks registries.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// A registry's answer is reused for this long (`PODUP_CHECK_TTL`).
    pub ttl_secs: u64,
    /// One registry request may take this long (`PODUP_CHECK_TIMEOUT_SECS`).
    pub timeout_secs: u64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            ttl_secs: 3600,
            timeout_secs: 10,
        }
    }
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Sets this process's settings (once; later calls change nothing).
pub fn configure(s: Settings) {
    let _ = SETTINGS.set(s);
}

/// This process's settings: the configured ones, else the defaults.
pub fn settings() -> Settings {
    SETTINGS.get().cloned().unwrap_or_default()
}
