//! The policy keys (docs/policy.md) and their values as written in `[X-PodUp]` or the
//! policy file, parsed into `model` types. Pure: each parser takes the text after `=` and
//! returns the value or one sentence naming what is wrong; which file and line it was on is
//! `read`'s to add. `Window=` has a grammar of its own, in `spans`.

use crate::model::{Action, Follow, Level};

/// The keys podup reads, in the order they are shown.
pub const KEYS: [&str; 5] = ["Policy", "MinAge", "Window", "Timer", "Follow"];

/// `key` as one of [`KEYS`]; anything else is an error listing them (a misspelt key must
/// not silently leave a service on the default policy).
pub fn known(key: &str) -> Result<&'static str, String> {
    KEYS.iter()
        .find(|k| **k == key)
        .copied()
        .ok_or_else(|| format!("'{key}' is not a policy key (known: {})", KEYS.join(", ")))
}

/// `Policy=`: auto, approve, notify or manual.
pub fn action(v: &str) -> Result<Action, String> {
    Action::parse(v).ok_or_else(|| {
        let all: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        format!("'{v}' is not a policy ({})", all.join(", "))
    })
}

/// `Timer=`: a systemd boolean.
pub fn timer(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" | "on" | "1" => Ok(true),
        "no" | "false" | "off" | "0" => Ok(false),
        _ => Err(format!("'{v}' is not yes or no")),
    }
}

/// `Follow=`: `digest`, `semver:<level>` or `regex:<expression>`. The expression is compiled
/// here only to refuse a broken one where it is written, not when the first check runs.
pub fn follow(v: &str) -> Result<Follow, String> {
    if v == "digest" {
        return Ok(Follow::Digest);
    }
    if let Some(level) = v.strip_prefix("semver:") {
        return Level::parse(level)
            .map(Follow::Semver)
            .ok_or_else(|| format!("'{v}' is not a semver level (semver:patch, semver:minor, semver:major)"));
    }
    if let Some(re) = v.strip_prefix("regex:") {
        if re.is_empty() {
            return Err("'regex:' has no expression".into());
        }
        return match regex::Regex::new(re) {
            Ok(_) => Ok(Follow::Regex(re.to_string())),
            // The library's message spans several lines with a caret; its last line says why.
            Err(e) => {
                let why = e.to_string();
                let why = why.lines().rfind(|l| !l.trim().is_empty()).unwrap_or_default().trim();
                Err(format!("'{re}' is not a regular expression: {why}"))
            }
        };
    }
    Err(format!("'{v}' is not digest, semver:<level> or regex:<expression>"))
}

/// The units of a time span, as systemd.time(7) spells them (those podup accepts).
const UNITS: &[(&[&str], u64)] = &[
    (&["s", "sec", "second", "seconds"], 1),
    (&["m", "min", "minute", "minutes"], 60),
    (&["h", "hr", "hour", "hours"], 3600),
    (&["d", "day", "days"], 86_400),
    (&["w", "week", "weeks"], 7 * 86_400),
];

/// `MinAge=`: a time span as systemd writes one (`30s`, `15min`, `2h`, `1h 30min`, `1w`; a
/// bare number is seconds), at most `duration::MAX_SECS`.
pub fn min_age(v: &str) -> Result<u64, String> {
    let bad = || format!("'{v}' is not a duration (like 30s, 15min, 2h, 3d, 1w or 1h 30min)");
    let mut rest = v.trim();
    let mut total: u64 = 0;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| too_long(v))?;
        rest = rest[digits..].trim_start();
        let letters = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        let unit = &rest[..letters];
        let mult = if unit.is_empty() {
            1
        } else {
            UNITS
                .iter()
                .find(|(names, _)| names.contains(&unit))
                .map(|(_, m)| *m)
                .ok_or_else(|| format!("'{v}': '{unit}' is not a unit of time (s, min, h, d, w)"))?
        };
        rest = rest[letters..].trim_start();
        total = n
            .checked_mul(mult)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| too_long(v))?;
    }
    if total > crate::duration::MAX_SECS {
        return Err(too_long(v));
    }
    Ok(total)
}

fn too_long(v: &str) -> String {
    format!("'{v}' is longer than {}", crate::duration::MAX_TEXT)
}

/// Seconds as `MinAge=` would be written: `2h`, `1h 30min`, `0`.
pub fn min_age_text(secs: u64) -> String {
    if secs == 0 {
        return "0".into();
    }
    let mut left = secs;
    let mut parts = Vec::new();
    for (name, size) in [("w", 7 * 86_400), ("d", 86_400), ("h", 3600), ("min", 60), ("s", 1)] {
        if left >= size {
            parts.push(format!("{}{name}", left / size));
            left %= size;
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_age_takes_systemd_time_spans() {
        for (text, secs) in [
            ("30s", 30),
            ("90", 90),
            ("15min", 900),
            ("15 min", 900),
            ("2h", 7200),
            ("2hr", 7200),
            ("3d", 259_200),
            ("1w", 604_800),
            ("2weeks", 1_209_600),
            ("1h 30min", 5400),
            ("1h30m", 5400),
            ("1 hour 30 minutes 5 seconds", 5405),
            ("0", 0),
            ("36600d", crate::duration::MAX_SECS),
        ] {
            assert_eq!(min_age(text), Ok(secs), "{text}");
        }
        for (text, says) in [
            ("soon", "'soon' is not a duration"),
            ("1.5h", "is not a duration"),
            ("-5s", "is not a duration"),
            ("h", "is not a duration"),
            ("5 fortnights", "'fortnights' is not a unit of time"),
            ("10us", "'us' is not a unit of time"),
            ("36601d", "is longer than 36600d"),
            ("99999999999999999999w", "is longer than"),
            ("9999999999999999w", "is longer than"),
        ] {
            let e = min_age(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn min_age_text_writes_what_min_age_reads() {
        for secs in [0, 1, 59, 60, 5400, 7200, 90_061, 1_209_600 + 3] {
            assert_eq!(min_age(&min_age_text(secs)), Ok(secs), "{secs}");
        }
        assert_eq!(min_age_text(5400), "1h 30min");
        assert_eq!(min_age_text(7200), "2h");
    }

    #[test]
    fn policy_timer_and_follow_values() {
        assert_eq!(action("approve"), Ok(Action::Approve));
        assert_eq!(
            action("sometimes").unwrap_err(),
            "'sometimes' is not a policy (auto, approve, notify, manual)"
        );
        for (text, want) in [
            ("yes", true),
            ("ON", true),
            ("1", true),
            ("false", false),
            ("off", false),
            ("0", false),
        ] {
            assert_eq!(timer(text), Ok(want), "{text}");
        }
        assert_eq!(timer("maybe").unwrap_err(), "'maybe' is not yes or no");
        assert_eq!(follow("digest"), Ok(Follow::Digest));
        assert_eq!(follow("semver:minor"), Ok(Follow::Semver(Level::Minor)));
        assert_eq!(follow(r"regex:^v?1\.\d+$"), Ok(Follow::Regex(r"^v?1\.\d+$".into())));
        let e = follow("semver:tiny").unwrap_err();
        assert!(e.starts_with("'semver:tiny' is not a semver level"), "{e}");
        let e = follow("regex:v(1").unwrap_err();
        assert!(
            e.starts_with("'v(1' is not a regular expression: ") && !e.contains('\n'),
            "{e}"
        );
        assert_eq!(follow("regex:").unwrap_err(), "'regex:' has no expression");
        assert!(follow("latest").unwrap_err().contains("'latest' is not digest"));
    }

    #[test]
    fn an_unknown_key_lists_the_known_ones() {
        assert_eq!(known("MinAge"), Ok("MinAge"));
        assert_eq!(
            known("Polcy").unwrap_err(),
            "'Polcy' is not a policy key (known: Policy, MinAge, Window, Timer, Follow)"
        );
        assert!(known("policy").is_err(), "keys are case-sensitive, as systemd's are");
    }
}
