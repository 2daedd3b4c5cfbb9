//! `Follow=` in a check (docs/policy.md): for a service that follows version tags, the
//! repository's tags are listed and the highest allowed version above the running one is
//! proposed; the check then asks that tag's digest as it asks any. A service whose tags
//! cannot be listed, or with nothing higher, is checked on its own tag as usual.

use super::Journal;
use super::remote::Remotes;
use crate::model::{Follow, TaskSpec};
use crate::policy::follow::propose;
use crate::services::ImageRef;
use std::collections::HashMap;

/// A unit's proposed move: its new tag and the image reference that names it.
pub struct Proposal {
    pub tag: String,
    pub image: ImageRef,
    /// `1.4.2 → 1.5.0 (Follow=semver:minor)`.
    pub sentence: String,
}

/// The proposals for the units of `spec` that follow version tags.
pub fn proposals(remotes: &mut Remotes<'_>, journal: &Journal<'_>, spec: &TaskSpec) -> HashMap<String, Proposal> {
    let mut out = HashMap::new();
    for unit in &spec.units {
        let Some(follow) = spec.follow.get(&unit.unit).and_then(|f| Follow::from_spelling(f)) else {
            continue;
        };
        let Some(running) = unit.image.as_deref().and_then(|i| ImageRef::parse(i).ok()) else {
            continue;
        };
        let tags = match remotes.tags(&running) {
            Ok(t) => t,
            Err((reason, message)) => {
                let line = format!(
                    "Follow={}: the tags could not be listed ({reason}: {message})",
                    follow.spelling()
                );
                journal.warn("follow", Some(&unit.unit), &line);
                continue;
            }
        };
        match propose(&follow, &running.tag, &tags) {
            Ok(Some(tag)) => {
                let sentence = format!("{} → {tag} (Follow={})", running.tag, follow.spelling());
                journal.info(
                    "follow",
                    Some(&unit.unit),
                    &format!("{sentence}, among {} tags", tags.len()),
                );
                let image = ImageRef {
                    tag: tag.clone(),
                    digest: None,
                    ..running
                };
                out.insert(unit.unit.clone(), Proposal { tag, image, sentence });
            }
            Ok(None) => journal.info(
                "follow",
                Some(&unit.unit),
                &format!(
                    "Follow={}: no version above {} among {} tags",
                    follow.spelling(),
                    running.tag,
                    tags.len()
                ),
            ),
            Err(e) => journal.warn(
                "follow",
                Some(&unit.unit),
                &format!("Follow={}: {e} ({})", follow.spelling(), e.kind()),
            ),
        }
    }
    out
}
