use super::*;
use crate::testing::migrated_db;

fn row<'a>(message_id: &'a str, sink: &'a str) -> NewRow<'a> {
    NewRow {
        message_id,
        task_id: Some(7),
        event: NotifyEvent::RolledBack,
        sink,
        sink_name: "ntfy://example.org/alerts?token=***",
        body: "{}",
        next_ms: 1_000,
        window_key: None,
    }
}

#[test]
fn one_row_per_message_and_sink() {
    let conn = migrated_db();
    assert!(insert(&conn, &row("m1", "s1"), 1_000).unwrap());
    assert!(!insert(&conn, &row("m1", "s1"), 1_001).unwrap(), "a repeat is ignored");
    assert!(insert(&conn, &row("m1", "s2"), 1_000).unwrap());
    assert_eq!(due(&conn, 1_000, Some(7), 10).unwrap().len(), 2);
    assert_eq!(due(&conn, 999, None, 10).unwrap().len(), 0, "not due before next_ms");
    assert_eq!(due(&conn, 1_000, Some(8), 10).unwrap().len(), 0);
}

#[test]
fn a_claim_is_taken_once_and_runs_out() {
    let conn = migrated_db();
    insert(&conn, &row("m1", "s1"), 1_000).unwrap();
    let id = due(&conn, 1_000, None, 1).unwrap()[0].id;
    assert!(claim(&conn, id, 1_000, 11_000).unwrap());
    assert!(!claim(&conn, id, 1_001, 11_001).unwrap(), "a second flush skips it");
    assert!(due(&conn, 10_999, None, 1).unwrap().is_empty());
    assert_eq!(
        due(&conn, 11_000, None, 1).unwrap().len(),
        1,
        "a dead claimer's row is due again"
    );
}

#[test]
fn attempts_move_the_row_and_are_kept() {
    let conn = migrated_db();
    insert(&conn, &row("m1", "s1"), 1_000).unwrap();
    let id = due(&conn, 1_000, None, 1).unwrap()[0].id;
    record_attempt(&conn, id, 1_000, 30, Some("HTTP 500"), After::RetryAt(31_000)).unwrap();
    let s = sink_state(&conn, "s1").unwrap();
    assert_eq!((s.pending, s.last_error.as_deref()), (1, Some("HTTP 500")));
    assert_eq!(next_due(&conn).unwrap(), Some(31_000));
    record_attempt(&conn, id, 31_000, 12, None, After::Delivered).unwrap();
    let n = &for_task(&conn, 7).unwrap()[0];
    assert_eq!(n.row.status, DeliveryStatus::Delivered);
    assert_eq!(n.row.attempts, 2);
    assert_eq!(n.attempt_list.iter().map(|a| a.ok).collect::<Vec<_>>(), [false, true]);
    let s = sink_state(&conn, "s1").unwrap();
    assert_eq!((s.delivered, s.pending, s.last_error), (1, 0, None));
    assert_eq!(s.last_status, Some(DeliveryStatus::Delivered));
    assert_eq!(next_due(&conn).unwrap(), None);
}

#[test]
fn errors_are_bounded() {
    let conn = migrated_db();
    insert(&conn, &row("m1", "s1"), 1_000).unwrap();
    let long = "é".repeat(2 * MAX_ERROR_CHARS);
    give_up(&conn, 1, 2_000, &long).unwrap();
    let r = &recent(&conn, 1).unwrap()[0];
    assert_eq!(r.status, DeliveryStatus::GivenUp);
    assert_eq!(r.last_error.as_ref().unwrap().chars().count(), MAX_ERROR_CHARS + 1);
}
