//! The `sink_line` target: notification sink URLs (`notify::sink`), as podup reads them
//! from `PODUP_NOTIFY_FILE`, rendered for a message.

use crate::notify::format::{Request, render};
use crate::notify::message::{Event, Message, SCHEMA, TaskPart};
use crate::notify::sink;

/// One sink URL per line. Each line is parsed; a sink is rendered for a fixed message.
///
/// Checks: nothing panics; the values of `token=`, `secret=` and a userinfo password
/// (8 bytes or more, as written, and written only there) appear in no error, no
/// `display`, no `Debug` of the sink or of its request; a parsed sink's key is 16 hex
/// digits.
pub fn sink_line(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let msg = message();
    for line in text.lines().take(64) {
        let secrets = secrets_of(line);
        let shown = match sink::parse(line) {
            Err(e) => vec![e.to_string()],
            Ok(s) => {
                assert!(s.key.len() == 16 && s.key.bytes().all(|b| b.is_ascii_hexdigit()));
                let request = render(&s, &msg);
                if let Request::Http { url, .. } = &request {
                    assert!(url.starts_with("http://") || url.starts_with("https://"), "{url:?}");
                }
                vec![s.display.clone(), format!("{s:?}"), format!("{request:?}")]
            }
        };
        for text in &shown {
            for secret in &secrets {
                assert!(!text.contains(secret.as_str()), "{secret:?} shown in {text:?}");
            }
        }
    }
}

/// The raw values of `token=`, `secret=` and `user:password@` in `line`, 8 bytes or more.
fn secrets_of(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((_, query)) = line.split_once('?') {
        for pair in query.split('&') {
            if let Some(("token" | "secret", v)) = pair.split_once('=') {
                out.push(v.to_string());
            }
        }
    }
    let after_scheme = line.split_once("://").map_or("", |(_, rest)| rest);
    let authority = after_scheme.split(['/', '?']).next().unwrap_or("");
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        if let Some((_, password)) = userinfo.split_once(':') {
            out.push(password.to_string());
        }
    }
    // A value written elsewhere in the line too (a topic equal to the token) may be
    // shown for that other place.
    out.retain(|s| s.len() >= 8 && line.matches(s.as_str()).count() == 1);
    out
}

fn message() -> Message {
    Message {
        schema: SCHEMA,
        id: "podup-00000000000000000000000000000000".into(),
        event: Event::Failed,
        host: "host-a".into(),
        ts_ms: 0,
        title: "app.service failed on host-a".into(),
        task: Some(TaskPart {
            id: 1,
            kind: "webhook".into(),
            status: "failed".into(),
            reason: Some("pull_failed".into()),
            message: Some("the pull failed".into()),
            created_ms: 0,
            finished_ms: Some(1000),
            duration_ms: Some(1000),
        }),
        units: Vec::new(),
        trigger: None,
        log_tail: vec!["error app.service: pull failed".into()],
        url: Some("https://podup.example.org/tasks?task=1".into()),
        auth_failures: None,
    }
}
