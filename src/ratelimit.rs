//! Sliding-window rate limits kept in SQLite, so they survive restarts. `decide` applies
//! the rules to what a window holds, however it is counted; `check` counts with a few
//! index lookups per rule (hits are numbered per key) and `hit` records.

use crate::store::ratelimit as store;
use rusqlite::Connection;
use std::fmt;

/// At most `count` hits per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub count: u32,
    pub window_secs: u64,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.window_secs;
        let (n, unit) = if w % 3600 == 0 {
            (w / 3600, "h")
        } else if w % 60 == 0 {
            (w / 60, "m")
        } else {
            (w, "s")
        };
        write!(f, "{}/{n}{unit}", self.count)
    }
}

/// Parses a duration such as `90s`, `10m`, `5h`, `30d` (a bare number is seconds), at
/// most `duration::MAX_SECS`, so every window fits in milliseconds.
pub fn parse_duration_secs(s: &str) -> Option<u64> {
    crate::duration::parse_secs(s).ok()
}

/// Parses `2/10m,10/5h` (units s, m, h, d).
pub fn parse_rules(s: &str) -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("expected rules like '2/10m,10/5h', got '{s}'");
        let (count, window) = part.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let window_secs = parse_duration_secs(window).ok_or_else(bad)?;
        if count == 0 || window_secs == 0 {
            return Err(format!("a rule needs a count and a window above zero, got '{part}'"));
        }
        rules.push(Rule { count, window_secs });
    }
    if rules.is_empty() {
        return Err(format!("expected rules like '2/10m,10/5h', got '{s}'"));
    }
    Ok(rules)
}

/// A limit that was reached: which rule, and when the oldest counted hit leaves it.
#[derive(Debug, Clone, PartialEq)]
pub struct Limited {
    pub rule: Rule,
    pub retry_after_secs: u64,
}

/// The key failed authentications of one kind of credential (`signature`, `token`,
/// ...) from one source (`auth::client::limit_source`) are counted under.
pub fn auth_failure_key(kind: &str, source: &str) -> String {
    format!("auth-fail:{kind}:{source}")
}

/// What a rule needs to know about the hits in its window: how many there are
/// (`Window::inside`) and, when that reaches `count`, when the `count`-th newest of
/// them was recorded (the hit that must age out before one more fits).
pub struct Window {
    pub inside: u64,
    pub nth_newest_ms: Option<i64>,
}

/// Decides whether one more hit is allowed. `window(start_ms, count)` describes the
/// hits after `start_ms`.
pub fn decide(
    now_ms: i64,
    rules: &[Rule],
    mut window: impl FnMut(i64, u32) -> rusqlite::Result<Window>,
) -> rusqlite::Result<Result<(), Limited>> {
    for rule in rules {
        let window_ms = (rule.window_secs as i64) * 1000;
        let w = window(now_ms - window_ms, rule.count)?;
        if w.inside >= u64::from(rule.count) {
            let free_at = w.nth_newest_ms.unwrap_or(now_ms) + window_ms;
            let retry_after_secs = ((free_at - now_ms).max(0) as u64).div_ceil(1000).max(1);
            return Ok(Err(Limited {
                rule: *rule,
                retry_after_secs,
            }));
        }
    }
    Ok(Ok(()))
}

/// Checks `key` against `rules` and, when allowed and `record` is set, records a hit
/// (in the caller's transaction, so concurrent requests cannot both slip through).
/// Each hit carries a per-key sequence number, so a window's count is the distance
/// between its first and the newest hit: a few index lookups, however many hits a
/// flood has left in the window.
pub fn check(
    conn: &Connection,
    key: &str,
    rules: &[Rule],
    now_ms: i64,
    record: bool,
) -> rusqlite::Result<Result<(), Limited>> {
    let newest = store::newest_seq(conn, key)?;
    let verdict = decide(now_ms, rules, |start_ms, count| {
        let Some(newest) = newest else {
            return Ok(Window {
                inside: 0,
                nth_newest_ms: None,
            });
        };
        let first = store::first_seq_after(conn, key, start_ms)?;
        let inside = first.map_or(0, |f| (newest - f + 1).max(0) as u64);
        let nth_newest_ms = if inside >= u64::from(count) {
            store::hit_time(conn, key, newest - i64::from(count) + 1)?
        } else {
            None
        };
        Ok(Window { inside, nth_newest_ms })
    })?;
    if verdict.is_ok() && record {
        hit(conn, key, rules, now_ms)?;
    }
    Ok(verdict)
}

fn longest_ms(rules: &[Rule]) -> i64 {
    rules.iter().map(|r| r.window_secs).max().unwrap_or(0) as i64 * 1000
}

/// Records one hit for `key`, and drops its hits that no rule can count any more.
pub fn hit(conn: &Connection, key: &str, rules: &[Rule], now_ms: i64) -> rusqlite::Result<()> {
    store::drop_until(conn, key, now_ms - longest_ms(rules))?;
    store::insert_hit(conn, key, now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::params;

    #[test]
    fn rules_parse_and_print() {
        let r = parse_rules("2/10m, 10/5h").unwrap();
        assert_eq!(
            r,
            vec![
                Rule {
                    count: 2,
                    window_secs: 600
                },
                Rule {
                    count: 10,
                    window_secs: 18_000
                }
            ]
        );
        assert_eq!(r[1].to_string(), "10/5h");
        assert_eq!(parse_rules("20/60").unwrap()[0].window_secs, 60);
        for bad in ["", "x", "2/", "0/1m", "2/0m", "a/1m"] {
            assert!(parse_rules(bad).is_err(), "{bad}");
        }
    }

    /// The decision over a plain list of hit times, as the store would describe it.
    fn decide_list(hits: &[i64], now_ms: i64, rules: &[Rule]) -> Result<(), Limited> {
        decide(now_ms, rules, |start, count| {
            let mut inside: Vec<i64> = hits.iter().copied().filter(|t| *t > start).collect();
            inside.sort_unstable();
            let nth_newest_ms = inside.len().checked_sub(count as usize).map(|i| inside[i]);
            Ok(Window {
                inside: inside.len() as u64,
                nth_newest_ms,
            })
        })
        .unwrap()
    }

    #[test]
    fn sliding_window_with_retry_after() {
        let rules = parse_rules("2/10m,3/1h").unwrap();
        let m = 60_000;
        assert!(decide_list(&[], 0, &rules).is_ok());
        assert!(decide_list(&[0], m, &rules).is_ok());
        let l = decide_list(&[0, m], 2 * m, &rules).unwrap_err();
        assert_eq!((l.rule.count, l.retry_after_secs), (2, 8 * 60));
        // After the first leaves the 10 min window, the hourly rule still counts 3.
        let l = decide_list(&[0, m, 11 * m], 12 * m, &rules).unwrap_err();
        assert_eq!((l.rule.count, l.retry_after_secs), (3, 48 * 60));
        assert!(decide_list(&[0, m, 11 * m], 61 * m, &rules).is_ok());
    }

    #[test]
    fn a_hit_recorded_late_with_an_earlier_time_still_counts() {
        let c = crate::testing::migrated_db();
        let rules = parse_rules("3/1m").unwrap();
        // Three workers read the clock, then record in another order than they read it.
        for t in [10_000, 5_000, 10_001] {
            hit(&c, "k", &rules, t).unwrap();
        }
        assert!(
            check(&c, "k", &rules, 10_002, false).unwrap().is_err(),
            "three hits in the window reach a limit of three"
        );
    }

    #[test]
    fn stored_hits_survive_and_expire() {
        let c = crate::testing::migrated_db();
        let rules = parse_rules("2/1m").unwrap();
        assert!(check(&c, "k", &rules, 0, true).unwrap().is_ok());
        assert!(check(&c, "k", &rules, 1000, true).unwrap().is_ok());
        assert_eq!(
            check(&c, "k", &rules, 2000, true)
                .unwrap()
                .unwrap_err()
                .retry_after_secs,
            58
        );
        assert!(check(&c, "other", &rules, 2000, true).unwrap().is_ok());
        assert!(check(&c, "k", &rules, 61_000, true).unwrap().is_ok());
        // A flood of hits is read only as far as the rules need.
        for t in 0..5000 {
            hit(&c, "flood", &rules, 100_000 + t).unwrap();
        }
        assert_eq!(
            check(&c, "flood", &rules, 105_000, false)
                .unwrap()
                .unwrap_err()
                .rule
                .count,
            2
        );
        let n: i64 = c
            .query_row("SELECT count(*) FROM rate_hits WHERE key = 'k'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1, "the hits at 0 s and 1 s left the window and were removed");
    }

    #[test]
    fn the_store_decides_as_the_list_of_hits_does() {
        let c = crate::testing::migrated_db();
        let rules = parse_rules("3/10s,5/1m,4000/1h").unwrap();
        let (mut hits, mut refused) = (Vec::new(), 0);
        // Irregular gaps: bursts, pauses longer than the short windows, a long quiet spell.
        let mut t = 0i64;
        for i in 0..6000i64 {
            t += match i % 97 {
                0 => 70_000,
                n if n % 7 == 0 => 11_000,
                n => n * 13,
            };
            let store = check(&c, "k", &rules, t, false).unwrap();
            assert_eq!(store, decide_list(&hits, t, &rules), "at hit {i}, t={t}");
            refused += usize::from(store.is_err());
            if store.is_ok() || i % 5 == 0 {
                hit(&c, "k", &rules, t).unwrap();
                hits.push(t);
            }
        }
        assert!(
            refused > 500 && hits.len() > 1000,
            "both verdicts were exercised: {refused} refused, {} hits",
            hits.len()
        );
    }

    /// With the bundled SQLite's STAT4, a statement whose plan could depend on a bound
    /// value is compiled again each time it is run; a connection from `store::open`
    /// asks SQLite for stable plans instead, so none of these is.
    #[test]
    fn no_statement_is_compiled_again_at_each_run() {
        let dir = crate::testing::scratch_dir("ratelimit-plans");
        let c = crate::store::open(&dir.join("podup.db")).unwrap();
        let rules = parse_rules("3/10s,1000/1h").unwrap();
        for t in 0..200 {
            let key = format!("k{}", t % 3);
            let _ = check(&c, &key, &rules, t * 100, false).unwrap();
            hit(&c, &key, &rules, t * 100).unwrap();
        }
        for sql in store::STATEMENTS {
            let st = c.prepare_cached(sql).unwrap();
            let runs = st.get_status(rusqlite::StatementStatus::Run);
            let again = st.get_status(rusqlite::StatementStatus::RePrepare);
            assert!(
                runs > 0 && again == 0,
                "{sql}: compiled again {again} times in {runs} runs"
            );
        }
        drop(c);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hits_from_before_the_sequence_column_are_numbered_by_the_migration() {
        let mut c = Connection::open_in_memory().unwrap();
        for sql in &crate::store::schema::MIGRATIONS[..4] {
            c.execute_batch(sql).unwrap();
        }
        c.pragma_update(None, "user_version", 4).unwrap();
        for (k, ts) in [("a", 1000), ("b", 1500), ("a", 2000), ("a", 3000)] {
            c.execute("INSERT INTO rate_hits (key, ts_ms) VALUES (?1, ?2)", params![k, ts])
                .unwrap();
        }
        crate::store::schema::migrate(&mut c).unwrap();
        let rules = parse_rules("3/1m").unwrap();
        let l = check(&c, "a", &rules, 4000, false).unwrap().unwrap_err();
        assert_eq!(l.retry_after_secs, 57, "the hit at 1 s is the third newest of 'a'");
        assert!(check(&c, "b", &rules, 4000, true).unwrap().is_ok());
        let seqs: Vec<i64> = c
            .prepare("SELECT seq FROM rate_hits WHERE key = 'b' ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(seqs, vec![1, 2]);
    }
}
