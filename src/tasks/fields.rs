//! The bounds of the free text a task is asked with (`caller`, `reason`): both are
//! stored on the task and its event row and passed to `systemd-run`, so a caller of
//! 200 KB once made it fail with "Argument list too long". The API answers 400
//! `field_too_long` and the CLI exits 2, each naming the field or flag.

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

/// Both fields, as the API names them.
pub fn check(caller: Option<&str>, reason: Option<&str>) -> Result<(), String> {
    bounded("caller", caller, MAX_CALLER_CHARS)?;
    bounded("reason", reason, MAX_REASON_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_are_counted_not_bytes() {
        assert!(check(Some(&"é".repeat(200)), Some(&"é".repeat(2000))).is_ok());
        let e = check(Some(&"c".repeat(201)), None).unwrap_err();
        assert!(e.starts_with("caller:") && e.contains("201"), "{e}");
        let e = check(None, Some(&"r".repeat(2001))).unwrap_err();
        assert!(e.starts_with("reason:"), "{e}");
        assert!(bounded("--caller", Some("x"), 0).unwrap_err().starts_with("--caller:"));
    }
}
