use super::*;
use crate::providers::{ImageEvent, Verdict};
use serde_json::json;

fn deliver(body: &str) -> Delivery {
    let payload: Value = serde_json::from_str(body).expect("fixture is JSON");
    let none = |_: &str| None;
    read(&none, &payload)
}

fn image(v: &Verdict) -> &ImageEvent {
    match v {
        Verdict::Image(e) => e,
        other => panic!("not an image: {other:?}"),
    }
}

fn reasons(d: &Delivery) -> Vec<&'static str> {
    d.items
        .iter()
        .map(|i| match &i.verdict {
            Verdict::Ignored { reason, .. } => *reason,
            other => panic!("not ignored: {other:?}"),
        })
        .collect()
}

fn fixture_ignored(body: &str, event: &str, reason: &str) {
    let d = deliver(body);
    assert_eq!((d.event.as_deref(), d.id.as_deref()), (Some(event), None));
    assert_eq!(reasons(&d), [reason]);
    assert!(d.items.iter().all(|i| i.id.is_none()));
}

#[test]
fn tagged_push_deploys_from_the_resource_url_host() {
    let d = deliver(include_str!(
        "../../tests/fixtures/harbor/PUSH_ARTIFACT.tagged.docs-2.0.json"
    ));
    assert_eq!((d.event.as_deref(), d.id.as_deref()), (Some("PUSH_ARTIFACT"), None));
    assert_eq!(d.items.len(), 1);
    let e = image(&d.items[0].verdict);
    assert_eq!(e.reference(), "hub.harbor.com/test-webhook/debian:latest");
    assert_eq!(
        e.digest.as_deref(),
        Some("sha256:8a9e9863dbb6e10edb5adfe917c00da84e1700fa76e7ed02476aa6e6fb8ee0d8")
    );
    assert_eq!(d.items[0].id, None);
}

#[test]
fn untagged_push_with_the_digest_as_tag_is_ignored() {
    let body = include_str!("../../tests/fixtures/harbor/PUSH_ARTIFACT.untagged.docs-2.8.json");
    fixture_ignored(body, "PUSH_ARTIFACT", "untagged");
}

#[test]
fn harbor_1_10_push_names_no_host() {
    let d = deliver(include_str!("../../tests/fixtures/harbor/pushImage.docs-1.10.json"));
    assert_eq!((d.event.as_deref(), d.id.as_deref()), (Some("pushImage"), None));
    assert_eq!(reasons(&d), ["missing_registry"]);
}

#[test]
fn lookalikes_are_ignored() {
    let cases = [
        (
            include_str!("../../tests/fixtures/harbor/PULL_ARTIFACT.docs-2.8.json"),
            "PULL_ARTIFACT",
        ),
        (
            include_str!("../../tests/fixtures/harbor/DELETE_ARTIFACT.docs-2.8.json"),
            "DELETE_ARTIFACT",
        ),
        (
            include_str!("../../tests/fixtures/harbor/SCANNING_COMPLETED.docs-2.8.json"),
            "SCANNING_COMPLETED",
        ),
        (
            include_str!("../../tests/fixtures/harbor/SCANNING_FAILED.docs-2.8.json"),
            "SCANNING_FAILED",
        ),
        (
            include_str!("../../tests/fixtures/harbor/SCANNING_STOPPED.docs-2.8.json"),
            "SCANNING_STOPPED",
        ),
        (
            include_str!("../../tests/fixtures/harbor/QUOTA_EXCEED.docs-2.8.json"),
            "QUOTA_EXCEED",
        ),
        (
            include_str!("../../tests/fixtures/harbor/QUOTA_WARNING.docs-2.8.json"),
            "QUOTA_WARNING",
        ),
        (
            include_str!("../../tests/fixtures/harbor/REPLICATION.docs-2.8.json"),
            "REPLICATION",
        ),
        (
            include_str!("../../tests/fixtures/harbor/TAG_RETENTION.docs-2.8.json"),
            "TAG_RETENTION",
        ),
    ];
    for (body, event) in cases {
        fixture_ignored(body, event, "unsupported_event");
    }
}

#[test]
fn cloudevents_delete_is_ignored_and_keeps_its_id() {
    let d = deliver(include_str!(
        "../../tests/fixtures/harbor/DELETE_ARTIFACT.cloudevents.docs-2.8.json"
    ));
    assert_eq!(d.event.as_deref(), Some("harbor.artifact.deleted"));
    assert_eq!(d.id.as_deref(), Some("343f1623-7cba-487c-88f1-c5ebf55e93aa"));
    assert_eq!(reasons(&d), ["unsupported_event"]);
}

// Built here: the docs' CloudEvents "pushed" example does not parse (it has `//`
// comments). This is its shape (goharbor/website configure-webhooks.md, the 2.8 page)
// with a tagged resource, as the Default format's tagged push carries it.
#[test]
fn cloudevents_tagged_push_deploys() {
    let body = json!({
        "specversion": "1.0",
        "id": "66e18103-09c1-41f6-982f-37df223f3eeb",
        "requestid": "51c0b694-0168-4f3c-b0db-282565455d7b",
        "source": "/projects/2/webhook/policies/15",
        "type": "harbor.artifact.pushed",
        "datacontenttype": "application/json",
        "data": {
            "resources": [{"digest": format!("sha256:{}", "ab".repeat(32)), "tag": "3.8",
                           "resource_url": "harbor.example.com:8443/harbor/alpine:3.8"}],
            "repository": {"name": "alpine", "namespace": "harbor", "repo_full_name": "harbor/alpine"}
        },
        "operator": "admin"
    });
    let d = deliver(&body.to_string());
    assert_eq!(d.id.as_deref(), Some("66e18103-09c1-41f6-982f-37df223f3eeb"));
    let e = image(&d.items[0].verdict);
    assert_eq!(e.reference(), "harbor.example.com:8443/harbor/alpine:3.8");
    assert_eq!(e.digest, Some(format!("sha256:{}", "ab".repeat(32))));
}

// Built here after harbor's `event_data.resources[]` (one resource per tag pushed).
#[test]
fn every_resource_is_an_item() {
    let d = format!("sha256:{}", "cd".repeat(32));
    let body = json!({
        "TYPE": "push_artifact",
        "Event_Data": {
            "Resources": [
                {"Digest": d, "Tag": "v1", "Resource_URL": "Harbor.Local/Team/App:v1"},
                {"digest": d, "tag": "", "resource_url": "harbor.local/team/app@".to_string() + &d},
                {"digest": d, "resource_url": "harbor.local/team/app:v2"},
                {"digest": d, "tag": "v3", "resource_url": "no-slash"},
                "not an object",
            ],
            "repository": "{\"repo_full_name\": \"team/app\"}"
        }
    });
    let out = deliver(&body.to_string());
    assert_eq!(out.event.as_deref(), Some("push_artifact"));
    assert_eq!(out.items.len(), 5);
    assert_eq!(image(&out.items[0].verdict).reference(), "harbor.local/team/app:v1");
    assert_eq!(image(&out.items[0].verdict).digest.as_deref(), Some(d.as_str()));
    let rest: Vec<_> = out.items[1..]
        .iter()
        .map(|i| match &i.verdict {
            Verdict::Image(e) => e.reference(),
            Verdict::Ignored { reason, .. } => reason.to_string(),
            Verdict::Ping { .. } => "ping".into(),
        })
        .collect();
    assert_eq!(
        rest,
        [
            "untagged",
            "harbor.local/team/app:v2",
            "missing_registry",
            "missing_package"
        ]
    );
}

#[test]
fn odd_bodies_are_ignored_never_fail() {
    let cases = [
        (json!({}), "missing_event"),
        (json!({"type": 7}), "unsupported_event"),
        (json!({"type": "PUSH_ARTIFACT"}), "missing_package"),
        (
            json!({"type": "PUSH_ARTIFACT", "event_data": {"resources": []}}),
            "missing_package",
        ),
        (json!({"type": "PUSH_ARTIFACT", "event_data": []}), "missing_package"),
        (json!({"type": "UPLOAD_CHART", "event_data": {}}), "unsupported_event"),
        (json!({"type": ["PUSH_ARTIFACT"]}), "missing_event"),
        (
            json!({"event_type": "pushImage", "events": [{"tag": "v1"}]}),
            "missing_registry",
        ),
    ];
    for (body, reason) in cases {
        let d = deliver(&body.to_string());
        assert_eq!(reasons(&d), [reason], "{body}");
    }
}
