//! Before a deploy of several units pulls anything: which of them already run their
//! tag's image. For the units whose spec names no digest (and that move to no new
//! tag), the registries are asked for each distinct tag's digest with one `HEAD`
//! (`check::remote`, fresh: never the cache) while two podman calls list what every
//! unit runs (`check::running`). A unit that runs that digest is done
//! (`already_current`) without a pull or a restart; one that runs something else is
//! deployed by that digest (one pull); one whose check failed is pulled by its tag, as
//! before, and the log says why.

use super::check::remote::{Found, Remotes};
use super::journal::Journal;
use super::lifecycle::UnitOutcome;
use super::worker::image_of;
use crate::clock::now_ms;
use crate::host::Host;
use crate::model::{TaskStatus, UnitSpec};
use crate::services::ImageRef;
use crate::store::tasks::UnitUpdate;

/// What the check found for one unit.
pub enum Before {
    /// It runs its tag's digest already: its outcome.
    Current(UnitOutcome),
    /// Its registry has this digest for the tag: deploy by it.
    Digest(String),
    /// Not checked (pinned, moving to a new tag, no image) or the check failed.
    Pull,
}

/// The check of `units`, in their order.
pub fn check(journal: &Journal<'_>, host: &Host, units: &[UnitSpec]) -> Vec<Before> {
    let images: Vec<Option<ImageRef>> = units
        .iter()
        .map(|u| {
            if u.digest.is_some() || u.retag.is_some() {
                return None;
            }
            image_of(host, journal, u).ok().filter(|i| i.digest.is_none())
        })
        .collect();
    let asked: Vec<ImageRef> = images.iter().flatten().cloned().collect();
    if asked.is_empty() {
        return units.iter().map(|_| Before::Pull).collect();
    }
    let conn = journal.conn;
    let mut remotes = Remotes::new(conn, host, &super::check::settings(), true, now_ms());
    for w in remotes.warnings() {
        journal.warn("check", None, &w);
    }
    let running = remotes.find_all(conn, &asked, || super::check::running(host));
    journal.flush(None, "check");
    if asked.iter().any(|i| matches!(remotes.found(i), Some(Found::Digest(_)))) {
        let m = format!("before pulling, registry requests: {}", remotes.summary());
        journal.info("check", None, &m);
    }
    let _ = remotes.save(conn);
    let running = match running {
        Ok(r) => r,
        Err(e) => {
            let m = format!("cannot tell what the units run ({e}): every unit is pulled by its tag");
            journal.warn("check", None, &m);
            return units.iter().map(|_| Before::Pull).collect();
        }
    };
    units
        .iter()
        .zip(images)
        .map(|(u, image)| {
            let Some(image) = image else { return Before::Pull };
            let unit = u.unit.as_str();
            let digest = match remotes.found(&image) {
                Some(Found::Digest(got)) => got.digest,
                Some(Found::Miss { message, .. }) => {
                    let m = format!("the registry could not say the digest of {image} ({message}): pulling by tag");
                    journal.warn("check", Some(unit), &m);
                    return Before::Pull;
                }
                None => return Before::Pull,
            };
            let runs = running.get(unit).map(|(_, d)| d.as_slice()).unwrap_or_default();
            if runs.contains(&digest) {
                let m = format!("already runs {digest}");
                journal.info("check", Some(unit), &format!("{m}: no pull, no restart"));
                let row = UnitUpdate {
                    image: Some(&image.to_string()),
                    from_digest: Some(&digest),
                    to_digest: Some(&digest),
                    ..Default::default()
                };
                journal.update(unit, &row);
                Before::Current(UnitOutcome::new(TaskStatus::Succeeded, "already_current", m))
            } else {
                let m = format!("the registry has {digest} for {image}: deploying by that digest");
                journal.info("check", Some(unit), &m);
                Before::Digest(digest)
            }
        })
        .collect()
}
