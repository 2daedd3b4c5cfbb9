//! `Follow=` (docs/policy.md): which tag a unit moves to. `digest` keeps the tag and
//! follows its digest, which is the update check's ordinary business; `semver:<level>` and
//! `regex:<re>` pick a new tag from the repository's tag list, here, purely: the
//! registry's listing is `registry::client`'s, moving the unit is the deploy's.

mod version;

use crate::model::{Follow, Level};
use std::cmp::Ordering;
use std::fmt;
pub use version::Version;

/// The longest compiled expression accepted from a unit file, in bytes of the regex
/// engine's program: plenty for any tag pattern, small enough that a typo cannot make a
/// check slow.
const MAX_REGEX_BYTES: usize = 64 * 1024;

/// Why no tag can be proposed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowError {
    /// `Follow=semver:*` on a unit whose tag is not a version (`latest`).
    NotAVersion { tag: String, follow: String },
    /// `Follow=regex:` with an expression the regex engine refuses.
    BadRegex { expression: String, message: String },
}

impl FollowError {
    /// A stable tag for the event log and journal fields.
    pub fn kind(&self) -> &'static str {
        match self {
            FollowError::NotAVersion { .. } => "not_a_version",
            FollowError::BadRegex { .. } => "bad_regex",
        }
    }
}

impl fmt::Display for FollowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FollowError::NotAVersion { tag, follow } => write!(
                f,
                "'{tag}' is not a version; Follow={follow} needs a version tag such as 1.4.2"
            ),
            FollowError::BadRegex { expression, message } => {
                write!(f, "Follow=regex:{expression} is not a usable expression: {message}")
            }
        }
    }
}

impl std::error::Error for FollowError {}

/// The tag among `tags` that a unit running `running_tag` should move to under `follow`,
/// or None when nothing is newer. `Follow=digest` never moves the tag: always None.
///
/// `semver:<level>` takes the highest version above the running one that keeps its
/// major and minor (`patch`), its major (`minor`), or anything (`major`), among tags
/// written the same way as the running one: the same `v` prefix, the same number of
/// parts and the same variant (`-alpine`). So a unit on `1.4.2` is never moved to the
/// floating aliases `1.5` or `2` that repositories publish beside `1.5.0`, nor from
/// `1.4.2-alpine` to a Debian build. A running tag that is not a version is an error.
///
/// `regex:<re>` takes the tags the expression matches as a whole (it is anchored at
/// both ends), and of those that are versions, the highest above the running one; tags
/// written like the running one are preferred when there are any, else any shape goes.
/// When the running tag is not a version (`latest`), the highest match is proposed.
///
/// Prereleases (`-rc1`, `-beta.2`) are never proposed, under either rule, even to a unit
/// that runs one: a unit on `1.5.0-rc1` is moved to `1.5.0` once it exists. Tags of equal
/// precedence (`1.5.0` and `1.5.0+b2`) are decided by the one without build metadata,
/// then the lexically smallest, so that the answer does not depend on the registry's order.
pub fn propose(follow: &Follow, running_tag: &str, tags: &[String]) -> Result<Option<String>, FollowError> {
    let running = Version::parse(running_tag);
    match follow {
        Follow::Digest => Ok(None),
        Follow::Semver(level) => {
            let Some(running) = running else {
                return Err(FollowError::NotAVersion {
                    tag: running_tag.to_string(),
                    follow: follow.spelling(),
                });
            };
            let within = |c: &Version| match level {
                Level::Patch => c.numbers[..2] == running.numbers[..2],
                Level::Minor => c.numbers[0] == running.numbers[0],
                Level::Major => true,
            };
            let candidates = releases(tags, |_| true)
                .filter(|(_, c)| c.same_shape(&running) && c.variant() == running.variant())
                .filter(|(_, c)| within(c) && c.precedence(&running) == Ordering::Greater);
            Ok(highest(candidates))
        }
        Follow::Regex(expression) => {
            let re = anchored(expression)?;
            let matching: Vec<(&String, Version)> = releases(tags, |t| re.is_match(t)).collect();
            let Some(running) = running else {
                return Ok(highest(matching.into_iter()));
            };
            let above: Vec<(&String, Version)> = matching
                .into_iter()
                .filter(|(_, c)| c.precedence(&running) == Ordering::Greater)
                .collect();
            let same_shape = above.iter().any(|(_, c)| c.same_shape(&running));
            Ok(highest(
                above.into_iter().filter(|(_, c)| !same_shape || c.same_shape(&running)),
            ))
        }
    }
}

/// `expression` compiled to match a whole tag.
fn anchored(expression: &str) -> Result<regex::Regex, FollowError> {
    regex::RegexBuilder::new(&format!("^(?:{expression})$"))
        .size_limit(MAX_REGEX_BYTES)
        .build()
        .map_err(|e| FollowError::BadRegex {
            expression: expression.to_string(),
            message: e.to_string().lines().last().unwrap_or("").trim().to_string(),
        })
}

/// The tags that `keep` keeps and that are versions other than prereleases.
fn releases<'a>(
    tags: &'a [String],
    keep: impl Fn(&str) -> bool + 'a,
) -> impl Iterator<Item = (&'a String, Version)> + 'a {
    tags.iter()
        .filter(move |t| keep(t))
        .filter_map(|t| Version::parse(t).map(|v| (t, v)))
        .filter(|(_, v)| !v.is_prerelease())
}

/// The highest candidate's tag; ties as [`propose`] says.
fn highest<'a>(candidates: impl Iterator<Item = (&'a String, Version)>) -> Option<String> {
    candidates
        .max_by(|(ta, a), (tb, b)| {
            a.precedence(b)
                .then_with(|| b.build.is_some().cmp(&a.build.is_some()))
                .then_with(|| tb.cmp(ta))
        })
        .map(|(t, _)| t.clone())
}

#[cfg(test)]
mod tests;
