//! Docker Hub's repository webhooks in `tests/fixtures/dockerhub/` (sources in
//! `tests/fixtures/README.md`), read the way a delivery on `/hooks/dockerhub/<secret>`
//! is, and the odd shapes a parser must survive.

use crate::providers::{self, Delivery, Sender, Verdict};
use serde_json::{Value, json};

const KEEL_2017: &str = include_str!("../../tests/fixtures/dockerhub/push.keel-karolisr-2017.json");
const FIREFLY_2021: &str = include_str!("../../tests/fixtures/dockerhub/push.fireflyiii-2021.hub-feedback-2148.json");
const DOCS: &str = include_str!("../../tests/fixtures/dockerhub/push.docker-docs.json");

fn content_type(name: &str) -> Option<&'static str> {
    (name == "content-type").then_some("application/json")
}

fn read(body: &str) -> Delivery {
    providers::read(Sender::Dockerhub, &content_type, body.as_bytes()).unwrap()
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
fn real_and_documented_pushes_deploy_from_docker_io_without_a_digest_or_id() {
    for (body, reference) in [
        (KEEL_2017, "docker.io/karolisr/keel:0.1.7"),
        (FIREFLY_2021, "docker.io/fireflyiii/core:develop"),
        (DOCS, "docker.io/svendowideit/testhook:latest"),
    ] {
        let d = read(body);
        assert_eq!(outcome(&d), [reference]);
        // `callback_url` names the webhook, not the delivery: not an id.
        assert_eq!((d.event.as_deref(), d.id.as_deref()), (Some("push"), None));
        assert!(d.items.iter().all(|i| i.id.is_none()));
    }
}

#[test]
fn official_images_live_under_library() {
    let push = |repository: Value| json!({"push_data": {"tag": "1.27"}, "repository": repository});
    for repository in [
        json!({"repo_name": "library/nginx"}),
        json!({"repo_name": "nginx"}),
        json!({"name": "nginx", "namespace": "library"}),
        json!({"name": "nginx"}),
    ] {
        assert_eq!(
            outcome(&read_value(push(repository.clone()))),
            ["docker.io/library/nginx:1.27"],
            "{repository}"
        );
    }
}

#[test]
fn upper_case_keys_and_names_are_read_and_lowered() {
    let body = json!({"PUSH_DATA": {"Tag": "V1"}, "Repository": {"Repo_Name": "Acme/Web"}});
    assert_eq!(outcome(&read_value(body)), ["docker.io/acme/web:V1"]);
}

#[test]
fn objects_sent_as_json_text_and_numeric_tags_are_read() {
    let body = json!({"push_data": "{\"tag\": 2}", "repository": "{\"repo_name\": \"acme/web\"}"});
    assert_eq!(outcome(&read_value(body)), ["docker.io/acme/web:2"]);
    // A repository given as its name alone.
    let body = json!({"push_data": {"tag": "v1"}, "repository": "acme/web"});
    assert_eq!(outcome(&read_value(body)), ["docker.io/acme/web:v1"]);
}

#[test]
fn without_push_data_or_a_tag_nothing_deploys() {
    assert_eq!(outcome(&read("{}")), ["ignored:unsupported_event"]);
    assert_eq!(read("{}").event, None);
    let body = json!({"push_data": [1], "repository": {"repo_name": "acme/web"}});
    assert_eq!(outcome(&read_value(body)), ["ignored:unsupported_event"]);
    for tag in [
        json!(null),
        json!(""),
        json!({"x": 1}),
        json!(format!("sha256:{}", "ab".repeat(32))),
    ] {
        let body = json!({"push_data": {"tag": tag}, "repository": {"repo_name": "acme/web"}});
        assert_eq!(outcome(&read_value(body)), ["ignored:untagged"], "{tag}");
    }
}

#[test]
fn a_push_without_a_repository_name_is_ignored() {
    for repository in [
        json!(null),
        json!({}),
        json!({"repo_name": true}),
        json!({"repo_name": "a b"}),
    ] {
        let body = json!({"push_data": {"tag": "v1"}, "repository": repository});
        assert_eq!(
            outcome(&read_value(body)),
            ["ignored:invalid_reference"],
            "{repository}"
        );
    }
}
