//! Notifications end to end (docs/notifications.md): a task that fails writes its
//! messages with its end, the worker delivers them after the commit, failures are
//! retried by `podup notify --flush`, and no sink secret is shown anywhere.

mod delivery;
mod retry;
mod serve;

use crate::support::receiver::Receiver;
use crate::support::*;
use std::path::Path;
use std::process::Output;

pub const TOKEN: &str = "tk_notifysecret4242";
pub const HOOK_SECRET: &str = "hook-secret-notify-0123";

/// A podup with fakes, `app.service`, these sink lines in a PODUP_NOTIFY_FILE, quick
/// retries and a short deadline.
pub fn with_sinks(name: &str, sinks: &[String], extra: &[(&str, &str)]) -> (Fakes, Podup) {
    let (fakes, podup) = setup(name, extra);
    let file = podup.state.path().join("notify");
    std::fs::write(&file, sinks.join("\n")).unwrap();
    let podup = podup
        .env("PODUP_NOTIFY_FILE", file.to_str().unwrap())
        .env("PODUP_NOTIFY_RETRY", "1s")
        .env("PODUP_NOTIFY_TIMEOUT_SECS", "2");
    let mut podup = podup;
    for (k, v) in extra {
        podup = podup.env(k, v);
    }
    (fakes, podup)
}

pub fn webhook(r: &Receiver, query: &str) -> String {
    format!("webhook+http://{}/hook?secret={HOOK_SECRET}{query}", r.addr)
}

pub fn ntfy(r: &Receiver, query: &str) -> String {
    format!("ntfy+http://{}/deploys?token={TOKEN}{query}", r.addr)
}

/// Creates a task for `app.service` (dispatched to the fake systemd-run) and runs its
/// worker with podman failing: the task ends `failed`. Returns its id and the
/// worker's output.
pub fn failed_task(fakes: &Fakes, podup: &Podup) -> (i64, Output) {
    let out = podup.run(&["trigger", "app.service"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let id: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    fakes.answer("podman", 125, "", "Error: initializing source: pull access denied");
    let db = podup.db_path();
    let out = podup
        .command(&["run-task", &id.to_string(), "--db", db.to_str().unwrap()])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (id, out)
}

pub fn outbox(db: &Path) -> Vec<(i64, String, String, i64, Option<String>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn
        .prepare("SELECT coalesce(task_id, 0), event, status, attempts, last_error FROM outbox ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Every file of the state directory (the database, its WAL) and the given outputs
/// are free of the sinks' secrets.
pub fn assert_no_secret(podup: &Podup, outputs: &[&Output]) {
    for entry in std::fs::read_dir(podup.state.path().join("state")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap_or_default();
        for secret in [TOKEN, HOOK_SECRET] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} found in {}",
                path.display()
            );
        }
    }
    for out in outputs {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains(TOKEN) && !text.contains(HOOK_SECRET), "{text}");
    }
}
