//! Dates as systemd prints them, for the demo's timer: the next 03:00 UTC.

use crate::clock::civil;

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
