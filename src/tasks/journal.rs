//! A task's timeline as the worker writes it: messages, unit row updates, and every
//! command the host ran (argv, exit status, stderr excerpt). Each line also goes to
//! the log with `PODUP_TASK_ID` and `UNIT` fields, so journald can find it.

use super::lifecycle::UnitOutcome;
use crate::clock::now_ms;
use crate::host::{Host, HostError};
use crate::model::{LogLevel, TaskStatus, UnitStatus};
use crate::store::tasks::{self, LogEntry, UnitUpdate};
use rusqlite::Connection;

pub struct Journal<'a> {
    pub conn: &'a Connection,
    pub host: &'a Host,
    pub task_id: i64,
}

impl Journal<'_> {
    fn write(&self, e: LogEntry) {
        let unit = e.unit.as_deref().unwrap_or("");
        let level = e.level.log_level();
        log::log!(level, podup_task_id = self.task_id, unit = unit, step = e.step.as_str(); "task {}: {}", self.task_id, e.message);
        if let Err(err) = tasks::add_log(self.conn, self.task_id, &e) {
            log::error!(podup_task_id = self.task_id; "could not store a task log line: {err}");
        }
    }

    pub fn line(&self, level: LogLevel, step: &str, unit: Option<&str>, message: &str) {
        self.write(LogEntry {
            ts_ms: now_ms(),
            level,
            step: step.into(),
            unit: unit.map(String::from),
            message: message.into(),
            ..Default::default()
        });
    }

    pub fn info(&self, step: &str, unit: Option<&str>, message: &str) {
        self.line(LogLevel::Info, step, unit, message);
    }

    pub fn warn(&self, step: &str, unit: Option<&str>, message: &str) {
        self.line(LogLevel::Warn, step, unit, message);
    }

    pub fn error(&self, step: &str, unit: Option<&str>, message: &str) {
        self.line(LogLevel::Error, step, unit, message);
    }

    /// Writes every command the host ran since the last flush.
    pub fn flush(&self, unit: Option<&str>, step: &str) {
        for r in self.host.drain_records() {
            let ok = r.status == Some(0);
            let message = match r.status {
                Some(code) => format!(
                    "ran {} (exit {code}, {} ms)",
                    r.argv.first().map_or("?", String::as_str),
                    r.duration_ms
                ),
                None => format!(
                    "ran {} (killed or not started)",
                    r.argv.first().map_or("?", String::as_str)
                ),
            };
            self.write(LogEntry {
                ts_ms: now_ms(),
                level: if ok { LogLevel::Info } else { LogLevel::Warn },
                step: step.into(),
                unit: unit.map(String::from),
                message,
                argv: Some(r.argv),
                exit_status: r.status,
                stderr: Some(r.stderr).filter(|s| !s.is_empty()),
            });
        }
    }

    pub fn update(&self, unit: &str, u: &UnitUpdate<'_>) {
        if let Err(e) = tasks::update_unit(self.conn, self.task_id, unit, u, now_ms()) {
            log::error!(podup_task_id = self.task_id, unit = unit; "could not update the unit row: {e}");
        }
    }

    pub fn unit_phase(&self, unit: &str, phase: &str, status: UnitStatus) {
        self.update(
            unit,
            &UnitUpdate {
                phase: Some(phase),
                status: Some(status),
                ..Default::default()
            },
        );
    }

    /// Ends a unit's deploy because a host command failed.
    pub fn fail_step(
        &self,
        unit: &str,
        step: &str,
        e: HostError,
        status: TaskStatus,
        reason: &'static str,
    ) -> UnitOutcome {
        self.flush(Some(unit), step);
        let message = format!("{step} failed: {e}");
        self.error(step, Some(unit), &message);
        UnitOutcome {
            status,
            reason,
            message,
        }
    }

    pub fn stop_requested(&self) -> bool {
        self.host.stop_requested()
    }
}
