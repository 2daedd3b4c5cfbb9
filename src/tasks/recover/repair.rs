//! One unit's repair: what runs and what the tag says, against what the lost worker
//! noted, decide whether to re-tag, verify or roll back (docs/tasks.md, "Recovery").

use crate::host::Host;
use crate::model::{Intent, TaskStatus, UnitStatus};
use crate::store::tasks::Unsettled;
use crate::tasks::journal::Journal;
use crate::tasks::lifecycle::UnitOutcome;
use crate::tasks::steps::{diagnose, note, roll_back};
use crate::tasks::verify::{OnStop, verify};

/// Repairs one unit row: reads what runs and what the tag says, then re-tags, verifies
/// or rolls back (docs/tasks.md, "Recovery rules").
pub(super) fn repair(
    host: &Host,
    journal: &Journal<'_>,
    row: &Unsettled,
    verify_secs: u64,
    at_boot: bool,
) -> UnitOutcome {
    let unit = row.unit.as_str();
    let Some(tag) = row.image.as_deref() else {
        let m = "the lost task did not record the unit's tag: nothing can be repaired";
        journal.error("recover", Some(unit), m);
        return UnitOutcome::new(TaskStatus::Failed, "no_image", m);
    };
    let running = host.unit_containers(unit);
    journal.flush(Some(unit), "recover");
    let runs = match running {
        Ok(list) => list.into_iter().find(|c| c.state == "running").map(|c| c.image_id),
        Err(e) => return journal.fail_step(unit, "recover", e, TaskStatus::Failed, "inspect_failed"),
    };
    let tagged = host.image_id(tag);
    journal.flush(Some(unit), "recover");
    let prev = row.prev_image.as_deref();
    let target = row.target_image.as_deref();
    let name = |id: Option<&str>| -> String {
        match id {
            None => "nothing".into(),
            Some(i) if Some(i) == prev => format!("the previous image {}", short(i)),
            Some(i) if Some(i) == target => format!("the lost task's target {}", short(i)),
            Some(i) => format!("image {}", short(i)),
        }
    };
    let restarted = row.intent.may_have_restarted();
    journal.info(
        "recover",
        Some(unit),
        &format!(
            "task {} was lost about to {}; the unit runs {}, its tag {tag} points at {}",
            row.task_id,
            match row.intent {
                Intent::Tag => "move the tag",
                Intent::Restart => "restart onto the target or verify it",
                _ => "roll back",
            },
            name(runs.as_deref()),
            match &tagged {
                Ok(id) => name(Some(id)),
                Err(e) => format!("nothing podman could read ({e})"),
            },
        ),
    );
    match (runs.as_deref(), prev) {
        // The previous image runs: point the tag back at it; verify it when it was restarted.
        (Some(c), Some(p)) if c == p => {
            journal.unit_phase(unit, "rollback", UnitStatus::Running);
            let verdict = if tagged.as_deref().ok() == Some(p) && !restarted {
                Ok(())
            } else {
                roll_back_tag_only(host, journal, unit, tag, p).and_then(|()| {
                    if restarted {
                        verify(host, journal, unit, Some(p), verify_secs, OnStop::Finish)
                    } else {
                        Ok(())
                    }
                })
            };
            settle(host, journal, unit, verdict, || {
                format!("the previous image {} runs, and the tag points at it", short(p))
            })
        }
        // Something else runs (the target, most often): verify it, keep it when it holds,
        // else roll back.
        (Some(c), _) => {
            journal.unit_phase(unit, "verify", UnitStatus::Running);
            let retagged = if tagged.as_deref().ok() == Some(c) {
                Ok(())
            } else {
                note(journal, unit, Intent::Tag);
                let r = host.tag(c, tag).map_err(|e| e.to_string());
                journal.flush(Some(unit), "recover");
                r
            };
            note(journal, unit, Intent::Restart);
            let verdict = retagged.and_then(|()| verify(host, journal, unit, Some(c), verify_secs, OnStop::Finish));
            match verdict {
                Ok(()) => UnitOutcome::new(
                    TaskStatus::Succeeded,
                    "ok",
                    format!("verified {} that runs, and the tag points at it", name(Some(c))),
                ),
                Err(why) => back_to_previous(host, journal, unit, tag, prev, verify_secs, &why),
            }
        }
        // Nothing runs: the previous image goes back on the tag; it is started again
        // when the lost task may have stopped it by restarting, or when the unit failed
        // since (an operator's restart or `Restart=` ran the moved tag, and it died).
        (None, Some(p)) => {
            journal.unit_phase(unit, "rollback", UnitStatus::Running);
            if !at_boot {
                let failed = match host.unit_state(unit) {
                    Ok(s) if s.active_state != "inactive" => Some(format!("{}/{}", s.active_state, s.result)),
                    _ => None,
                };
                journal.flush(Some(unit), "recover");
                let why = match (restarted, failed) {
                    (true, _) => Some("nothing runs after the lost task restarted the unit".to_string()),
                    (false, Some(state)) => Some(format!(
                        "nothing runs: the unit was started on the moved tag since the lost task and is {state}"
                    )),
                    (false, None) => None,
                };
                if let Some(why) = why {
                    return back_to_previous(host, journal, unit, tag, prev, verify_secs, &why);
                }
            }
            let verdict = roll_back_tag_only(host, journal, unit, tag, p);
            settle(host, journal, unit, verdict, || {
                if at_boot {
                    format!(
                        "the tag points at the previous image {} again; the unit starts on it as the host boots",
                        short(p)
                    )
                } else {
                    format!(
                        "the tag points at the previous image {} again; the unit is not running, as before the lost task",
                        short(p)
                    )
                }
            })
        }
        (None, None) => UnitOutcome::new(
            TaskStatus::Failed,
            "nothing_to_roll_back_to",
            "nothing runs and nothing ran before the lost task: left as it is",
        ),
    }
}

/// Points the tag at `previous` (no restart).
fn roll_back_tag_only(host: &Host, journal: &Journal<'_>, unit: &str, tag: &str, previous: &str) -> Result<(), String> {
    roll_back(host, journal, unit, tag, previous, false, 0)
}

/// Rolls back to `prev` (re-tag, restart, verify) after `why`.
fn back_to_previous(
    host: &Host,
    journal: &Journal<'_>,
    unit: &str,
    tag: &str,
    prev: Option<&str>,
    verify_secs: u64,
    why: &str,
) -> UnitOutcome {
    journal.error("recover", Some(unit), why);
    let Some(p) = prev else {
        diagnose(host, journal, unit);
        return UnitOutcome::new(
            TaskStatus::Failed,
            "verify_failed",
            format!("{why}; no previous image to roll back to"),
        );
    };
    journal.unit_phase(unit, "rollback", UnitStatus::Running);
    match roll_back(host, journal, unit, tag, p, true, verify_secs) {
        Ok(()) => UnitOutcome::new(
            TaskStatus::RolledBack,
            "verify_failed",
            format!("{why}; rolled back to the previous image {}, which runs", short(p)),
        ),
        Err(back) => {
            diagnose(host, journal, unit);
            UnitOutcome::new(
                TaskStatus::Failed,
                "rollback_failed",
                format!("{why}; then the rollback failed too: {back}"),
            )
        }
    }
}

fn settle(
    host: &Host,
    journal: &Journal<'_>,
    unit: &str,
    verdict: Result<(), String>,
    ok: impl FnOnce() -> String,
) -> UnitOutcome {
    match verdict {
        Ok(()) => UnitOutcome::new(TaskStatus::Succeeded, "ok", ok()),
        Err(why) => {
            diagnose(host, journal, unit);
            UnitOutcome::new(TaskStatus::Failed, "rollback_failed", why)
        }
    }
}

/// An image id as people read it: its first 12 hex digits.
fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}
