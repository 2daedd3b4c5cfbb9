//! Durations as people write them (`90s`, `10m`, `5h`, `30d`; a bare number is
//! seconds), bounded to about a century, and turned into milliseconds with checked
//! arithmetic. A prune age of 2^63 s once wrapped when multiplied by 1000, put the
//! cut-off in the future, and removed every event; now it is refused, and a cut-off
//! that cannot be computed removes nothing.

/// The longest duration podup accepts: 36,600 days, about 100 years.
pub const MAX_SECS: u64 = 36_600 * 86_400;
/// `MAX_SECS` as it is written in messages.
pub const MAX_TEXT: &str = "36600d (about 100 years)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationError {
    /// Not a number with an optional unit s, m, h or d.
    Invalid,
    /// A number, but longer than `MAX_SECS`.
    OutOfRange,
}

/// Parses a duration in seconds, at most `MAX_SECS`.
pub fn parse_secs(s: &str) -> Result<u64, DurationError> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 's')) => (&s[..i], 1),
        Some((i, 'm')) => (&s[..i], 60),
        Some((i, 'h')) => (&s[..i], 3600),
        Some((i, 'd')) => (&s[..i], 86_400),
        _ => (s, 1),
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DurationError::Invalid);
    }
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|secs| *secs <= MAX_SECS)
        .ok_or(DurationError::OutOfRange)
}

/// Seconds as milliseconds; `None` when that does not fit an `i64`.
pub fn secs_to_ms(secs: u64) -> Option<i64> {
    i64::try_from(secs).ok()?.checked_mul(1000)
}

/// The time `secs` before `now_ms`; `i64::MIN` (before anything recorded) when it
/// cannot be computed, so a cut-off never lands in the future.
pub fn ms_before(now_ms: i64, secs: u64) -> i64 {
    secs_to_ms(secs)
        .and_then(|ms| now_ms.checked_sub(ms))
        .unwrap_or(i64::MIN)
}

/// The time `secs` after `now_ms`; `i64::MAX` when it cannot be computed.
pub fn ms_after(now_ms: i64, secs: u64) -> i64 {
    secs_to_ms(secs)
        .and_then(|ms| now_ms.checked_add(ms))
        .unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_bounds_and_garbage() {
        assert_eq!(parse_secs("90"), Ok(90));
        assert_eq!(parse_secs(" 10m "), Ok(600));
        assert_eq!(parse_secs("36600d"), Ok(MAX_SECS));
        for huge in [
            "36601d",
            "9223372036854775808s",
            "18446744073709551615",
            "99999999999999999999999d",
        ] {
            assert_eq!(parse_secs(huge), Err(DurationError::OutOfRange), "{huge}");
        }
        for bad in ["", "d", "-5s", "+5s", "1.5h", "ten", "5w", "5 d"] {
            assert_eq!(parse_secs(bad), Err(DurationError::Invalid), "{bad}");
        }
    }

    #[test]
    fn cut_offs_never_wrap_into_the_future() {
        let now = 1_700_000_000_000;
        assert_eq!(ms_before(now, 60), now - 60_000);
        assert_eq!(ms_before(now, 1 << 63), i64::MIN);
        assert_eq!(ms_before(now, u64::MAX), i64::MIN);
        assert_eq!(ms_before(i64::MIN + 5, 1), i64::MIN);
        assert_eq!(ms_after(now, u64::MAX), i64::MAX);
        assert_eq!(secs_to_ms(9_223_372_036_854_776), None);
    }
}
