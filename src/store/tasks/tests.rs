//! Tests of the three tables together: a task, its unit rows and its log.

use super::*;
use crate::model::{LogLevel, UnitSpec, UnitStatus};

fn db() -> Connection {
    crate::testing::migrated_db()
}

pub(super) fn spec(units: &[&str]) -> TaskSpec {
    TaskSpec {
        units: units
            .iter()
            .map(|u| UnitSpec {
                unit: u.to_string(),
                image: Some("r/a:t".into()),
                digest: Some("sha256:1".into()),
                retag: None,
            })
            .collect(),
        scope: Some(crate::model::Scope::System),
        recovers: None,
        sink: None,
        fresh: false,
        follow: Default::default(),
        pull_parallel: crate::model::DEFAULT_PULL_PARALLEL,
        engine: Default::default(),
        verify_secs: 10,
        dry_run: false,
        mode: crate::model::Mode::Deploy,
    }
}

pub(super) fn new_task<'a>(s: &'a TaskSpec) -> NewTask<'a> {
    NewTask {
        kind: TaskKind::Manual,
        source: "api",
        caller: Some("ci"),
        trigger_reason: None,
        request_id: None,
        delivery_id: Some("d1"),
        retry_of: None,
        spec: s,
        hold: None,
    }
}

#[test]
fn terminal_status_never_changes_even_by_raw_sql() {
    let c = db();
    let s = spec(&["a.service"]);
    let id = insert(&c, &new_task(&s), 1).unwrap();
    assert!(transition(&c, id, TaskStatus::Running, "", "", 2).unwrap());
    assert!(!transition(&c, id, TaskStatus::Pending, "", "", 3).unwrap());
    assert!(transition(&c, id, TaskStatus::Succeeded, "ok", "done", 4).unwrap());
    assert!(!transition(&c, id, TaskStatus::Failed, "x", "x", 5).unwrap());
    let e = c
        .execute("UPDATE tasks SET status = 'failed' WHERE id = ?1", [id])
        .unwrap_err();
    assert!(e.to_string().contains("terminal"), "{e}");
    let t = get(&c, id).unwrap().unwrap();
    assert_eq!(
        (t.status.as_str(), t.started_ms, t.finished_ms),
        ("succeeded", Some(2), Some(4))
    );
}

#[test]
fn running_cannot_return_to_pending_in_sql_either() {
    let c = db();
    let s = spec(&["a.service"]);
    let id = insert(&c, &new_task(&s), 1).unwrap();
    c.execute("UPDATE tasks SET status = 'running' WHERE id = ?1", [id])
        .unwrap();
    assert!(
        c.execute("UPDATE tasks SET status = 'pending' WHERE id = ?1", [id])
            .is_err()
    );
}

#[test]
fn list_filters_and_pages() {
    let c = db();
    let (a, b) = (spec(&["app.service"]), spec(&["worker.service", "db.service"]));
    for i in 0..10 {
        let s = if i % 2 == 0 { &a } else { &b };
        let mut t = new_task(s);
        if i % 3 == 0 {
            t.kind = TaskKind::Webhook;
        }
        insert(&c, &t, i).unwrap();
    }
    let all = list(
        &c,
        &ListFilter {
            limit: 4,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(all.iter().map(|t| t.id).collect::<Vec<_>>(), vec![10, 9, 8, 7]);
    let next = list(
        &c,
        &ListFilter {
            limit: 4,
            before_id: Some(7),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(next[0].id, 6);
    let worker = list(
        &c,
        &ListFilter {
            limit: 50,
            unit: Some("worker".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(worker.len(), 5);
    let hooks = list(
        &c,
        &ListFilter {
            limit: 50,
            kinds: Some(vec![TaskKind::Webhook]),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(hooks.len(), 4);
    let pending = list(
        &c,
        &ListFilter {
            limit: 50,
            status: Some(TaskStatus::Pending),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(pending.len(), 10);
}

#[test]
fn units_logs_delivery_and_coalescing() {
    let c = db();
    let s = spec(&["app.service"]);
    let id = insert(&c, &new_task(&s), 1).unwrap();
    assert_eq!(by_delivery(&c, "d1").unwrap().unwrap().id, id);
    assert_eq!(open_for(&c, "app.service", "sha256:1").unwrap(), Some(id));
    assert_eq!(open_for(&c, "app.service", "sha256:2").unwrap(), None);
    let u = UnitUpdate {
        status: Some(UnitStatus::Running),
        phase: Some("pull"),
        from_digest: Some("sha256:0"),
        ..Default::default()
    };
    update_unit(&c, id, "app.service", &u, 5).unwrap();
    add_log(
        &c,
        id,
        &LogEntry {
            ts_ms: 5,
            level: LogLevel::Info,
            step: "pull".into(),
            message: "m".into(),
            argv: Some(vec!["podman".into()]),
            exit_status: Some(0),
            ..Default::default()
        },
    )
    .unwrap();
    let units = units(&c, id).unwrap();
    assert_eq!(
        (
            units[0].phase.as_str(),
            units[0].from_digest.as_deref(),
            units[0].started_ms
        ),
        ("pull", Some("sha256:0"), Some(5))
    );
    assert_eq!(
        logs(&c, id).unwrap()[0].argv.as_deref(),
        Some(&["podman".to_string()][..])
    );
    end_open_units(&c, id, UnitStatus::Cancelled, "stopped", 6).unwrap();
    assert_eq!(self::units(&c, id).unwrap()[0].status, "cancelled");
    add_unit(&c, id, "extra.service", None).unwrap();
    add_unit(&c, id, "extra.service", None).unwrap();
    assert_eq!(
        get(&c, id).unwrap().unwrap().units,
        vec!["app.service", "extra.service"]
    );
}

#[test]
fn an_open_intent_of_an_ended_task_is_unsettled_until_recovered() {
    use crate::model::Intent;
    let c = db();
    let s = spec(&["a.service", "b.service"]);
    let id = insert(&c, &new_task(&s), 1).unwrap();
    let note = |unit: &str, intent: Intent| {
        let u = UnitUpdate {
            intent: Some(intent),
            prev_image: Some("p1"),
            target_image: Some("n1"),
            ..Default::default()
        };
        update_unit(&c, id, unit, &u, 2).unwrap();
    };
    note("a.service", Intent::Tag);
    note("b.service", Intent::Restart);
    note("b.service", Intent::Settled);
    let open = unsettled(&c, None).unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(
        (open[0].unit.as_str(), open[0].intent, open[0].prev_image.as_deref()),
        ("a.service", Intent::Tag, Some("p1"))
    );
    assert_eq!(open[0].image.as_deref(), Some("r/a:t"));
    assert!(unsettled(&c, Some(&["b.service".to_string()])).unwrap().is_empty());
    // A lost task's row keeps its note when the task is marked lost.
    transition(&c, id, TaskStatus::Unknown, "worker_lost", "gone", 3).unwrap();
    end_open_units(&c, id, UnitStatus::Unknown, "gone", 3).unwrap();
    assert_eq!(unsettled(&c, None).unwrap().len(), 1);
    mark_recovered(&c, id, "a.service", 99).unwrap();
    assert!(unsettled(&c, None).unwrap().is_empty());
    let rows = units(&c, id).unwrap();
    assert_eq!(
        (rows[0].intent, rows[0].recovered_by),
        (Some(Intent::Recovered), Some(99))
    );
    assert_eq!(rows[0].status, UnitStatus::Unknown, "the lost task's outcome stays");
    // The schema refuses a note it does not know.
    let bad = c.execute("UPDATE task_units SET intent = 'guess' WHERE task_id = ?1", [id]);
    assert!(bad.is_err());
}
