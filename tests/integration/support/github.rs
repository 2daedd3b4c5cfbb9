//! GitHub's side of a webhook: the test secret, the fixture payloads, signing, and a
//! podup set up with recording fakes and the fixture's image as `app.service`.

use super::{Fakes, Podup, Resp, exchange};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::net::SocketAddr;
use std::time::Duration;

pub const SECRET: &str = "It's a Secret to Everybody";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/github");
pub const IMAGE: &str = "ghcr.io/codertocat/hello-world:v1.2.3";
pub const DIGEST: &str = "sha256:3da1996a8115d7616457760d9920b815241d0a03b34cf5f04e9a0e9d8de37498";

/// GitHub gives a delivery 10 s to be answered, then counts it failed and does not retry.
pub const GITHUB_TIMEOUT: Duration = Duration::from_secs(10);

pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
}

/// A podup with fakes on PATH, the test secret and `app.service` on the fixture's image.
pub fn setup(name: &str, extra: &[(&str, &str)]) -> (Fakes, Podup) {
    let fakes = Fakes::new();
    let mut p = Podup::new(name)
        .env("PATH", &fakes.path_env())
        .env("FAKE_DIR", fakes.dir().to_str().unwrap())
        .env("PODUP_GITHUB_SECRET", SECRET)
        .env("PODUP_SYSTEMD_SCOPE", "system")
        .env(
            "PODUP_SERVICES",
            &format!("app.service={IMAGE}, other.service=ghcr.io/acme/other:1"),
        );
    for (k, v) in extra {
        p = p.env(k, v);
    }
    (fakes, p)
}

pub fn deliver(
    addr: SocketAddr,
    path: &str,
    event: &str,
    delivery: &str,
    body: &[u8],
    signature: Option<&str>,
) -> Resp {
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nX-GitHub-Event: {event}\r\nX-GitHub-Delivery: {delivery}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(s) = signature {
        head += &format!("X-Hub-Signature-256: {s}\r\n");
    }
    head += "\r\n";
    let mut raw = head.into_bytes();
    raw.extend_from_slice(body);
    exchange(addr, &raw)
}

pub fn published(addr: SocketAddr, delivery: &str) -> Resp {
    signed(addr, delivery, &fixture("package.published.container-tagged.json"))
}

/// The same image event as `published` in other bytes, as a second delivery about the
/// same digest is (the same bytes again are a replay: a duplicate).
pub fn published_again(addr: SocketAddr, delivery: &str) -> Resp {
    let mut body = fixture("package.published.container-tagged.json");
    body.extend_from_slice(b"\n");
    signed(addr, delivery, &body)
}

fn signed(addr: SocketAddr, delivery: &str, body: &[u8]) -> Resp {
    deliver(
        addr,
        "/hooks/github",
        "package",
        delivery,
        body,
        Some(&sign(SECRET, body)),
    )
}
