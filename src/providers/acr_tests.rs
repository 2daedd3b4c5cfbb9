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

/// The event name, the delivery id (ACR has none) and the event id of `d`.
fn ids(d: &Delivery) -> (Option<&str>, Option<&str>, Option<&str>) {
    (d.event.as_deref(), d.id.as_deref(), d.items[0].id.as_deref())
}

#[test]
fn tagged_push_deploys_from_the_request_host() {
    let d = deliver(include_str!("../../tests/fixtures/acr/push.tagged.acr-docs-2017.json"));
    assert_eq!(
        ids(&d),
        (Some("push"), None, Some("cb8c3971-9adc-488b-bdd8-43cbb4974ff5"))
    );
    let e = image(only(&d));
    assert_eq!(e.reference(), "myregistry.azurecr.io/hello-world:v1");
    assert_eq!(
        e.digest.as_deref(),
        Some("sha256:80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d")
    );
}

#[test]
fn redacted_digest_is_absent_and_the_tag_still_deploys() {
    let d = deliver(include_str!(
        "../../tests/fixtures/acr/push.tagged.redacted.acr-docs-2023.json"
    ));
    assert_eq!(
        ids(&d),
        (Some("push"), None, Some("cb8c3971-9adc-488b-xxxx-43cbb4974ff5"))
    );
    let e = image(only(&d));
    assert_eq!(
        (e.reference().as_str(), e.digest.as_deref()),
        ("myregistry.azurecr.io/hello-world:v1", None)
    );
}

#[test]
fn delete_and_charts_are_ignored() {
    let cases = [
        (
            include_str!("../../tests/fixtures/acr/delete.acr-docs-2017.json"),
            "delete",
            "afc359ce-df7f-4e32-bdde-1ff8aa80927b",
            "unsupported_action",
        ),
        (
            include_str!("../../tests/fixtures/acr/chart_push.acr-docs-2019.json"),
            "chart_push",
            "6356e9e0-627f-4fed-ae51-d9059b5143ac",
            "helm_chart",
        ),
        (
            include_str!("../../tests/fixtures/acr/chart_push.acr-docs-2023.json"),
            "chart_push",
            "6356e9e0-627f-4fed-xxxx-d9059b5143ac",
            "helm_chart",
        ),
        (
            include_str!("../../tests/fixtures/acr/chart_delete.acr-docs-2023.json"),
            "chart_delete",
            "338a3ef7-ad68-4128-xxxx-fdd3af8e8f67",
            "unsupported_action",
        ),
    ];
    for (body, event, id, want) in cases {
        let d = deliver(body);
        assert_eq!(ids(&d), (Some(event), None, Some(id)));
        assert_eq!(reason(only(&d)), want, "{event}");
    }
}

// Built here: no Ping body was found; akuity/kargo's azure receiver reads `action`
// `ping`, and ACR's events share the top-level `id` (container-registry-webhook-reference.md).
#[test]
fn ping_is_a_ping() {
    let d = deliver(&json!({"id": "p-1", "action": "Ping", "timestamp": "2024-01-01T00:00:00Z"}).to_string());
    assert_eq!(ids(&d), (Some("Ping"), None, Some("p-1")));
    assert_eq!(only(&d), &Verdict::Ping { hook_id: None });
}

// Built here after the reference page's push event (`target`, `request`), varying what
// real deliveries may vary: case, an OCI media type, objects sent as JSON text.
#[test]
fn push_shapes() {
    let d = format!("sha256:{}", "ab".repeat(32));
    let push =
        |target: Value, request: Value| json!({"id": "e-1", "action": "push", "target": target, "request": request});
    let host = json!({"host": "MyRegistry.AzureCR.io"});
    let cases = [
        (
            json!({"mediaType": "application/vnd.oci.image.index.v1+json", "repository": "Team/App", "tag": "V2", "digest": d}),
            host.clone(),
            "myregistry.azurecr.io/team/app:V2",
        ),
        (
            json!(format!(
                "{{\"repository\": \"app\", \"tag\": \"v1\", \"digest\": \"{d}\"}}"
            )),
            json!("{\"host\": \"r.azurecr.io\"}"),
            "r.azurecr.io/app:v1",
        ),
        (
            json!({"MEDIATYPE": "APPLICATION/VND.DOCKER.DISTRIBUTION.MANIFEST.V2+JSON; x=y", "REPOSITORY": "app", "TAG": "v1"}),
            host.clone(),
            "myregistry.azurecr.io/app:v1",
        ),
    ];
    for (target, request, want) in cases {
        let out = deliver(&push(target, request).to_string());
        assert_eq!(image(only(&out)).reference(), want);
    }
    let ignored = [
        (
            json!({"mediaType": "application/vnd.cncf.helm.config.v1+json", "repository": "c", "tag": "1.0.0"}),
            host.clone(),
            "helm_chart",
        ),
        (
            json!({"mediaType": "application/vnd.oci.artifact.manifest.v1+json", "repository": "a", "tag": "sbom"}),
            host.clone(),
            "not_a_container",
        ),
        (json!({"repository": "app", "digest": d}), host.clone(), "untagged"),
        (json!({"repository": "app", "tag": d}), host.clone(), "untagged"),
        (json!({"repository": "app", "tag": "v1"}), json!({}), "missing_registry"),
        (
            json!({"repository": "app", "tag": "v1"}),
            json!(null),
            "missing_registry",
        ),
        (json!(null), host.clone(), "missing_package"),
        (json!(["app"]), host.clone(), "missing_package"),
    ];
    for (target, request, want) in ignored {
        let out = deliver(&push(target.clone(), request).to_string());
        assert_eq!(reason(only(&out)), want, "{target}");
        assert_eq!(out.items[0].id.as_deref(), Some("e-1"));
    }
}

#[test]
fn odd_bodies_are_ignored_never_fail() {
    let cases = [
        (json!({}), "missing_event"),
        (json!({"action": {"push": true}}), "missing_event"),
        (
            json!({"action": "quarantine", "target": {"repository": "app", "tag": "v1"}}),
            "unsupported_action",
        ),
        (json!({"action": "pull"}), "unsupported_action"),
    ];
    for (body, want) in cases {
        let d = deliver(&body.to_string());
        assert_eq!(reason(only(&d)), want, "{body}");
        assert_eq!(d.items[0].id, None);
    }
}
