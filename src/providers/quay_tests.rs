//! Quay's "Webhook POST" bodies in `tests/fixtures/quay/` (sources in
//! `tests/fixtures/README.md`), read the way a delivery on `/hooks/quay/<secret>` is,
//! and the shapes a template or another Quay version could send.

use crate::providers::{self, Delivery, Sender, Verdict};
use serde_json::{Value, json};

const PUSH_2017: &str = include_str!("../../tests/fixtures/quay/repo_push.quay-docs-2017.json");
const PUSH_2026: &str = include_str!("../../tests/fixtures/quay/repo_push.quay-docs-2026.json");
const PUSH_2015_OBJECT: &str =
    include_str!("../../tests/fixtures/quay/repo_push.updated_tags-object.quay-docs-2015.json");
const BUILD_QUEUED: &str = include_str!("../../tests/fixtures/quay/build_queued.quay-docs-2015.json");
const BUILD_START: &str = include_str!("../../tests/fixtures/quay/build_start.quay-docs-2015.json");
const BUILD_SUCCESS: &str = include_str!("../../tests/fixtures/quay/build_success.quay-docs-2015.json");
const BUILD_FAILURE: &str = include_str!("../../tests/fixtures/quay/build_failure.quay-docs-2015.json");
const BUILD_CANCELLED: &str = include_str!("../../tests/fixtures/quay/build_cancelled.quay-docs-2026.json");
const VULNERABILITY: &str = include_str!("../../tests/fixtures/quay/vulnerability_found.quay-docs-2017.json");

/// Quay sends only `Content-type: application/json`.
fn content_type(name: &str) -> Option<&'static str> {
    (name == "content-type").then_some("application/json")
}

fn read(body: &str) -> Delivery {
    providers::read(Sender::Quay, &content_type, body.as_bytes()).unwrap()
}

fn read_value(body: Value) -> Delivery {
    read(&body.to_string())
}

/// Each item as `repository:tag` (with `@digest` when one is given) or `ignored:<reason>`.
fn outcome(delivery: &Delivery) -> Vec<String> {
    let each = |v: &Verdict| match v {
        Verdict::Image(e) => match &e.digest {
            Some(d) => format!("{}@{d}", e.reference()),
            None => e.reference(),
        },
        Verdict::Ignored { reason, .. } => format!("ignored:{reason}"),
        Verdict::Ping { .. } => "ping".into(),
    };
    delivery.items.iter().map(|i| each(&i.verdict)).collect()
}

#[test]
fn documented_pushes_deploy_each_updated_tag_without_a_digest() {
    for body in [PUSH_2017, PUSH_2015_OBJECT] {
        let d = read(body);
        assert_eq!(outcome(&d), ["quay.io/mynamespace/repository:latest"]);
        assert_eq!((d.event.as_deref(), d.id.as_deref()), (Some("repo_push"), None));
        assert!(d.items.iter().all(|i| i.id.is_none()));
    }
}

/// The current docs' example names one repository in `docker_url` and `repository`
/// and another in `name` and `homepage`: the pull reference (`docker_url`) wins.
#[test]
fn docker_url_names_the_repository_when_the_fields_disagree() {
    let d = read(PUSH_2026);
    assert_eq!(outcome(&d), ["quay.io/dgangaia/test:latest"]);
    let e = d.images().next().unwrap();
    assert_eq!(
        (e.registry.as_str(), e.owner.as_str(), e.name.as_str()),
        ("quay.io", "dgangaia", "test")
    );
}

#[test]
fn build_events_are_ignored_although_they_list_tags() {
    for body in [BUILD_QUEUED, BUILD_START, BUILD_SUCCESS, BUILD_FAILURE, BUILD_CANCELLED] {
        let d = read(body);
        assert_eq!(outcome(&d), ["ignored:unsupported_event"], "{body}");
        assert_eq!((d.event.as_deref(), d.id.as_deref()), (Some("build"), None));
    }
}

#[test]
fn vulnerability_reports_are_ignored() {
    let d = read(VULNERABILITY);
    assert_eq!(outcome(&d), ["ignored:unsupported_event"]);
    assert_eq!(d.event.as_deref(), Some("vulnerability_found"));
}

#[test]
fn several_tags_pushed_at_once_are_one_item_each() {
    let body = json!({
        "repository": "ns/app", "docker_url": "quay.example.com:8443/ns/app",
        "updated_tags": ["v1.2.3", "latest", "v1.2.3", "V1"]
    });
    assert_eq!(
        outcome(&read_value(body)),
        [
            "quay.example.com:8443/ns/app:v1.2.3",
            "quay.example.com:8443/ns/app:latest",
            "quay.example.com:8443/ns/app:V1"
        ]
    );
    let object = json!({"docker_url": "quay.io/ns/app", "updated_tags": {"v1": "abc", "v2": "def"}});
    assert_eq!(outcome(&read_value(object)), ["quay.io/ns/app:v1", "quay.io/ns/app:v2"]);
}

#[test]
fn upper_case_keys_and_names_are_read_and_lowered() {
    let body = json!({"Docker_URL": "Quay.IO/MyNS/App", "UPDATED_TAGS": ["Latest"]});
    assert_eq!(outcome(&read_value(body)), ["quay.io/myns/app:Latest"]);
}

#[test]
fn the_repository_comes_from_other_fields_when_docker_url_has_no_path() {
    let body = json!({"docker_url": "https://quay.io", "repository": "ns/app", "updated_tags": ["v1"]});
    assert_eq!(outcome(&read_value(body)), ["quay.io/ns/app:v1"]);
    let body = json!({"docker_url": "quay.io", "namespace": "ns", "name": "app", "updated_tags": ["v1"]});
    assert_eq!(outcome(&read_value(body)), ["quay.io/ns/app:v1"]);
}

/// `homepage` is on the same `SERVER_HOSTNAME` as the registry (quay/quay builds both
/// from it), so a template that drops `docker_url` still names the host.
#[test]
fn without_docker_url_the_homepage_names_the_host_and_nothing_is_guessed() {
    let body = json!({
        "repository": "ns/app", "homepage": "https://registry.example.com/repository/ns/app",
        "updated_tags": ["v1"]
    });
    assert_eq!(outcome(&read_value(body)), ["registry.example.com/ns/app:v1"]);
    // A first component without `.` or `:` is a namespace, as docker reads it.
    let body = json!({"docker_url": "ns/app", "homepage": "https://q.example/x", "updated_tags": ["v1"]});
    assert_eq!(outcome(&read_value(body)), ["q.example/ns/app:v1"]);
    let body = json!({"repository": "ns/app", "updated_tags": ["v1"]});
    assert_eq!(outcome(&read_value(body)), ["ignored:missing_registry"]);
}

#[test]
fn tags_as_text_or_json_text_are_read() {
    let body = json!({"docker_url": "quay.io/ns/app", "updated_tags": "v1, v2"});
    assert_eq!(outcome(&read_value(body)), ["quay.io/ns/app:v1", "quay.io/ns/app:v2"]);
    let body = json!({"docker_url": "quay.io/ns/app", "updated_tags": "[\"v3\"]"});
    assert_eq!(outcome(&read_value(body)), ["quay.io/ns/app:v3"]);
    let body = json!({"docker_url": "quay.io/ns/app", "updated_tags": [7, null, {"x": 1}]});
    assert_eq!(outcome(&read_value(body)), ["quay.io/ns/app:7"]);
}

#[test]
fn pushes_without_a_usable_tag_are_untagged_never_latest() {
    for tags in [json!([]), json!({}), json!(""), json!(null), json!([null, true])] {
        let body = json!({"docker_url": "quay.io/ns/app", "updated_tags": tags});
        assert_eq!(outcome(&read_value(body)), ["ignored:untagged"], "{tags}");
    }
    let digest = format!("sha256:{}", "ab".repeat(32));
    let body = json!({"docker_url": "quay.io/ns/app", "updated_tags": [digest]});
    assert_eq!(outcome(&read_value(body)), ["ignored:untagged"]);
}

#[test]
fn odd_bodies_are_ignored_with_a_reason() {
    assert_eq!(outcome(&read("{}")), ["ignored:unsupported_event"]);
    assert_eq!(read("{}").event, None);
    let body = json!({"docker_url": "quay.io/ns/app", "updated_tags": ["v1"], "build_id": "x"});
    assert_eq!(outcome(&read_value(body)), ["ignored:unsupported_event"]);
    let body = json!({"docker_url": ["quay.io"], "repository": {"a": 1}, "updated_tags": ["v1"]});
    assert_eq!(outcome(&read_value(body)), ["ignored:missing_registry"]);
    let body = json!({"docker_url": "quay.io/Bad Name", "updated_tags": ["v1"]});
    assert_eq!(outcome(&read_value(body)), ["ignored:invalid_reference"]);
    let body = json!({"docker_url": "quay.io/ns/app", "updated_tags": ["-bad"]});
    assert_eq!(outcome(&read_value(body)), ["ignored:invalid_reference"]);
}
