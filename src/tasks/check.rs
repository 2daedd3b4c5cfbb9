//! The `check` task (docs/updates.md): for each service, the digest its registry has
//! for the tag against every digest the image its unit runs is known by. Two podman
//! calls find the running images; each registry is asked with a `HEAD` (never a
//! `GET`), once per image per PODUP_CHECK_TTL, one request at a time per host. The
//! verdict per service is stored (`store::updates`), shown on the task's unit rows,
//! and a digest not seen before is announced once (`update_available`).

mod follow;
pub(super) mod remote;
mod settings;
pub mod view;

use super::journal::Journal;
use super::lifecycle::finish;
use crate::clock::now_ms;
use crate::host::Host;
use crate::model::{TaskSpec, TaskStatus, UnitSpec, UnitStatus, UpdateStatus};
use crate::services::ImageRef;
use crate::store::tasks::{self, Task, UnitUpdate};
use crate::store::updates::{self, Verdict};
use remote::{Found, Remotes};
use rusqlite::Connection;
use std::collections::HashMap;

pub use settings::{Settings, configure, settings};

/// The spec of a check of `units`; `fresh` asks registries even when the cache is fresh.
pub fn spec(units: Vec<UnitSpec>, fresh: bool) -> TaskSpec {
    TaskSpec {
        units,
        scope: None,
        verify_secs: 0,
        dry_run: false,
        mode: crate::model::Mode::Check,
        recovers: None,
        sink: None,
        fresh,
        follow: Default::default(),
        pull_parallel: crate::model::DEFAULT_PULL_PARALLEL,
        engine: Default::default(),
    }
}

/// Notes in a check's spec which of its units follow version tags (their `Follow=`),
/// so that the check, wherever it runs, lists their tags.
pub fn note_follows(conn: Option<&Connection>, config: &crate::config::Config, spec: &mut TaskSpec) {
    let now = now_ms();
    for u in &spec.units {
        let follow = crate::policy::effective(conn, config, &u.unit, now).policy.follow;
        if follow.lists_tags() {
            spec.follow.insert(u.unit.clone(), follow.spelling());
        }
    }
}

/// What runs, per unit: the image id and every digest it is known by.
pub(super) type Running = HashMap<String, (String, Vec<String>)>;

/// The image each unit's container was created from (a running container first, else
/// the newest), with its digests: two podman calls for every unit at once, side by side.
pub(super) fn running(host: &Host) -> Result<Running, String> {
    let (containers, images) = std::thread::scope(|s| {
        let other = host.sibling();
        let images = s.spawn(move || (other.image_digests(), other));
        let containers = host.unit_containers_all();
        let (images, other) = images.join().expect("podman images does not panic");
        host.adopt(other);
        (containers, images)
    });
    let (containers, images) = (
        containers.map_err(|e| e.to_string())?,
        images.map_err(|e| e.to_string())?,
    );
    let mut by_unit: HashMap<String, (bool, String)> = HashMap::new();
    // podman lists the newest container first; a running one wins over any other.
    for c in &containers {
        let Some(unit) = c.labels.get(crate::host::podman::images::UNIT_LABEL) else {
            continue;
        };
        let running = c.state == "running";
        match by_unit.get(unit) {
            Some((true, _)) => {}
            Some((false, _)) if !running => {}
            _ => {
                by_unit.insert(unit.clone(), (running, c.image_id.clone()));
            }
        }
    }
    Ok(by_unit
        .into_iter()
        .map(|(unit, (_, id))| {
            let digests = images
                .iter()
                .find(|i| i.id == id)
                .map(|i| i.digests())
                .unwrap_or_default();
            (unit, (id, digests))
        })
        .collect())
}

/// The verdict for one unit: what runs against what its registry has.
fn judge(
    unit: &UnitSpec,
    local: Option<&(String, Vec<String>)>,
    found: Option<Found>,
    now: i64,
    task_id: i64,
) -> Verdict {
    let mut v = Verdict {
        unit: unit.unit.clone(),
        image: unit.image.clone(),
        status: UpdateStatus::Unknown,
        remote_digest: None,
        remote_created: None,
        local_digests: local.map(|(_, d)| d.clone()).unwrap_or_default(),
        reason: None,
        message: None,
        endpoint: None,
        checked_ms: now,
        fetched_ms: None,
        task_id: Some(task_id),
        remote_tag: None,
    };
    let unknown = |mut v: Verdict, reason: &str, message: String| {
        v.reason = Some(reason.into());
        v.message = Some(message);
        v
    };
    if unit.image.is_none() {
        return unknown(v, "no_image", "podup does not know which image this unit runs".into());
    }
    match found {
        None => unknown(v, "no_image", "the unit's image is not a valid reference".into()),
        Some(Found::Miss { reason, message }) => unknown(v, reason, message),
        Some(Found::Digest(r)) => {
            v.remote_digest = Some(r.digest.clone());
            v.remote_created = r.created.clone();
            v.endpoint = Some(r.endpoint.clone());
            v.fetched_ms = Some(r.fetched_ms);
            if local.is_none_or(|(_, d)| d.is_empty()) {
                return unknown(
                    v,
                    "not_running",
                    "no container of this unit was found, so nothing to compare".into(),
                );
            }
            if v.local_digests.contains(&r.digest) {
                v.status = UpdateStatus::UpToDate;
                v.message = Some("the running image is the registry's".into());
            } else {
                v.status = UpdateStatus::Available;
                v.message = Some(format!("the registry has {} for this tag", short(&r.digest)));
            }
            v
        }
    }
}

/// `sha256:0123456789ab`: enough of a digest for a sentence.
pub fn short(digest: &str) -> &str {
    digest.get(..19).unwrap_or(digest)
}

fn unit_status(s: UpdateStatus) -> UnitStatus {
    match s {
        UpdateStatus::UpToDate => UnitStatus::Unchanged,
        UpdateStatus::Available => UnitStatus::Available,
        UpdateStatus::Unknown => UnitStatus::Unknown,
    }
}

/// Runs a check task: every unit of its spec, each with a verdict.
pub fn run_task(conn: &mut Connection, host: &Host, task: &Task, spec: &TaskSpec) -> rusqlite::Result<TaskStatus> {
    let id = task.id;
    let n = spec.units.len();
    tasks::transition(
        conn,
        id,
        TaskStatus::Running,
        "running",
        &format!("checking {n} service(s)"),
        now_ms(),
    )?;
    let journal = Journal {
        conn,
        host,
        task_id: id,
    };
    let mut remotes = Remotes::new(conn, host, &settings(), spec.fresh, now_ms());
    for w in remotes.warnings() {
        journal.warn("check", None, &w);
    }
    let proposals = follow::proposals(&mut remotes, &journal, spec);
    let mut images: Vec<ImageRef> = spec
        .units
        .iter()
        .filter_map(|u| u.image.as_deref().and_then(|i| ImageRef::parse(i).ok()))
        .collect();
    images.extend(proposals.values().map(|p| p.image.clone()));
    // The registries are asked while podman says what runs.
    let local = remotes.find_all(conn, &images, || running(host));
    journal.flush(None, "podman");
    let local = match local {
        Ok(l) => l,
        Err(e) => {
            journal.error("check", None, &format!("could not read the running images: {e}"));
            HashMap::new()
        }
    };
    let mut counts = [0usize; 3];
    let mut announced = 0;
    for unit in &spec.units {
        tasks::add_unit(conn, id, &unit.unit, unit.image.as_deref())?;
        let proposal = proposals.get(&unit.unit);
        let image = match proposal {
            Some(p) => Some(p.image.clone()),
            None => unit.image.as_deref().and_then(|i| ImageRef::parse(i).ok()),
        };
        let found = image.as_ref().and_then(|i| remotes.found(i));
        let mut v = judge(unit, local.get(&unit.unit), found, now_ms(), id);
        if let Some(p) = proposal.filter(|_| v.status == UpdateStatus::Available) {
            v.remote_tag = Some(p.tag.clone());
            v.message = Some(p.sentence.clone());
        }
        updates::record(conn, &v)?;
        counts[match v.status {
            UpdateStatus::UpToDate => 0,
            UpdateStatus::Available => 1,
            UpdateStatus::Unknown => 2,
        }] += 1;
        let line = format!(
            "{}: {}{}",
            v.status,
            v.message.as_deref().unwrap_or(""),
            v.endpoint.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()
        );
        if v.status == UpdateStatus::Unknown {
            journal.warn("check", Some(&unit.unit), &line);
        } else {
            journal.info("check", Some(&unit.unit), &line);
        }
        journal.update(
            &unit.unit,
            &UnitUpdate {
                status: Some(unit_status(v.status)),
                phase: Some("done"),
                from_digest: v.local_digests.first().map(String::as_str),
                to_digest: v.remote_digest.as_deref(),
                message: Some(&line),
                ..Default::default()
            },
        );
        if v.status == UpdateStatus::Available {
            announced += super::notify::announce_update(conn, id, &v)?;
        }
    }
    if announced > 0 {
        super::notify::deliver_now(conn, id);
    }
    remotes.save(conn)?;
    journal.info("check", None, &format!("registry requests: {}", remotes.summary()));
    let [up, available, unknown] = counts;
    let message = format!("{up} up to date, {available} with an update, {unknown} unknown");
    let (status, reason) = if n > 0 && unknown == n {
        (TaskStatus::Failed, "check_failed")
    } else {
        (TaskStatus::Succeeded, "ok")
    };
    finish(conn, id, status, reason, &message);
    Ok(status)
}

/// Records a check of `units` and runs it in this process (`podup check-updates` and
/// the timer job, which are units of their own already); the task id and the worker's
/// exit code.
pub fn run_here(
    conn: &mut Connection,
    host: &Host,
    spec: &TaskSpec,
    origin: super::lifecycle::Origin<'_>,
) -> rusqlite::Result<(i64, u8)> {
    let id = super::lifecycle::record(conn, crate::model::TaskKind::Check, origin, spec)?;
    if let Some(unit) = crate::sys::own_unit() {
        tasks::set_runner(conn, id, &unit)?;
    }
    Ok((id, super::worker::run(conn, host, id)))
}

/// The verdicts a check task recorded, in its units' order.
pub fn verdicts_of(conn: &Connection, task_id: i64) -> rusqlite::Result<Vec<Verdict>> {
    Ok(updates::all(conn)?
        .into_iter()
        .filter(|v| v.task_id == Some(task_id))
        .collect())
}

#[cfg(test)]
mod tests;
