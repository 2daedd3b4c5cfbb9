//! The demo's notification history: the messages the seeded tasks' ends (and the
//! approvals they wait for) wrote to the demo's two sinks (`super::sink_lines`), written
//! by `compose` as `finish` and `begin` write them, and the attempts the outbox would
//! have recorded. The ntfy sink took each at
//! its first attempt. The webhook was down twice: a message of the day before was
//! retried for a day and given up, and the newest one is still being retried.

use crate::notify::{Notifier, compose};
use crate::store::outbox::{self, After};
use rusqlite::Connection;

const MIN_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MIN_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
/// What the webhook answers while it is down.
const DOWN: &str = "the sink answered HTTP 502";

/// Writes the rows and their attempts; `now` as `seed::seed` had it.
pub fn seed(conn: &Connection, n: &Notifier, now: i64) -> rusqlite::Result<()> {
    let ended: Vec<(i64, i64)> = conn
        .prepare(
            "SELECT id, coalesce(finished_ms, created_ms) AS at FROM tasks
             WHERE finished_ms IS NOT NULL OR status = 'awaiting_approval' ORDER BY at, id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, finished) in ended {
        compose::enqueue_task(conn, n, id, finished)?;
    }
    let rows = outbox::due(conn, now, None, 10_000)?;
    let webhook: Vec<&outbox::OutboxRow> = rows
        .iter()
        .filter(|r| n.sink(&r.sink).is_some_and(|s| s.kind.as_str() == "webhook"))
        .collect();
    let given_up = webhook
        .iter()
        .find(|r| r.created_ms > now - 2 * DAY_MS && r.created_ms < now - DAY_MS)
        .map(|r| r.id);
    let waiting = webhook.last().map(|r| r.id);
    for r in &rows {
        let first = r.created_ms + 2_000;
        if Some(r.id) == given_up {
            // Retried as `deliver` retries (doubling up to an hour) until the day ran out.
            let (mut at, mut failures) = (first, 0);
            while at < r.created_ms + DAY_MS {
                failures += 1;
                let wait = (crate::notify::deliver::retry_delay_secs(n.retry_secs, failures) * 1000) as i64;
                outbox::record_attempt(conn, r.id, at, 412, Some(DOWN), After::RetryAt(at + wait))?;
                at += wait;
            }
            outbox::record_attempt(conn, r.id, at, 398, Some(DOWN), After::GiveUp)?;
        } else if Some(r.id) == waiting {
            // Three failures, the last a minute ago; the next retry in three minutes.
            let last = now - MIN_MS;
            let timeout = Some("no answer within 5 s");
            outbox::record_attempt(
                conn,
                r.id,
                first.min(last - 90_000),
                5_000,
                timeout,
                After::RetryAt(last - 60_000),
            )?;
            outbox::record_attempt(conn, r.id, last - 60_000, 240, Some(DOWN), After::RetryAt(last))?;
            outbox::record_attempt(conn, r.id, last, 236, Some(DOWN), After::RetryAt(now + 3 * MIN_MS))?;
        } else {
            outbox::record_attempt(conn, r.id, first, 180, None, After::Delivered)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::model::DeliveryStatus;
    use crate::notify::{Notifier, sink};
    use crate::store::outbox;
    use std::time::Duration;

    #[test]
    fn one_sink_is_ok_and_the_other_fails_with_one_waiting_and_one_given_up() {
        let c = crate::testing::migrated_db();
        let now = 1_700_000_000_000;
        super::super::seed::seed(&c, now, now).unwrap();
        let n = Notifier {
            sinks: sink::parse_list(&super::super::sink_lines("demo-test")).unwrap(),
            host: "demo".into(),
            public_url: None,
            timeout: Duration::from_secs(5),
            retry_secs: 30,
            give_up_secs: 86_400,
            auth_window_secs: 300,
            may_send: false,
            schedule: None,
        };
        super::seed(&c, &n, now).unwrap();
        let ntfy = outbox::sink_state(&c, &n.sinks[0].key).unwrap();
        assert_eq!(ntfy.last_status, Some(DeliveryStatus::Delivered));
        assert_eq!((ntfy.last_error.as_deref(), ntfy.pending, ntfy.given_up), (None, 0, 0));
        assert!(ntfy.delivered > 5);
        let webhook = outbox::sink_state(&c, &n.sinks[1].key).unwrap();
        assert_eq!(webhook.last_error.as_deref(), Some(super::DOWN));
        assert_eq!((webhook.pending, webhook.given_up), (1, 1));
        assert!(webhook.delivered > 5);
        assert!(
            outbox::next_due(&c).unwrap().unwrap() > now,
            "the waiting one is due later"
        );
    }
}
