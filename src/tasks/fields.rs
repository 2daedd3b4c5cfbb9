//! The bounds of the free text a task is asked with (`caller`, `reason`): both are
//! stored on the task and its event row and passed to `systemd-run`, so a caller of
//! 200 KB once made it fail with "Argument list too long". They are also plain text:
//! no control characters (a newline, NUL, an escape) and no bidi controls (which
//! disguise what the panel and `podup tasks` show), refused at input before anything
//! is stored (systemd-run refused them only after the task row was written, and the
//! client got a 500). The API answers 400 `field_too_long` or `invalid_field` and the
//! CLI exits 2, each naming the field or flag.

/// Longest `caller`, in characters.
pub const MAX_CALLER_CHARS: usize = 200;
/// Longest `reason`, in characters.
pub const MAX_REASON_CHARS: usize = 2_000;

/// `Err` with a message naming `name` (the JSON field, or the CLI flag) when `value`
/// is longer than `max` characters.
pub fn bounded(name: &str, value: Option<&str>, max: usize) -> Result<(), String> {
    match value {
        Some(v) if v.chars().count() > max => {
            Err(format!("{name}: at most {max} characters, got {}", v.chars().count()))
        }
        _ => Ok(()),
    }
}

/// Characters free text here may not hold: control characters (C0, DEL, C1) and the
/// explicit directional formatting characters of Unicode's UAX #9 (embeddings,
/// overrides, isolates, the marks) plus the line and paragraph separators.
fn is_refused(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{2028}' | '\u{2029}')
}

/// `Err` with a message naming `name` when `value` holds a character `is_refused`
/// refuses (given by its code point, never as itself).
pub fn plain(name: &str, value: Option<&str>) -> Result<(), String> {
    match value.and_then(|v| v.chars().find(|&c| is_refused(c))) {
        Some(c) => Err(format!(
            "{name}: control and bidi characters are not allowed, found U+{:04X}",
            c as u32
        )),
        None => Ok(()),
    }
}

/// A CLI flag's value: bounded and plain text.
pub fn flag(name: &str, value: Option<&str>, max: usize) -> Result<(), String> {
    bounded(name, value, max)?;
    plain(name, value)
}

/// Why a field was refused: the API's error code, and a message naming the field.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    pub code: &'static str,
    pub message: String,
}

/// Both fields, as the API names them: `field_too_long`, then `invalid_field`.
pub fn check(caller: Option<&str>, reason: Option<&str>) -> Result<(), Refused> {
    let refused = |code| move |message| Refused { code, message };
    bounded("caller", caller, MAX_CALLER_CHARS).map_err(refused("field_too_long"))?;
    bounded("reason", reason, MAX_REASON_CHARS).map_err(refused("field_too_long"))?;
    plain("caller", caller).map_err(refused("invalid_field"))?;
    plain("reason", reason).map_err(refused("invalid_field"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_are_counted_not_bytes() {
        assert!(check(Some(&"é".repeat(200)), Some(&"é".repeat(2000))).is_ok());
        let e = check(Some(&"c".repeat(201)), None).unwrap_err();
        assert!(e.message.starts_with("caller:") && e.message.contains("201"), "{e:?}");
        let e = check(None, Some(&"r".repeat(2001))).unwrap_err();
        assert!(e.message.starts_with("reason:"), "{e:?}");
        assert_eq!(e.code, "field_too_long");
        assert!(bounded("--caller", Some("x"), 0).unwrap_err().starts_with("--caller:"));
    }

    #[test]
    fn control_and_bidi_characters_are_refused_naming_the_field() {
        assert!(check(Some("ops team (é, 日本)"), Some("weekly: CVE-2024-1 fix")).is_ok());
        for (caller, reason, field) in [
            ("x\n--property=X", "", "caller"),
            ("", "a\u{0}b", "reason"),
            ("", "tab\there", "reason"),
            ("\u{1b}[31m", "", "caller"),
            ("", "--help \u{202e}", "reason"),
            ("ok\u{2066}", "", "caller"),
            ("", "\u{9b}", "reason"),
        ] {
            let e = check(Some(caller), Some(reason)).unwrap_err();
            assert_eq!(e.code, "invalid_field");
            assert!(e.message.starts_with(&format!("{field}:")), "{e:?}");
            assert!(!e.message.contains('\u{202e}') && !e.message.contains('\n'), "{e:?}");
        }
        assert!(
            flag("--reason", Some("a\u{202e}b"), 10)
                .unwrap_err()
                .starts_with("--reason:")
        );
    }
}
