//! Container tags read as versions, leniently: what registries hold is not semver, so
//! `v1.5.0`, `1.5` and `1` are versions too, and a suffix after `-` is read as either a
//! prerelease (`-rc1`, `-beta.2`, `-0.3`) or a variant (`-alpine`, `-alpine3.19`), a
//! flavour of the same release that a unit keeps following.

use std::cmp::Ordering;

/// The longest numeric part read (a date tag such as `20240131` fits; longer is no version).
const MAX_DIGITS: usize = 18;

/// Words that open a prerelease suffix (`-rc1`, `-beta.2`, `-alpha`); any other suffix
/// that starts with a letter names a variant.
const PRERELEASE_WORDS: [&str; 10] = [
    "alpha", "beta", "rc", "pre", "preview", "dev", "snapshot", "nightly", "canary", "next",
];

/// A tag read as a version: `[v]MAJOR[.MINOR[.PATCH]][-SUFFIX][+BUILD]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Major, minor, patch; a part not written is 0.
    pub numbers: [u64; 3],
    /// How many numeric parts were written: 1 (`2`), 2 (`1.5`) or 3 (`1.5.0`).
    pub parts: u8,
    /// Written with a leading `v` (or `V`).
    pub v_prefix: bool,
    pub suffix: Suffix,
    /// Build metadata after `+`: kept, never ordered by.
    pub build: Option<String>,
}

/// What follows the numbers after a `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suffix {
    None,
    /// Before the release of the same numbers; podup never proposes one.
    Prerelease(String),
    /// A flavour of the release (`alpine`); only the same variant is followed.
    Variant(String),
}

impl Version {
    /// `tag` as a version, or None (`latest`, `stable`, `sha-3f2a1b`, `1.2.3.4`).
    pub fn parse(tag: &str) -> Option<Version> {
        let (rest, build) = match tag.split_once('+') {
            Some((r, b)) if !b.is_empty() && b.bytes().all(ident_byte) => (r, Some(b.to_string())),
            Some(_) => return None,
            None => (tag, None),
        };
        let (body, v_prefix) = match rest.strip_prefix(['v', 'V']) {
            Some(b) => (b, true),
            None => (rest, false),
        };
        let (core, suffix) = match body.split_once('-') {
            Some((c, s)) => (c, Some(s)),
            None => (body, None),
        };
        let mut numbers = [0u64; 3];
        let mut parts = 0u8;
        for piece in core.split('.') {
            if parts == 3 || piece.is_empty() || piece.len() > MAX_DIGITS || !piece.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            numbers[parts as usize] = piece.parse().ok()?;
            parts += 1;
        }
        let suffix = match suffix {
            None => Suffix::None,
            Some(s) => classify(s)?,
        };
        Some(Version {
            numbers,
            parts,
            v_prefix,
            suffix,
            build,
        })
    }

    pub fn is_prerelease(&self) -> bool {
        matches!(self.suffix, Suffix::Prerelease(_))
    }

    /// The variant, if any (`alpine` of `1.5.0-alpine`).
    pub fn variant(&self) -> Option<&str> {
        match &self.suffix {
            Suffix::Variant(v) => Some(v),
            _ => None,
        }
    }

    /// Written the same way: the same `v` prefix and number of parts.
    pub fn same_shape(&self, other: &Version) -> bool {
        self.v_prefix == other.v_prefix && self.parts == other.parts
    }

    /// Orders by the numbers, then a prerelease before the release of the same numbers.
    /// Variants and build metadata do not order: two such tags compare equal.
    pub fn precedence(&self, other: &Version) -> Ordering {
        self.numbers
            .cmp(&other.numbers)
            .then_with(|| (!self.is_prerelease()).cmp(&!other.is_prerelease()))
    }
}

/// A suffix (after the first `-`) as a prerelease or a variant; None when it is neither
/// (empty, or characters no tag has).
fn classify(suffix: &str) -> Option<Suffix> {
    if suffix.is_empty() || !suffix.bytes().all(|b| ident_byte(b) || b == b'_') {
        return None;
    }
    let first = suffix.bytes().next()?;
    if first.is_ascii_digit() {
        // `-1`, `-0.3.7`: semver's numeric prerelease identifiers.
        return Some(Suffix::Prerelease(suffix.to_string()));
    }
    let word: String = suffix
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<String>()
        .to_ascii_lowercase();
    let after = &suffix[word.len()..];
    let numbered = after.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-');
    if PRERELEASE_WORDS.contains(&word.as_str()) && numbered {
        Some(Suffix::Prerelease(suffix.to_string()))
    } else if first.is_ascii_alphabetic() {
        Some(Suffix::Variant(suffix.to_string()))
    } else {
        None
    }
}

fn ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(tag: &str) -> Version {
        Version::parse(tag).unwrap_or_else(|| panic!("'{tag}' should be a version"))
    }

    #[test]
    fn one_to_three_parts_with_or_without_v() {
        let full = v("1.5.0");
        assert_eq!((full.numbers, full.parts, full.v_prefix), ([1, 5, 0], 3, false));
        let two = v("v1.5");
        assert_eq!((two.numbers, two.parts, two.v_prefix), ([1, 5, 0], 2, true));
        assert_eq!((v("20240131").numbers, v("2").parts), ([20_240_131, 0, 0], 1));
        assert_eq!(v("1.5").precedence(&v("1.5.0")), Ordering::Equal, "missing parts are 0");
        assert!(!v("1.5").same_shape(&v("1.5.0")) && !v("v1.5.0").same_shape(&v("1.5.0")));
    }

    #[test]
    fn suffixes_are_prereleases_or_variants() {
        for pre in [
            "1.5.0-rc1",
            "1.5.0-rc.1",
            "1.5.0-beta-2",
            "1.5.0-Alpha",
            "1.5.0-1",
            "1.5.0-0.3.7",
        ] {
            assert!(v(pre).is_prerelease(), "{pre}");
        }
        assert_eq!(v("1.5.0-alpine").variant(), Some("alpine"));
        assert_eq!(v("1.25.3-alpine3.19").variant(), Some("alpine3.19"));
        assert_eq!(v("1.5.0-rcx").variant(), Some("rcx"), "not a prerelease word");
        assert_eq!(v("1.5.0-debian-12").variant(), Some("debian-12"));
        assert_eq!(v("1.5.0").suffix, Suffix::None);
    }

    #[test]
    fn prereleases_come_before_their_release_and_build_metadata_is_ignored() {
        assert_eq!(v("1.5.0-rc1").precedence(&v("1.5.0")), Ordering::Less);
        assert_eq!(v("1.5.0-rc1").precedence(&v("1.4.9")), Ordering::Greater);
        assert_eq!(v("1.5.0+b7").precedence(&v("1.5.0")), Ordering::Equal);
        assert_eq!(v("1.5.0+b7").build.as_deref(), Some("b7"));
        assert_eq!(
            v("1.10.0").precedence(&v("1.9.0")),
            Ordering::Greater,
            "numbers, not text"
        );
    }

    #[test]
    fn what_is_not_a_version() {
        for tag in [
            "latest",
            "stable",
            "",
            "v",
            "1.",
            ".1",
            "1..2",
            "1.2.3.4",
            "1.2-",
            "1.2+",
            "sha-3f2a1b",
            "1.2.3-_x",
            "1x",
            "1234567890123456789",
        ] {
            assert_eq!(Version::parse(tag), None, "{tag}");
        }
    }
}
