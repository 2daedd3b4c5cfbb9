//! The senders other than GitHub, against the built binary with recording fakes: each
//! one's credential as it sends it (wrong, missing, rotated), its real fixtures
//! (deploying ones dispatch the right image and digest, lookalikes are 2xx `ignored`),
//! one sender's valid delivery on another's path, path secrets never stored or logged,
//! batches and duplicates.
//!
//! Quay and Docker Hub deploy on the tag alone (no digest in their bodies), as do the
//! ACR docs' example whose digest Microsoft blanked.

use crate::support::*;
use rusqlite::Connection;

/// (sender, fixture, service it deploys, image, digest the sender gave).
const DEPLOYING: &[(&str, &str, &str, &str, Option<&str>)] = &[
    (
        "harbor",
        "harbor/PUSH_ARTIFACT.tagged.docs-2.0.json",
        "harbor.service",
        "hub.harbor.com/test-webhook/debian:latest",
        Some("sha256:8a9e9863dbb6e10edb5adfe917c00da84e1700fa76e7ed02476aa6e6fb8ee0d8"),
    ),
    (
        "acr",
        "acr/push.tagged.acr-docs-2017.json",
        "acr.service",
        "myregistry.azurecr.io/hello-world:v1",
        Some("sha256:80f0d5c8786bb9e621a45ece0db56d11cdc624ad20da9fe62e9d25490f331d7d"),
    ),
    (
        "registry",
        "registry/push.tagged.gitlab-registry-erxes-2018.keel.json",
        "registry.service",
        "registry.git.erxes.io/foo/bar:1.6.1",
        Some("sha256:4afff550708506c5b8b7384ad10d401a02b29ed587cb2730cb02753095b5178d"),
    ),
    (
        "quay",
        "quay/repo_push.quay-docs-2017.json",
        "quay.service",
        "quay.io/mynamespace/repository:latest",
        None,
    ),
    (
        "dockerhub",
        "dockerhub/push.keel-karolisr-2017.json",
        "dockerhub.service",
        "docker.io/karolisr/keel:0.1.7",
        None,
    ),
];

/// Fixtures that also deploy, besides `DEPLOYING`: (fixture, service). The ACR docs of
/// 2023 blank part of the digest (`xxxx`), so it deploys on the tag and the task
/// resolves the digest; Quay's 2015 docs give `updated_tags` as an object.
const ALSO_DEPLOYING: &[(&str, &str)] = &[
    ("acr/push.tagged.redacted.acr-docs-2023.json", "acr.service"),
    ("quay/repo_push.updated_tags-object.quay-docs-2015.json", "quay.service"),
];

/// The unit, digest and delivery id task `id` records.
fn task_of(db: &std::path::Path, id: i64) -> (String, Option<String>, Option<String>, String) {
    let conn = Connection::open(db).unwrap();
    conn.query_row(
        "SELECT u.unit, u.to_digest, t.delivery_id, t.source FROM tasks t JOIN task_units u ON u.task_id = t.id WHERE t.id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
    .unwrap()
}

#[test]
fn a_sender_without_a_secret_answers_503_with_its_own_code() {
    let (fakes, podup) = setup("senders-unset", &[]);
    let server = podup.serve(&[]);
    for sender in [
        "gitea",
        "forgejo",
        "harbor",
        "registry",
        "acr",
        "jfrog",
        "quay",
        "dockerhub",
    ] {
        let path = match sender {
            "quay" | "dockerhub" => format!("/hooks/{sender}/some-secret-0123456789"),
            _ => format!("/hooks/{sender}"),
        };
        let r = post(server.addr, &path, &[("Authorization", "Bearer x".into())], b"{}");
        assert_eq!(r.status, 503, "{sender}: {}", r.body);
        assert_eq!(r.json()["error"], format!("{sender}_not_configured"), "{}", r.body);
        let message = r.json()["message"].as_str().unwrap().to_string();
        assert!(
            message.contains(&format!("PODUP_{}_SECRET", sender.to_uppercase())),
            "{message}"
        );
    }
    assert!(fakes.calls_of("systemd-run").is_empty());
}

#[test]
fn each_sender_deploys_its_real_fixture_with_its_own_credential_only() {
    let (fakes, podup) = setup_senders("senders-deploy", &[]);
    let server = podup.serve(&[]);
    let mut dispatched = 0;
    for (sender, file, unit, image, digest) in DEPLOYING {
        let body = sender_fixture(file);
        // Wrong secret (another sender's), then none at all: 401, nothing dispatched.
        let other = if *sender == "harbor" { "acr" } else { "harbor" };
        let wrong = as_sender(server.addr, sender, secret_of(other), None, &body);
        assert_eq!(wrong.status, 401, "{sender} with {other}'s secret: {}", wrong.body);
        assert!(
            wrong.json()["error"].as_str().unwrap().starts_with("credential_"),
            "{}",
            wrong.body
        );
        let none = post(server.addr, &format!("/hooks/{sender}"), &[], &body);
        assert!(
            matches!(none.status, 401 | 404),
            "{sender} without a credential: {}",
            none.body
        );
        assert_eq!(
            fakes.calls_of("systemd-run").len(),
            dispatched,
            "{sender}: refused, nothing dispatched"
        );
        // Its own credential: one task for its service, on the image and digest given.
        let r = as_sender(server.addr, sender, secret_of(sender), None, &body);
        assert_eq!(
            (r.status, r.json()["status"].as_str()),
            (202, Some("accepted")),
            "{sender}: {}",
            r.body
        );
        dispatched += 1;
        assert_eq!(fakes.calls_of("systemd-run").len(), dispatched, "{sender}");
        let id = r.json()["task_id"].as_i64().unwrap();
        let (got_unit, got_digest, _, source) = task_of(&server.db, id);
        assert_eq!(
            (got_unit.as_str(), got_digest.as_deref(), source.as_str()),
            (*unit, *digest, *sender),
            "{sender}"
        );
        let conn = Connection::open(&server.db).unwrap();
        let meta: String = conn
            .query_row("SELECT meta FROM event_log WHERE task_id = ?1", [id], |r| r.get(0))
            .unwrap();
        let meta: serde_json::Value = serde_json::from_str(&meta).unwrap();
        assert_eq!(meta["image"], *image, "{sender}: {meta}");
        assert_eq!(meta["sender"], *sender);
        let from = if digest.is_some() { "sender" } else { "registry" };
        assert_eq!(meta["digest_from"], from, "{sender}: {meta}");
        let url_only = matches!(*sender, "quay" | "dockerhub");
        assert_eq!(meta["authenticated_by"] == "url_secret", url_only, "{sender}: {meta}");
    }
}

#[test]
fn gitea_and_forgejo_sign_and_name_their_deliveries() {
    let (fakes, podup) = setup_senders("senders-gitea", &[]);
    let server = podup.serve(&[]);
    let body = gitea_package("created", "container", "v2");
    let event = [
        ("X-Gitea-Event", "package".to_string()),
        ("X-Gitea-Delivery", "g-1".to_string()),
    ];
    // GitHub's header form of the signature, which Gitea also sends.
    let github_form = [
        event[0].clone(),
        event[1].clone(),
        (
            "X-Hub-Signature-256",
            format!("sha256={}", hex_hmac(secret_of("gitea"), &body)),
        ),
    ];
    let r = post(server.addr, "/hooks/gitea", &github_form, &body);
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.json()["task_id"].as_i64().unwrap();
    let (unit, digest, delivery, _) = task_of(&server.db, id);
    assert_eq!(
        (unit.as_str(), digest, delivery.as_deref()),
        ("gitea.service", None, Some("gitea:g-1"))
    );
    // The same delivery id again, even with a body that does not parse: its task.
    let again = as_sender_with(server.addr, "gitea", secret_of("gitea"), None, b"{ nope", &event);
    assert_eq!(
        (again.status, again.json()["task_id"].as_i64()),
        (200, Some(id)),
        "{}",
        again.body
    );
    // A Gitea-signed delivery on Forgejo's path (another secret): refused.
    let signed = [
        event[0].clone(),
        ("X-Gitea-Signature", hex_hmac(secret_of("gitea"), &body)),
    ];
    assert_eq!(post(server.addr, "/hooks/forgejo", &signed, &body).status, 401);
    // Forgejo's own headers; a delete and an npm package are ignored, not errors.
    let fe = [
        ("X-Forgejo-Event", "package".to_string()),
        ("X-Forgejo-Delivery", "f-1".to_string()),
    ];
    for (action, kind, reason) in [
        ("deleted", "container", "unsupported_action"),
        ("created", "npm", "not_a_container"),
    ] {
        let b = gitea_package(action, kind, "v2");
        let r = as_sender_with(server.addr, "forgejo", secret_of("forgejo"), None, &b, &fe);
        assert_eq!(
            (r.status, r.json()["reason"].as_str()),
            (202, Some(reason)),
            "{}",
            r.body
        );
    }
    // A GitHub-looking header proves nothing: the path decides the sender.
    let looks_like_github = [
        ("X-GitHub-Event", "package".to_string()),
        ("X-Gitea-Event", "push".to_string()),
    ];
    let other = gitea_package("created", "container", "v3");
    let r = as_sender_with(
        server.addr,
        "gitea",
        secret_of("gitea"),
        None,
        &other,
        &looks_like_github,
    );
    assert_eq!(
        (r.status, r.json()["reason"].as_str()),
        (202, Some("unsupported_event")),
        "{}",
        r.body
    );
    assert_eq!(fakes.calls_of("systemd-run").len(), 1);
}

#[test]
fn a_valid_delivery_for_one_sender_is_refused_on_anothers_path() {
    let (fakes, podup) = setup_senders("senders-cross", &[]);
    let server = podup.serve(&[]);
    let harbor = sender_fixture("harbor/PUSH_ARTIFACT.tagged.docs-2.0.json");
    let bearer = [("Authorization", format!("Bearer {}", secret_of("harbor")))];
    for path in ["/hooks/registry", "/hooks/acr", "/hooks/gitea", "/hooks/jfrog"] {
        let r = post(server.addr, path, &bearer, &harbor);
        assert_eq!(r.status, 401, "{path}: {}", r.body);
    }
    let quay = sender_fixture("quay/repo_push.quay-docs-2017.json");
    let r = post(
        server.addr,
        &format!("/hooks/dockerhub/{}", secret_of("quay")),
        &[],
        &quay,
    );
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(fakes.calls_of("systemd-run").is_empty());
}

#[test]
fn a_rotated_secret_works_until_it_is_removed() {
    let (fakes, podup) = setup_senders(
        "senders-rotate",
        &[(
            "PODUP_HARBOR_SECRET",
            "harbor-new-secret-0123456\nharbor-secret-0123456789",
        )],
    );
    let server = podup.serve(&[]);
    let body = sender_fixture("harbor/PUSH_ARTIFACT.tagged.docs-2.0.json");
    let r = as_sender(server.addr, "harbor", "harbor-new-secret-0123456", None, &body);
    assert_eq!(r.status, 202, "{}", r.body);
    let r = as_sender(server.addr, "harbor", "harbor-secret-0123456789", None, &body);
    assert_eq!(r.status, 200, "the same body again is its duplicate: {}", r.body);
    let r = as_sender(server.addr, "harbor", "harbor-retired-secret-01234", None, &body);
    assert_eq!(r.status, 401, "a secret no longer listed: {}", r.body);
    assert_eq!(fakes.calls_of("systemd-run").len(), 1);
}

#[test]
fn path_secrets_are_never_stored_or_logged() {
    let (_fakes, podup) = setup_senders("senders-path-secret", &[]);
    let mut server = podup.serve(&[]);
    let quay = sender_fixture("quay/repo_push.quay-docs-2017.json");
    let hub = sender_fixture("dockerhub/push.keel-karolisr-2017.json");
    let guess = "a-guessed-secret-0123456789";
    assert_eq!(
        as_sender(server.addr, "quay", secret_of("quay"), None, &quay).status,
        202
    );
    assert_eq!(
        as_sender(
            server.addr,
            "dockerhub",
            secret_of("dockerhub"),
            Some("dockerhub.service"),
            &hub
        )
        .status,
        202
    );
    assert_eq!(as_sender(server.addr, "quay", guess, None, &quay).status, 401);
    // Another body: the same one again would be answered as its duplicate first.
    let other = sender_fixture("quay/repo_push.quay-docs-2026.json");
    assert_eq!(
        as_sender(server.addr, "quay", secret_of("quay"), Some("nope.service"), &other).status,
        404
    );
    let conn = Connection::open(&server.db).unwrap();
    let paths: Vec<String> = conn
        .prepare("SELECT path FROM event_log WHERE path LIKE '/hooks/%' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        paths,
        [
            "/hooks/quay/<redacted>",
            "/hooks/dockerhub/<redacted>/dockerhub.service",
            "/hooks/quay/<redacted>",
            "/hooks/quay/<redacted>/nope.service"
        ]
    );
    drop(conn);
    let _ = server.child.kill();
    let _ = server.child.wait();
    let log = server.stderr();
    let state = server.db.parent().unwrap();
    for secret in [secret_of("quay"), secret_of("dockerhub"), guess] {
        assert!(!log.contains(secret), "the server log holds a path secret: {log}");
        for entry in std::fs::read_dir(state).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "a file of the state directory holds a path secret");
        }
    }
}

#[test]
fn lookalikes_are_answered_2xx_ignored_and_deploy_nothing() {
    let (fakes, podup) = setup_senders("senders-lookalikes", &[]);
    let server = podup.serve(&[]);
    let dirs = ["harbor", "acr", "registry", "quay", "dockerhub", "jfrog"];
    let (mut seen, mut deployed) = (0, 0);
    for dir in dirs {
        let path = format!("{}/tests/fixtures/{dir}", env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<_> = std::fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        files.sort();
        for file in files {
            let file = format!("{dir}/{}", file.to_string_lossy());
            if DEPLOYING.iter().any(|d| d.1 == file) {
                continue;
            }
            let body = sender_fixture(&file);
            let r = as_sender(server.addr, dir, secret_of(dir), None, &body);
            assert!(r.status < 300, "{file}: {} {}", r.status, r.body);
            if let Some((_, unit)) = ALSO_DEPLOYING.iter().find(|(f, _)| *f == file) {
                assert_eq!(r.json()["status"], "accepted", "{file}: {}", r.body);
                let (got, digest, _, _) = task_of(&server.db, r.json()["task_id"].as_i64().unwrap());
                assert_eq!(
                    (got.as_str(), digest),
                    (*unit, None),
                    "{file}: the registry names the digest"
                );
                deployed += 1;
                continue;
            }
            let v = r.json();
            // A deploy of an image no service runs is ignored too: no task either way.
            assert!(
                v["task_id"].is_null() && v["task_ids"].as_array().is_none_or(|t| t.is_empty()),
                "{file}: {}",
                r.body
            );
            seen += 1;
        }
    }
    assert!(seen >= 25, "{seen} lookalike fixtures");
    assert_eq!(deployed, ALSO_DEPLOYING.len());
    assert_eq!(fakes.calls_of("systemd-run").len(), deployed, "only those dispatched");
}
