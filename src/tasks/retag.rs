//! The deploy's steps for a unit that `Follow=` moves to a new tag (`UnitSpec::retag`):
//! find the file that sets its image (`host::image_dropin`), remember what it said, point
//! it at the new reference and reload the manager before the restart; on rollback, put
//! the file back and reload again before restarting onto the previous image.
//!
//! The old tag is never moved: the new image gets the new tag, so the running
//! reference still names the previous image, and a rollback is the file put back.
//!
//! A worker lost between writing the file and settling the unit: recovery points the
//! file back at the old reference before it repairs the unit as any ([`recover_file`]),
//! so no later restart starts the new tag unverified.

use super::journal::Journal;
use super::lifecycle::UnitOutcome;
use super::steps::note;
use crate::host::Host;
use crate::host::image_dropin::{ImageTarget, Places, image_target};
use crate::model::{Intent, TaskStatus};
use crate::services::ImageRef;
use std::cell::Cell;
use std::sync::OnceLock;

static PLACES: OnceLock<Places> = OnceLock::new();

/// Sets where this process finds units' files (once; later calls change nothing).
pub fn configure(places: Places) {
    let _ = PLACES.set(places);
}

/// This process's places: the configured ones, else none (every unit is refused).
fn places() -> Places {
    PLACES.get().cloned().unwrap_or_default()
}

/// One unit's move to a new tag.
pub struct Retarget {
    places: Places,
    target: ImageTarget,
    /// The reference the unit runs (`ghcr.io/acme/app:1.4.2`).
    pub old_ref: String,
    /// The reference it moves to (`ghcr.io/acme/app:1.5.0`).
    pub new_ref: String,
    /// The file's content before podup wrote it; None: there was none.
    previous: Option<String>,
    /// podup wrote the file (and it has not been put back).
    written: Cell<bool>,
}

impl Retarget {
    /// The move of `unit` from `image` to `new_ref`, or the outcome that refuses it
    /// (`follow_refused`): another repository, or a unit whose image podup may not set.
    pub fn prepare(
        journal: &Journal<'_>,
        unit: &str,
        image: &ImageRef,
        new_ref: &str,
    ) -> Result<Retarget, UnitOutcome> {
        let refuse = |message: String| {
            journal.error("inspect", Some(unit), &message);
            UnitOutcome::new(TaskStatus::Failed, "follow_refused", message)
        };
        let new =
            ImageRef::parse(new_ref).map_err(|e| refuse(format!("the new tag's reference is not usable: {e}")))?;
        if new.repository != image.repository || new.digest.is_some() {
            return Err(refuse(format!(
                "'{new_ref}' is not a tag of '{}', which '{unit}' runs",
                image.repository
            )));
        }
        let places = places();
        let target = image_target(&places, unit).map_err(refuse)?;
        let previous = target.current().map_err(|e| refuse(e.to_string()))?;
        Ok(Retarget {
            places,
            target,
            old_ref: image.to_string(),
            new_ref: new.to_string(),
            previous,
            written: Cell::new(false),
        })
    }

    /// Points the unit's file at the new reference (noted first, as a tag move is) and
    /// reloads the manager when it must; a drop-in that another one overrides is undone.
    pub fn apply(&self, host: &Host, journal: &Journal<'_>, unit: &str) -> Result<(), String> {
        note(journal, unit, Intent::Tag);
        let path = self.target.path().display().to_string();
        let before = match &self.previous {
            Some(text) => format!("it said:\n{text}"),
            None => "it did not exist".into(),
        };
        journal.info(
            "retag",
            Some(unit),
            &format!("pointing '{path}' at {}; {before}", self.new_ref),
        );
        self.written.set(true);
        self.target.point_at(&self.new_ref).map_err(|e| e.to_string())?;
        self.target.takes_effect(&self.places, unit, &self.new_ref)?;
        self.reload(host, journal, unit)
    }

    /// Puts the file back as it was, if podup wrote it, and reloads the manager. Noted
    /// first: `restart` when a restart onto the previous image follows.
    pub fn revert(&self, host: &Host, journal: &Journal<'_>, unit: &str, restart: bool) -> Result<(), String> {
        if !self.written.get() {
            return Ok(());
        }
        note(journal, unit, if restart { Intent::RollBack } else { Intent::Tag });
        self.target
            .restore(self.previous.as_deref())
            .map_err(|e| format!("putting back '{}' failed: {e}", self.target.path().display()))?;
        self.written.set(false);
        journal.info(
            "rollback",
            Some(unit),
            &format!(
                "'{}' is as it was: the unit is on {} again",
                self.target.path().display(),
                self.old_ref
            ),
        );
        self.reload(host, journal, unit)
    }

    fn reload(&self, host: &Host, journal: &Journal<'_>, unit: &str) -> Result<(), String> {
        if !self.target.needs_daemon_reload() {
            return Ok(());
        }
        let reloaded = host.daemon_reload();
        journal.flush(Some(unit), "retag");
        reloaded.map(drop).map_err(|e| e.to_string())
    }

    /// Whether podup wrote the unit's file (and has not put it back yet).
    pub fn wrote(&self) -> bool {
        self.written.get()
    }

    /// `1.4.2 → 1.5.0`: the two tags, for messages.
    pub fn moves(&self) -> String {
        let tag = |r: &str| r.rsplit_once(':').map_or(r.to_string(), |(_, t)| t.to_string());
        format!("{} → {}", tag(&self.old_ref), tag(&self.new_ref))
    }
}

/// For a lost deploy that moved `unit` to a new tag: points the unit's image file at
/// `old_ref` again (and reloads the manager) when it names anything else, so that the
/// repair that follows works on the old reference alone. Ok(false): nothing to do.
pub fn recover_file(host: &Host, journal: &Journal<'_>, unit: &str, old_ref: &str) -> Result<bool, String> {
    let target = image_target(&places(), unit)?;
    let now = target.current().map_err(|e| e.to_string())?;
    let path = target.path().display().to_string();
    let names_old = match &target {
        ImageTarget::QuadletDropin { .. } => {
            now.is_none() || crate::host::image_dropin::dropin_text(old_ref) == now.clone().unwrap_or_default()
        }
        ImageTarget::EnvFile { var, .. } => now
            .as_deref()
            .is_some_and(|t| t.lines().any(|l| l.trim() == format!("{var}={old_ref}"))),
    };
    if names_old {
        return Ok(false);
    }
    note(journal, unit, Intent::Tag);
    target
        .point_at(old_ref)
        .map_err(|e| format!("pointing '{path}' back at {old_ref} failed: {e}"))?;
    journal.info(
        "recover",
        Some(unit),
        &format!("the lost task had moved '{path}' to a new tag: it names {old_ref} again"),
    );
    if target.needs_daemon_reload() {
        let reloaded = host.daemon_reload();
        journal.flush(Some(unit), "recover");
        reloaded.map_err(|e| e.to_string())?;
    }
    Ok(true)
}
