//! Per-service policy (docs/policy.md) against the built binary with recording fakes:
//! reading it, webhooks that wait for an approval or a time, the decisions on them through the API
//! and the CLI, supersession, stopping, and the timer job leaving a `Timer=no` unit alone.

/// Policy=approve: the wait, approve, reject, expiry, who may decide.
mod approvals;
/// Follow=: a check lists tags, proposes a version, and the policy deploys the move.
mod follow;
/// `podup policy`, the policy file and the services API: each key and where it came from.
mod reading;
/// MinAge= and Window=: scheduled tasks and their transient timers; supersession; stop.
mod schedules;

use crate::support::*;

/// A podup as `setup` makes it, with `PODUP_POLICY_FILE` holding `ini`.
pub fn with_policy(name: &str, ini: &str, extra: &[(&str, &str)]) -> (Fakes, Podup) {
    let (fakes, podup) = setup(name, extra);
    let path = podup.state.path().join("policy.ini");
    std::fs::write(&path, ini).unwrap();
    let podup = podup.env("PODUP_POLICY_FILE", path.to_str().unwrap());
    (fakes, podup)
}

/// The fixture's package event with another digest (a newer image of the same tag).
pub fn published_digest(addr: std::net::SocketAddr, delivery: &str, digest: &str) -> Resp {
    let body = String::from_utf8(fixture("package.published.container-tagged.json"))
        .unwrap()
        .replace(DIGEST, digest);
    deliver(
        addr,
        "/hooks/github",
        "package",
        delivery,
        body.as_bytes(),
        Some(&sign(SECRET, body.as_bytes())),
    )
}

/// `GET /api/v1/tasks/<id>` as JSON.
pub fn task(addr: std::net::SocketAddr, token: &str, id: i64) -> serde_json::Value {
    let r = call(addr, "GET", &format!("/api/v1/tasks/{id}"), Some(token), "");
    assert!(matches!(r.status, 200 | 202), "{}", r.body);
    r.json()["task"].clone()
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
