//! `Policy=approve`: a delivery makes a task that waits; an admin approves it (it is
//! dispatched, `decided_by` names them) or rejects it; past its deadline it cannot be
//! approved; other roles cannot decide.

use super::*;

#[test]
fn an_approve_service_waits_then_an_admin_approval_dispatches_it() {
    let (fakes, podup) = with_policy("pol-approve", "[app.service]\nPolicy=approve\n", &[]);
    let (admin, trigger, read) = (
        podup.token("ops", "admin"),
        podup.token("ci", "trigger"),
        podup.token("viewer", "read"),
    );
    let server = podup.serve(&[]);
    let before = now_ms();
    let r = published(server.addr, "appr-1");
    assert_eq!(r.status, 202, "{}", r.body);
    let v = r.json();
    assert_eq!(v["status"], "awaiting_approval", "{v}");
    let id = v["task_id"].as_i64().unwrap();
    let deadline = v["deadline_ms"].as_i64().unwrap();
    let three_days = 3 * 24 * 3600 * 1000;
    assert!((before + three_days..=now_ms() + three_days).contains(&deadline), "{v}");
    assert!(v["message"].as_str().unwrap().contains("Policy=approve"), "{v}");
    assert!(
        fakes.calls_of("systemd-run").is_empty(),
        "nothing runs before the approval"
    );
    let t = task(server.addr, &read, id);
    assert_eq!(
        (t["status"].as_str(), t["deadline_ms"].as_i64()),
        (Some("awaiting_approval"), Some(deadline))
    );

    for (token, code) in [(&trigger, 403), (&read, 403)] {
        let r = call(
            server.addr,
            "POST",
            &format!("/api/v1/tasks/{id}/approve"),
            Some(token),
            "",
        );
        assert_eq!(r.status, code, "{}", r.body);
    }
    let r = call(
        server.addr,
        "POST",
        &format!("/api/v1/tasks/{id}/approve"),
        Some(&admin),
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.json()["status"].as_str(), r.json()["decided_by"].as_str()),
        (Some("pending"), Some("ops"))
    );
    let runs = fakes.calls_of("systemd-run");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(runs[0].contains(&format!("--unit=podup-task-{id}.service")), "{runs:?}");
    assert!(
        !runs[0].iter().any(|a| a.starts_with("--on-calendar")),
        "started now: {runs:?}"
    );
    let t = task(server.addr, &read, id);
    assert_eq!(
        (t["reason"].as_str(), t["decided_by"].as_str()),
        (Some("approved"), Some("ops"))
    );

    let r = call(
        server.addr,
        "POST",
        &format!("/api/v1/tasks/{id}/approve"),
        Some(&admin),
        "",
    );
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (409, Some("not_awaiting_approval"))
    );
    let r = call(server.addr, "POST", "/api/v1/tasks/9999/approve", Some(&admin), "");
    assert_eq!((r.status, r.json()["error"].as_str()), (404, Some("unknown_task")));
}

#[test]
fn a_rejection_by_the_cli_skips_and_an_expired_approval_cannot_be_given() {
    let (fakes, podup) = with_policy(
        "pol-reject",
        "[app.service]\nPolicy=approve\n",
        &[("PODUP_APPROVAL_TTL", "2s")],
    );
    let admin = podup.token("ops", "admin");
    let server = podup.serve(&[]);
    let id = published(server.addr, "rej-1").json()["task_id"].as_i64().unwrap();
    let out = podup
        .command(&["task", "reject", &id.to_string()])
        .env("USER", "lead")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("rejected by lead"));
    let t = task(server.addr, &admin, id);
    assert_eq!(
        (t["status"].as_str(), t["reason"].as_str(), t["decided_by"].as_str()),
        (Some("skipped"), Some("rejected"), Some("lead"))
    );
    let out = podup.run(&["task", "approve", &id.to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not awaiting_approval"),
        "{out:?}"
    );

    // The same image again (other bytes) waits anew; its deadline passes.
    let again = published_again(server.addr, "rej-2").json()["task_id"]
        .as_i64()
        .unwrap();
    assert_ne!(again, id);
    std::thread::sleep(std::time::Duration::from_millis(2_300));
    let r = call(
        server.addr,
        "POST",
        &format!("/api/v1/tasks/{again}/approve"),
        Some(&admin),
        "",
    );
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (409, Some("approval_expired")),
        "{}",
        r.body
    );
    let t = task(server.addr, &admin, again);
    assert_eq!(
        (t["status"].as_str(), t["reason"].as_str()),
        (Some("skipped"), Some("approval_expired"))
    );
    assert!(fakes.calls_of("systemd-run").is_empty(), "nothing was ever dispatched");
}

#[test]
fn notify_and_manual_services_are_not_deployed_by_a_delivery() {
    let ini = "[app.service]\nPolicy=notify\n";
    let (fakes, podup) = with_policy("pol-notify", ini, &[]);
    let server = podup.serve(&[]);
    let r = published(server.addr, "n-1");
    assert_eq!(
        (r.status, r.json()["reason"].as_str()),
        (202, Some("policy")),
        "{}",
        r.body
    );
    assert_eq!(r.json()["policy"]["told"][0]["unit"], "app.service", "{}", r.body);
    assert!(fakes.calls_of("systemd-run").is_empty());
    drop(server);
    let (fakes, podup) = with_policy("pol-manual", "[app.service]\nPolicy=manual\n", &[]);
    let server = podup.serve(&[]);
    let r = published(server.addr, "m-1");
    assert_eq!(r.json()["policy"]["left"][0]["unit"], "app.service", "{}", r.body);
    assert!(fakes.calls_of("systemd-run").is_empty());
    // An admin can always deploy by hand.
    let admin = podup.token("ops", "admin");
    let r = call(
        server.addr,
        "POST",
        "/api/v1/services/app.service/update",
        Some(&admin),
        "{}",
    );
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(fakes.calls_of("systemd-run").len(), 1);
}

#[test]
fn a_waiting_approval_is_announced_with_its_link_by_a_sinks_default_events() {
    use crate::notify::{webhook, with_sinks};
    use crate::support::receiver::Receiver;
    let hook = Receiver::start();
    let (_fakes, podup) = with_sinks(
        "pol-announce",
        &[webhook(&hook, "")],
        &[("PODUP_PUBLIC_URL", "https://t")],
    );
    let path = podup.state.path().join("policy.ini");
    std::fs::write(&path, "[app.service]\nPolicy=approve\n").unwrap();
    let podup = podup.env("PODUP_POLICY_FILE", path.to_str().unwrap());
    let server = podup.serve(&[]);
    let id = published(server.addr, "ann-1").json()["task_id"].as_i64().unwrap();
    drop(server);
    // podup serve never sends; the flush it asked systemd for does.
    let out = podup.run(&["notify", "--flush"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got = hook.received();
    assert_eq!(got.len(), 1, "one message");
    let m = got[0].json();
    assert_eq!(m["event"], "approval_needed", "{m:#}");
    assert_eq!(m["task"]["id"], id);
    assert_eq!(m["task"]["status"], "awaiting_approval");
    assert_eq!(m["url"], format!("https://t/tasks?task={id}"));
    assert!(m["title"].as_str().unwrap().contains("waits for an approval"), "{m:#}");
    assert_eq!(m["units"][0]["unit"], "app.service");
}
