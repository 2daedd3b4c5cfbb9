use super::*;
use crate::providers::{ImageEvent, Verdict};
use serde_json::json;

fn deliver(body: &str) -> Delivery {
    let payload: Value = serde_json::from_str(body).expect("fixture is JSON");
    let none = |_: &str| None;
    read(&none, &payload)
}

fn only(d: &Delivery) -> &Verdict {
    assert_eq!(d.items.len(), 1, "{d:?}");
    assert_eq!(
        (d.id.as_deref(), d.items[0].id.as_deref()),
        (None, None),
        "JFrog sends no id"
    );
    &d.items[0].verdict
}

fn image(v: &Verdict) -> &ImageEvent {
    match v {
        Verdict::Image(e) => e,
        other => panic!("not an image: {other:?}"),
    }
}

fn reason(v: &Verdict) -> &'static str {
    match v {
        Verdict::Ignored { reason, .. } => reason,
        other => panic!("not ignored: {other:?}"),
    }
}

#[test]
fn pushed_tag_deploys_from_the_platform_host_and_repository_key() {
    let d = deliver(include_str!(
        "../../tests/fixtures/jfrog/docker.pushed.list-manifest.keel-2022.json"
    ));
    assert_eq!(d.event.as_deref(), Some("docker.pushed"));
    let e = image(only(&d));
    assert_eq!(
        e.reference(),
        "example.jfrog.io/docker-remote-cache/library/ubuntu:latest"
    );
    assert_eq!(
        e.digest.as_deref(),
        Some("sha256:35c4a2c15539c6c1e4e5fa4e554dac323ad0107d8eb5c582d6ff386b383b7dce")
    );
}

#[test]
fn sample_push_is_a_test_delivery() {
    let d = deliver(include_str!(
        "../../tests/fixtures/jfrog/docker.pushed.sample.telegraf.json"
    ));
    assert_eq!(d.event.as_deref(), Some("docker.pushed"));
    assert_eq!(only(&d), &Verdict::Ping { hook_id: None });
}

#[test]
fn lookalikes_are_ignored() {
    let cases = [
        (
            include_str!("../../tests/fixtures/jfrog/docker.deleted.sample.telegraf.json"),
            "docker.deleted",
        ),
        (
            include_str!("../../tests/fixtures/jfrog/docker.promoted.sample.telegraf.json"),
            "docker.promoted",
        ),
        (
            include_str!("../../tests/fixtures/jfrog/artifact.deployed.sample.telegraf.json"),
            "artifact.deployed",
        ),
    ];
    for (body, event) in cases {
        let d = deliver(body);
        assert_eq!(d.event.as_deref(), Some(event));
        assert_eq!(reason(only(&d)), "unsupported_event", "{event}");
    }
}

// Built here after the docs' "Docker Tag was Pushed" data (jfrog.com domain-docker page)
// in the keel envelope, varying what real deliveries may vary.
fn pushed(data: Value, origin: Value) -> Value {
    json!({"domain": "docker", "event_type": "pushed", "data": data,
           "subscription_key": "k", "jpd_origin": origin, "source": "jfrog/user@example.com"})
}

#[test]
fn push_shapes() {
    let hex = "ab".repeat(32);
    let cases = [
        (
            pushed(
                json!({"repo_key": "Docker-Local", "path": "team/app/v1/manifest.json", "name": "manifest.json",
                       "sha256": hex.to_uppercase(), "image_name": "Team/App", "tag": "v1", "image_type": "docker"}),
                json!("https://Acme.JFrog.io/"),
            ),
            "acme.jfrog.io/docker-local/team/app:v1",
            Some(format!("sha256:{hex}")),
        ),
        // No image_name: the path is `<image>/<tag>/<manifest>`.
        (
            pushed(
                json!({"repo_key": "oci-local", "path": "team/app/v2/manifest.json", "sha256": hex, "tag": "v2",
                       "image_type": "oci"}),
                json!("http://artifactory.lan:8082"),
            ),
            "artifactory.lan:8082/oci-local/team/app:v2",
            None,
        ),
        // Upper-case keys and values, data sent as JSON text.
        (
            json!({"DOMAIN": "DOCKER", "EVENT_TYPE": "PUSHED", "JPD_ORIGIN": "https://a.jfrog.io",
                   "DATA": format!("{{\"repo_key\": \"r\", \"image_name\": \"app\", \"tag\": \"1.0\", \"name\": \"list.manifest.json\", \"sha256\": \"sha256:{hex}\"}}")}),
            "a.jfrog.io/r/app:1.0",
            Some(format!("sha256:{hex}")),
        ),
    ];
    for (body, want, digest) in cases {
        let d = deliver(&body.to_string());
        let e = image(only(&d));
        assert_eq!((e.reference().as_str(), &e.digest), (want, &digest), "{body}");
    }
}

#[test]
fn what_cannot_be_placed_is_ignored() {
    let data = json!({"repo_key": "docker-local", "image_name": "app", "tag": "v1", "name": "manifest.json"});
    let mut no_key = data.clone();
    no_key["repo_key"] = json!(null);
    let mut untagged = data.clone();
    untagged["tag"] = json!("");
    let mut chart = data.clone();
    chart["image_type"] = json!("helm");
    let mut other = data.clone();
    other["image_type"] = json!("generic");
    let cases = [
        (pushed(data.clone(), json!(null)), "missing_registry"),
        (pushed(data.clone(), json!("")), "missing_registry"),
        (pushed(no_key, json!("https://a.jfrog.io")), "missing_registry"),
        (pushed(untagged, json!("https://a.jfrog.io")), "untagged"),
        (pushed(chart, json!("https://a.jfrog.io")), "helm_chart"),
        (pushed(other, json!("https://a.jfrog.io")), "not_a_container"),
        (pushed(json!(null), json!("https://a.jfrog.io")), "missing_package"),
        (
            pushed(json!("not json"), json!("https://a.jfrog.io")),
            "missing_package",
        ),
    ];
    for (body, want) in cases {
        assert_eq!(reason(only(&deliver(&body.to_string()))), want, "{body}");
    }
}

#[test]
fn odd_bodies_are_ignored_never_fail() {
    let cases = [
        (json!({}), "missing_event"),
        (json!({"domain": "docker"}), "missing_event"),
        (json!({"event_type": "pushed", "data": {}}), "missing_event"),
        (
            json!({"domain": "build", "event_type": "uploaded"}),
            "unsupported_event",
        ),
        (json!({"domain": ["docker"], "event_type": {"x": 1}}), "missing_event"),
    ];
    for (body, want) in cases {
        assert_eq!(reason(only(&deliver(&body.to_string()))), want, "{body}");
    }
}
