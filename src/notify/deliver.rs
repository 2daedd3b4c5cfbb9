//! Working the outbox: each due row is claimed, rendered for its sink, sent with the
//! delivery deadline and recorded. A failure is retried after `retry_secs`, doubled
//! per failure up to an hour, until `give_up_secs` after the message was written.
//! Deliveries are at least once: a process that dies between sending and recording
//! leaves the row to be sent again, and the message id lets a receiver drop it.

use super::Notifier;
use super::format::render;
use super::message::Message;
use super::send::send;
use crate::clock::now_ms;
use crate::store::outbox::{self, After, OutboxRow};
use rusqlite::Connection;
use serde::Serialize;
use std::time::Instant;

/// Longest wait between two retries.
pub const MAX_RETRY_SECS: u64 = 3600;
/// Rows one flush takes at most; the rest wait for the next one.
pub const FLUSH_ROWS: usize = 200;

/// What a flush did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize)]
pub struct Flushed {
    pub delivered: usize,
    pub failed: usize,
    pub given_up: usize,
    /// Rows still pending afterwards (due later).
    pub waiting: usize,
}

/// The delay before the retry that follows `failures` failed attempts.
pub fn retry_delay_secs(retry_secs: u64, failures: i64) -> u64 {
    let shift = failures.clamp(1, 20) as u32 - 1;
    retry_secs
        .saturating_mul(1u64 << shift)
        .min(MAX_RETRY_SECS.max(retry_secs))
}

/// Delivers the due rows (of `task` only, when given). Without the network (`podup
/// serve`), delivers nothing and schedules a flush instead; with rows left waiting,
/// schedules a flush for when the next is due.
pub fn flush(conn: &Connection, n: &Notifier, task: Option<i64>) -> rusqlite::Result<Flushed> {
    let mut done = Flushed::default();
    if !n.may_send {
        if outbox::next_due(conn)?.is_some() {
            n.schedule_flush(0);
        }
        return Ok(done);
    }
    let claim_ms = (n.timeout.as_millis() as i64) + 10_000;
    for row in outbox::due(conn, now_ms(), task, FLUSH_ROWS)? {
        let now = now_ms();
        if !outbox::claim(conn, row.id, now, now + claim_ms)? {
            continue;
        }
        match attempt(conn, n, &row)?.0 {
            After::Delivered => done.delivered += 1,
            After::RetryAt(_) => done.failed += 1,
            After::GiveUp => done.given_up += 1,
        }
    }
    if let Some(next) = outbox::next_due(conn)? {
        done.waiting = waiting(conn)?;
        let delay = ((next - now_ms()).max(0) as u64).div_ceil(1000);
        n.schedule_flush(delay);
    }
    Ok(done)
}

fn waiting(conn: &Connection) -> rusqlite::Result<usize> {
    conn.query_row("SELECT count(*) FROM outbox WHERE status = 'pending'", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n as usize)
}

/// Claims and tries `row` once, now, without a retry: a test. The error is what the
/// sink said; a failed row is given up.
pub fn deliver_once(conn: &Connection, n: &Notifier, row: &OutboxRow) -> rusqlite::Result<Result<(), String>> {
    let now = now_ms();
    if !outbox::claim(conn, row.id, now, now + (n.timeout.as_millis() as i64) + 10_000)? {
        return Ok(Err("another process is delivering it".into()));
    }
    let (after, error) = attempt(conn, n, row)?;
    if after == After::Delivered {
        return Ok(Ok(()));
    }
    outbox::give_up(conn, row.id, now_ms(), "a test notification is not retried")?;
    Ok(Err(error.unwrap_or_else(|| "not delivered".into())))
}

/// One try of one claimed row; records it and returns where the row went, with the
/// error of a failed try.
fn attempt(conn: &Connection, n: &Notifier, row: &OutboxRow) -> rusqlite::Result<(After, Option<String>)> {
    let now = now_ms();
    let Some(sink) = n.sink(&row.sink) else {
        let why = "its sink is no longer configured";
        outbox::give_up(conn, row.id, now, why)?;
        return Ok((After::GiveUp, Some(why.into())));
    };
    let msg: Message = match serde_json::from_str(&row.body) {
        Ok(m) => m,
        Err(e) => {
            let why = format!("its stored message cannot be read: {e}");
            outbox::give_up(conn, row.id, now, &why)?;
            return Ok((After::GiveUp, Some(why)));
        }
    };
    let request = render(sink, &msg);
    let started = Instant::now();
    let result = send(&request, n.timeout);
    let took = started.elapsed().as_millis() as i64;
    let now = now_ms();
    let after = match &result {
        Ok(()) => After::Delivered,
        Err(_) => {
            let next = now + 1000 * retry_delay_secs(n.retry_secs, row.attempts + 1) as i64;
            if next > row.created_ms + 1000 * n.give_up_secs as i64 {
                After::GiveUp
            } else {
                After::RetryAt(next)
            }
        }
    };
    let error = result.err();
    match (&error, after) {
        (None, _) => {
            log::info!(podup_task_id = row.task_id.unwrap_or(0); "notification {} delivered to {} in {took} ms", row.message_id, sink.display)
        }
        (Some(e), After::GiveUp) => {
            log::error!(podup_task_id = row.task_id.unwrap_or(0); "notification {} to {} given up after {} attempts: {e}", row.message_id, sink.display, row.attempts + 1)
        }
        (Some(e), _) => {
            log::warn!(podup_task_id = row.task_id.unwrap_or(0); "notification {} to {} failed, will retry: {e}", row.message_id, sink.display)
        }
    }
    outbox::record_attempt(conn, row.id, now, took, error.as_deref(), after)?;
    Ok((after, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_up_to_an_hour() {
        assert_eq!(retry_delay_secs(30, 1), 30);
        assert_eq!(retry_delay_secs(30, 2), 60);
        assert_eq!(retry_delay_secs(30, 3), 120);
        assert_eq!(retry_delay_secs(30, 8), 3600);
        assert_eq!(retry_delay_secs(30, 500), 3600);
        assert_eq!(retry_delay_secs(1, 1), 1);
        assert_eq!(retry_delay_secs(7200, 1), 7200, "a first delay above an hour is kept");
    }
}
