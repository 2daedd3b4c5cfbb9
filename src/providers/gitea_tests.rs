//! Gitea's and Forgejo's `package` deliveries. No real captured package delivery
//! exists (tests/fixtures/README.md; Gitea's "Test Delivery" does not send one for
//! packages, go-gitea/gitea#22791), so the bodies are built here from the structs
//! Gitea serializes: `PackagePayload{action, repository, package, organization,
//! sender}` (modules/structs/hook.go), `Package{id, owner, repository, creator, type,
//! name, version, html_url, created_at}` (modules/structs/package.go), `User{id,
//! login, login_name, full_name, email, avatar_url, username, …}`
//! (modules/structs/user.go), with `html_url` as services/convert builds it:
//! `<ROOT_URL><owner>/-/packages/<type>/<lower name>/<version>`. Forgejo keeps the
//! same structs. The headers are those of services/webhook/deliver.go.

use crate::providers::{self, Delivery, Sender, Verdict};
use serde_json::{Value, json};

const DELIVERY: &str = "4f4c2a2b-8a61-4d35-9d3b-2f1b6c7e9a10";

fn user(login: &str) -> Value {
    json!({
        "id": 1, "login": login, "login_name": "", "full_name": "", "email": format!("{login}@noreply.example.com"),
        "avatar_url": format!("https://git.example.com/avatars/{login}"), "language": "", "is_admin": false,
        "last_login": "0001-01-01T00:00:00Z", "created": "2024-05-01T10:00:00Z", "restricted": false,
        "active": false, "prohibit_login": false, "location": "", "website": "", "description": "",
        "visibility": "public", "followers_count": 0, "following_count": 0, "starred_repos_count": 0,
        "username": login
    })
}

/// A `PackagePayload` for `owner`'s package `name` at `version` of `kind`, as an
/// instance at `https://git.example.com/` serializes it (no linked repository: a
/// pushed container image has none until one is linked in the UI).
fn payload(action: &str, kind: &str, owner: &str, name: &str, version: &str) -> Value {
    json!({
        "action": action,
        "repository": null,
        "package": {
            "id": 42,
            "owner": user(owner),
            "repository": null,
            "creator": user(owner),
            "type": kind,
            "name": name,
            "version": version,
            "html_url": format!("https://git.example.com/{owner}/-/packages/{kind}/{}/{version}", name.to_lowercase()),
            "created_at": "2024-05-02T12:34:56+02:00"
        },
        "organization": user(owner),
        "sender": user(owner)
    })
}

fn push(version: &str) -> Value {
    payload("created", "container", "Acme", "Web", version)
}

/// The headers Gitea sends with a package event (deliver.go), lower-cased as podup's
/// HTTP layer hands them over; Forgejo sends `X-Forgejo-*` besides.
fn gitea_headers(event: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("content-type", "application/json"),
        ("x-gitea-delivery", DELIVERY),
        ("x-gitea-event", event),
        ("x-gitea-event-type", event),
        ("x-gogs-delivery", DELIVERY),
        ("x-gogs-event", event),
        ("x-github-delivery", DELIVERY),
        ("x-github-event", event),
    ]
}

fn read(sender: Sender, headers: &[(&'static str, &'static str)], body: &Value) -> Delivery {
    let lookup = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
    providers::read(sender, &lookup, body.to_string().as_bytes()).unwrap()
}

/// The only item as `repository:tag` (with `@digest` when given) or `ignored:<reason>`.
fn outcome(delivery: &Delivery) -> String {
    assert_eq!(delivery.items.len(), 1, "{delivery:?}");
    assert!(delivery.items[0].id.is_none());
    match &delivery.items[0].verdict {
        Verdict::Image(e) => match &e.digest {
            Some(d) => format!("{}@{d}", e.reference()),
            None => e.reference(),
        },
        Verdict::Ignored { reason, .. } => format!("ignored:{reason}"),
        Verdict::Ping { .. } => "ping".into(),
    }
}

#[test]
fn a_created_container_package_with_a_tag_deploys_from_the_instance_host() {
    let d = read(Sender::Gitea, &gitea_headers("package"), &push("v1.2.3"));
    assert_eq!(outcome(&d), "git.example.com/acme/web:v1.2.3");
    assert_eq!((d.event.as_deref(), d.id.as_deref()), (Some("package"), Some(DELIVERY)));
    let e = d.images().next().unwrap();
    assert_eq!((e.owner.as_str(), e.name.as_str()), ("acme", "web"));
}

#[test]
fn a_version_that_is_a_digest_is_an_untagged_manifest() {
    let digest = format!("sha256:{}", "ab".repeat(32));
    let d = read(Sender::Gitea, &gitea_headers("package"), &push(&digest));
    assert_eq!(outcome(&d), "ignored:untagged");
}

#[test]
fn deletes_other_package_types_and_other_events_are_ignored() {
    let headers = gitea_headers("package");
    let deleted = payload("deleted", "container", "acme", "web", "v1");
    assert_eq!(
        outcome(&read(Sender::Gitea, &headers, &deleted)),
        "ignored:unsupported_action"
    );
    let npm = payload("created", "npm", "acme", "left-pad", "1.3.0");
    assert_eq!(outcome(&read(Sender::Gitea, &headers, &npm)), "ignored:not_a_container");
    let d = read(Sender::Gitea, &gitea_headers("push"), &push("v1"));
    assert_eq!(outcome(&d), "ignored:unsupported_event");
    assert_eq!(d.event.as_deref(), Some("push"));
    let missing = json!({"action": "created", "package": "nope"});
    assert_eq!(
        outcome(&read(Sender::Gitea, &headers, &missing)),
        "ignored:missing_package"
    );
    assert_eq!(
        outcome(&read(Sender::Gitea, &headers, &json!({}))),
        "ignored:unsupported_action"
    );
}

#[test]
fn without_an_event_header_the_package_object_decides() {
    let none: [(&str, &str); 0] = [];
    let d = read(Sender::Gitea, &none, &push("v1"));
    assert_eq!(outcome(&d), "git.example.com/acme/web:v1");
    assert_eq!((d.event, d.id), (None, None));
    let d = read(Sender::Gitea, &none, &json!({"ref": "refs/heads/main"}));
    assert_eq!(outcome(&d), "ignored:missing_event");
}

/// An empty header is no header: Gitea sends empty values for some of its headers
/// (the signature without a secret), and a proxy may blank one.
#[test]
fn an_empty_event_header_counts_as_absent() {
    let headers = [
        ("x-gitea-event", " "),
        ("x-forgejo-event", ""),
        ("x-gitea-delivery", DELIVERY),
    ];
    for sender in [Sender::Gitea, Sender::Forgejo] {
        let d = read(sender, &headers, &push("v1"));
        assert_eq!(outcome(&d), "git.example.com/acme/web:v1", "{sender:?}");
        assert_eq!((d.event, d.id.as_deref()), (None, Some(DELIVERY)));
    }
}

#[test]
fn forgejo_reads_its_own_headers_and_falls_back_to_giteas() {
    let forgejo_id = "0b8f5f0e-1111-4c2a-9e55-7d0e6f3a2b19";
    let mut headers = gitea_headers("package");
    headers.extend([("x-forgejo-event", "package"), ("x-forgejo-delivery", forgejo_id)]);
    let d = read(Sender::Forgejo, &headers, &push("v1"));
    assert_eq!(outcome(&d), "git.example.com/acme/web:v1");
    assert_eq!(
        (d.event.as_deref(), d.id.as_deref()),
        (Some("package"), Some(forgejo_id))
    );
    // An older Forgejo, or a proxy that passes only Gitea's names.
    let d = read(Sender::Forgejo, &gitea_headers("package"), &push("v1"));
    assert_eq!((d.event.as_deref(), d.id.as_deref()), (Some("package"), Some(DELIVERY)));
    // Gitea's path does not read Forgejo's names.
    let only_forgejo = [("x-forgejo-event", "package"), ("x-forgejo-delivery", forgejo_id)];
    let d = read(Sender::Gitea, &only_forgejo, &push("v1"));
    assert_eq!((d.event, d.id), (None, None));
}

#[test]
fn upper_case_names_and_values_are_read() {
    let mut body = push("V2");
    body["ACTION"] = json!("CREATED");
    body.as_object_mut().unwrap().remove("action");
    body["package"]["type"] = json!("Container");
    let d = read(Sender::Gitea, &gitea_headers("Package"), &body);
    assert_eq!(outcome(&d), "git.example.com/acme/web:V2");
}

/// An instance under a sub-path (`ROOT_URL = https://example.com/git/`) still serves
/// its registry at the host's root (`/v2/`), and the package names its owner even when
/// the `owner` object is missing.
#[test]
fn the_host_and_owner_come_from_html_url() {
    let mut body = push("v1");
    body["package"]["html_url"] = json!("https://Example.com:3000/git/Acme/-/packages/container/web/v1");
    assert_eq!(
        outcome(&read(Sender::Gitea, &gitea_headers("package"), &body)),
        "example.com:3000/acme/web:v1"
    );
    body["package"].as_object_mut().unwrap().remove("owner");
    assert_eq!(
        outcome(&read(Sender::Gitea, &gitea_headers("package"), &body)),
        "example.com:3000/acme/web:v1"
    );
}

#[test]
fn a_package_with_no_owner_or_no_host_is_never_guessed() {
    let mut body = push("v1");
    body["package"].as_object_mut().unwrap().remove("owner");
    body["package"]["html_url"] = json!("https://git.example.com/");
    assert_eq!(
        outcome(&read(Sender::Gitea, &gitea_headers("package"), &body)),
        "ignored:invalid_reference"
    );
    body["package"]["html_url"] = json!("https://git.example.com/-/packages/container/web/v1");
    assert_eq!(
        outcome(&read(Sender::Gitea, &gitea_headers("package"), &body)),
        "ignored:invalid_reference"
    );
    let mut body = push("v1");
    body["package"]["name"] = json!("");
    assert_eq!(
        outcome(&read(Sender::Gitea, &gitea_headers("package"), &body)),
        "ignored:invalid_reference"
    );
    let mut body = push("v1");
    body["package"]["html_url"] = json!(null);
    assert_eq!(
        outcome(&read(Sender::Gitea, &gitea_headers("package"), &body)),
        "ignored:missing_registry"
    );
}

#[test]
fn wrong_types_are_ignored_not_errors() {
    let headers = gitea_headers("package");
    let mut body = push("v1");
    body["package"]["owner"] = json!("acme");
    body["package"]["version"] = json!(["v1"]);
    assert_eq!(outcome(&read(Sender::Gitea, &headers, &body)), "ignored:untagged");
    let body = json!({"action": 5, "package": {"type": "container"}});
    assert_eq!(
        outcome(&read(Sender::Gitea, &headers, &body)),
        "ignored:unsupported_action"
    );
}
