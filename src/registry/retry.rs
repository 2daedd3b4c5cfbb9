//! `Retry-After` (RFC 9110 §10.2.3): delta-seconds or an HTTP-date, read as the time
//! until which a host that answered 429 is left alone. Only the IMF-fixdate form of the
//! date (`Sun, 06 Nov 1994 08:49:37 GMT`) is read; the obsolete forms count as absent.

/// Waited when the header is absent or unreadable.
pub(super) const DEFAULT_RETRY_AFTER_MS: i64 = 60_000;
/// The longest wait podup accepts from a header: a day.
const MAX_RETRY_AFTER_MS: i64 = 24 * 3600 * 1000;

/// Until when (ms since the epoch) to wait, given the header (if any) and `now_ms`.
pub(super) fn until(header: Option<&str>, now_ms: i64) -> i64 {
    let wait = match header.map(str::trim) {
        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
            v.parse::<i64>().map_or(MAX_RETRY_AFTER_MS, |s| s.saturating_mul(1000))
        }
        Some(v) => imf_fixdate_ms(v).map_or(DEFAULT_RETRY_AFTER_MS, |at| at.saturating_sub(now_ms).max(0)),
        None => DEFAULT_RETRY_AFTER_MS,
    };
    now_ms.saturating_add(wait.min(MAX_RETRY_AFTER_MS))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` as ms since the epoch.
pub(super) fn imf_fixdate_ms(text: &str) -> Option<i64> {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = text.split(' ').collect();
    let [weekday, day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    if !DAYS.iter().any(|d| weekday.strip_suffix(',') == Some(*d)) {
        return None;
    }
    let number = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    let day = number(day, 2)?;
    let month = MONTHS.iter().position(|m| m == month)? as i64 + 1;
    let year = number(year, 4)?;
    let hms: Vec<&str> = time.split(':').collect();
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    let (h, m, s) = (number(h, 2)?, number(m, 2)?, number(s, 2)?);
    if !(1..=days_in_month(year, month)).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    let days = days_since_epoch(year, month, day);
    Some(((days * 24 + h) * 60 + m) * 60_000 + s * 1000)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date.
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    // Count in years that start in March, so that the leap day ends a year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_seconds_dates_and_defaults() {
        let now = 1_700_000_000_000;
        assert_eq!(until(Some("30"), now), now + 30_000);
        assert_eq!(until(Some(" 0 "), now), now);
        assert_eq!(until(None, now), now + DEFAULT_RETRY_AFTER_MS);
        assert_eq!(until(Some("soon"), now), now + DEFAULT_RETRY_AFTER_MS);
        assert_eq!(until(Some("-5"), now), now + DEFAULT_RETRY_AFTER_MS);
        assert_eq!(until(Some("99999999999999999999"), now), now + MAX_RETRY_AFTER_MS);
        // 2023-11-14T22:13:20Z is 1_700_000_000 s.
        assert_eq!(until(Some("Tue, 14 Nov 2023 22:14:00 GMT"), now), now + 40_000);
        assert_eq!(
            until(Some("Tue, 14 Nov 2023 22:00:00 GMT"), now),
            now,
            "a date in the past: now"
        );
    }

    #[test]
    fn imf_fixdate() {
        assert_eq!(imf_fixdate_ms("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777_000));
        assert_eq!(imf_fixdate_ms("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(imf_fixdate_ms("Thu, 29 Feb 2024 12:00:00 GMT"), Some(1_709_208_000_000));
        for bad in [
            "",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov +994 08:49:37 GMT",
        ] {
            assert_eq!(imf_fixdate_ms(bad), None, "{bad}");
        }
    }
}
