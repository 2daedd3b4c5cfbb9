//! Dates as systemd prints them, for the demo's timer: the next 03:00 UTC.

const HOUR_MS: i64 = 3_600_000;

/// `Thu 2025-11-27 03:00:00 UTC`: the next 03:00 UTC after `now_ms`, as systemd prints it.
pub fn next_run_text(now_ms: i64) -> String {
    let day = now_ms.div_euclid(24 * HOUR_MS);
    let next = if now_ms.rem_euclid(24 * HOUR_MS) < 3 * HOUR_MS {
        day
    } else {
        day + 1
    };
    let (y, m, d) = civil(next);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][next.rem_euclid(7) as usize];
    format!("{weekday} {y:04}-{m:02}-{d:02} 03:00:00 UTC")
}

/// Year, month, day of a count of days since 1970-01-01 (proleptic Gregorian).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_as_systemd_prints_them() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(20_089), (2025, 1, 1));
        assert_eq!(next_run_text(0), "Thu 1970-01-01 03:00:00 UTC");
        assert_eq!(next_run_text(4 * HOUR_MS), "Fri 1970-01-02 03:00:00 UTC");
        // 2024-02-29 12:00 UTC
        assert_eq!(next_run_text(1_709_208_000_000), "Fri 2024-03-01 03:00:00 UTC");
    }
}
