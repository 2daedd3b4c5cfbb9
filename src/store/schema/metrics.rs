//! Migration 13: indexes that keep a `GET /metrics` scrape short at 100,000 tasks and
//! 1,000,000 events (`make bench`, row 8). Each covers the columns one of
//! `store::metrics`' grouped queries reads, so the query walks an index and never the
//! table: webhook deliveries by action, status and reason (the slowest without it: every
//! delivery's row was read), finished tasks by kind and status with their times,
//! unit rows by status and unit, and (partial: only those rows) the 429s by reason.

pub const MIGRATION: &str = "CREATE INDEX event_log_verdicts ON event_log (action, status, reason, count);
    CREATE INDEX tasks_outcomes ON tasks (kind, status, started_ms, finished_ms);
    CREATE INDEX task_units_outcomes ON task_units (status, unit, finished_ms, task_id);
    CREATE INDEX event_log_refusals ON event_log (reason, count) WHERE status = 429;";
