use super::*;
use crate::providers::{ImageEvent, Verdict};
use serde_json::json;

const TAGGED: &str = include_str!("../../tests/fixtures/registry/push.tagged.gitlab-registry-erxes-2018.keel.json");
const UNTAGGED_AND_LAYERS: &str =
    include_str!("../../tests/fixtures/registry/push.untagged-manifest-and-layers.distribution-docs.json");
const PULL: &str = include_str!("../../tests/fixtures/registry/pull.manifest.distribution-docs.json");

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn none(_: &str) -> Option<&'static str> {
    None
}

fn read_value(v: &Value) -> Delivery {
    read(&none, v)
}

fn read_text(body: &str) -> Delivery {
    read_value(&serde_json::from_str(body).expect("fixture parses"))
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

/// One event in an envelope, shaped like distribution's `notifications/event.go`
/// `Event` (the fixtures' fields), with `target` as given.
fn envelope(action: &str, target: Value) -> Value {
    json!({"events": [{
        "id": "e-1",
        "action": action,
        "target": target,
        "request": {"id": "r-1", "host": "registry.example.com:5000", "method": "PUT"},
        "source": {"addr": "node.local:5000"}
    }]})
}

fn one(v: &Value) -> Verdict {
    let d = read_value(v);
    assert_eq!(d.items.len(), 1, "{d:?}");
    d.items[0].verdict.clone()
}

#[test]
fn gitlab_registry_tagged_push_deploys() {
    let d = read_text(TAGGED);
    assert_eq!(d.event.as_deref(), Some("push"));
    assert_eq!(d.id, None);
    assert_eq!(d.items.len(), 1);
    assert_eq!(d.items[0].id.as_deref(), Some("d83e8796-7ba5-46ad-b239-d88473e21b2b"));
    let e = image(&d.items[0].verdict);
    // request.host, the name clients push and pull by, not source.addr (the node).
    assert_eq!(e.reference(), "registry.git.erxes.io/foo/bar:1.6.1");
    assert_eq!(
        e.digest.as_deref(),
        Some("sha256:4afff550708506c5b8b7384ad10d401a02b29ed587cb2730cb02753095b5178d")
    );
    assert_eq!((e.owner.as_str(), e.name.as_str()), ("foo", "bar"));
}

#[test]
fn untagged_manifest_and_layer_pushes_are_ignored_each() {
    let d = read_text(UNTAGGED_AND_LAYERS);
    assert_eq!(d.event.as_deref(), Some("push"));
    let ids: Vec<_> = d.items.iter().map(|i| i.id.as_deref()).collect();
    assert_eq!(
        ids,
        [
            Some("asdf-asdf-asdf-asdf-0"),
            Some("asdf-asdf-asdf-asdf-1"),
            Some("asdf-asdf-asdf-asdf-2")
        ]
    );
    let reasons: Vec<_> = d.items.iter().map(|i| reason(&i.verdict)).collect();
    // The manifest has no tag; the layers (whose 65-hex digest upstream is invalid)
    // are blobs, not manifests.
    assert_eq!(reasons, ["untagged", "not_a_manifest", "not_a_manifest"]);
}

#[test]
fn a_pull_is_ignored_though_it_names_a_tag() {
    let d = read_text(PULL);
    assert_eq!(d.event.as_deref(), Some("pull"));
    assert_eq!(d.items.len(), 1);
    assert_eq!(d.items[0].id.as_deref(), Some("320678d8-ca14-430f-8bb6-4ca139cd83f7"));
    assert_eq!(reason(&d.items[0].verdict), "unsupported_action");
}

#[test]
fn every_manifest_and_index_type_deploys() {
    for media in [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        OCI_MANIFEST,
        "application/vnd.oci.image.index.v1+json",
        "Application/VND.OCI.Image.Index.v1+JSON; charset=utf-8",
    ] {
        let v = envelope(
            "push",
            json!({"mediaType": media, "repository": "team/app", "tag": "v2"}),
        );
        let e = image(&one(&v)).clone();
        assert_eq!(e.reference(), "registry.example.com:5000/team/app:v2", "{media}");
        assert_eq!(e.digest, None);
    }
}

#[test]
fn blobs_mounts_deletes_and_unknown_types_are_ignored() {
    let d = format!("sha256:{}", "ab".repeat(32));
    let cases = [
        (
            "push",
            json!({"mediaType": "application/octet-stream", "digest": d, "repository": "a", "tag": "v1"}),
            "not_a_manifest",
        ),
        (
            "push",
            json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "repository": "a"}),
            "not_a_manifest",
        ),
        (
            "push",
            json!({"mediaType": "application/vnd.oci.image.config.v1+json", "repository": "a"}),
            "not_a_manifest",
        ),
        (
            "push",
            json!({"mediaType": "application/vnd.docker.distribution.manifest.v1+prettyjws", "repository": "a", "tag": "v1"}),
            "not_a_manifest",
        ),
        (
            "push",
            json!({"repository": "a", "url": "http://r.io/v2/a/blobs/x"}),
            "not_a_manifest",
        ),
        (
            "mount",
            json!({"mediaType": OCI_MANIFEST, "repository": "a", "fromRepository": "b"}),
            "unsupported_action",
        ),
        (
            "delete",
            json!({"digest": d, "repository": "library/test"}),
            "unsupported_action",
        ),
        (
            "push",
            json!({"mediaType": OCI_MANIFEST, "repository": "a", "tag": ""}),
            "untagged",
        ),
        (
            "push",
            json!({"mediaType": OCI_MANIFEST, "repository": "a", "tag": d}),
            "untagged",
        ),
        (
            "push",
            json!({"mediaType": OCI_MANIFEST, "repository": "A B", "tag": "v1"}),
            "invalid_reference",
        ),
        (
            "push",
            json!({"mediaType": "application/vnd.acr.helm.chart", "repository": "a", "tag": "c.tgz"}),
            "helm_chart",
        ),
    ];
    for (action, target, want) in cases {
        assert_eq!(
            reason(&one(&envelope(action, target.clone()))),
            want,
            "{action} {target}"
        );
    }
}

#[test]
fn charts_and_artifacts_are_told_only_when_the_event_says_so() {
    let helm = "application/vnd.cncf.helm.config.v1+json";
    // includereferences: the config is the first reference of a manifest.
    let refs = json!({"mediaType": OCI_MANIFEST, "repository": "charts/web", "tag": "1.0.0",
        "references": [{"mediaType": helm, "digest": "sha256:00", "size": 1},
                       {"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip"}]});
    assert_eq!(reason(&one(&envelope("push", refs))), "helm_chart");
    let art = json!({"mediaType": OCI_MANIFEST, "repository": "a", "tag": "sbom",
        "artifactType": "application/vnd.example.sbom.v1"});
    assert_eq!(reason(&one(&envelope("push", art))), "not_a_container");
    let cfg = json!({"mediaType": OCI_MANIFEST, "repository": "a", "tag": "v1", "config": {"mediaType": helm}});
    assert_eq!(reason(&one(&envelope("push", cfg))), "helm_chart");
    // An image's own config among the references deploys; an index's references are
    // manifests, not a config.
    let img = json!({"mediaType": OCI_MANIFEST, "repository": "a", "tag": "v1",
        "references": [{"mediaType": "application/vnd.oci.image.config.v1+json"}]});
    assert!(matches!(one(&envelope("push", img)), Verdict::Image(_)));
    let idx = json!({"mediaType": "application/vnd.oci.image.index.v1+json", "repository": "a", "tag": "v1",
        "references": [{"mediaType": OCI_MANIFEST}]});
    assert!(matches!(one(&envelope("push", idx)), Verdict::Image(_)));
    // Without references a chart looks exactly like an image: it cannot be told.
    let bare = json!({"mediaType": OCI_MANIFEST, "repository": "charts/web", "tag": "1.0.0"});
    assert!(matches!(one(&envelope("push", bare)), Verdict::Image(_)));
}

#[test]
fn the_host_falls_back_to_the_target_url() {
    let mut v = envelope(
        "push",
        json!({"mediaType": OCI_MANIFEST, "tag": "v1",
            "url": "https://Reg.Example.org/v2/team/app/manifests/sha256:abc"}),
    );
    v["events"][0]["request"] = json!({});
    // No repository either: the URL's path names it.
    assert_eq!(image(&one(&v)).reference(), "reg.example.org/team/app:v1");
    v["events"][0]["target"]["url"] = json!("");
    assert_eq!(reason(&one(&v)), "missing_registry");
}

#[test]
fn upper_case_keys_and_values_and_strings_holding_objects() {
    let v = json!({"EVENTS": [{
        "ID": "x-1",
        "Action": "PUSH",
        "Target": "{\"MediaType\": \"application/vnd.docker.distribution.manifest.v2+json\", \"Repository\": \"Team/App\", \"Tag\": \"V1\"}",
        "Request": {"Host": "Registry.Example.com"}
    }]});
    let d = read_value(&v);
    assert_eq!(
        (d.event.as_deref(), d.items[0].id.as_deref()),
        (Some("push"), Some("x-1"))
    );
    assert_eq!(
        image(&d.items[0].verdict).reference(),
        "registry.example.com/team/app:V1"
    );
    // An event sent as a JSON string.
    let s = json!({"events": [serde_json::to_string(&envelope("push", json!({"mediaType": OCI_MANIFEST, "repository": "a", "tag": "v1"}))["events"][0]).unwrap()]});
    assert!(matches!(one(&s), Verdict::Image(_)));
}

#[test]
fn batches_keep_each_event_apart() {
    let tagged: Value = serde_json::from_str(TAGGED).unwrap();
    let pull: Value = serde_json::from_str(PULL).unwrap();
    let both = json!({"events": [pull["events"][0], tagged["events"][0], pull["events"][0]]});
    let v = read_value(&both);
    assert_eq!(v.event.as_deref(), Some("pull,push"));
    assert_eq!(v.items.len(), 3);
    assert_eq!(v.images().count(), 1);
}

#[test]
fn odd_bodies_are_ignored_never_a_panic() {
    for v in [
        json!({}),
        json!({"events": []}),
        json!({"events": "nope"}),
        json!({"events": {"action": "push"}}),
        json!({"action": "push", "target": {"mediaType": OCI_MANIFEST, "tag": "v1"}}),
    ] {
        let d = read_value(&v);
        assert_eq!(d.items.len(), 1, "{v}");
        assert_eq!(reason(&d.items[0].verdict), "missing_event", "{v}");
    }
    for ev in [
        json!(null),
        json!(5),
        json!([]),
        json!({}),
        json!({"action": 7}),
        json!({"action": "push"}),
        json!({"action": "push", "target": 3}),
        json!({"action": "push", "target": {"mediaType": 3, "tag": ["v1"]}}),
        json!({"action": "push", "target": {"mediaType": OCI_MANIFEST, "tag": {}, "repository": "a"}, "request": {"host": "r.io"}}),
        json!({"action": "push", "target": {"mediaType": OCI_MANIFEST, "tag": "v1", "repository": "a", "references": "x"}, "request": []}),
    ] {
        let d = read_value(&json!({"events": [ev]}));
        assert!(matches!(d.items[0].verdict, Verdict::Ignored { .. }), "{ev}: {d:?}");
    }
}

#[test]
fn zots_cloudevents_name_no_host_and_are_said_to() {
    // The data zot's events.go sends for `zotregistry.image.updated` (no captured
    // delivery exists): binary mode, the event's attributes in `ce-*` headers.
    let body = serde_json::json!({
        "name": "acme/app",
        "reference": "v2",
        "digest": format!("sha256:{}", "ab".repeat(32)),
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "manifest": "{}"
    });
    let headers = |name: &str| match name {
        "ce-type" => Some("zotregistry.image.updated"),
        "ce-id" => Some("0f2c5c7e-1d5e-4a55-9d2b-3d0a2f6f1a11"),
        _ => None,
    };
    let d = read(&headers, &body);
    assert_eq!(d.event.as_deref(), Some("zotregistry.image.updated"));
    assert_eq!(d.id.as_deref(), Some("0f2c5c7e-1d5e-4a55-9d2b-3d0a2f6f1a11"));
    assert!(
        matches!(
            &d.items[0].verdict,
            crate::providers::Verdict::Ignored {
                reason: "missing_registry",
                ..
            }
        ),
        "{d:?}"
    );
}
