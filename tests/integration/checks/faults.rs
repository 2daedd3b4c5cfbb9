//! Registries that misbehave: each marks its services unknown with the reason, and a
//! `429` holds the host until its `Retry-After` so that later checks do not ask it.

use super::*;
use crate::support::receiver::Receiver;
use crate::support::registry::closed_port;

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

fn one(name: &str, host: &str) -> (Fakes, Podup) {
    let (fakes, podup) = checker(
        name,
        &[format!("app.service={host}/acme/app:latest")],
        &insecure(&[host.to_string()]),
        "{}",
    );
    runs(
        &fakes,
        &[("app.service", "img1", D1, &[format!("{host}/acme/app@{D1}")])],
    );
    (fakes, podup)
}

fn reason(v: &Value) -> (String, String) {
    let app = verdict(v, "app.service");
    assert_eq!(app["status"], "unknown", "{v:#}");
    (
        app["reason"].as_str().unwrap().into(),
        app["message"].as_str().unwrap_or("").into(),
    )
}

#[test]
fn a_429_holds_the_registry_until_retry_after() {
    let r = Receiver::start();
    r.script_with_headers(&[(429, &[("Retry-After", "120")])]);
    let (_fakes, podup) = one("checks-429", &r.addr.to_string());
    let (out, v) = check(&podup, &["--fresh"]);
    assert_eq!(out.status.code(), Some(1));
    let (code, message) = reason(&v);
    assert_eq!(code, "rate_limited");
    assert!(message.starts_with("rate limited until "), "{message}");
    // A second check, fresh even, does not ask the registry before the hold ends.
    let asked = r.received().len();
    let (_, v) = check(&podup, &["--fresh"]);
    assert_eq!(reason(&v).0, "rate_limited");
    assert_eq!(r.received().len(), asked, "the held registry was asked again");
}

#[test]
fn a_500_is_a_registry_error() {
    let r = Receiver::start();
    r.script(&[500, 500, 500, 500]);
    let (_fakes, podup) = one("checks-500", &r.addr.to_string());
    let (_, v) = check(&podup, &["--fresh"]);
    assert_eq!(reason(&v).0, "registry_error");
}

#[test]
fn silence_and_a_closed_port_are_unreachable_within_the_timeout() {
    let r = Receiver::start();
    r.hang();
    let (_fakes, podup) = one("checks-hang", &r.addr.to_string());
    let started = std::time::Instant::now();
    let (_, v) = check(&podup, &["--fresh"]);
    assert_eq!(reason(&v).0, "registry_unreachable");
    // PODUP_CHECK_TIMEOUT_SECS=2, and insecure registries may be tried twice (HTTPS, then HTTP).
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let (_fakes, podup) = one("checks-closed", &closed_port().to_string());
    let (_, v) = check(&podup, &["--fresh"]);
    assert_eq!(reason(&v).0, "registry_unreachable");
}
