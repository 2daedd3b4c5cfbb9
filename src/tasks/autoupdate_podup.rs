//! The `auto-update` task with `PODUP_AUTO_UPDATE_ENGINE=podup` (docs/tasks.md): podup
//! finds the labelled units itself (`labelled`, one podman call), checks each image once
//! (`registry`: the tag's digest from its registry, one `HEAD` per image as the update
//! check asks, against the digests of the image the container runs; `local`: the image
//! the tag names in local storage against the one the container runs), and updates the
//! units with a new image through the deploy path, each with podup's verification and
//! rollback. Nothing is pulled to find out.

use super::check::remote::{Found, Remotes};
use super::journal::Journal;
use super::labelled::{self, Labelled, Policy};
use super::lifecycle::{UnitOutcome, finish};
use super::steps::{diagnose, note, roll_back};
use super::verify::{OnStop, verify};
use super::worker::{self, Turn};
use crate::clock::now_ms;
use crate::host::Host;
use crate::model::{Intent, TaskSpec, TaskStatus, UnitSpec, UnitStatus};
use crate::services::ImageRef;
use crate::store::tasks::{self, Task, UnitUpdate};
use rusqlite::Connection;
use std::collections::HashMap;

/// What the check found for one unit.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    Current,
    /// A new image: by digest from the registry, or a local image id.
    New(Update),
    /// The check could not tell; the reason code and sentence.
    Unknown(&'static str, String),
}

#[derive(Debug, Clone, PartialEq)]
enum Update {
    Registry {
        image: String,
        digest: String,
    },
    Local {
        image: String,
        from_id: String,
        to_id: String,
    },
}

pub fn run_task(conn: &mut Connection, host: &Host, task: &Task, spec: &TaskSpec) -> rusqlite::Result<TaskStatus> {
    let message = "finding the units labelled io.containers.autoupdate";
    tasks::transition(conn, task.id, TaskStatus::Running, "running", message, now_ms())?;
    let journal = Journal {
        conn,
        host,
        task_id: task.id,
    };
    let listed = host.labelled_all();
    journal.flush(None, "auto-update");
    let containers = match listed {
        Ok(c) => c,
        Err(e) => {
            let m = format!("could not list the labelled containers: {e}");
            journal.error("auto-update", None, &m);
            finish(conn, task.id, TaskStatus::Failed, "auto_update_failed", &m);
            return Ok(TaskStatus::Failed);
        }
    };
    let found = labelled::units(&containers);
    for line in &found.left_out {
        journal.info("auto-update", None, line);
    }
    if found.units.is_empty() {
        journal.info(
            "auto-update",
            None,
            "no running container is labelled io.containers.autoupdate: nothing to do",
        );
    }
    for u in &found.units {
        tasks::add_unit(conn, task.id, &u.unit, u.runs.first().map(|r| r.image.as_str()))?;
    }
    let verdicts = check(conn, host, task.id, &found.units);
    let mut finals: Vec<(String, UnitStatus)> = Vec::new();
    let mut updates: Vec<(String, Update)> = Vec::new();
    for (unit, verdict) in &verdicts {
        let journal = Journal {
            conn,
            host,
            task_id: task.id,
        };
        let (status, message, to_digest) = match verdict {
            Verdict::Current => (UnitStatus::Unchanged, "runs the newest image".to_string(), None),
            Verdict::Unknown(_, why) => {
                journal.warn("check", Some(unit), why);
                (UnitStatus::Unknown, why.clone(), None)
            }
            Verdict::New(update) if spec.dry_run => {
                let (what, digest) = describe(update);
                (UnitStatus::Available, what, digest)
            }
            Verdict::New(update) => {
                updates.push((unit.clone(), update.clone()));
                continue;
            }
        };
        journal.info("check", Some(unit), &format!("{status}: {message}"));
        journal.update(
            unit,
            &UnitUpdate {
                status: Some(status),
                phase: Some("done"),
                message: Some(&message),
                to_digest: to_digest.as_deref(),
                ..Default::default()
            },
        );
        finals.push((unit.clone(), status));
    }
    for (unit, outcome) in update(conn, host, task, &updates, spec.verify_secs)? {
        finals.push((unit, outcome.status.into()));
    }
    let statuses: Vec<UnitStatus> = finals.iter().map(|(_, s)| *s).collect();
    let (status, reason) = overall(&statuses);
    let summary = super::autoupdate::summarize(&statuses, None);
    finish(conn, task.id, status, reason, &summary);
    Ok(status)
}

/// What a dry run says of an update, and the digest it would deploy.
fn describe(update: &Update) -> (String, Option<String>) {
    match update {
        Update::Registry { digest, .. } => (
            format!("the registry has {} for this tag", super::check::short(digest)),
            Some(digest.clone()),
        ),
        Update::Local { to_id, .. } => (format!("the tag names local image {}", short_id(to_id)), None),
    }
}

fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// The verdict of every unit, in their order: registries are asked (fresh: one request
/// per image, whatever the cache holds) while podman lists the local images' digests.
fn check(conn: &Connection, host: &Host, task_id: i64, units: &[Labelled]) -> Vec<(String, Verdict)> {
    let journal = Journal { conn, host, task_id };
    let mut remotes = Remotes::new(conn, host, &super::check::settings(), true, now_ms());
    for w in remotes.warnings() {
        journal.warn("check", None, &w);
    }
    let registry_images: Vec<ImageRef> = units
        .iter()
        .flat_map(|u| &u.runs)
        .filter(|r| r.policy == Ok(Policy::Registry))
        .filter_map(|r| ImageRef::parse(&r.image).ok())
        .collect();
    let local_digests = if registry_images.is_empty() {
        Ok(HashMap::new())
    } else {
        remotes.find_all(conn, &registry_images, || {
            host.image_digests()
                .map(|all| all.into_iter().map(|i| (i.id.clone(), i.digests())).collect())
        })
    };
    journal.flush(None, "podman");
    if !registry_images.is_empty() {
        journal.info("check", None, &format!("registry requests: {}", remotes.summary()));
    }
    let _ = remotes.save(conn);
    // The id each `local` tag names in local storage, asked once per tag.
    let mut local_ids: HashMap<String, Result<String, String>> = HashMap::new();
    for r in units.iter().flat_map(|u| &u.runs) {
        if r.policy == Ok(Policy::Local) && !local_ids.contains_key(&r.image) {
            let id = host.image_id(&r.image).map_err(|e| e.to_string());
            local_ids.insert(r.image.clone(), id);
        }
    }
    journal.flush(None, "podman");
    units
        .iter()
        .map(|u| {
            let verdicts: Vec<Verdict> = u
                .runs
                .iter()
                .map(|r| match &r.policy {
                    Err(value) => Verdict::Unknown(
                        "invalid_policy",
                        format!("invalid auto-update policy '{value}' (io.containers.autoupdate): registry or local"),
                    ),
                    Ok(Policy::Local) => match &local_ids[&r.image] {
                        Ok(id) if *id == r.image_id => Verdict::Current,
                        Ok(id) => Verdict::New(Update::Local {
                            image: r.image.clone(),
                            from_id: r.image_id.clone(),
                            to_id: id.clone(),
                        }),
                        Err(e) => Verdict::Unknown("image_unknown", format!("the local tag cannot be read: {e}")),
                    },
                    Ok(Policy::Registry) => registry_verdict(&remotes, &local_digests, &r.image, &r.image_id),
                })
                .collect();
            (u.unit.clone(), unit_verdict(verdicts))
        })
        .collect()
}

fn registry_verdict(
    remotes: &Remotes<'_>,
    local: &Result<HashMap<String, Vec<String>>, crate::host::HostError>,
    image: &str,
    image_id: &str,
) -> Verdict {
    let Ok(reference) = ImageRef::parse(image) else {
        let m = format!("the image '{image}' is not a reference podup can ask a registry about");
        return Verdict::Unknown("no_image", m);
    };
    let digest = match remotes.found(&reference) {
        Some(Found::Digest(got)) => got.digest,
        Some(Found::Miss { reason, message }) => return Verdict::Unknown(reason, message),
        None => return Verdict::Unknown("check_failed", "the registry was not asked".into()),
    };
    let known = match local {
        Ok(by_id) => by_id.get(image_id).cloned().unwrap_or_default(),
        Err(e) => return Verdict::Unknown("podman_failed", format!("could not read the local images: {e}")),
    };
    if known.contains(&digest) {
        Verdict::Current
    } else {
        Verdict::New(Update::Registry {
            image: reference.to_string(),
            digest,
        })
    }
}

/// A unit's verdict from its images': the first that cannot tell, else the first new
/// image (a unit is deployed with one image per run), else current.
fn unit_verdict(verdicts: Vec<Verdict>) -> Verdict {
    if let Some(u) = verdicts.iter().find(|v| matches!(v, Verdict::Unknown(..))) {
        return u.clone();
    }
    verdicts
        .into_iter()
        .find(|v| matches!(v, Verdict::New(_)))
        .unwrap_or(Verdict::Current)
}

/// Takes the units' deploy locks and updates them: registry images through the deploy
/// path (pull by digest, tag, restart, verify, roll back), local ones by a restart with
/// the same verification and rollback. Each unit's outcome, by unit.
fn update(
    conn: &mut Connection,
    host: &Host,
    task: &Task,
    updates: &[(String, Update)],
    verify_secs: u64,
) -> rusqlite::Result<Vec<(String, UnitOutcome)>> {
    if updates.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<String> = updates.iter().map(|(u, _)| u.clone()).collect();
    let refused = match worker::take_turn(conn, host, task, &names, true)? {
        Turn::Go => None,
        Turn::Superseded(newer) => Some(UnitOutcome::new(
            TaskStatus::Skipped,
            "superseded",
            format!("task {newer} for the same unit is newer"),
        )),
        Turn::Cancelled => Some(UnitOutcome::new(
            TaskStatus::Cancelled,
            "stopped",
            "stopped on request before it started",
        )),
    };
    if let Some(outcome) = refused {
        let journal = Journal {
            conn,
            host,
            task_id: task.id,
        };
        for unit in &names {
            settle(&journal, unit, &outcome);
        }
        return Ok(names.into_iter().map(|u| (u, outcome.clone())).collect());
    }
    let specs: Vec<UnitSpec> = updates
        .iter()
        .filter_map(|(unit, u)| match u {
            Update::Registry { image, digest } => Some(UnitSpec {
                unit: unit.clone(),
                image: Some(image.clone()),
                digest: Some(digest.clone()),
                retag: None,
            }),
            Update::Local { .. } => None,
        })
        .collect();
    let mut outcomes: Vec<(String, UnitOutcome)> = Vec::new();
    if !specs.is_empty() {
        let deployed = worker::deploy_units(conn, host, task, &specs, verify_secs);
        outcomes.extend(specs.iter().map(|s| s.unit.clone()).zip(deployed));
    }
    for (unit, u) in updates {
        if let Update::Local { image, from_id, to_id } = u {
            let journal = Journal {
                conn,
                host,
                task_id: task.id,
            };
            let outcome = if host.stop_requested() {
                UnitOutcome::new(TaskStatus::Cancelled, "stopped", "stopped on request")
            } else {
                restart_local(host, &journal, unit, image, from_id, to_id, verify_secs)
            };
            settle(&journal, unit, &outcome);
            outcomes.push((unit.clone(), outcome));
        }
    }
    Ok(outcomes)
}

/// Ends a unit's row with its outcome.
fn settle(journal: &Journal<'_>, unit: &str, outcome: &UnitOutcome) {
    journal.update(
        unit,
        &UnitUpdate {
            status: Some(outcome.status.into()),
            phase: Some("done"),
            message: Some(&outcome.message),
            intent: Some(Intent::Settled),
            ..Default::default()
        },
    );
}

/// A `local` unit whose tag names another image than its container runs: restart it
/// onto that image, verify it, and on failure point the tag back at the image it ran
/// and restart it onto that one.
fn restart_local(
    host: &Host,
    journal: &Journal<'_>,
    unit: &str,
    tag: &str,
    from_id: &str,
    to_id: &str,
    verify_secs: u64,
) -> UnitOutcome {
    journal.update(
        unit,
        &UnitUpdate {
            image: Some(tag),
            prev_image: Some(from_id),
            target_image: Some(to_id),
            ..Default::default()
        },
    );
    let (from, to) = (short_id(from_id), short_id(to_id));
    journal.info(
        "restart",
        Some(unit),
        &format!("the local tag '{tag}' names {to}; the unit runs {from}"),
    );
    note(journal, unit, Intent::Restart);
    journal.unit_phase(unit, "restart", UnitStatus::Running);
    let restarted = host.restart(unit);
    journal.flush(Some(unit), "restart");
    let verdict = match restarted {
        Ok(_) => {
            journal.unit_phase(unit, "verify", UnitStatus::Running);
            verify(host, journal, unit, Some(to_id), verify_secs, OnStop::End)
        }
        Err(e) => Err(format!("the restart failed: {e}")),
    };
    journal.flush(Some(unit), "verify");
    let why = match verdict {
        Ok(()) => {
            let m = format!("runs local image {to}");
            journal.info("verify", Some(unit), &format!("active for {verify_secs} s on {to}"));
            return UnitOutcome::new(TaskStatus::Succeeded, "ok", m);
        }
        Err(why) => why,
    };
    journal.error("verify", Some(unit), &why);
    journal.unit_phase(unit, "rollback", UnitStatus::Running);
    match roll_back(host, journal, unit, tag, from_id, true, verify_secs) {
        Ok(()) => {
            let m = format!("{why}; rolled back to {from}, which runs");
            journal.warn("rollback", Some(unit), &m);
            UnitOutcome::new(TaskStatus::RolledBack, "verify_failed", m)
        }
        Err(back) => {
            diagnose(host, journal, unit);
            let m = format!("{why}; then the rollback failed too: {back}");
            UnitOutcome::new(TaskStatus::Failed, "rollback_failed", m)
        }
    }
}

/// The task's status and reason from its unit rows: a failure (or a unit the check
/// could not tell) fails it, then a rollback, then a stop.
fn overall(finals: &[UnitStatus]) -> (TaskStatus, &'static str) {
    let has = |s: UnitStatus| finals.contains(&s);
    if has(UnitStatus::Failed) {
        (TaskStatus::Failed, "unit_failed")
    } else if has(UnitStatus::Unknown) {
        (TaskStatus::Failed, "check_failed")
    } else if has(UnitStatus::RolledBack) {
        (TaskStatus::RolledBack, "rolled_back")
    } else if has(UnitStatus::Cancelled) {
        (TaskStatus::Cancelled, "stopped")
    } else {
        (TaskStatus::Succeeded, "ok")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_with_an_image_the_check_cannot_tell_is_unknown() {
        let new = Verdict::New(Update::Local {
            image: "localhost/a:1".into(),
            from_id: "1".into(),
            to_id: "2".into(),
        });
        assert_eq!(unit_verdict(vec![Verdict::Current, new.clone()]), new);
        assert_eq!(unit_verdict(vec![Verdict::Current]), Verdict::Current);
        let unknown = Verdict::Unknown("x", "y".into());
        assert_eq!(unit_verdict(vec![new, unknown.clone()]), unknown);
    }

    #[test]
    fn the_worst_unit_decides_and_a_check_failure_fails() {
        use UnitStatus::*;
        assert_eq!(overall(&[Unchanged, Succeeded]), (TaskStatus::Succeeded, "ok"));
        assert_eq!(overall(&[Available]), (TaskStatus::Succeeded, "ok"));
        assert_eq!(
            overall(&[Succeeded, RolledBack]),
            (TaskStatus::RolledBack, "rolled_back")
        );
        assert_eq!(overall(&[Unknown, RolledBack]), (TaskStatus::Failed, "check_failed"));
        assert_eq!(overall(&[Unknown, Failed]), (TaskStatus::Failed, "unit_failed"));
        assert_eq!(overall(&[]), (TaskStatus::Succeeded, "ok"));
    }
}
