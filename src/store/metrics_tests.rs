use super::*;

#[test]
fn an_empty_database_has_zeros_and_no_rows() {
    let c = crate::testing::migrated_db();
    let s = snapshot(&c, &["github_webhook"]).unwrap();
    assert_eq!(s.deploy_durations.count, 0);
    assert_eq!(s.deploy_durations.cumulative, vec![0; DEPLOY_BUCKETS_SECS.len()]);
    assert!(s.deliveries.is_empty() && s.tasks.is_empty() && s.running.is_empty() && s.waiting.is_empty());
    assert_eq!(s.event_rows, 0);
    assert!(s.db_bytes > 0);
}

#[test]
fn rows_are_counted_by_what_they_stand_for() {
    let c = crate::testing::migrated_db();
    c.execute_batch(
        "INSERT INTO event_log (request_id, ts_ms, method, path, status, action, reason, duration_ms, count) VALUES
           ('a', 1, 'POST', '/hooks/github', 202, 'github_webhook', 'accepted', 1, 1),
           ('b', 2, 'POST', '/hooks/github', 401, 'github_webhook', 'signature_mismatch', 1, 3),
           ('c', 3, 'GET', '/api/v1/tasks', 200, 'list_tasks', 'ok', 1, 1),
           ('d', 4, 'POST', '/api/v1/update-all', 429, 'update_all', 'update_all_rate_limited', 1, 2);
         INSERT INTO tasks (id, kind, status, created_ms, started_ms, finished_ms, source, spec) VALUES
           (1, 'webhook', 'succeeded', 0, 1000, 4000, 'x', '{}'),
           (2, 'manual', 'rolled_back', 0, 1000, 91000, 'x', '{}'),
           (3, 'check', 'succeeded', 0, 0, 500000, 'x', '{}'),
           (4, 'manual', 'awaiting_approval', 7000, NULL, NULL, 'x', '{}');
         INSERT INTO task_units (task_id, unit, image, from_digest, to_digest, status, finished_ms) VALUES
           (1, 'a.service', 'img:a', 'sha256:old', 'sha256:new', 'succeeded', 3900),
           (2, 'a.service', 'img:a', 'sha256:new', 'sha256:bad', 'rolled_back', 90000),
           (4, 'b.service', 'img:b', NULL, NULL, 'pending', NULL);
         INSERT INTO update_checks (unit, image, status, remote_digest, local_digests, checked_ms) VALUES
           ('b.service', 'img:b', 'available', 'sha256:b2', '[\"sha256:b1\"]', 9000);
         INSERT INTO image_seen (unit, digest, first_ms) VALUES ('b.service', 'sha256:b2', 5000);",
    )
    .unwrap();
    let s = snapshot(&c, &["github_webhook", "gitea_webhook"]).unwrap();
    let d: Vec<_> = s.deliveries.iter().map(|d| (d.status, d.requests)).collect();
    assert_eq!(d, [(202, 1), (401, 3)]);
    assert_eq!(s.refusals, [("update_all_rate_limited".to_string(), 2)]);
    assert_eq!(s.tasks.len(), 3, "{:?}", s.tasks);
    // Durations of deploys only: 3 s and 90 s.
    assert_eq!((s.deploy_durations.count, s.deploy_durations.sum_secs), (2, 93.0));
    assert_eq!(s.deploy_durations.cumulative, [0, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
    assert_eq!(s.last_success_ms, [("a.service".to_string(), 3900)]);
    assert_eq!(s.rollbacks, [("a.service".to_string(), 1, Some(90000))]);
    let manual: Vec<_> = s.tasks.iter().filter(|t| t.0 == "manual").collect();
    assert_eq!(
        *manual[0],
        ("manual".to_string(), "rolled_back".to_string(), 1, Some(91000))
    );
    let run: Vec<_> = s.running.iter().map(|r| (r.unit.as_str(), r.digest.as_str())).collect();
    assert_eq!(run, [("a.service", "sha256:new"), ("b.service", "sha256:b1")]);
    let w: Vec<_> = s
        .waiting
        .iter()
        .map(|w| (w.unit.as_str(), w.state.as_str(), w.count, w.since_ms))
        .collect();
    assert_eq!(
        w,
        [
            ("b.service", "available", 1, 5000),
            ("b.service", "awaiting_approval", 1, 7000)
        ]
    );
    assert_eq!(s.event_rows, 4);
}
