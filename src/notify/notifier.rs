//! What this process knows about its sinks, installed once at start by the command
//! line (which reads the configuration): the end of a task, wherever it happens, finds
//! it here and writes its messages in the same transaction.

use super::sink::Sink;
use std::sync::OnceLock;
use std::time::Duration;

/// Asks systemd to run `podup notify --flush` after this many seconds.
pub type Schedule = Box<dyn Fn(u64) + Send + Sync>;

pub struct Notifier {
    pub sinks: Vec<Sink>,
    /// The host name messages show (a sink's `host=` replaces it).
    pub host: String,
    pub public_url: Option<String>,
    /// How long one delivery may take.
    pub timeout: Duration,
    /// The first retry's delay; each failure doubles it, up to an hour.
    pub retry_secs: u64,
    /// How long after its message was written a delivery is given up.
    pub give_up_secs: u64,
    pub auth_window_secs: u64,
    /// Whether this process may use the network: `podup serve` may not, and leaves
    /// delivery to a flush it schedules.
    pub may_send: bool,
    pub schedule: Option<Schedule>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("sinks", &self.sinks)
            .field("host", &self.host)
            .field("may_send", &self.may_send)
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// Runs `schedule` (if any) for a flush `delay_secs` from now.
    pub fn schedule_flush(&self, delay_secs: u64) {
        if let Some(s) = &self.schedule {
            s(delay_secs);
        }
    }

    pub fn sink(&self, key: &str) -> Option<&Sink> {
        self.sinks.iter().find(|s| s.key == key)
    }
}

static NOTIFIER: OnceLock<Notifier> = OnceLock::new();

/// Installs this process's notifier; a second call is ignored.
pub fn install(n: Notifier) {
    let _ = NOTIFIER.set(n);
}

/// The installed notifier when it has sinks.
pub fn installed() -> Option<&'static Notifier> {
    NOTIFIER.get().filter(|n| !n.sinks.is_empty())
}

/// This machine's host name (`gethostname`), or `localhost`.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the pointer and length describe `buf`; the kernel writes at most that.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if rc == 0 && !name.is_empty() => name.to_string(),
        _ => "localhost".to_string(),
    }
}
