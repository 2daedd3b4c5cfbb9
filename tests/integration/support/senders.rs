//! The other senders' side of a webhook: one distinct secret each, their real
//! fixtures, each sender's way of presenting its credential, and a podup with every
//! sender configured and a service on each deploying fixture's image.

use super::{Fakes, Podup, Resp, exchange};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::net::SocketAddr;

/// (sender, its secret): distinct, so that one sender's credential is none of another's.
pub const SECRETS: &[(&str, &str)] = &[
    ("gitea", "gitea-secret-0123456789"),
    ("forgejo", "forgejo-secret-0123456789"),
    ("harbor", "harbor-secret-0123456789"),
    ("registry", "registry-secret-0123456789"),
    ("acr", "acr-secret-0123456789abc"),
    ("jfrog", "jfrog-secret-0123456789"),
    ("quay", "quay-secret.0123456789~"),
    ("dockerhub", "dockerhub_secret-0123456789"),
];

pub fn secret_of(sender: &str) -> &'static str {
    SECRETS.iter().find(|(s, _)| *s == sender).map(|(_, v)| *v).unwrap()
}

/// Images of the deploying fixtures, each run by its own service.
pub const SERVICES: &[(&str, &str)] = &[
    ("harbor.service", "hub.harbor.com/test-webhook/debian:latest"),
    ("acr.service", "myregistry.azurecr.io/hello-world:v1"),
    ("registry.service", "registry.git.erxes.io/foo/bar:1.6.1"),
    ("quay.service", "quay.io/mynamespace/repository:latest"),
    ("dockerhub.service", "docker.io/karolisr/keel:0.1.7"),
    ("gitea.service", "git.example.com/acme/web:v2"),
];

pub fn sender_fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

pub fn hex_hmac(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// A podup with fakes on PATH, every sender's secret, and `SERVICES`.
pub fn setup_senders(name: &str, extra: &[(&str, &str)]) -> (Fakes, Podup) {
    let fakes = Fakes::new();
    let services: Vec<String> = SERVICES.iter().map(|(u, i)| format!("{u}={i}")).collect();
    let mut p = Podup::new(name)
        .env("PATH", &fakes.path_env())
        .env("FAKE_DIR", fakes.dir().to_str().unwrap())
        .env("PODUP_SYSTEMD_SCOPE", "system")
        .env("PODUP_SERVICES", &services.join(", "));
    for (sender, secret) in SECRETS {
        p = p.env(&format!("PODUP_{}_SECRET", sender.to_ascii_uppercase()), secret);
    }
    for (k, v) in extra {
        p = p.env(k, v);
    }
    (fakes, p)
}

/// `body` posted to `path` with `headers` (and `Host: t`, JSON).
pub fn post(addr: SocketAddr, path: &str, headers: &[(&str, String)], body: &[u8]) -> Resp {
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head += &format!("{k}: {v}\r\n");
    }
    head += "\r\n";
    let mut raw = head.into_bytes();
    raw.extend_from_slice(body);
    exchange(addr, &raw)
}

/// `body` sent as `sender` sends it, with `secret` as its credential: the path (the
/// secret in it for Quay and Docker Hub, `/<service>` after it when given) and headers.
pub fn as_sender(addr: SocketAddr, sender: &str, secret: &str, service: Option<&str>, body: &[u8]) -> Resp {
    as_sender_with(addr, sender, secret, service, body, &[])
}

pub fn as_sender_with(
    addr: SocketAddr,
    sender: &str,
    secret: &str,
    service: Option<&str>,
    body: &[u8],
    more: &[(&str, String)],
) -> Resp {
    let mut path = format!("/hooks/{sender}");
    let mut headers: Vec<(&str, String)> = more.to_vec();
    match sender {
        "gitea" => headers.push(("X-Gitea-Signature", hex_hmac(secret, body))),
        "forgejo" => headers.push(("X-Forgejo-Signature", hex_hmac(secret, body))),
        "harbor" | "registry" | "acr" => headers.push(("Authorization", format!("Bearer {secret}"))),
        "jfrog" => headers.push(("X-JFrog-Event-Auth", secret.to_string())),
        "quay" | "dockerhub" => path = format!("{path}/{secret}"),
        other => panic!("no sender {other}"),
    }
    if let Some(s) = service {
        path = format!("{path}/{s}");
    }
    post(addr, &path, &headers, body)
}

/// A Gitea `package` delivery body: Gitea's `PackagePayload` (modules/structs/hook.go)
/// with the fields its `Package` struct serializes. No real capture exists to copy.
pub fn gitea_package(action: &str, kind: &str, version: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "action": action,
        "repository": null,
        "package": {
            "id": 7,
            "owner": {"id": 2, "login": "Acme", "username": "Acme"},
            "repository": null,
            "creator": {"id": 2, "login": "Acme"},
            "type": kind,
            "name": "web",
            "version": version,
            "html_url": format!("https://git.example.com/Acme/-/packages/{kind}/web/{version}"),
            "created_at": "2024-05-01T10:00:00Z"
        },
        "organization": {"id": 2, "login": "Acme"},
        "sender": {"id": 1, "login": "ci"}
    }))
    .unwrap()
}
