//! The demo's last update check, as the timer job would have left it a few minutes
//! before the demo started: a finished `check` task of every unit with its unit rows
//! and log, and the verdict per unit (`store::updates`) the Services page shows. The
//! verdicts agree with the simulated host: [`RELEASED_AHEAD`] has an update waiting,
//! Docker Hub refused with a rate limit that is still in force, the rest are current.

use super::timeline::{command, log};
use super::world::{self, RELEASED_AHEAD, UNITS, digest};
use crate::host::podman::images;
use crate::model::{LogLevel, TaskKind, TaskStatus, UnitSpec, UnitStatus, UpdateStatus};
use crate::store::tasks::{self, NewTask, UnitUpdate};
use crate::store::updates::{self, Verdict};
use rusqlite::Connection;

/// How long before the demo's start the check ran.
const CHECK_AGO_MS: i64 = 12 * 60_000;

/// The verdict of the seeded check for `u`, the world's release 0 running.
fn verdict(u: &world::DemoUnit, checked_ms: i64, limited_until_ms: i64, task_id: i64) -> Verdict {
    let reference = format!("{}:{}", u.repo, u.tag);
    let running = digest(u.repo, 0);
    let mut v = Verdict {
        unit: u.unit.into(),
        image: Some(reference.clone()),
        status: UpdateStatus::UpToDate,
        remote_digest: None,
        remote_created: None,
        local_digests: vec![running.clone()],
        reason: None,
        message: None,
        endpoint: None,
        checked_ms,
        fetched_ms: None,
        task_id: Some(task_id),
        remote_tag: None,
    };
    match super::registry::answer(&initial_releases(), &reference, checked_ms, limited_until_ms) {
        Err((reason, message)) => {
            v.status = UpdateStatus::Unknown;
            v.reason = Some(reason.into());
            v.message = Some(message);
        }
        Ok(remote) => {
            v.endpoint = Some(reference);
            v.fetched_ms = Some(checked_ms);
            if remote == running {
                v.message = Some("the running image is the registry's".into());
            } else {
                v.status = UpdateStatus::Available;
                v.message = Some(format!(
                    "the registry has {} for this tag",
                    crate::tasks::check::short(&remote)
                ));
            }
            v.remote_digest = Some(remote);
        }
    }
    v
}

/// Each repository's newest release when the demo starts (`World::new`).
fn initial_releases() -> std::collections::BTreeMap<&'static str, u32> {
    UNITS
        .iter()
        .map(|u| (u.repo, u32::from(u.unit == RELEASED_AHEAD)))
        .collect()
}

/// Writes the check task and its verdicts; `limited_until_ms` is when the world's
/// rate limit ends.
pub(super) fn seed(conn: &Connection, now: i64, limited_until_ms: i64) -> rusqlite::Result<()> {
    let created = now - CHECK_AGO_MS;
    let units: Vec<UnitSpec> = UNITS
        .iter()
        .map(|u| UnitSpec {
            unit: u.unit.into(),
            image: Some(format!("{}:{}", u.repo, u.tag)),
            digest: None,
            retag: None,
        })
        .collect();
    let spec = crate::tasks::check::spec(units, false);
    let new = NewTask {
        kind: TaskKind::Check,
        source: "timer",
        caller: Some("podup-auto-update.timer"),
        trigger_reason: Some("daily timer"),
        request_id: None,
        delivery_id: None,
        retry_of: None,
        spec: &spec,
        hold: None,
    };
    let id = tasks::insert(conn, &new, created)?;
    let mut ts = created + 200;
    let message = format!("checking {} service(s)", UNITS.len());
    tasks::transition(conn, id, TaskStatus::Running, "running", &message, ts)?;
    let ps = [vec!["podman".into()], images::args_unit_containers()].concat();
    command(conn, id, ts, "podman", None, ps, 0, "")?;
    let list = [vec!["podman".into()], images::args_images()].concat();
    command(conn, id, ts + 60, "podman", None, list, 0, "")?;
    let mut counts = [0usize; 3];
    for u in UNITS {
        ts += 300;
        let v = verdict(u, ts, limited_until_ms, id);
        updates::record(conn, &v)?;
        let (status, level, k) = match v.status {
            UpdateStatus::UpToDate => (UnitStatus::Unchanged, LogLevel::Info, 0),
            UpdateStatus::Available => (UnitStatus::Available, LogLevel::Info, 1),
            UpdateStatus::Unknown => (UnitStatus::Unknown, LogLevel::Warn, 2),
        };
        counts[k] += 1;
        let line = format!(
            "{}: {}{}",
            v.status,
            v.message.as_deref().unwrap_or(""),
            v.endpoint.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()
        );
        log(conn, id, ts, level, "check", Some(u.unit), &line)?;
        let end = UnitUpdate {
            status: Some(status),
            phase: Some("done"),
            from_digest: v.local_digests.first().map(String::as_str),
            to_digest: v.remote_digest.as_deref(),
            message: Some(&line),
            ..Default::default()
        };
        tasks::update_unit(conn, id, u.unit, &end, ts)?;
    }
    log(
        conn,
        id,
        ts + 10,
        LogLevel::Info,
        "check",
        None,
        "registry requests: simulated; 0 answered from the cache",
    )?;
    let [up, available, unknown] = counts;
    let message = format!("{up} up to date, {available} with an update, {unknown} unknown");
    tasks::transition(conn, id, TaskStatus::Succeeded, "ok", &message, ts + 20)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::world::RATE_LIMIT_MS;

    const NOW_MS: i64 = 1_700_000_000_000;

    #[test]
    fn the_seeded_check_has_one_update_waiting_one_rate_limit_and_the_rest_current() {
        let c = crate::testing::migrated_db();
        seed(&c, NOW_MS, NOW_MS + RATE_LIMIT_MS).unwrap();
        let all = updates::all(&c).unwrap();
        let of = |unit: &str| all.iter().find(|v| v.unit == unit).unwrap();
        assert_eq!(all.len(), UNITS.len());
        let api = of(RELEASED_AHEAD);
        assert_eq!(api.status, UpdateStatus::Available);
        assert_eq!(api.remote_digest, Some(digest("ghcr.io/acme/api", 1)));
        assert_eq!(api.local_digests, vec![digest("ghcr.io/acme/api", 0)]);
        let cache = of("cache.service");
        assert_eq!(cache.status, UpdateStatus::Unknown);
        assert_eq!(cache.reason.as_deref(), Some("rate_limited"));
        assert!(
            cache.message.as_deref().unwrap().starts_with("rate limited until "),
            "{cache:?}"
        );
        assert_eq!(of("web.service").status, UpdateStatus::UpToDate);

        let task = tasks::get(&c, api.task_id.unwrap()).unwrap().unwrap();
        assert_eq!((task.kind, task.status()), (TaskKind::Check, TaskStatus::Succeeded));
        let rows = tasks::units(&c, task.id).unwrap();
        let row = rows.iter().find(|r| r.unit == RELEASED_AHEAD).unwrap();
        assert_eq!(row.status, UnitStatus::Available);
        assert_eq!(row.to_digest, api.remote_digest);
        assert!(rows.iter().all(|r| r.finished_ms.is_some()), "every row ended");
    }
}
