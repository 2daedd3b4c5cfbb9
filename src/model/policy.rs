//! A service's update policy (docs/policy.md): what a new image does (`Policy=`), how old
//! it must be (`MinAge=`), when automatic deploys may run (`Window=`), whether the timer job
//! touches the unit (`Timer=`) and which tags it follows (`Follow=`). Pure types; reading
//! them from unit files is `policy`'s concern.

use serde::Serialize;

text_enum! {
    /// What an announced or checked new image does.
    #[derive(Default)]
    pub enum Action ("policy") {
        /// Deploy it (inside the window, once old enough).
        #[default]
        Auto = "auto",
        /// Wait for someone to approve it.
        Approve = "approve",
        /// Only tell (a notification and the Services page).
        Notify = "notify",
        /// Nothing; an admin can still trigger a deploy by hand.
        Manual = "manual",
    }
}

text_enum! {
    /// How far `Follow=semver:<level>` may move from the running version.
    pub enum Level ("semver level") {
        Patch = "patch",
        Minor = "minor",
        Major = "major",
    }
}

/// Which new images count: the tag's new digest, or a higher version tag.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Follow {
    /// The same tag with a new digest (what podman auto-update does).
    #[default]
    Digest,
    /// The highest version above the running one that stays within the level.
    Semver(Level),
    /// The highest version among the tags the expression matches (the whole tag).
    Regex(String),
}

impl Follow {
    /// The spelling in a unit file: `digest`, `semver:minor`, `regex:<re>`.
    pub fn spelling(&self) -> String {
        match self {
            Follow::Digest => "digest".into(),
            Follow::Semver(l) => format!("semver:{l}"),
            Follow::Regex(r) => format!("regex:{r}"),
        }
    }

    /// The value of a `Follow=` spelling as `spelling` writes it; None for anything else
    /// (the policy reader says why).
    pub fn from_spelling(text: &str) -> Option<Follow> {
        match text.split_once(':') {
            None if text == "digest" => Some(Follow::Digest),
            Some(("semver", level)) => Level::parse(level).map(Follow::Semver),
            Some(("regex", re)) if !re.is_empty() => Some(Follow::Regex(re.to_string())),
            _ => None,
        }
    }

    /// Whether the check lists tags (anything but `digest`).
    pub fn lists_tags(&self) -> bool {
        *self != Follow::Digest
    }
}

impl Serialize for Follow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.spelling())
    }
}

/// One span of `Window=`: days of the week and a time of day range. `end_min <= start_min`
/// means the span runs past midnight into the next day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// Bit 0 is Monday, bit 6 Sunday: the days the span starts on.
    pub days: u8,
    /// Minutes after midnight, 0..1440.
    pub start_min: u16,
    pub end_min: u16,
}

/// Every `Window=` of a service (a time is inside when any span holds it), and the zone
/// their times are read in (`TZ=`; None: the host's).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Window {
    pub spans: Vec<Span>,
    pub tz: Option<String>,
    /// As written, for display (`Mon..Fri 02:00-04:00; Sat,Sun 01:00-06:00 TZ=Europe/Berlin`).
    pub text: String,
}

impl Serialize for Window {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// The effective policy of one service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub policy: Action,
    /// `MinAge=` in seconds; 0 when not set.
    pub min_age_secs: u64,
    /// `Window=`; None: any time.
    pub window: Option<Window>,
    /// `Timer=`: whether `podup-auto-update.timer` touches the unit.
    pub timer: bool,
    pub follow: Follow,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            policy: Action::Auto,
            min_age_secs: 0,
            window: None,
            timer: true,
            follow: Follow::Digest,
        }
    }
}

impl Policy {
    /// Whether anything differs from the default (a service without a policy).
    pub fn is_default(&self) -> bool {
        *self == Policy::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_levels_keep_their_spellings() {
        use crate::model::text::assert_spellings;
        assert_spellings(
            &[
                (Action::Auto, "auto"),
                (Action::Approve, "approve"),
                (Action::Notify, "notify"),
                (Action::Manual, "manual"),
            ],
            &Action::ALL,
        );
        assert_spellings(
            &[
                (Level::Patch, "patch"),
                (Level::Minor, "minor"),
                (Level::Major, "major"),
            ],
            &Level::ALL,
        );
        assert_eq!(Follow::Semver(Level::Minor).spelling(), "semver:minor");
        assert_eq!(Follow::Regex("^v?1\\.".into()).spelling(), "regex:^v?1\\.");
        assert!(Policy::default().is_default());
        assert!(!Follow::Digest.lists_tags());
        for f in [
            Follow::Digest,
            Follow::Semver(Level::Patch),
            Follow::Regex("^1\\.[0-9]+$".into()),
        ] {
            assert_eq!(Follow::from_spelling(&f.spelling()), Some(f));
        }
        assert_eq!(Follow::from_spelling("semver:tiny"), None);
    }
}
