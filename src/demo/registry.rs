//! The demo's registries as an update check sees them: the digest each tag points at
//! (the newest release, which the host may not have pulled), and Docker Hub refusing
//! with a rate limit during the demo's first minutes. The check itself
//! (`tasks::check`) runs unchanged; only its `HEAD` is answered here.

use super::world::{HEAD_MS, Kind, RATE_LIMITED_HOST, RATE_LIMITED_REGISTRY, UNITS, World, digest, take};
use std::collections::BTreeMap;

/// What a check's rate-limited `HEAD` says, with the time the limit ends.
pub fn rate_limit_message(until_ms: i64) -> String {
    format!(
        "rate limited until {} by {RATE_LIMITED_HOST}",
        crate::clock::format_utc(until_ms)
    )
}

/// The digest `reference` (`repository:tag`) points at, given each repository's newest
/// release; an error (reason code, message) where the registry would refuse or not know
/// the tag.
pub(super) fn answer(
    releases: &BTreeMap<&'static str, u32>,
    reference: &str,
    now_ms: i64,
    limited_until_ms: i64,
) -> Result<String, (&'static str, String)> {
    let (repo, tag) = reference.rsplit_once(':').unwrap_or((reference, "latest"));
    if repo.split('/').next() == Some(RATE_LIMITED_REGISTRY) && now_ms < limited_until_ms {
        return Err(("rate_limited", rate_limit_message(limited_until_ms)));
    }
    match UNITS.iter().find(|u| u.repo == repo && u.tag == tag) {
        Some(u) if u.kind == Kind::Current => Ok(digest(u.repo, 0)),
        Some(u) => Ok(digest(u.repo, releases.get(u.repo).copied().unwrap_or(0))),
        None => Err(("tag_not_found", format!("{reference}: manifest unknown"))),
    }
}

impl World {
    /// The simulated registry's answer to a check's `HEAD` of `reference` at `now_ms`.
    pub(super) fn registry_answer(&self, reference: &str, now_ms: i64) -> Result<String, (&'static str, String)> {
        take(HEAD_MS);
        answer(&self.lock().releases, reference, now_ms, self.limited_until_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::world::{RATE_LIMIT_MS, RELEASED_AHEAD};

    const NOW_MS: i64 = 1_700_000_000_000;

    fn releases() -> BTreeMap<&'static str, u32> {
        UNITS
            .iter()
            .map(|u| (u.repo, u32::from(u.unit == RELEASED_AHEAD)))
            .collect()
    }

    #[test]
    fn a_tag_points_at_its_newest_release() {
        let mut r = releases();
        assert_eq!(
            answer(&r, "ghcr.io/acme/web:stable", NOW_MS, 0),
            Ok(digest("ghcr.io/acme/web", 0))
        );
        assert_eq!(
            answer(&r, "ghcr.io/acme/api:stable", NOW_MS, 0),
            Ok(digest("ghcr.io/acme/api", 1))
        );
        r.insert("ghcr.io/acme/web", 3);
        assert_eq!(
            answer(&r, "ghcr.io/acme/web:stable", NOW_MS, 0),
            Ok(digest("ghcr.io/acme/web", 3))
        );
    }

    #[test]
    fn a_tag_that_never_moves_stays_on_release_zero() {
        let mut r = releases();
        r.insert("docker.io/library/redis", 5);
        assert_eq!(
            answer(&r, "docker.io/library/redis:7.2", NOW_MS, 0),
            Ok(digest("docker.io/library/redis", 0))
        );
    }

    #[test]
    fn docker_hub_is_rate_limited_until_the_limit_ends_and_says_until_when() {
        let until = NOW_MS + RATE_LIMIT_MS;
        let (reason, e) = answer(&releases(), "docker.io/library/redis:7.2", NOW_MS, until).unwrap_err();
        assert_eq!(reason, "rate_limited");
        assert_eq!(e, rate_limit_message(until));
        assert!(e.starts_with("rate limited until 2023-11-14 "), "{e}");
        assert!(e.ends_with(" UTC by registry-1.docker.io"), "{e}");
        assert!(
            answer(&releases(), "ghcr.io/acme/web:stable", NOW_MS, until).is_ok(),
            "other registries answer"
        );
        assert!(
            answer(&releases(), "docker.io/library/redis:7.2", until, until).is_ok(),
            "the limit ended"
        );
    }

    #[test]
    fn an_unknown_tag_is_not_found() {
        let (reason, e) = answer(&releases(), "ghcr.io/acme/web:beta", NOW_MS, 0).unwrap_err();
        assert_eq!(reason, "tag_not_found");
        assert!(e.contains("manifest unknown"), "{e}");
        assert!(answer(&releases(), "ghcr.io/acme/nothing:stable", NOW_MS, 0).is_err());
    }
}
