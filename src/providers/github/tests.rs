//! `classify` against the captured and hand-made payloads in `tests/fixtures/github/`
//! (see `tests/fixtures/README.md`), and against every fixture truncated and mutated:
//! no input panics, and no JSON object is an error.

use crate::providers::ImageEvent;
use serde_json::{Value, json};

use super::*;

const DOCKER: &str = include_str!("../../../tests/fixtures/github/package.published.docker.payload.json");
const NPM: &str = include_str!("../../../tests/fixtures/github/package.published.npm.payload.json");
const TAGGED: &str = include_str!("../../../tests/fixtures/github/package.published.container-tagged.json");
const LEGACY_2019: &str =
    include_str!("../../../tests/fixtures/github/registry_package.published.docker-pkg-github.2019.json");
const REGISTRY_UPDATED: &str = include_str!("../../../tests/fixtures/github/registry_package.updated.container.json");
const V2_CREATE: &str = include_str!("../../../tests/fixtures/github/package_v2.create.json");
const PING: &str = include_str!("../../../tests/fixtures/github/ping.payload.json");
const PUSH: &str = include_str!("../../../tests/fixtures/github/push.payload.json");

/// Each fixture with the `X-GitHub-Event` GitHub sends it with.
const FIXTURES: &[(&str, &str)] = &[
    ("package", DOCKER),
    ("package", NPM),
    ("package", TAGGED),
    ("registry_package", LEGACY_2019),
    ("registry_package", REGISTRY_UPDATED),
    ("package_v2", V2_CREATE),
    ("ping", PING),
    ("push", PUSH),
];

const JSON: Option<&str> = Some("application/json");
const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

fn run(event: &str, body: &str) -> Verdict {
    classify(Some(event), JSON, body.as_bytes()).unwrap()
}

fn run_value(event: &str, body: &Value) -> Verdict {
    run(event, &body.to_string())
}

fn reason(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Ignored { reason, .. } => reason,
        Verdict::Ping { .. } => "ping",
        Verdict::Image(_) => "image",
    }
}

fn image(verdict: Verdict) -> ImageEvent {
    match verdict {
        Verdict::Image(image) => image,
        other => panic!("expected an image event, got {other:?}"),
    }
}

fn digest_of(seed: &str) -> String {
    format!("sha256:{}", crate::hex::sha256_hex(seed.as_bytes()))
}

/// `application/x-www-form-urlencoded` with the JSON in `payload`, as GitHub sends it.
fn form_encode(json: &str) -> String {
    let mut out = String::from("payload=");
    for byte in json.bytes() {
        match byte {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => out.push(char::from(byte)),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[test]
fn octokit_docker_example_is_an_untagged_manifest() {
    // package_type says npm, registry.type says CONTAINER: a container, but untagged.
    let verdict = run("package", DOCKER);
    assert_eq!(reason(&verdict), "untagged", "{verdict:?}");
}

#[test]
fn npm_package_is_not_a_container() {
    // Its ecosystem field says "docker"; package_type and registry.type say npm.
    let verdict = run("package", NPM);
    assert_eq!(reason(&verdict), "not_a_container", "{verdict:?}");
}

#[test]
fn tagged_container_on_ghcr() {
    let event = image(run("package", TAGGED));
    assert_eq!(
        event,
        ImageEvent {
            registry: "ghcr.io".into(),
            owner: "codertocat".into(),
            name: "hello-world".into(),
            repository: "ghcr.io/codertocat/hello-world".into(),
            tag: "v1.2.3".into(),
            digest: Some("sha256:3da1996a8115d7616457760d9920b815241d0a03b34cf5f04e9a0e9d8de37498".into()),
        }
    );
    assert_eq!(event.reference(), "ghcr.io/codertocat/hello-world:v1.2.3");
}

#[test]
fn legacy_docker_pkg_github_capture_keeps_its_image_path() {
    let event = image(run("registry_package", LEGACY_2019));
    assert_eq!(event.registry, "docker.pkg.github.com");
    assert_eq!((event.owner.as_str(), event.name.as_str()), ("dingggu", "server"));
    assert_eq!(
        event.reference(),
        "docker.pkg.github.com/dingggu/utaitebox/server:1.2.3"
    );
    // The manifest string and package_files hashes are not the manifest digest.
    assert_eq!(event.digest, None);
}

#[test]
fn registry_package_updated_with_nested_name() {
    let event = image(run("registry_package", REGISTRY_UPDATED));
    assert_eq!(event.repository, "ghcr.io/acme-corp/tools/builder");
    assert_eq!(
        (event.owner.as_str(), event.name.as_str()),
        ("acme-corp", "tools/builder")
    );
    assert_eq!(event.tag, "Main_2024-03", "tags keep their case");
    assert_eq!(event.digest, Some(digest_of("podup fixture registry_package")));
}

#[test]
fn package_v2_create_without_package_url_maps_the_placeholder_host() {
    // registry.url is https://CONTAINER.pkg.github.com/Octo-Org, as GitHub writes it.
    let event = image(run("package_v2", V2_CREATE));
    assert_eq!(
        event.pinned(),
        Some(format!(
            "ghcr.io/octo-org/api@{}",
            digest_of("podup fixture package_v2")
        ))
    );
    assert_eq!(event.tag, "2021.06.1");
}

#[test]
fn form_encoded_delivery_matches_json() {
    for (event, body) in FIXTURES {
        let form = classify(Some(event), FORM, form_encode(body).as_bytes()).unwrap();
        assert_eq!(form, run(event, body), "{event}");
    }
}

#[test]
fn ping_carries_the_hook_id() {
    assert_eq!(
        run("ping", PING),
        Verdict::Ping {
            hook_id: Some(109948940)
        }
    );
    assert_eq!(
        run_value("ping", &json!({"hook": {"id": 7}})),
        Verdict::Ping { hook_id: Some(7) }
    );
    assert_eq!(
        run_value("ping", &json!({"hook_id": "7"})),
        Verdict::Ping { hook_id: None }
    );
}

#[test]
fn other_events_and_actions_are_ignored() {
    assert_eq!(reason(&run("push", PUSH)), "unsupported_event");
    assert_eq!(reason(&classify(None, JSON, PUSH.as_bytes()).unwrap()), "missing_event");
    assert_eq!(
        reason(&classify(Some(" "), JSON, PUSH.as_bytes()).unwrap()),
        "missing_event"
    );
    assert_eq!(
        reason(&run("Package", TAGGED)),
        "image",
        "event names compare case-insensitively"
    );
    let deleted = TAGGED.replacen("\"published\"", "\"deleted\"", 1);
    assert_eq!(
        run("package", &deleted),
        Verdict::Ignored {
            reason: "unsupported_action",
            detail: "action 'deleted'".into()
        }
    );
    assert_eq!(
        reason(&run_value("package", &json!({"action": "published"}))),
        "missing_package"
    );
}

/// A minimal container `package` event with `edit` applied to it.
fn package_with(edit: impl FnOnce(&mut Value)) -> Verdict {
    let mut body = json!({
        "action": "published",
        "package": {
            "name": "Web", "package_type": "container", "owner": {"login": "Acme"},
            "package_version": {
                "version": digest_of("a"),
                "container_metadata": {"tag": {"name": "v1", "digest": digest_of("b")}}
            }
        }
    });
    edit(&mut body);
    run_value("package", &body)
}

#[test]
fn container_type_rules() {
    assert_eq!(reason(&package_with(|_| {})), "image");
    let ecosystem_only = package_with(|b| {
        b["package"]["package_type"] = Value::Null;
        b["package"]["ecosystem"] = json!("CONTAINER");
    });
    assert_eq!(reason(&ecosystem_only), "image");
    let nothing = package_with(|b| b["package"]["package_type"] = Value::Null);
    assert_eq!(reason(&nothing), "not_a_container");
    let docker_registry = package_with(|b| {
        b["package"]["package_type"] = json!("maven");
        b["package"]["registry"] = json!({"type": "docker"});
    });
    assert_eq!(reason(&docker_registry), "image");
    let npm_with_docker_ecosystem = package_with(|b| {
        b["package"]["package_type"] = json!("npm");
        b["package"]["ecosystem"] = json!("docker");
    });
    assert_eq!(reason(&npm_with_docker_ecosystem), "not_a_container");
}

#[test]
fn tag_and_digest_rules() {
    let event = image(package_with(|_| {}));
    assert_eq!(
        (event.repository.as_str(), event.tag.as_str()),
        ("ghcr.io/acme/web", "v1")
    );
    assert_eq!(event.digest, Some(digest_of("b")), "the tag's digest wins");
    let bad_tag_digest = image(package_with(|b| {
        b["package"]["package_version"]["container_metadata"]["tag"]["digest"] = json!("sha256:abc");
    }));
    assert_eq!(
        bad_tag_digest.digest,
        Some(digest_of("a")),
        "an invalid digest counts as absent"
    );
    let old_event = image(package_with(|b| {
        b["package"]["package_version"] = json!({"version": "2.0", "name": "sha256:ABC"});
    }));
    assert_eq!((old_event.tag.as_str(), old_event.digest.as_deref()), ("2.0", None));
    let digest_only = package_with(|b| b["package"]["package_version"] = json!({"version": digest_of("c")}));
    assert_eq!(reason(&digest_only), "untagged");
    let empty_tag_no_fallback = package_with(|b| {
        b["package"]["package_version"]["container_metadata"]["tag"]["name"] = json!("");
        b["package"]["package_version"]["version"] = json!("1.0");
    });
    assert_eq!(reason(&empty_tag_no_fallback), "untagged");
}

#[test]
fn registry_host_rules() {
    let url = |u: &str| {
        image(package_with(|b| {
            b["package"]["package_version"]["package_url"] = json!(u)
        }))
        .registry
    };
    assert_eq!(url("GHCR.IO/acme/web:v1"), "ghcr.io");
    assert_eq!(
        url("containers.example.com:8443/acme/web:v1"),
        "containers.example.com:8443"
    );
    assert_eq!(url("acme/web:v1"), "ghcr.io", "no host in package_url");
    let registry = |u: &str| image(package_with(|b| b["package"]["registry"] = json!({"url": u}))).registry;
    assert_eq!(registry("https://CONTAINER.pkg.github.com/Acme"), "ghcr.io");
    assert_eq!(registry("https://registry.example.com/acme"), "registry.example.com");
}

#[test]
fn references_that_cannot_be_made_valid() {
    for edit in [
        json!({"name": "hello world"}),
        json!({"name": "héllo"}),
        json!({"owner": {"login": "-acme"}}),
        json!({"owner": {}}),
        json!({"name": "x".repeat(300)}),
        json!({"package_version": {"container_metadata": {"tag": {"name": "v1:2"}}}}),
        json!({"registry": {"url": "https://user@evil.example/acme"}}),
    ] {
        let verdict = package_with(|b| {
            for (key, value) in edit.as_object().unwrap() {
                b["package"][key] = value.clone();
            }
        });
        assert_eq!(reason(&verdict), "invalid_reference", "{edit}: {verdict:?}");
        if let Verdict::Ignored { detail, .. } = verdict {
            assert!(detail.chars().count() <= MAX_DETAIL_CHARS + 5, "{detail}");
        }
    }
}

#[test]
fn owner_falls_back_to_namespace() {
    let event = image(package_with(|b| {
        b["package"]["owner"] = Value::Null;
        b["package"]["namespace"] = json!("Acme/website");
    }));
    assert_eq!(event.repository, "ghcr.io/acme/web");
}

#[test]
fn truncated_bodies_never_panic() {
    for (event, body) in FIXTURES {
        for encoded in [body.to_string(), form_encode(body)] {
            for cut in (0..encoded.len()).step_by(97) {
                let prefix = encoded.as_bytes().get(..cut).unwrap();
                let content_type = if encoded.starts_with("payload=") { FORM } else { JSON };
                let _ = classify(Some(event), content_type, prefix);
            }
        }
    }
}

/// Every value below the root of `value`, by JSON pointer.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v))
            .collect(),
        Value::Array(items) => items.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
        _ => Vec::new(),
    };
    for (key, child) in children {
        let pointer = format!("{at}/{key}");
        out.push(pointer.clone());
        pointers(child, pointer, out);
    }
}

#[test]
fn every_value_replaced_by_empty_number_or_null_is_still_a_verdict() {
    let mut runs = 0;
    for (event, body) in FIXTURES {
        let original: Value = serde_json::from_str(body).unwrap();
        let mut all = Vec::new();
        pointers(&original, String::new(), &mut all);
        for pointer in all {
            for replacement in [json!(""), json!(7), Value::Null] {
                let mut mutated = original.clone();
                *mutated.pointer_mut(&pointer).unwrap() = replacement.clone();
                let result = classify(Some(event), JSON, mutated.to_string().as_bytes());
                assert!(result.is_ok(), "{event} {pointer} = {replacement}: {result:?}");
                runs += 1;
            }
        }
    }
    assert!(runs > 1000, "{runs}");
}
