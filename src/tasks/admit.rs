//! A new image meets its services' policies (docs/policy.md): for every unit a trigger
//! that is not a person (a webhook, a check) would deploy, the unit's effective policy and
//! the image's age decide whether it goes now, waits in a task of its own kind of hold,
//! is only told about, or is left alone. People (the API, the CLI, the panel) are not
//! gated: an admin can always deploy by hand.

use super::dispatch::Dispatcher;
use super::gate::{Gate, gate};
use super::lifecycle::{self, Created, Origin, Trigger};
use crate::config::Config;
use crate::model::{Mode, TaskKind, UnitSpec, UpdateStatus};
use crate::store::tasks::{Hold, first_seen};
use rusqlite::Connection;

/// The units of one trigger, sorted by what their policies said.
#[derive(Debug, Default)]
pub struct Admitted {
    /// Deploy now, in one task.
    pub now: Vec<UnitSpec>,
    /// Wait: one task per hold (units with the same hold share it), and why.
    pub held: Vec<(Hold, String, Vec<UnitSpec>)>,
    /// `Policy=notify`: the unit and the sentence.
    pub told: Vec<(UnitSpec, String)>,
    /// `Policy=manual` (or a window that never opens).
    pub left: Vec<(UnitSpec, String)>,
}

impl Admitted {
    /// Every unit went the default way: nothing to say about policy.
    pub fn all_now(&self) -> bool {
        self.held.is_empty() && self.told.is_empty() && self.left.is_empty()
    }
}

/// Sorts `units` (each with the digest it would get, when known) by their policies.
pub fn admit(conn: &Connection, config: &Config, units: Vec<UnitSpec>, now_ms: i64) -> rusqlite::Result<Admitted> {
    admit_made(conn, config, units.into_iter().map(|u| (u, None)).collect(), now_ms)
}

/// When the `MinAge=` clock of an image starts: when podup first heard of it, or when the
/// registry says it was made, whichever is earlier.
pub fn clock_start(first_seen_ms: i64, made_ms: Option<i64>) -> i64 {
    made_ms.map_or(first_seen_ms, |m| m.min(first_seen_ms))
}

/// `admit`, each unit with when its registry says the image was made, when it said so.
fn admit_made(
    conn: &Connection,
    config: &Config,
    units: Vec<(UnitSpec, Option<i64>)>,
    now_ms: i64,
) -> rusqlite::Result<Admitted> {
    let mut out = Admitted::default();
    for (u, made) in units {
        let effective = crate::policy::effective(Some(conn), config, &u.unit, now_ms);
        // The clock of MinAge= runs per digest; without one (a sender that names only
        // the tag) it runs for the tag's announcement.
        let key = match (&u.digest, &u.image) {
            (Some(d), _) => d.clone(),
            (None, Some(i)) => format!("tag:{i}"),
            (None, None) => String::new(),
        };
        let seen = match effective.policy.min_age_secs {
            0 => now_ms,
            _ => clock_start(first_seen(conn, &u.unit, &key, now_ms)?, made),
        };
        match gate(&effective.policy, seen, now_ms, config.check.approval_ttl_secs) {
            Gate::Now => out.now.push(u),
            Gate::Hold(hold, why) => match out.held.iter_mut().find(|(h, _, _)| *h == hold) {
                Some((_, _, list)) => list.push(u),
                None => out.held.push((hold, why, vec![u])),
            },
            Gate::Tell(why) => out.told.push((u, why)),
            Gate::Leave(why) => out.left.push((u, why)),
        }
    }
    Ok(out)
}

/// After check task `check_task`: each service with a new image and a policy of its own
/// (any `[X-PodUp]` key) meets it; a service without one is only told about, as checks
/// always did (the timer's auto-update, a webhook or a person deploys it). Returns the
/// tasks created (started, scheduled or awaiting approval). The timer job's check
/// (`by_timer`) leaves `Timer=no` services alone.
pub fn act_on_check(
    conn: &mut Connection,
    d: &Dispatcher<'_>,
    check_task: i64,
    by_timer: bool,
) -> rusqlite::Result<Vec<i64>> {
    let Some(check) = crate::store::tasks::get(conn, check_task)? else {
        return Ok(Vec::new());
    };
    let now = crate::clock::now_ms();
    let mut units = Vec::new();
    for v in super::check::verdicts_of(conn, check_task)? {
        let (UpdateStatus::Available, Some(digest)) = (v.status, v.remote_digest.clone()) else {
            continue;
        };
        let policy = crate::policy::effective(Some(conn), d.config, &v.unit, now).policy;
        if policy.is_default() || (by_timer && !policy.timer) {
            continue;
        }
        // Already on its way, or waiting.
        if crate::store::tasks::open_for(conn, &v.unit, &digest)?.is_some() {
            continue;
        }
        // Follow=: the higher version tag, in the running image's repository.
        let retag = match (&v.remote_tag, v.image.as_deref().map(crate::services::ImageRef::parse)) {
            (Some(tag), Some(Ok(running))) => Some(format!("{}:{tag}", running.repository)),
            _ => None,
        };
        let made = v.remote_created.as_deref().and_then(crate::registry::http_date_ms);
        units.push((
            UnitSpec {
                unit: v.unit,
                image: v.image,
                digest: Some(digest),
                retag,
            },
            made,
        ));
    }
    if units.is_empty() {
        return Ok(Vec::new());
    }
    let admitted = admit_made(conn, d.config, units, now)?;
    let mut groups: Vec<(Option<Hold>, String, Vec<UnitSpec>)> = Vec::new();
    if !admitted.now.is_empty() {
        groups.push((None, String::new(), admitted.now));
    }
    groups.extend(admitted.held.into_iter().map(|(h, why, u)| (Some(h), why, u)));
    let reason = format!("update check (task {check_task}) found a new image");
    let mut created = Vec::new();
    for (hold, why, units) in groups {
        let what: Vec<String> = units.iter().map(|u| u.unit.clone()).collect();
        let trigger = Trigger {
            kind: TaskKind::AutoUpdate,
            origin: Origin {
                source: &check.source,
                caller: check.caller.as_deref().unwrap_or("check"),
                reason: Some(&reason),
                request_id: None,
            },
            limit: None,
            retry_of: None,
            delivery: None,
            hold,
        };
        if let Created::New(id) = lifecycle::create(conn, &trigger, &d.spec(units, false, Mode::Deploy))? {
            let _ = lifecycle::begin(conn, d, id, &format!("update of {}", what.join(" ")), hold, &why);
            created.push(id);
        }
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::clock_start;

    #[test]
    fn the_min_age_clock_starts_at_the_earlier_of_first_heard_and_made() {
        assert_eq!(clock_start(1_000, None), 1_000);
        assert_eq!(clock_start(1_000, Some(400)), 400, "the registry says it is older");
        assert_eq!(
            clock_start(1_000, Some(5_000)),
            1_000,
            "a date in the future counts for nothing"
        );
        let made = crate::registry::http_date_ms("Mon, 07 Dec 2026 20:00:00 GMT");
        assert_eq!(made, Some(1_796_673_600_000));
        assert_eq!(crate::registry::http_date_ms("yesterday"), None);
    }
}
