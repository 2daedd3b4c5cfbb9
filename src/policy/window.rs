//! Whether a time is inside a `Window=`, when it next opens and when it closes, in the
//! window's zone (`TZ=`, else the host's, which honours `TZ` in the environment) with its
//! daylight saving time, from the system's tz database through jiff.
//!
//! A span's start and end are the first instants at which the zone's clock reads those
//! times: on a day when the clock skips them (a gap when DST begins) that is the end of the
//! gap, and when it reads them twice (DST ends) the first time. So `02:30-04:00` on the
//! day Berlin moves from 02:00 to 03:00 opens at 03:00, and `02:30-03:30` on the day it
//! moves back from 03:00 to 02:00 stays open two hours. A span runs from a day in its days
//! to the same day's end time, or to the next day's when that is not later than the start.

use crate::model::{Span, Window};
use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};

/// How far ahead a chain of touching spans is followed before the window counts as never
/// closing (every day, all day).
const CHAIN_LIMIT_MS: i64 = 8 * 86_400_000;

/// Whether `at_ms` (epoch milliseconds) is inside the window.
pub fn is_open(w: &Window, at_ms: i64) -> bool {
    let Some((tz, at)) = zone_and_time(w, at_ms) else {
        return false;
    };
    open_until(w, &tz, at).is_some()
}

/// `from_ms` when the window is open then; else when it next opens. `None` when it has no
/// spans (or its zone is gone from the tz database).
pub fn next_open(w: &Window, from_ms: i64) -> Option<i64> {
    let (tz, from) = zone_and_time(w, from_ms)?;
    if open_until(w, &tz, from).is_some() {
        return Some(from_ms);
    }
    let today = tz.to_datetime(from).date();
    // A week holds every day a span starts on; one more day covers a start pushed late.
    (-1..=8)
        .filter_map(|n| today.checked_add(jiff::Span::new().days(n)).ok())
        .flat_map(|day| occurrences(w, &tz, day))
        .filter(|(start, end)| *start >= from && start < end)
        .map(|(start, _)| start.as_millisecond())
        .min()
}

/// When the open period that holds `at_ms` ends (following spans that touch or overlap);
/// `None` when the window is closed at `at_ms`; `i64::MAX` when it never closes.
pub fn closes_at(w: &Window, at_ms: i64) -> Option<i64> {
    let (tz, at) = zone_and_time(w, at_ms)?;
    let mut end = open_until(w, &tz, at)?;
    while let Some(later) = open_until(w, &tz, end) {
        if later.as_millisecond().saturating_sub(at_ms) > CHAIN_LIMIT_MS {
            return Some(i64::MAX);
        }
        end = later;
    }
    Some(end.as_millisecond())
}

fn zone_and_time(w: &Window, at_ms: i64) -> Option<(TimeZone, Timestamp)> {
    let at = Timestamp::from_millisecond(at_ms).ok()?;
    let tz = match &w.tz {
        None => TimeZone::system(),
        Some(name) => match TimeZone::get(name) {
            Ok(tz) => tz,
            Err(e) => {
                // It was there when the policy was read; a window in a zone that is gone
                // is closed rather than guessed at.
                log::warn!(error_kind = "policy_window_zone"; "window '{}': time zone '{name}': {e}", w.text);
                return None;
            }
        },
    };
    Some((tz, at))
}

/// The latest end of the spans that hold `at`, if any does.
fn open_until(w: &Window, tz: &TimeZone, at: Timestamp) -> Option<Timestamp> {
    let today = tz.to_datetime(at).date();
    // A span that started yesterday may still be open past midnight.
    [today.yesterday().ok(), Some(today)]
        .into_iter()
        .flatten()
        .flat_map(|day| occurrences(w, tz, day))
        .filter(|(start, end)| *start <= at && at < *end)
        .map(|(_, end)| end)
        .max()
}

/// The `[start, end)` instants of the spans that start on `day`.
fn occurrences(w: &Window, tz: &TimeZone, day: Date) -> Vec<(Timestamp, Timestamp)> {
    let bit = 1u8 << day.weekday().to_monday_zero_offset();
    w.spans
        .iter()
        .filter(|s| s.days & bit != 0)
        .filter_map(|s| {
            let end_day = if ends_next_day(s) { day.tomorrow().ok()? } else { day };
            Some((instant(tz, day, s.start_min)?, instant(tz, end_day, s.end_min)?))
        })
        .collect()
}

fn ends_next_day(s: &Span) -> bool {
    s.end_min <= s.start_min
}

/// The first instant at which `tz`'s clock reads `min` minutes after the midnight that
/// begins `day` (1440: the next midnight), or a later time when it skips that one.
fn instant(tz: &TimeZone, day: Date, min: u16) -> Option<Timestamp> {
    let (day, min) = if min >= 1440 {
        (day.tomorrow().ok()?, 0)
    } else {
        (day, min)
    };
    let time = Time::new((min / 60) as i8, (min % 60) as i8, 0, 0).ok()?;
    let dt = day.to_datetime(time);
    let ambiguous = tz.to_ambiguous_timestamp(dt);
    match ambiguous.offset() {
        // Read with the offset after the gap, `dt` is an instant before it; the clock
        // first reads `dt` or later at the transition that follows.
        AmbiguousOffset::Gap { after, .. } => {
            let before_gap = after.to_timestamp(dt).ok()?;
            tz.following(before_gap).next().map(|t| t.timestamp())
        }
        // In a fold, the earlier of the two instants.
        _ => ambiguous.compatible().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::spans;

    fn w(text: &str) -> Window {
        spans::window(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn ms(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    /// `12-07 03:00` in December 2026, UTC.
    fn dec(text: &str) -> i64 {
        ms(&format!("2026-{}:00Z", text.replace(' ', "T")))
    }

    #[test]
    fn a_table_of_windows_and_times() {
        // 2026-12-07 is a Monday; times are UTC; Berlin is UTC+1 in winter.
        for (window, at, expect) in [
            ("Mon..Fri 02:00-04:00 TZ=UTC", "12-07 03:00", "open until 12-07 04:00"),
            ("Mon..Fri 02:00-04:00 TZ=UTC", "12-07 04:00", "opens 12-08 02:00"),
            ("Mon..Fri 02:00-04:00 TZ=UTC", "12-07 01:59", "opens 12-07 02:00"),
            ("Mon..Fri 02:00-04:00 TZ=UTC", "12-11 05:00", "opens 12-14 02:00"),
            ("Sat,Sun 01:00-06:00 TZ=UTC", "12-07 00:00", "opens 12-12 01:00"),
            // past midnight: Friday 23:00 to Saturday 02:00
            ("Fri 23:00-02:00 TZ=UTC", "12-12 01:30", "open until 12-12 02:00"),
            ("Fri 23:00-02:00 TZ=UTC", "12-12 23:30", "opens 12-18 23:00"),
            ("Fri..Mon 22:00-24:00 TZ=UTC", "12-07 23:00", "open until 12-08 00:00"),
            // touching spans close together
            (
                "Mon 22:00-24:00; Tue 00:00-01:30 TZ=UTC",
                "12-07 22:30",
                "open until 12-08 01:30",
            ),
            (
                "Mon..Fri 02:00-04:00 TZ=Europe/Berlin",
                "12-07 01:00",
                "open until 12-07 03:00",
            ),
            (
                "Mon..Fri 02:00-04:00 TZ=Europe/Berlin",
                "12-07 03:00",
                "opens 12-08 01:00",
            ),
        ] {
            let (win, at_ms) = (w(window), dec(at));
            let got = match closes_at(&win, at_ms) {
                Some(end) => {
                    assert!(is_open(&win, at_ms) && next_open(&win, at_ms) == Some(at_ms));
                    end
                }
                None => {
                    assert!(!is_open(&win, at_ms));
                    next_open(&win, at_ms).unwrap()
                }
            };
            let want = dec(&expect[expect.len() - "12-07 04:00".len()..]);
            assert_eq!(
                (expect.starts_with("open until"), got),
                (is_open(&win, at_ms), want),
                "{window} at {at}: {expect}"
            );
        }
    }

    #[test]
    fn berlin_spring_forward_opens_when_the_gap_ends() {
        // 2026-03-29: at 01:00 UTC Berlin's clock goes from 02:00 to 03:00.
        let win = w("Sun 02:30-04:00 TZ=Europe/Berlin");
        assert!(!is_open(&win, ms("2026-03-29T00:59:59Z")));
        assert!(is_open(&win, ms("2026-03-29T01:00:00Z")));
        assert_eq!(
            next_open(&win, ms("2026-03-28T12:00:00Z")),
            Some(ms("2026-03-29T01:00:00Z"))
        );
        assert_eq!(
            closes_at(&win, ms("2026-03-29T01:00:00Z")),
            Some(ms("2026-03-29T02:00:00Z"))
        );
        // A span wholly inside the gap never opens that day, and next week as usual.
        let gap = w("Sun 02:10-02:50 TZ=Europe/Berlin");
        assert_eq!(
            next_open(&gap, ms("2026-03-29T00:00:00Z")),
            Some(ms("2026-04-05T00:10:00Z"))
        );
    }

    #[test]
    fn berlin_fall_back_opens_at_the_first_of_two_times() {
        // 2026-10-25: at 01:00 UTC Berlin's clock goes from 03:00 back to 02:00.
        let win = w("Sun 02:30-03:30 TZ=Europe/Berlin");
        assert_eq!(
            next_open(&win, ms("2026-10-24T12:00:00Z")),
            Some(ms("2026-10-25T00:30:00Z"))
        );
        assert!(
            is_open(&win, ms("2026-10-25T01:45:00Z")),
            "02:45 the second time is inside"
        );
        assert_eq!(
            closes_at(&win, ms("2026-10-25T00:30:00Z")),
            Some(ms("2026-10-25T02:30:00Z"))
        );
        // past midnight into the short night of the change
        let night = w("Sat 23:00-04:00 TZ=Europe/Berlin");
        assert_eq!(
            closes_at(&night, ms("2026-10-24T21:00:00Z")),
            Some(ms("2026-10-25T03:00:00Z"))
        );
    }

    #[test]
    fn always_open_never_closes_and_no_spans_never_opens() {
        let always = w("00:00-24:00 TZ=UTC");
        assert!(is_open(&always, ms("2026-12-07T12:00:00Z")));
        assert_eq!(closes_at(&always, ms("2026-12-07T12:00:00Z")), Some(i64::MAX));
        let none = Window::default();
        assert!(!is_open(&none, 0));
        assert_eq!(next_open(&none, 0), None);
        assert_eq!(closes_at(&none, 0), None);
    }

    #[test]
    fn no_zone_means_the_hosts() {
        let Some(name) = TimeZone::system().iana_name().map(str::to_string) else {
            return; // a host whose zone has no name: nothing to compare with
        };
        let host = w("Mon..Fri 02:00-04:00");
        let named = w(&format!("Mon..Fri 02:00-04:00 TZ={name}"));
        for at in ["2026-12-07T01:30:00Z", "2026-12-07T02:30:00Z", "2026-07-07T01:30:00Z"] {
            assert_eq!(is_open(&host, ms(at)), is_open(&named, ms(at)), "{at}");
            assert_eq!(next_open(&host, ms(at)), next_open(&named, ms(at)), "{at}");
        }
    }
}
