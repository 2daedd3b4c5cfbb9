use super::*;
use crate::support::receiver::Receiver;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

#[test]
fn a_failed_task_sends_one_message_per_sink_in_its_format() {
    let hook = Receiver::start();
    let ntfy_server = Receiver::start();
    let quiet = Receiver::start();
    let sinks = [
        webhook(&hook, ""),
        ntfy(&ntfy_server, "&host=edge-1"),
        // Filters that leave this task out: another event, another unit.
        format!("webhook+http://{}/a?events=succeeded", quiet.addr),
        format!("webhook+http://{}/b?units=web*,db.service", quiet.addr),
    ];
    let (fakes, podup) = with_sinks(
        "notify-failed",
        &sinks,
        &[("PODUP_PUBLIC_URL", "https://podup.example.org")],
    );
    let (id, out) = failed_task(&fakes, &podup);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    // The worker delivered after its commit, before it exited.
    let got = hook.received();
    assert_eq!(got.len(), 1, "one message per task: {got:?}");
    let r = &got[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/hook"),
        "podup's own query is stripped"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(HOOK_SECRET.as_bytes()).unwrap();
    mac.update(&r.body);
    let expected = format!("sha256={}", hex(&mac.finalize().into_bytes()));
    assert_eq!(r.header("x-podup-signature-256"), Some(expected.as_str()));
    let v = r.json();
    assert_eq!(v["schema"], 1);
    assert_eq!(v["event"], "failed");
    assert_eq!(v["task"]["id"], id);
    assert_eq!(v["task"]["status"], "failed");
    assert_eq!(v["units"][0]["unit"], "app.service");
    assert_eq!(v["trigger"]["source"], "cli");
    assert_eq!(v["url"], format!("https://podup.example.org/tasks?task={id}"));
    assert!(v["log_tail"].as_array().is_some_and(|l| !l.is_empty()), "{v}");
    assert_eq!(r.header("x-podup-delivery"), v["id"].as_str());
    // ntfy: its own format, the token as a bearer, the sink's host name.
    let n = ntfy_server.received();
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0].header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    let body = n[0].json();
    assert_eq!(body["topic"], "deploys");
    assert!(body["title"].as_str().unwrap().contains("edge-1"), "{body}");
    assert!(body["message"].as_str().unwrap().contains("app.service"), "{body}");
    assert!(quiet.received().is_empty(), "filtered sinks get nothing");
    let rows = outbox(&podup.db_path());
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r.0 == id && r.1 == "failed" && r.2 == "delivered" && r.3 == 1),
        "{rows:?}"
    );
    // A flush afterwards sends nothing again.
    let flush = podup.run(&["notify", "--flush"]);
    assert!(flush.status.success());
    assert_eq!(hook.received().len(), 1);
    // The task API shows the notifications and their attempts.
    let list = podup.run(&["notify", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(v["sinks"].as_array().unwrap().len(), 4);
    assert_eq!(v["sinks"][0]["state"]["last_status"], "delivered");
    assert!(v["sinks"][1]["sink"].as_str().unwrap().contains("***"));
    assert_no_secret(&podup, &[&out, &flush, &list]);
}

#[test]
fn a_bad_sink_stops_podup_at_start_naming_it_without_its_secret() {
    for line in [
        format!("ntfy://ntfy.example.org/deploys?token={TOKEN}&colour=red"),
        format!("smtp://user:{TOKEN}@mail.example.org"),
        format!("webhook+http://203.0.113.9/hook?secret={HOOK_SECRET}"),
    ] {
        let (_fakes, podup) = with_sinks("notify-bad", &["# ok".into(), line.clone()], &[]);
        let out = podup.run(&["check"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{line}: {err}");
        assert!(err.contains("PODUP_NOTIFY_FILE: line 2:"), "{err}");
        assert!(!err.contains(TOKEN) && !err.contains(HOOK_SECRET), "{err}");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
