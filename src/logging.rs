//! The `log` backend: journald (with structured fields) when stderr is connected to
//! the journal, else one line per record on stderr with the fields as `key='value'`.

use log::kv::{Key, Value, VisitSource};
use log::{LevelFilter, Log, Metadata, Record};
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Installs the logger; each `-v` raises `base` one level.
pub fn init(base: LevelFilter, verbose: usize) {
    let mut level = base;
    for _ in 0..verbose {
        level = step_up(level);
    }
    let journal = systemd_journal_logger::connected_to_journal()
        .then(|| systemd_journal_logger::JournalLog::new().ok())
        .flatten();
    let installed = match journal {
        Some(j) => j.with_syslog_identifier("podup".into()).install().is_ok(),
        None => log::set_boxed_logger(Box::new(StderrLog)).is_ok(),
    };
    if installed {
        log::set_max_level(level);
    }
}

/// Raises the level by `verbose` steps after `init` (`serve -v`).
pub fn raise(verbose: usize) {
    let mut level = log::max_level();
    for _ in 0..verbose {
        level = step_up(level);
    }
    log::set_max_level(level);
}

fn step_up(level: LevelFilter) -> LevelFilter {
    match level {
        LevelFilter::Off => LevelFilter::Error,
        LevelFilter::Error => LevelFilter::Warn,
        LevelFilter::Warn => LevelFilter::Info,
        LevelFilter::Info => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    }
}

struct StderrLog;

struct Fields(String);

impl<'kvs> VisitSource<'kvs> for Fields {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        let _ = write!(self.0, " {key}='{value}'");
        Ok(())
    }
}

impl Log for StderrLog {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut fields = Fields(String::new());
        let _ = record.key_values().visit(&mut fields);
        let level = record.level().as_str().to_ascii_lowercase();
        let _ = writeln!(
            std::io::stderr().lock(),
            "podup: {level}: {}{}",
            record.args(),
            fields.0
        );
    }

    fn flush(&self) {}
}

/// At most one message per `every_ms` for something that can happen on every request
/// (a refused webhook): the event log has each one, and a flood of them should not
/// flood the journal too. `admit` says when to log, and how many went unlogged since.
pub struct Throttle {
    every_ms: i64,
    last_ms: AtomicI64,
    skipped: AtomicU64,
}

impl Throttle {
    pub const fn new(every_ms: i64) -> Throttle {
        Throttle {
            every_ms,
            last_ms: AtomicI64::new(i64::MIN),
            skipped: AtomicU64::new(0),
        }
    }

    /// `Some(skipped)` when a message is due at `now_ms`; else the occurrence is counted.
    pub fn admit(&self, now_ms: i64) -> Option<u64> {
        let last = self.last_ms.load(Ordering::Relaxed);
        if now_ms.saturating_sub(last) >= self.every_ms
            && self
                .last_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.skipped.swap(0, Ordering::Relaxed));
        }
        self.skipped.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::Throttle;

    #[test]
    fn a_throttle_admits_one_message_per_period_and_counts_the_rest() {
        let t = Throttle::new(1000);
        assert_eq!(t.admit(5_000), Some(0), "the first is always logged");
        assert_eq!(t.admit(5_010), None);
        assert_eq!(t.admit(5_999), None);
        assert_eq!(t.admit(6_000), Some(2), "a period later, with the two not logged");
        assert_eq!(t.admit(6_500), None);
        assert_eq!(t.admit(9_000), Some(1));
        assert_eq!(t.admit(9_001), None);
    }

    #[test]
    fn threads_at_once_get_one_message_between_them() {
        let t = Throttle::new(60_000);
        let admitted: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| (0..1000).filter(|_| t.admit(1_000).is_some()).count()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(admitted, 1);
        assert_eq!(t.admit(61_000), Some(7_999), "every other one was counted");
    }
}
