//! Keeping the event log from filling the disk (docs/security.md, finding 2). Every
//! request is still accounted for, but past `OWN_ROWS_PER_SEC` a second, a source's
//! refused requests of one reason and second share one row with a `count`; and a
//! size budget (`PODUP_EVENTS_MAX_MB`) removes the oldest prunable rows when the
//! database outgrows it: refused and repeated ones first, then answered anonymous
//! ones, and failed credentials (the record of guessing) last. Authenticated rows,
//! rows linked to a task, and tasks themselves are never removed for it. `events`
//! owns the rows; `prune` the retention.

use super::events::{self, Event};
use rusqlite::{Connection, OptionalExtension, params};

/// Refused requests a source may have each second with rows of their own.
pub const OWN_ROWS_PER_SEC: i64 = 20;
/// Rows removed per statement while over the budget.
const BUDGET_BATCH_ROWS: i64 = 500;

/// What the size budget may do with a row (the `tier` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Authenticated, linked to a task, or written by a tool: never pruned for size.
    Kept = 0,
    /// Answered for an anonymous client (health checks, the panel's files).
    Anonymous = 1,
    /// Refused or malformed, anonymous, or a repeat of a signed delivery already
    /// seen (a replay is no new activity): folded past the rate, pruned first.
    Refused = 2,
    /// A presented credential that failed (bad signature, token, session, sign-in):
    /// folded past the rate like refused rows, pruned only after tiers 2 and 1, so
    /// junk cannot buy the deletion of the record of guessing.
    FailedCredential = 3,
}

/// The order the size budget removes tiers in.
const PRUNE_ORDER: [Tier; 3] = [Tier::Refused, Tier::Anonymous, Tier::FailedCredential];

/// How a row is filed: its tier, and for a refused one the source it counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filing {
    pub tier: Tier,
    pub source: Option<String>,
}

impl Filing {
    #[cfg(test)]
    pub const KEPT: Filing = Filing {
        tier: Tier::Kept,
        source: None,
    };

    /// How a request's row is filed: refused or malformed (status 400 and above)
    /// without a verified credential is `Refused`, answered anonymously `Anonymous`.
    pub fn of(status: u16, authenticated: bool, task_id: Option<i64>, source: &str) -> Filing {
        let tier = match (authenticated || task_id.is_some(), status >= 400) {
            (true, _) => Tier::Kept,
            (false, true) => Tier::Refused,
            (false, false) => Tier::Anonymous,
        };
        Filing {
            tier,
            source: (tier == Tier::Refused).then(|| source.to_string()),
        }
    }

    /// A request whose presented credential failed (`Response::auth_failure`).
    pub fn failed_credential(source: &str) -> Filing {
        Filing {
            tier: Tier::FailedCredential,
            source: Some(source.to_string()),
        }
    }

    /// A repeat of a signed delivery already seen (`Response::repeated`): filed and
    /// folded as a refused row, whatever it was answered, task or not.
    pub fn repeated(source: &str) -> Filing {
        Filing {
            tier: Tier::Refused,
            source: Some(source.to_string()),
        }
    }

    /// True when the row is folded past the rate (it has a source to count against).
    fn folds(&self) -> bool {
        matches!(self.tier, Tier::Refused | Tier::FailedCredential)
    }
}

/// The address a refused row counts against: an IPv6 client by its /64 (one host
/// usually has a whole /64 to pick addresses from), anything else as it is.
pub fn source_of(client_ip: &str) -> String {
    match client_ip.parse::<std::net::Ipv6Addr>() {
        Ok(v6) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(v6) => v6.to_ipv4_mapped().map(|v4| v4.to_string()).unwrap_or_default(),
        Err(_) => client_ip.to_string(),
    }
}

/// Stores `e` as filed: a refused request past its source's rate adds one to the
/// folded row of its source, reason and second (creating it for the first).
pub fn store(conn: &Connection, e: &Event, filing: &Filing) -> rusqlite::Result<()> {
    let tier = filing.tier as i64;
    if let (true, Some(source)) = (filing.folds(), &filing.source) {
        let second = e.ts_ms.div_euclid(1000);
        let key = format!("{second}|{tier}|{}|{source}", e.reason);
        let folded = conn
            .prepare_cached("UPDATE event_log SET count = count + 1 WHERE fold_key = ?1")?
            .execute([&key])?;
        if folded == 1 {
            return Ok(());
        }
        // The tier is spelled out so each query meets its partial index.
        let count = if filing.tier == Tier::Refused {
            "SELECT count(*) FROM event_log WHERE tier = 2 AND source = ?1 AND ts_ms >= ?2 AND ts_ms < ?3"
        } else {
            "SELECT count(*) FROM event_log WHERE tier = 3 AND source = ?1 AND ts_ms >= ?2 AND ts_ms < ?3"
        };
        let own: i64 = conn
            .prepare_cached(count)?
            .query_row(params![source, second * 1000, second * 1000 + 1000], |r| r.get(0))?;
        let fold_key = (own >= OWN_ROWS_PER_SEC).then_some(key);
        let id = events::insert(conn, e)?;
        conn.prepare_cached("UPDATE event_log SET tier = ?2, source = ?3, fold_key = ?4 WHERE id = ?1")?
            .execute(params![id, tier, source, fold_key])?;
        return Ok(());
    }
    let id = events::insert(conn, e)?;
    if tier != 0 {
        conn.prepare_cached("UPDATE event_log SET tier = ?2 WHERE id = ?1")?
            .execute(params![id, tier])?;
    }
    Ok(())
}

/// Bytes of the database in use: its pages less the free ones (the file does not
/// shrink when rows go; SQLite reuses the pages).
pub fn used_bytes(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count, pragma_freelist_count, pragma_page_size",
        [],
        |r| r.get(0),
    )
}

/// What one budget check removed, and whether the database is within it afterwards.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Trimmed {
    pub refused: i64,
    pub anonymous: i64,
    pub failed: i64,
    pub within: bool,
}

/// While the data outgrows `max_bytes`, removes the oldest refused rows, then the
/// oldest anonymous ones, then failed credentials fairly by source (`store::fair`), in batches of `BUDGET_BATCH_ROWS` (each its own
/// statement), down to nine tenths of the budget so the next check does not start at
/// once; at most `max_batches` of them, so a caller that others wait for is not held
/// long (the next check goes on). Never any other row.
pub fn enforce_budget(conn: &Connection, max_bytes: i64, max_batches: usize) -> rusqlite::Result<Trimmed> {
    let mut done = Trimmed::default();
    if used_bytes(conn)? <= max_bytes {
        done.within = true;
        return Ok(done);
    }
    let target = max_bytes / 10 * 9;
    let mut batches = 0;
    for tier in PRUNE_ORDER {
        if tier == Tier::FailedCredential {
            // Fairly by source, not oldest first (`store::fair`).
            let t = super::fair::trim(conn, target, max_batches - batches, BUDGET_BATCH_ROWS, used_bytes)?;
            done.failed += t.removed;
            done.within = t.within;
            return Ok(done);
        }
        loop {
            if batches == max_batches {
                return Ok(done);
            }
            batches += 1;
            let oldest: Option<i64> = conn
                .query_row(
                    "SELECT id FROM event_log WHERE tier = ?1 ORDER BY id LIMIT 1 OFFSET ?2",
                    params![tier as i64, BUDGET_BATCH_ROWS - 1],
                    |r| r.get(0),
                )
                .optional()?;
            let n = match oldest {
                Some(last) => conn.execute(
                    "DELETE FROM event_log WHERE tier = ?1 AND id <= ?2",
                    params![tier as i64, last],
                )?,
                None => conn.execute("DELETE FROM event_log WHERE tier = ?1", [tier as i64])?,
            } as i64;
            match tier {
                Tier::Refused => done.refused += n,
                Tier::FailedCredential => done.failed += n,
                _ => done.anonymous += n,
            }
            if used_bytes(conn)? <= target {
                done.within = true;
                return Ok(done);
            }
            if oldest.is_none() {
                break;
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        crate::testing::migrated_db()
    }

    fn event(id: &str, ts_ms: i64, status: u16, reason: &str) -> Event {
        Event {
            request_id: id.into(),
            ts_ms,
            method: "GET".into(),
            path: "/x".into(),
            status,
            action: "not_found".into(),
            reason: reason.into(),
            duration_ms: 0,
            remote_addr: Some("192.0.2.1:4".into()),
            meta: "{}".into(),
            task_id: None,
        }
    }

    fn rows(conn: &Connection) -> Vec<(String, i64, i64)> {
        let mut st = conn
            .prepare("SELECT reason, count, tier FROM event_log ORDER BY id")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn past_the_rate_a_sources_refused_requests_fold_per_reason_and_second() {
        let conn = db();
        let refused = Filing::of(404, false, None, "192.0.2.1");
        for i in 0..50 {
            let reason = if i % 2 == 0 { "a" } else { "b" };
            store(&conn, &event(&format!("r{i}"), 5_000 + i, 404, reason), &refused).unwrap();
        }
        // Another source, and the next second, start afresh.
        let other = Filing::of(404, false, None, "192.0.2.9");
        store(&conn, &event("o", 5_100, 404, "a"), &other).unwrap();
        store(&conn, &event("n", 6_000, 404, "a"), &refused).unwrap();
        let rows = rows(&conn);
        assert_eq!(rows.len(), 20 + 2 + 2, "{rows:?}");
        assert_eq!(rows.iter().map(|r| r.1).sum::<i64>(), 52, "every request is counted");
        let folded: Vec<_> = rows.iter().filter(|r| r.1 > 1).collect();
        assert_eq!(folded, [&("a".to_string(), 15, 2), &("b".to_string(), 15, 2)]);
    }

    #[test]
    fn answered_and_authenticated_requests_are_never_folded() {
        let conn = db();
        for i in 0..60 {
            store(
                &conn,
                &event(&format!("h{i}"), 1_000, 200, "ok"),
                &Filing::of(200, false, None, "s"),
            )
            .unwrap();
            store(
                &conn,
                &event(&format!("a{i}"), 1_000, 404, "unknown_task"),
                &Filing::of(404, true, None, "s"),
            )
            .unwrap();
        }
        let rows = rows(&conn);
        assert_eq!(rows.len(), 120);
        assert!(rows.iter().all(|r| r.1 == 1));
        assert_eq!(rows.iter().filter(|r| r.2 == 1).count(), 60, "health checks: anonymous");
        assert_eq!(rows.iter().filter(|r| r.2 == 0).count(), 60, "authenticated: kept");
    }

    #[test]
    fn the_budget_removes_refused_rows_first_then_anonymous_never_kept_ones() {
        let conn = db();
        let pad = "p".repeat(2000);
        let add = |i: i64, status: u16, authenticated: bool| {
            let mut e = event(&format!("r{i}"), i * 1000, status, "x");
            e.path = pad.clone();
            store(&conn, &e, &Filing::of(status, authenticated, None, &format!("s{i}"))).unwrap();
        };
        for i in 0..300 {
            add(i, 200, true);
        }
        for i in 300..900 {
            add(i, 200, false);
        }
        for i in 900..1500 {
            add(i, 404, false);
        }
        let used = used_bytes(&conn).unwrap();
        assert!(used > 2_500_000, "{used}");
        // 4/5: one batch of refused rows brings it within (3/4 was one page short of
        // that once migration 8 added an index).
        let within = enforce_budget(&conn, used * 4 / 5, usize::MAX).unwrap();
        assert!(
            within.within && within.anonymous == 0 && within.refused > 0,
            "{within:?}"
        );
        let kept = |tier: i64| -> i64 {
            conn.query_row("SELECT count(*) FROM event_log WHERE tier = ?1", [tier], |r| r.get(0))
                .unwrap()
        };
        let oldest_refused: i64 = conn
            .query_row("SELECT min(ts_ms) FROM event_log WHERE tier = 2", [], |r| r.get(0))
            .unwrap();
        assert!(oldest_refused > 900_000, "the oldest went first");
        assert_eq!((kept(0), kept(1)), (300, 600));
        let all = enforce_budget(&conn, 1, usize::MAX).unwrap();
        assert!(!all.within, "{all:?}");
        let none = enforce_budget(&conn, 1, 0).unwrap();
        assert_eq!(none, Trimmed::default(), "no batch allowed, nothing removed");
        assert_eq!(
            (kept(0), kept(1), kept(2)),
            (300, 0, 0),
            "kept rows stay, over budget or not"
        );
    }

    #[test]
    fn failed_credentials_fold_past_the_rate_and_are_pruned_last() {
        let conn = db();
        let pad = "p".repeat(2000);
        let add = |i: i64, filing: &Filing| {
            let mut e = event(&format!("r{i}"), i * 1000, 401, "invalid_token");
            e.path = pad.clone();
            store(&conn, &e, filing).unwrap();
        };
        // 50 guesses in one second from one source: 20 rows of their own, one folded.
        for i in 0..50 {
            let mut e = event(&format!("g{i}"), 500, 401, "invalid_token");
            e.path = pad.clone();
            store(&conn, &e, &Filing::failed_credential("192.0.2.5")).unwrap();
        }
        for i in 1..600 {
            add(i, &Filing::of(200, false, None, "s"));
        }
        for i in 600..900 {
            add(i, &Filing::repeated("s"));
        }
        let tier = |t: i64| -> (i64, i64) {
            conn.query_row(
                "SELECT count(*), coalesce(sum(count), 0) FROM event_log WHERE tier = ?1",
                [t],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
        };
        assert_eq!(tier(3), (21, 50));
        let used = used_bytes(&conn).unwrap();
        let t = enforce_budget(&conn, used / 4, usize::MAX).unwrap();
        assert!(
            t.within && t.failed == 0 && t.refused == 300 && t.anonymous > 0,
            "{t:?}"
        );
        assert_eq!(tier(3), (21, 50), "junk went before the record of guessing");
        let t = enforce_budget(&conn, 1, usize::MAX).unwrap();
        assert_eq!(
            (t.failed, tier(3)),
            (21, (0, 0)),
            "and it goes too when nothing else is left"
        );
    }

    #[test]
    fn sources() {
        assert_eq!(source_of("192.0.2.1"), "192.0.2.1");
        assert_eq!(source_of("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(source_of("::ffff:192.0.2.1"), "192.0.2.1");
        assert_eq!(source_of("local"), "local");
    }
}
