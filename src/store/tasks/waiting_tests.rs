//! The waiting part of the status machine, in the store: every move the triggers allow
//! and every one they refuse (by the store's functions and by raw SQL alike), deadlines,
//! supersession, and the MinAge clock.

use super::tests::{new_task, spec};
use super::*;
use crate::model::TaskStatus::*;

fn db() -> Connection {
    crate::testing::migrated_db()
}

fn waiting_task(c: &Connection, unit: &str, digest: &str, hold: Hold) -> i64 {
    let mut s = spec(&[unit]);
    s.units[0].digest = Some(digest.into());
    let mut t = new_task(&s);
    t.hold = Some(hold);
    insert(c, &t, 1).unwrap()
}

const APPROVAL: Hold = Hold::Approval { deadline_ms: 1_000 };
const SCHEDULE: Hold = Hold::Schedule { not_before_ms: 500 };

fn status(c: &Connection, id: i64) -> (TaskStatus, Option<String>) {
    let t = get(c, id).unwrap().unwrap();
    (t.status, t.reason)
}

#[test]
fn a_task_is_created_waiting_with_its_deadline_or_time() {
    let c = db();
    let a = waiting_task(&c, "a.service", "sha256:1", APPROVAL);
    let s = waiting_task(&c, "b.service", "sha256:1", SCHEDULE);
    let (ta, ts) = (get(&c, a).unwrap().unwrap(), get(&c, s).unwrap().unwrap());
    assert_eq!(
        (ta.status, ta.deadline_ms, ta.not_before_ms),
        (AwaitingApproval, Some(1_000), None)
    );
    assert_eq!(
        (ts.status, ts.deadline_ms, ts.not_before_ms),
        (Scheduled, None, Some(500))
    );
    assert_eq!(units(&c, a).unwrap()[0].status, crate::model::UnitStatus::Pending);
    let ids: Vec<i64> = waiting(&c).unwrap().iter().map(|t| t.id).collect();
    assert_eq!(ids, [a, s]);
    assert_eq!(waiting_for(&c, "b.service").unwrap()[0].id, s);
    assert_eq!(
        open_for(&c, "a.service", "sha256:1").unwrap(),
        Some(a),
        "a waiting task coalesces"
    );
}

#[test]
fn approve_reject_expire_start_each_move_once() {
    let c = db();
    let now = 100;
    let a = waiting_task(&c, "a.service", "sha256:1", APPROVAL);
    assert!(
        decide(
            &c,
            a,
            Decision::Approve {
                by: "ops",
                not_before_ms: None
            },
            "approved by ops",
            now
        )
        .unwrap()
    );
    let t = get(&c, a).unwrap().unwrap();
    assert_eq!(
        (t.status, t.decided_by.as_deref(), t.decided_ms),
        (Pending, Some("ops"), Some(now))
    );
    assert!(
        !decide(&c, a, Decision::Reject { by: "ops" }, "late", now).unwrap(),
        "decided once"
    );

    let b = waiting_task(&c, "a.service", "sha256:2", APPROVAL);
    let at = Some(9_000);
    assert!(
        decide(
            &c,
            b,
            Decision::Approve {
                by: "ops",
                not_before_ms: at
            },
            "approved",
            now
        )
        .unwrap()
    );
    assert_eq!(
        (status(&c, b).0, get(&c, b).unwrap().unwrap().not_before_ms),
        (Scheduled, at)
    );
    assert!(decide(&c, b, Decision::Start, "due", now).unwrap());
    assert_eq!(status(&c, b), (Pending, Some("due".into())));

    let r = waiting_task(&c, "a.service", "sha256:3", APPROVAL);
    assert!(decide(&c, r, Decision::Reject { by: "lead" }, "rejected by lead", now).unwrap());
    assert_eq!(status(&c, r), (Skipped, Some("rejected".into())));
    assert_eq!(units(&c, r).unwrap()[0].status, crate::model::UnitStatus::Skipped);
    assert!(get(&c, r).unwrap().unwrap().finished_ms.is_some());

    let e = waiting_task(&c, "a.service", "sha256:4", APPROVAL);
    assert_eq!(due_approvals(&c, 999).unwrap(), Vec::<i64>::new());
    assert_eq!(due_approvals(&c, 1_000).unwrap(), [e]);
    assert!(decide(&c, e, Decision::Expire, "no one approved it", 1_000).unwrap());
    assert_eq!(status(&c, e), (Skipped, Some("approval_expired".into())));
    assert!(
        get(&c, e).unwrap().unwrap().decided_by.is_none(),
        "an expiry is no one's decision"
    );

    let s = waiting_task(&c, "a.service", "sha256:5", SCHEDULE);
    assert!(
        !decide(
            &c,
            s,
            Decision::Approve {
                by: "ops",
                not_before_ms: None
            },
            "x",
            now
        )
        .unwrap()
    );
    assert!(
        !decide(&c, s, Decision::Expire, "x", now).unwrap(),
        "only approvals expire"
    );
}

#[test]
fn the_triggers_refuse_what_the_machine_forbids_even_by_raw_sql() {
    let c = db();
    let set = |id: i64, to: &str| c.execute("UPDATE tasks SET status = ?2 WHERE id = ?1", params![id, to]);
    let a = waiting_task(&c, "a.service", "sha256:1", APPROVAL);
    assert!(set(a, "running").is_err(), "approval first");
    assert!(set(a, "succeeded").is_err());
    assert!(
        set(a, "pending").unwrap_err().to_string().contains("who gave it"),
        "an approval names someone"
    );
    let s = waiting_task(&c, "a.service", "sha256:2", SCHEDULE);
    assert!(set(s, "awaiting_approval").is_err(), "never back to waiting");
    assert!(set(s, "rolled_back").is_err());
    assert!(set(s, "pending").is_ok(), "its time came");
    assert!(set(s, "scheduled").is_err(), "a started task never waits again");
    let p = insert(&c, &new_task(&spec(&["b.service"])), 1).unwrap();
    assert!(set(p, "awaiting_approval").is_err());
    assert!(set(p, "scheduled").is_err());
    // The model says the same.
    for from in TaskStatus::ALL {
        for to in TaskStatus::ALL {
            if from.is_waiting() && from.can_become(to) {
                assert!(
                    matches!(to, Scheduled | Pending | Skipped | Cancelled | Failed),
                    "{from} -> {to}"
                );
            }
        }
    }
    let x = waiting_task(&c, "a.service", "sha256:3", SCHEDULE);
    assert!(transition(&c, x, Cancelled, "cancelled", "on request", 5).unwrap());
    let y = waiting_task(&c, "a.service", "sha256:4", SCHEDULE);
    assert!(transition(&c, y, Failed, "dispatch_failed", "no timer", 5).unwrap());
    let z = waiting_task(&c, "a.service", "sha256:5", APPROVAL);
    assert!(!transition(&c, z, Running, "running", "", 5).unwrap());
}

#[test]
fn a_newer_digest_supersedes_what_waits_for_the_same_unit_only() {
    let c = db();
    let old = waiting_task(&c, "a.service", "sha256:1", APPROVAL);
    let sched = waiting_task(&c, "a.service", "sha256:1", SCHEDULE);
    let other = waiting_task(&c, "b.service", "sha256:1", APPROVAL);
    let same = supersede_waiting(&c, "a.service", Some("sha256:1"), 99, 7).unwrap();
    assert!(same.is_empty(), "the same digest is not newer");
    let ended = supersede_waiting(&c, "a.service", Some("sha256:2"), 99, 7).unwrap();
    assert_eq!(ended, [old, sched]);
    for id in [old, sched] {
        let t = get(&c, id).unwrap().unwrap();
        assert_eq!((t.status, t.reason.as_deref()), (Skipped, Some("superseded")));
        assert!(t.message.unwrap().contains("task 99"));
    }
    assert_eq!(status(&c, other).0, AwaitingApproval, "another unit's wait stays");
    let by_hand = supersede_waiting(&c, "b.service", None, 100, 8).unwrap();
    assert_eq!(by_hand, [other], "a deploy by hand (no digest) makes a wait moot");
}

#[test]
fn min_age_clock_starts_once_per_digest() {
    let c = db();
    assert_eq!(first_seen(&c, "a.service", "sha256:1", 10).unwrap(), 10);
    assert_eq!(first_seen(&c, "a.service", "sha256:1", 50).unwrap(), 10);
    assert_eq!(
        first_seen(&c, "a.service", "sha256:2", 60).unwrap(),
        60,
        "a newer digest restarts it"
    );
    assert_eq!(first_seen(&c, "b.service", "sha256:1", 70).unwrap(), 70);
}
