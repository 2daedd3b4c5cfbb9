//! The `log` backend: journald (with structured fields) when stderr is connected to
//! the journal, else one line per record on stderr with the fields as `key='value'`.

use log::kv::{Key, Value, VisitSource};
use log::{LevelFilter, Log, Metadata, Record};
use std::fmt::Write as _;
use std::io::Write as _;

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
