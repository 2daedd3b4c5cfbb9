//! The demo's tasks that wait, as the services' policies (`policies`, read as podup reads
//! them) held them (docs/policy.md): `api.service` (`Policy=approve`) waits for an
//! approval of the release its registry published, `app.service` (`Policy=approve`,
//! `Follow=semver:minor`) for an approval of the move from 1.4.2 to 1.5.0, and
//! `worker.service` (`MinAge=2h` and a weekend `Window=`) waits for its time. Each hold
//! and its sentence are the gate's (`tasks::gate`), written through the store as a
//! webhook or the timer job writes them; the scheduled one is armed on the demo's
//! launcher once it exists (`arm`).

use super::deliveries::event;
use super::world::{UNITS, digest};
use crate::config::Config;
use crate::host::Scope;
use crate::model::{Mode, TaskKind, TaskSpec, UnitSpec};
use crate::store::tasks::{self, Hold, NewTask};
use crate::tasks::gate::{Gate, gate};
use rusqlite::Connection;
use serde_json::json;

const MIN_MS: i64 = 60_000;

/// One new image a policy held.
struct Held {
    unit: &'static str,
    /// How long before the demo's start it was heard of.
    ago_ms: i64,
    /// A webhook (with its delivery) or the timer job.
    kind: TaskKind,
    /// The release of the unit's repository it deploys; None: what the tag points at then.
    release: Option<u32>,
    /// The tag it moves to, when the unit follows versions.
    retag: Option<&'static str>,
}

const HELD: [Held; 3] = [
    Held {
        unit: "app.service",
        ago_ms: 3 * 60 * MIN_MS,
        kind: TaskKind::AutoUpdate,
        release: Some(1),
        retag: Some("1.5.0"),
    },
    Held {
        unit: "worker.service",
        ago_ms: 50 * MIN_MS,
        kind: TaskKind::AutoUpdate,
        release: None,
        retag: None,
    },
    Held {
        unit: "api.service",
        ago_ms: 20 * MIN_MS,
        kind: TaskKind::Webhook,
        // The release the last update check found waiting (`RELEASED_AHEAD`).
        release: Some(1),
        retag: None,
    },
];

/// Writes the waiting tasks, each as its service's policy in `config` holds it.
pub(super) fn seed(conn: &Connection, config: &Config, now: i64) -> rusqlite::Result<()> {
    for (n, h) in HELD.iter().enumerate() {
        let u = UNITS.iter().find(|u| u.unit == h.unit).expect("a demo unit");
        let created = now - h.ago_ms;
        let policy = crate::policy::effective(Some(conn), config, h.unit, created).policy;
        let Gate::Hold(hold, why) = gate(&policy, created, created, config.check.approval_ttl_secs) else {
            continue;
        };
        let image = format!("{}:{}", u.repo, u.tag);
        let to = h.release.map(|r| digest(u.repo, r));
        let spec = TaskSpec {
            units: vec![UnitSpec {
                unit: h.unit.into(),
                image: Some(image.clone()),
                digest: to.clone(),
                retag: h.retag.map(|tag| format!("{}:{tag}", u.repo)),
            }],
            scope: Some(Scope::System),
            verify_secs: 3,
            dry_run: false,
            mode: Mode::Deploy,
            recovers: None,
            sink: None,
            fresh: false,
            follow: Default::default(),
            pull_parallel: crate::model::DEFAULT_PULL_PARALLEL,
            engine: Default::default(),
        };
        let request_id = format!("demo-held-{n}");
        let delivery = format!("7a2c{n:04}-demo-delivery");
        let webhook = h.kind == TaskKind::Webhook;
        let new = NewTask {
            kind: h.kind,
            source: if webhook { "github" } else { "timer" },
            caller: Some(if webhook { "github" } else { "podup-auto-update.timer" }),
            trigger_reason: Some(if webhook { "package published" } else { "daily timer" }),
            request_id: Some(&request_id),
            delivery_id: webhook.then_some(delivery.as_str()),
            retry_of: None,
            spec: &spec,
            hold: Some(hold),
        };
        let id = tasks::insert(conn, &new, created)?;
        tasks::set_message(conn, id, &why)?;
        // The clock of MinAge= started when the image was first heard of.
        let key = to.clone().unwrap_or_else(|| format!("tag:{image}"));
        tasks::first_seen(conn, h.unit, &key, created)?;
        if webhook {
            let meta = json!({"event": "registry_package", "delivery": delivery, "image": image, "digest": to});
            let (method, path, action) = ("POST", "/hooks/github", "github_webhook");
            let reason = match hold {
                Hold::Approval { .. } => "awaiting_approval",
                Hold::Schedule { .. } => "scheduled",
            };
            event(
                conn,
                &request_id,
                created,
                method,
                path,
                202,
                action,
                reason,
                meta,
                Some(id),
            )?;
        }
    }
    Ok(())
}

/// Arms every scheduled task on `d`'s launcher (the demo's threads), as its transient
/// timer would start it.
pub(super) fn arm(conn: &Connection, d: &crate::tasks::dispatch::Dispatcher<'_>) -> Result<(), String> {
    for t in tasks::waiting(conn).map_err(|e| e.to_string())? {
        if let Some(at) = t.not_before_ms {
            let what = format!("podup task {}: scheduled deploy of {}", t.id, t.units.join(" "));
            d.dispatch_at(conn, t.id, &what, Some(at))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::model::TaskStatus;
    use crate::store::tasks;

    #[test]
    fn two_approvals_and_one_schedule_wait_as_their_policies_say() {
        let dir = crate::testing::scratch_dir("demo-waiting");
        super::super::policies::write(&dir).unwrap();
        let sinks = super::super::sinks(&dir, "demo-test-secret-of-16").unwrap();
        let config = super::super::config(&dir, "demo-test-secret-of-16", &sinks).unwrap();
        let c = crate::testing::migrated_db();
        let now = 1_796_673_600_000;
        super::seed(&c, &config, now).unwrap();
        let waiting = tasks::waiting(&c).unwrap();
        let by_unit = |unit: &str| waiting.iter().find(|t| t.units == [unit]).expect(unit);
        let api = by_unit("api.service");
        assert_eq!(api.status, TaskStatus::AwaitingApproval);
        let ttl_ms = config.check.approval_ttl_secs as i64 * 1000;
        assert_eq!(api.deadline_ms, Some(api.created_ms + ttl_ms));
        assert!(api.message.as_deref().unwrap().starts_with("Policy=approve"));
        let app = by_unit("app.service");
        assert_eq!(app.spec["units"][0]["retag"], "ghcr.io/acme/app:1.5.0");
        assert_eq!(app.spec["units"][0]["image"], "ghcr.io/acme/app:1.4.2");
        let worker = by_unit("worker.service");
        assert_eq!(worker.status, TaskStatus::Scheduled);
        assert!(worker.not_before_ms.unwrap() >= worker.created_ms + 2 * 3_600_000);
        let why = worker.message.as_deref().unwrap();
        assert!(
            why.contains("MinAge=7200s") && why.contains("Window=Sat,Sun 03:00-05:00"),
            "{why}"
        );
        let json = crate::tasks::approval::waiting_json(&c, "app.service").unwrap();
        assert_eq!(json[0]["to_image"], "ghcr.io/acme/app:1.5.0");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
