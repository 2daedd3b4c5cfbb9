//! Notifications on the real bed: a deploy that rolls back reaches a real ntfy server
//! (read back with ntfy's own poll API), a loopback webhook receiver that checks the
//! signature, and the real apprise CLI through an `exec:` sink, each exactly once; a
//! sink that is down for a minute gets the message once it is up, through the
//! transient flush timer the real manager runs. No sink secret is left anywhere.

use crate::harness::{Bed, Ntfy, Receiver, setup_env, shout, state_db, wait_until};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::path::Path;
use std::time::Duration;

const VERIFY_SECS: &str = "2";
const HOOK_SECRET: &str = "real-hook-secret-0123456789";

/// A bed whose podup has these sink lines in a PODUP_NOTIFY_FILE (in the bed's
/// directory: podup.service has a private /tmp).
fn bed_with_sinks(name: &str, sinks: &[String], extra: &[(&str, &str)]) -> Option<(Bed, String)> {
    let text = sinks.join("\n") + "\n";
    setup_env(name, VERIFY_SECS, false, |bed| {
        let file = bed.dir().join("notify");
        std::fs::write(&file, &text).unwrap();
        let mut env = vec![("PODUP_NOTIFY_FILE".to_string(), file.display().to_string())];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        env
    })
}

/// Deploys an image that exits a second after it starts: the task rolls back. Returns
/// the task as the API shows it.
fn rolled_back_deploy(b: &Bed, tag: &str) -> serde_json::Value {
    let bad = b.bed.push_image("acme/app", tag, Some("echo started; sleep 1; exit 1"));
    let t = b.podup.wait_task(b.update(&bad), Duration::from_secs(120));
    assert_eq!(b.status(&t).0, "rolled_back", "{t:#}");
    t
}

fn outbox(db: &Path) -> Vec<(String, String, i64, Option<i64>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn
        .prepare("SELECT sink_name, status, attempts, done_ms FROM outbox ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// No file of the state directory or the bed's logs holds any of `secrets`.
fn assert_no_secret(b: &Bed, secrets: &[&str]) {
    let dirs = [
        state_db(&b.bed).parent().unwrap().to_path_buf(),
        std::path::PathBuf::from(b.bed.env_var("PODUP_LOGS")),
    ];
    for dir in dirs {
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else { continue };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let bytes = std::fs::read(&p).unwrap_or_default();
                for s in secrets {
                    assert!(
                        !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                        "{s} found in {}",
                        p.display()
                    );
                }
            }
        }
    }
}

on_kinds!(a_rolled_back_deploy_reaches_ntfy_a_signed_webhook_and_apprise_once);
fn a_rolled_back_deploy_reaches_ntfy_a_signed_webhook_and_apprise_once() {
    let ntfy = Ntfy::start_with_token();
    let hook = Receiver::start();
    let apprise_target = Receiver::start();
    let sinks = [
        format!("ntfy+http://127.0.0.1:{}/deploys?token={}", ntfy.port(), ntfy.token()),
        format!("webhook+http://127.0.0.1:{}/hook?secret={HOOK_SECRET}", hook.port()),
        format!(
            "exec:/usr/bin/apprise?arg=-t&arg={{title}}&arg=-b&arg={{text}}&arg=json://127.0.0.1:{}/apprise",
            apprise_target.port()
        ),
    ];
    let Some((b, _v1)) = bed_with_sinks("notify-rollback", &sinks, &[]) else {
        return;
    };
    let t = rolled_back_deploy(&b, "v2");
    let id = t["task"]["id"].as_i64().unwrap();
    let finished = t["task"]["finished_ms"].as_i64().unwrap();
    // ntfy: exactly one message, as ntfy's own poll API returns it.
    let got = ntfy.wait_messages("deploys", 1, Duration::from_secs(20));
    assert_eq!(got.len(), 1, "{got:#?}");
    let title = got[0]["title"].as_str().unwrap();
    assert!(
        title.contains("container-app.service") && title.contains("rolled back"),
        "{title}"
    );
    assert!(
        got[0]["message"].as_str().unwrap().contains("rolled_back"),
        "{:#}",
        got[0]
    );
    // The webhook: podup's JSON, its signature recomputed here.
    let hooks = hook.wait_for(1, Duration::from_secs(20));
    assert_eq!(hooks.len(), 1, "{hooks:#?}");
    let mut mac = Hmac::<Sha256>::new_from_slice(HOOK_SECRET.as_bytes()).unwrap();
    mac.update(&hooks[0].body);
    let sig: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hooks[0].header("x-podup-signature-256"),
        Some(format!("sha256={sig}").as_str())
    );
    let v = hooks[0].json();
    assert_eq!(
        (v["event"].as_str(), v["task"]["id"].as_i64()),
        (Some("rolled_back"), Some(id))
    );
    // apprise, run by the exec: sink, posts its own JSON to the loopback target.
    let via = apprise_target.wait_for(1, Duration::from_secs(30));
    assert_eq!(via.len(), 1, "{via:#?}");
    let a = via[0].json();
    assert!(a["title"].as_str().unwrap().contains("rolled back"), "{a}");
    assert!(a["message"].as_str().unwrap().contains("container-app.service"), "{a}");
    // Nothing more arrives: one message per task and sink.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(ntfy.messages("deploys").len(), 1);
    assert_eq!((hook.requests().len(), apprise_target.requests().len()), (1, 1));
    let rows = outbox(&state_db(&b.bed));
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows.iter().all(|r| r.1 == "delivered" && r.2 == 1), "{rows:?}");
    let ntfy_row = rows.iter().find(|r| r.0.starts_with("ntfy")).unwrap();
    let after_end_s = (ntfy_row.3.unwrap() - finished) as f64 / 1000.0;
    shout(&format!(
        "notify: the rolled-back task's message reached the real ntfy server {after_end_s:.3} s after the task ended"
    ));
    assert!(after_end_s < 2.0, "{after_end_s} s");
    assert_no_secret(&b, &[ntfy.token(), HOOK_SECRET]);
}

on_kinds!(a_sink_down_for_a_minute_gets_the_message_once_it_is_up);
fn a_sink_down_for_a_minute_gets_the_message_once_it_is_up() {
    // A port nobody listens on until the minute is over.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sinks = [format!("webhook+http://127.0.0.1:{port}/hook?secret={HOOK_SECRET}")];
    let Some((b, _v1)) = bed_with_sinks("notify-down", &sinks, &[("PODUP_NOTIFY_RETRY", "5s")]) else {
        return;
    };
    let t = rolled_back_deploy(&b, "v2");
    let db = state_db(&b.bed);
    let rows = outbox(&db);
    assert_eq!(rows[0].1, "pending", "{rows:?}");
    std::thread::sleep(Duration::from_secs(60));
    let hook = Receiver::start_at(port);
    let up = std::time::Instant::now();
    // Nothing here flushes: the transient timer the worker (then each flush) asked the
    // real manager for does, at 5, 15, 35, 75 s after the first failure.
    assert!(
        wait_until(Duration::from_secs(90), || outbox(&db)[0].1 == "delivered"),
        "{:?}",
        outbox(&db)
    );
    let waited = up.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(3));
    let got = hook.requests();
    assert_eq!(got.len(), 1, "delivered once: {got:#?}");
    assert_eq!(got[0].json()["task"]["id"], t["task"]["id"]);
    let rows = outbox(&db);
    shout(&format!(
        "notify: a sink down for 60 s got its message {waited:.1} s after it came up, on attempt {}",
        rows[0].2
    ));
    assert_no_secret(&b, &[HOOK_SECRET]);
}
