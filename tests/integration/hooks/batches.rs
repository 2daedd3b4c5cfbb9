//! Registry notifications batch events: each is judged on its own, one task per
//! service and digest, and an event is known again by its id in any envelope.

use crate::support::*;
use rusqlite::Connection;

#[test]
fn a_batch_is_judged_event_by_event_and_its_events_are_known_again() {
    let (fakes, podup) = setup_senders("senders-batch", &[]);
    let server = podup.serve(&[]);
    // distribution's own example: an untagged manifest and two layers, none deploys.
    let docs = sender_fixture("registry/push.untagged-manifest-and-layers.distribution-docs.json");
    let r = as_sender(server.addr, "registry", secret_of("registry"), None, &docs);
    assert_eq!(r.status, 202, "{}", r.body);
    let events = r.json()["events"].as_array().cloned().unwrap_or_default();
    assert_eq!(events.len(), 3, "{}", r.body);
    assert!(events.iter().all(|e| e["status"] == "ignored"), "{}", r.body);
    // The GitLab capture, then the same event in other bytes: its id makes it a repeat.
    let gitlab = sender_fixture("registry/push.tagged.gitlab-registry-erxes-2018.keel.json");
    let first = as_sender(server.addr, "registry", secret_of("registry"), None, &gitlab);
    assert_eq!(first.status, 202, "{}", first.body);
    let mut again = gitlab.clone();
    again.extend_from_slice(b"\n");
    let second = as_sender(server.addr, "registry", secret_of("registry"), None, &again);
    // (one event: answered as a single delivery is)
    let first_task = first.json()["task_id"].as_i64();
    assert!(first_task.is_some(), "{}", first.body);
    let v = second.json();
    assert_eq!(
        (v["status"].as_str(), v["task_id"].as_i64()),
        (Some("duplicate"), first_task),
        "{}",
        second.body
    );
    assert_eq!(fakes.calls_of("systemd-run").len(), 1, "{}", second.body);
}

#[test]
fn a_batch_of_real_events_makes_one_task_for_its_one_tagged_push() {
    let (fakes, podup) = setup_senders("senders-batch-mixed", &[]);
    let server = podup.serve(&[]);
    // Real events from three captures, put in one envelope as distribution batches them.
    let events = |file: &str| -> Vec<serde_json::Value> {
        let v: serde_json::Value = serde_json::from_slice(&sender_fixture(file)).unwrap();
        v["events"].as_array().unwrap().clone()
    };
    let mut all = events("registry/push.untagged-manifest-and-layers.distribution-docs.json");
    all.extend(events("registry/push.tagged.gitlab-registry-erxes-2018.keel.json"));
    all.extend(events("registry/pull.manifest.distribution-docs.json"));
    let n = all.len();
    let body = serde_json::to_vec(&serde_json::json!({ "events": all })).unwrap();
    let r = as_sender(server.addr, "registry", secret_of("registry"), None, &body);
    assert_eq!(
        (r.status, r.json()["status"].as_str()),
        (202, Some("accepted")),
        "{}",
        r.body
    );
    let v = r.json();
    let outcomes = v["events"].as_array().unwrap();
    assert_eq!(outcomes.len(), n);
    let accepted: Vec<_> = outcomes.iter().filter(|e| e["status"] == "accepted").collect();
    assert_eq!(accepted.len(), 1, "{}", r.body);
    assert_eq!(accepted[0]["image"], "registry.git.erxes.io/foo/bar:1.6.1");
    assert_eq!(
        outcomes.iter().filter(|e| e["status"] == "ignored").count(),
        n - 1,
        "{}",
        r.body
    );
    let task = v["task_ids"][0].as_i64().unwrap();
    assert_eq!(v["task_ids"].as_array().unwrap().len(), 1);
    // The same envelope in other bytes: every event known again, no new task.
    let mut again = body.clone();
    again.extend_from_slice(b" ");
    let r = as_sender(server.addr, "registry", secret_of("registry"), None, &again);
    let v = r.json();
    assert_eq!(v["task_ids"][0].as_i64(), Some(task), "{}", r.body);
    assert_eq!(
        r.json()["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["status"] == "duplicate")
            .count(),
        1
    );
    assert_eq!(fakes.calls_of("systemd-run").len(), 1);
    let conn = Connection::open(&server.db).unwrap();
    let (linked, meta): (i64, String) = conn
        .query_row(
            "SELECT task_id, meta FROM event_log WHERE path = '/hooks/registry' ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(linked, task);
    let meta: serde_json::Value = serde_json::from_str(&meta).unwrap();
    assert_eq!(
        (meta["events"].as_i64(), meta["tasks"][0].as_i64()),
        (Some(n as i64), Some(task))
    );
}
