//! Recovery's rules on the simulated host: a worker lost after the tag moved (never
//! restarted), after it restarted onto an image that crashes, and after it restarted
//! onto a good one. The real kill-point matrix is tests/real/recovery.rs; these run in
//! every `cargo test` and pin what recovery decides from the notes and the host.

use super::backend::backend;
use super::world::{UNITS, World, digest, image_id};
use crate::host::{Host, Programs};
use crate::model::{Intent, Mode, Scope, TaskKind, TaskSpec, TaskStatus, UnitSpec};
use crate::store::tasks::{self, UnitUpdate};
use crate::tasks::lifecycle::{self, Origin, mark_lost};
use crate::tasks::recover::{self, Caller};
use rusqlite::Connection;
use std::sync::Arc;

const VERIFY_SECS: u64 = 2;

struct Lost {
    conn: Connection,
    host: Host,
    id: i64,
    tag: String,
    prev: String,
    target: String,
}

/// A task that deployed release 1 to `unit`, lost after `intent` was noted (and, for
/// `restart`, after the restart happened).
fn lost_after(unit: &str, intent: Intent) -> Lost {
    let world = Arc::new(World::new());
    let host = Host::with_env(Scope::System, Programs::default(), []).on(&backend(world));
    let u = UNITS.iter().find(|u| u.unit == unit).unwrap();
    let tag = format!("{}:{}", u.repo, u.tag);
    let prev = image_id(&digest(u.repo, 0));
    let target = host.pull(&format!("{}@{}", u.repo, digest(u.repo, 1))).unwrap();
    host.tag(&target, &tag).unwrap();
    if intent == Intent::Restart {
        host.restart(unit).unwrap();
    }
    host.drain_records();
    let conn = crate::testing::migrated_db();
    let spec = TaskSpec {
        units: vec![UnitSpec {
            unit: unit.into(),
            image: Some(tag.clone()),
            digest: Some(digest(u.repo, 1)),
            retag: None,
        }],
        scope: Some(Scope::System),
        verify_secs: VERIFY_SECS,
        dry_run: false,
        mode: Mode::Deploy,
        recovers: None,
        sink: None,
        fresh: false,
        follow: Default::default(),
        pull_parallel: crate::model::DEFAULT_PULL_PARALLEL,
        engine: Default::default(),
    };
    let origin = Origin {
        source: "api",
        caller: "test",
        reason: None,
        request_id: None,
    };
    let id = lifecycle::record(&conn, TaskKind::Manual, origin, &spec).unwrap();
    let note = UnitUpdate {
        prev_image: Some(&prev),
        target_image: Some(&target),
        intent: Some(intent),
        ..Default::default()
    };
    tasks::update_unit(&conn, id, unit, &note, 1).unwrap();
    mark_lost(&conn, id);
    Lost {
        conn,
        host,
        id,
        tag,
        prev,
        target,
    }
}

fn recover_job(l: &mut Lost) -> recover::Repaired {
    let origin = Origin {
        source: "cli",
        caller: "test",
        reason: None,
        request_id: None,
    };
    let done = recover::sweep(&mut l.conn, &l.host, &origin, None, Caller::Job).unwrap();
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].lost_task, l.id);
    let again = recover::sweep(&mut l.conn, &l.host, &origin, None, Caller::Job).unwrap();
    assert!(again.is_empty(), "repaired once only: {again:?}");
    let t = tasks::get(&l.conn, done[0].task_id).unwrap().unwrap();
    assert_eq!(
        (t.kind, t.trigger_reason.as_deref()),
        (TaskKind::Maintenance, Some("recovered"))
    );
    assert_eq!(t.spec().unwrap().recovers, Some(l.id), "linked to the lost task");
    let lost_row = &tasks::units(&l.conn, l.id).unwrap()[0];
    assert_eq!(lost_row.intent, Some(Intent::Recovered));
    assert_eq!(lost_row.recovered_by, Some(done[0].task_id));
    done[0].clone()
}

fn runs(l: &Lost, unit: &str) -> String {
    let c = l.host.unit_containers(unit).unwrap();
    c.into_iter().find(|c| c.state == "running").unwrap().image_id
}

#[test]
fn a_tag_moved_by_a_lost_worker_points_back_at_what_runs() {
    let mut l = lost_after("web.service", Intent::Tag);
    assert_eq!(
        l.host.image_id(&l.tag).unwrap(),
        l.target,
        "the lost worker moved the tag"
    );
    let r = recover_job(&mut l);
    assert_eq!(r.status, TaskStatus::Succeeded, "{r:?}");
    assert_eq!(l.host.image_id(&l.tag).unwrap(), l.prev);
    assert_eq!(runs(&l, "web.service"), l.prev);
    let calls: Vec<String> = l.host.drain_records().into_iter().map(|r| r.argv.join(" ")).collect();
    assert!(
        !calls.iter().any(|c| c.contains("restart")),
        "never restarted: {calls:?}"
    );
}

#[test]
fn an_unverified_target_that_crashes_is_rolled_back() {
    let mut l = lost_after("worker.service", Intent::Restart);
    assert_eq!(runs(&l, "worker.service"), l.target);
    let r = recover_job(&mut l);
    assert_eq!(r.status, TaskStatus::RolledBack, "{r:?}");
    assert_eq!(l.host.image_id(&l.tag).unwrap(), l.prev);
    assert_eq!(runs(&l, "worker.service"), l.prev);
}

#[test]
fn an_unverified_target_that_holds_is_verified_and_kept() {
    let mut l = lost_after("api.service", Intent::Restart);
    let r = recover_job(&mut l);
    assert_eq!(r.status, TaskStatus::Succeeded, "{r:?}");
    assert!(r.message.contains("verified"), "{r:?}");
    assert_eq!(l.host.image_id(&l.tag).unwrap(), l.target);
    assert_eq!(runs(&l, "api.service"), l.target);
}

#[test]
fn an_operator_restart_onto_a_crashing_target_is_rolled_back_after_it_died() {
    // The lost worker only moved the tag; the operator restarted the unit, which ran
    // the target, and the target crashed before any recovery looked.
    let mut l = lost_after("worker.service", Intent::Tag);
    l.host.restart("worker.service").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(super::world::CRASH_AFTER_MS + 300));
    assert!(
        l.host
            .unit_containers("worker.service")
            .unwrap()
            .iter()
            .all(|c| c.state != "running"),
        "the target crashed"
    );
    let r = recover_job(&mut l);
    assert_eq!(r.status, TaskStatus::RolledBack, "{r:?}");
    assert_eq!(l.host.image_id(&l.tag).unwrap(), l.prev);
    assert_eq!(runs(&l, "worker.service"), l.prev, "what ran before runs again");
}
