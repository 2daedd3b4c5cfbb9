//! One unit's verified deploy: record what runs, pull the target (by digest when
//! known) and point the unit's tag at it, restart, verify that the unit stays
//! active on the target, and roll back to the previous image when it does not.
//! Each change is noted on the unit's row before it is made (`steps::note`), so a
//! worker lost at any point leaves what recovery needs; a stop request at any point
//! after the tag moved rolls back before the task ends `cancelled`. A unit that
//! `Follow=` moves to a new tag (`retag`) gets the new tag on the pulled image and its
//! image file pointed at it before the restart, and back on rollback (`retag`).

use super::journal::Journal;
use super::lifecycle::UnitOutcome;
use super::pause::{self, Point};
use super::pulls::{Pulls, Source};
use super::retag::Retarget;
use super::steps::note;
use super::undo::{cleanup, undo};
use super::verify::{OnStop, verify};
use crate::host::{Host, HostError};
use crate::model::{Intent, TaskStatus, UnitSpec, UnitStatus};
use crate::services::ImageRef;
use crate::store::tasks::UnitUpdate;

/// What the unit ran before the deploy.
pub(super) struct Before {
    pub(super) image_id: String,
    /// Its digest, or its id when podman knows no digest.
    pub(super) name: String,
}

/// How a deploy runs beside the others of its task (`tasks::parallel`).
pub struct Ctx<'a> {
    /// The task's pulls, shared and bounded.
    pub pulls: &'a Pulls,
    /// When the restart may happen, and who to tell once it did; None: at once.
    pub order: Option<&'a (dyn Order + Sync)>,
    /// Leave the previous image for the caller to remove once every deploy of the task
    /// ended ([`Succeeded::cleanup`]): another unit's rollback may still need it.
    pub keep_previous: bool,
}

/// The restart order of a parallel deploy.
pub trait Order {
    /// Returns once the unit may restart (the units it comes after restarted or ended).
    fn before_restart(&self, journal: &Journal<'_>, unit: &str);
    /// The unit's restart job completed: units after it may restart.
    fn restarted(&self, unit: &str);
    /// Restarts the unit with the rest of its group, in one job (`None`: it has no group,
    /// and restarts alone).
    fn restart_with_group(&self, host: &Host, journal: &Journal<'_>, unit: &str) -> Option<Result<(), HostError>>;
}

/// How a deploy ended, with what its group needs to undo a success.
pub struct Deployed {
    pub outcome: UnitOutcome,
    /// The unit was restarted onto the new image (whatever happened next).
    pub restarted: bool,
    /// A verified success that restarted the unit: how to put it back.
    pub succeeded: Option<Succeeded>,
}

/// A unit verified on its new image, which its group may still roll back.
pub struct Succeeded {
    run_ref: String,
    retarget: Option<Retarget>,
    before: Option<Before>,
    new_id: String,
    verify_secs: u64,
}

impl Succeeded {
    /// Puts the unit back on its previous image because `why` (another member failed).
    pub fn roll_back(&self, host: &Host, journal: &Journal<'_>, unit: &str, why: &str) -> UnitOutcome {
        undo(
            host,
            journal,
            unit,
            &self.run_ref,
            self.retarget.as_ref(),
            &self.before,
            true,
            self.verify_secs,
            "group_rolled_back",
            why,
        )
    }

    /// Removes the previous image when no container uses it (`keep_previous`).
    pub fn cleanup(&self, host: &Host, journal: &Journal<'_>, unit: &str) {
        cleanup(
            host,
            journal,
            unit,
            self.before.as_ref().map(|b| b.image_id.as_str()),
            &self.new_id,
        );
    }
}

/// Deploys `spec` (with its image resolved) to its unit, alone.
pub fn deploy(host: &Host, journal: &Journal<'_>, spec: &UnitSpec, image: &ImageRef, verify_secs: u64) -> UnitOutcome {
    let pulls = Pulls::new(1);
    let ctx = Ctx {
        pulls: &pulls,
        order: None,
        keep_previous: false,
    };
    deploy_in(&ctx, host, journal, spec, image, verify_secs).outcome
}

/// Deploys `spec` (with its image resolved) to its unit, as one of its task's deploys.
pub fn deploy_in(
    ctx: &Ctx<'_>,
    host: &Host,
    journal: &Journal<'_>,
    spec: &UnitSpec,
    image: &ImageRef,
    verify_secs: u64,
) -> Deployed {
    let mut restarted = false;
    let mut succeeded = None;
    let outcome = run(
        ctx,
        host,
        journal,
        spec,
        image,
        verify_secs,
        &mut restarted,
        &mut succeeded,
    );
    Deployed {
        outcome,
        restarted,
        succeeded,
    }
}

#[allow(clippy::too_many_arguments)]
fn run(
    ctx: &Ctx<'_>,
    host: &Host,
    journal: &Journal<'_>,
    spec: &UnitSpec,
    image: &ImageRef,
    verify_secs: u64,
    restarted_onto: &mut bool,
    succeeded: &mut Option<Succeeded>,
) -> UnitOutcome {
    let unit = spec.unit.as_str();
    journal.unit_phase(unit, "inspect", UnitStatus::Running);
    // 0. A unit that moves to a new tag: where its image is set, refused before anything runs.
    let retarget = match &spec.retag {
        Some(new_ref) => match Retarget::prepare(journal, unit, image, new_ref) {
            Ok(r) => Some(r),
            Err(refused) => return refused,
        },
        None => None,
    };
    let owned_retarget = retarget;
    let retarget = owned_retarget.as_ref();
    // 1. What runs now.
    let current = match host.unit_containers(unit) {
        Ok(list) => list.into_iter().find(|c| c.state == "running"),
        Err(e) => return journal.fail_step(unit, "inspect", e, TaskStatus::Failed, "inspect_failed"),
    };
    journal.flush(Some(unit), "inspect");
    let previous = match &current {
        Some(c) => match host.container_image(&c.id) {
            Ok(img) => Some(img),
            Err(e) => return journal.fail_step(unit, "inspect", e, TaskStatus::Failed, "inspect_failed"),
        },
        None => None,
    };
    journal.flush(Some(unit), "inspect");
    let from_digest = previous
        .as_ref()
        .map(|p| p.image_digest.clone())
        .filter(|d| !d.is_empty());
    // `run_ref` is the tag the unit runs, which recovery and a rollback point back at the
    // previous image; `tag_ref` the one the pulled image gets: the same, except that with
    // `retag` it is the new tag, and the old one is never moved.
    let run_ref = image.to_string();
    let tag_ref = retarget.map_or_else(|| run_ref.clone(), |r| r.new_ref.clone());
    journal.update(
        unit,
        &UnitUpdate {
            from_digest: from_digest.as_deref(),
            image: Some(&run_ref),
            prev_image: previous.as_ref().map(|p| p.image_id.as_str()),
            ..Default::default()
        },
    );
    let before = previous.as_ref().map(|p| Before {
        image_id: p.image_id.clone(),
        name: from_digest.clone().unwrap_or_else(|| p.image_id.clone()),
    });
    // Puts the unit back as it was (`undo`), from wherever the deploy stops.
    let back = |restarted: bool, reason: &'static str, why: &str| {
        undo(
            host,
            journal,
            unit,
            &run_ref,
            retarget,
            &before,
            restarted,
            verify_secs,
            reason,
            why,
        )
    };
    match &before {
        Some(b) => journal.info(
            "inspect",
            Some(unit),
            &format!("runs image '{}' ({})", b.image_id, b.name),
        ),
        None => journal.warn(
            "inspect",
            Some(unit),
            "no running container for this unit: there is nothing to roll back to",
        ),
    }
    if journal.stop_requested() {
        return cancelled(&before, "nothing was changed");
    }

    // 2. Pull the target and point the unit's tag at it. A pull by tag moves the tag
    // itself, so its note comes first.
    journal.unit_phase(unit, "pull", UnitStatus::Running);
    let pull = |reference: &str| {
        let (result, source) = ctx.pulls.pull(host, reference);
        if source == Source::Shared && result.is_ok() {
            journal.info(
                "pull",
                Some(unit),
                &format!("{reference} was pulled once for the task's units that run it"),
            );
        }
        result
    };
    let pulled = match &spec.digest {
        Some(d) => pull(&format!("{}@{d}", image.repository)).map(|id| (id, d.clone())),
        None => {
            note(journal, unit, Intent::Tag);
            pull(&tag_ref).and_then(|id| host.image_digest(&id).map(|d| (id, d)))
        }
    };
    journal.flush(Some(unit), "pull");
    let (new_id, target_digest) = match pulled {
        Ok(p) => p,
        Err(e) => return journal.fail_step(unit, "pull", e, TaskStatus::Failed, "pull_failed"),
    };
    journal.update(
        unit,
        &UnitUpdate {
            to_digest: Some(&target_digest),
            target_image: Some(&new_id),
            ..Default::default()
        },
    );
    if spec.digest.is_some() {
        pause::at(journal, Point::Pulled);
        if journal.stop_requested() {
            return cancelled(&before, "the tag was not moved");
        }
        note(journal, unit, Intent::Tag);
        let tagged = host.tag(&new_id, &tag_ref);
        journal.flush(Some(unit), "pull");
        if let Err(e) = tagged {
            // The tag may or may not have moved: put it back, as a stop would.
            journal.error("pull", Some(unit), &e.to_string());
            return back(false, "tag_failed", &e.to_string());
        }
    }
    if before.as_ref().is_some_and(|b| b.image_id == new_id) {
        let mut m = format!("already runs {target_digest}");
        if let Some(r) = retarget {
            // The same image under the new tag: only the unit's file moves.
            if let Err(why) = r.apply(host, journal, unit) {
                journal.error("retag", Some(unit), &why);
                let back = r.revert(host, journal, unit, false).err();
                let m = format!("{why}{}", back.map(|b| format!("; then {b}")).unwrap_or_default());
                return UnitOutcome::new(TaskStatus::Failed, "retag_failed", m);
            }
            m = format!("moved {}; {m}", r.moves());
        }
        journal.info("pull", Some(unit), &m);
        return UnitOutcome::new(TaskStatus::Succeeded, "already_current", m);
    }
    pause::at(journal, Point::Tagged);
    if journal.stop_requested() {
        return back(false, "stopped", "stopped on request");
    }

    if let Some(r) = retarget {
        if let Err(why) = r.apply(host, journal, unit) {
            journal.error("retag", Some(unit), &why);
            return back(false, "retag_failed", &why);
        }
    }

    // 3 + 4. Restart and verify, once the units this one comes after have restarted.
    if let Some(order) = ctx.order {
        order.before_restart(journal, unit);
    }
    note(journal, unit, Intent::Restart);
    pause::at(journal, Point::Restarting);
    if journal.stop_requested() {
        return back(false, "stopped", "stopped on request");
    }
    journal.unit_phase(unit, "restart", UnitStatus::Running);
    let joint = ctx.order.and_then(|o| o.restart_with_group(host, journal, unit));
    let restarted = joint.unwrap_or_else(|| host.restart(unit).map(|_| ()));
    *restarted_onto = true;
    journal.flush(Some(unit), "restart");
    if let (Some(order), Ok(_)) = (ctx.order, &restarted) {
        order.restarted(unit);
    }
    let verdict = match restarted {
        Ok(_) => {
            journal.unit_phase(unit, "verify", UnitStatus::Running);
            pause::at(journal, Point::Verifying);
            verify(host, journal, unit, Some(&new_id), verify_secs, OnStop::End)
        }
        Err(e) => Err(format!("the restart failed: {e}")),
    };
    journal.flush(Some(unit), "verify");
    if journal.stop_requested() {
        return back(true, "stopped", "stopped on request");
    }
    let why = match verdict {
        Ok(()) => {
            journal.info(
                "verify",
                Some(unit),
                &format!("active for {verify_secs} s on {target_digest}"),
            );
            if !ctx.keep_previous {
                cleanup(
                    host,
                    journal,
                    unit,
                    before.as_ref().map(|b| b.image_id.as_str()),
                    &new_id,
                );
            }
            let moved = retarget.map(|r| format!("moved {}; ", r.moves())).unwrap_or_default();
            *succeeded = Some(Succeeded {
                run_ref,
                retarget: owned_retarget,
                before,
                new_id,
                verify_secs,
            });
            return UnitOutcome::new(TaskStatus::Succeeded, "ok", format!("{moved}runs {target_digest}"));
        }
        Err(why) => why,
    };
    journal.error("verify", Some(unit), &why);

    // 5. Roll back.
    back(true, "verify_failed", &why)
}

/// The stop outcome when nothing needed undoing: the previous image still runs.
fn cancelled(before: &Option<Before>, what: &str) -> UnitOutcome {
    let runs = match before {
        Some(b) => format!("{} still runs", b.name),
        None => "no container ran before and none was started".into(),
    };
    UnitOutcome::new(
        TaskStatus::Cancelled,
        "stopped",
        format!("stopped on request; {what}: {runs}"),
    )
}
