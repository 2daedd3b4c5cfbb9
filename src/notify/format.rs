//! A message rendered for one sink: the HTTP request its service accepts, or the
//! program to run with podup's JSON on stdin. Pure: no clock, no network. The human
//! text every chat service shows comes from one place (`text`), and each service's
//! size limits are respected by cutting on a character boundary and ending in '…'
//! (tests/fixtures/notify/README.md cites the services' documentation). Sending the
//! request is `send`'s work.

mod human;

use super::message::{Event, Message};
use super::sink::{Auth, Sink, Target};
use crate::build_info::VERSION;
use human::parts;
pub use human::text;
use serde_json::{Value, json};
use std::fmt;
use std::path::PathBuf;

/// ntfy keeps messages up to 4096 bytes; a longer one becomes an attachment.
const NTFY_MESSAGE_BYTES: usize = 4096;
/// Slack's advice for a message's text (it cuts at 40,000); older Mattermost's limit.
const SLACK_TEXT_CHARS: usize = 4000;
/// Discord's limits for an embed's title and description.
const DISCORD_TITLE_CHARS: usize = 256;
const DISCORD_DESCRIPTION_CHARS: usize = 4096;
/// Gotify documents no limit; this keeps a message small for phones.
const GOTIFY_MESSAGE_BYTES: usize = 16 * 1024;
/// A Matrix event may have 64 KiB in all; the plain body and the HTML each get at most
/// this much (the HTML is left out rather than cut).
const MATRIX_PART_BYTES: usize = 16 * 1024;
/// One argv string may have 128 KiB on Linux; `{text}` and `PODUP_TEXT` get less.
const EXEC_TEXT_BYTES: usize = 32 * 1024;

/// What delivering a message to a sink takes. `Debug` shows no URL and no header
/// value: both may hold the sink's credentials.
pub enum Request {
    Http {
        method: &'static str,
        url: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    Exec {
        program: PathBuf,
        args: Vec<String>,
        stdin: Vec<u8>,
        env: Vec<(String, String)>,
    },
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::Http {
                method, headers, body, ..
            } => f
                .debug_struct("Http")
                .field("method", method)
                .field("headers", &headers.iter().map(|(k, _)| k).collect::<Vec<_>>())
                .field("body_bytes", &body.len())
                .finish_non_exhaustive(),
            Request::Exec { program, args, env, .. } => f
                .debug_struct("Exec")
                .field("program", program)
                .field("args", &args.len())
                .field("env", &env.iter().map(|(k, _)| k).collect::<Vec<_>>())
                .finish_non_exhaustive(),
        }
    }
}

/// `msg` as `sink` sends it. A sink's `host=` replaces the message's host everywhere.
pub fn render(sink: &Sink, msg: &Message) -> Request {
    let host = sink.host.as_deref().unwrap_or(&msg.host);
    let (title, body) = text(msg, host);
    match &sink.target {
        Target::Webhook { url, secret } => {
            let json = own_json(msg, host);
            let mut headers = json_headers();
            headers.push(("X-Podup-Event".into(), msg.event.as_str().into()));
            headers.push(("X-Podup-Delivery".into(), msg.id.clone()));
            if let Some(secret) = secret {
                let signature = crate::providers::github::sign(secret, &json);
                headers.push(("X-Podup-Signature-256".into(), signature));
            }
            http("POST", url.clone(), headers, json)
        }
        Target::Exec { program, args } => exec(program, args, msg, host, &title, &body),
        Target::Ntfy { base, topic, auth } => ntfy(base, topic, auth.as_ref(), msg, &title, &body),
        Target::Slack { url } => {
            let text = fit(&format!("*{title}*\n{body}"), SLACK_TEXT_CHARS, char::len_utf16);
            let payload = json!({ "text": slack_escape(&text) });
            http("POST", url.clone(), json_headers(), to_vec(&payload))
        }
        Target::Discord { url } => {
            let mut embed = json!({
                "title": fit(&title, DISCORD_TITLE_CHARS, char::len_utf16),
                "description": fit(&body, DISCORD_DESCRIPTION_CHARS, char::len_utf16),
                "color": discord_color(msg.event),
            });
            if let Some(link) = &msg.url {
                embed["url"] = link.as_str().into();
            }
            let payload = json!({ "embeds": [embed], "allowed_mentions": { "parse": [] } });
            http("POST", url.clone(), json_headers(), to_vec(&payload))
        }
        Target::Gotify { base, token } => {
            let mut extras = json!({ "client::display": { "contentType": "text/plain" } });
            if let Some(link) = &msg.url {
                extras["client::notification"] = json!({ "click": { "url": link } });
            }
            let payload = json!({
                "title": title,
                "message": fit(&body, GOTIFY_MESSAGE_BYTES, char::len_utf8),
                "priority": if urgent(msg.event) { 8 } else { 5 },
                "extras": extras,
            });
            let mut headers = json_headers();
            headers.push(("X-Gotify-Key".into(), token.0.clone()));
            http("POST", format!("{base}/message"), headers, to_vec(&payload))
        }
        Target::Matrix { base, room, token } => {
            // The same message to the same sink always has the same transaction id, so
            // the homeserver takes a retry of a delivered message as a duplicate.
            let txn = format!("{}.{}", msg.id, sink.key);
            let url = format!(
                "{base}/_matrix/client/v3/rooms/{}/send/m.room.message/{}",
                encode(room),
                encode(&txn)
            );
            let mut headers = json_headers();
            headers.push(("Authorization".into(), format!("Bearer {}", token.0)));
            http("PUT", url, headers, matrix_content(msg, host, &title, &body))
        }
    }
}

fn ntfy(base: &str, topic: &str, auth: Option<&Auth>, msg: &Message, title: &str, body: &str) -> Request {
    let mut payload = json!({
        "topic": topic,
        "title": title,
        "message": fit(body, NTFY_MESSAGE_BYTES, char::len_utf8),
        "tags": [ntfy_tag(msg.event)],
        "priority": if urgent(msg.event) { 4 } else { 3 },
    });
    if let Some(url) = &msg.url {
        payload["click"] = url.as_str().into();
    }
    let mut headers = json_headers();
    let credential = match auth {
        Some(Auth::Bearer(token)) => Some(format!("Bearer {}", token.0)),
        Some(Auth::Basic { user, password }) => {
            Some(format!("Basic {}", base64(format!("{user}:{}", password.0).as_bytes())))
        }
        None => None,
    };
    headers.extend(credential.map(|c| ("Authorization".to_string(), c)));
    http("POST", format!("{base}/"), headers, to_vec(&payload))
}

/// An `m.room.message`: plain text, and HTML when it fits.
fn matrix_content(msg: &Message, host: &str, title: &str, body: &str) -> Vec<u8> {
    let plain = fit(&format!("{title}\n{body}"), MATRIX_PART_BYTES, char::len_utf8);
    let mut payload = json!({ "msgtype": "m.text", "body": plain });
    let html = matrix_html(msg, host, title);
    if html.len() <= MATRIX_PART_BYTES {
        payload["format"] = "org.matrix.custom.html".into();
        payload["formatted_body"] = html.into();
    }
    to_vec(&payload)
}

/// The message as podup's own JSON (webhook body, exec stdin), seen from `host`.
fn own_json(msg: &Message, host: &str) -> Vec<u8> {
    let mut m = msg.clone();
    m.title = parts(msg, host).title;
    m.host = host.to_string();
    serde_json::to_vec(&m).expect("a message serializes")
}

fn exec(program: &std::path::Path, args: &[String], msg: &Message, host: &str, title: &str, body: &str) -> Request {
    let body = fit(body, EXEC_TEXT_BYTES, char::len_utf8);
    let mut env = vec![
        ("PODUP_SCHEMA".to_string(), msg.schema.to_string()),
        ("PODUP_MESSAGE_ID".into(), msg.id.clone()),
        ("PODUP_EVENT".into(), msg.event.as_str().into()),
        ("PODUP_HOST".into(), host.into()),
        ("PODUP_TITLE".into(), title.into()),
        ("PODUP_TEXT".into(), body.clone()),
    ];
    if let Some(t) = &msg.task {
        env.push(("PODUP_TASK_ID".into(), t.id.to_string()));
        env.push(("PODUP_TASK_STATUS".into(), t.status.clone()));
    }
    let units: Vec<&str> = msg.units.iter().map(|u| u.unit.as_str()).collect();
    env.push(("PODUP_UNITS".into(), units.join(" ")));
    if let Some(url) = &msg.url {
        env.push(("PODUP_URL".into(), url.clone()));
    }
    Request::Exec {
        program: program.to_path_buf(),
        args: args.iter().map(|a| fill(a, title, &body)).collect(),
        stdin: own_json(msg, host),
        env,
    }
}

/// `arg` with each `{title}` and `{text}` replaced, in one pass (replaced text is not
/// searched again).
fn fill(arg: &str, title: &str, text: &str) -> String {
    let mut out = String::new();
    let mut rest = arg;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("{title}") {
            out.push_str(title);
            rest = after;
        } else if let Some(after) = tail.strip_prefix("{text}") {
            out.push_str(text);
            rest = after;
        } else {
            out.push('{');
            rest = &tail[1..];
        }
    }
    out + rest
}

fn http(method: &'static str, url: String, headers: Vec<(String, String)>, body: Vec<u8>) -> Request {
    Request::Http {
        method,
        url,
        headers,
        body,
    }
}

fn json_headers() -> Vec<(String, String)> {
    vec![
        ("Content-Type".into(), "application/json".into()),
        ("User-Agent".into(), format!("podup/{VERSION}")),
    ]
}

fn to_vec(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("a JSON value serializes")
}

/// The events someone should look at soon.
fn urgent(e: Event) -> bool {
    matches!(
        e,
        Event::Failed | Event::RolledBack | Event::Unknown | Event::AuthFailures | Event::ApprovalNeeded
    )
}

/// An emoji short code ntfy shows before the title.
fn ntfy_tag(e: Event) -> &'static str {
    match e {
        Event::Failed => "x",
        Event::RolledBack => "rewind",
        Event::Unknown => "grey_question",
        Event::Succeeded => "white_check_mark",
        Event::UpdateAvailable => "package",
        Event::ApprovalNeeded => "raised_hand",
        Event::AuthFailures => "lock",
        Event::Test => "bell",
    }
}

fn discord_color(e: Event) -> u32 {
    match e {
        Event::Failed | Event::AuthFailures => 0xE0_1E5A,
        Event::RolledBack => 0xE8_912D,
        Event::Unknown => 0xEC_B22E,
        Event::Succeeded => 0x2E_B67D,
        Event::UpdateAvailable => 0x36_C5F0,
        Event::ApprovalNeeded => 0x9B_59B6,
        Event::Test => 0x95_A5A6,
    }
}

/// Slack's three control characters as the entities it asks for.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn html_escape(s: &str) -> String {
    slack_escape(s).replace('"', "&quot;").replace('\'', "&#39;")
}

/// The Matrix `formatted_body`: the title in bold, a line each, the link, the log in `<pre>`.
fn matrix_html(msg: &Message, host: &str, title: &str) -> String {
    let p = parts(msg, host);
    let mut html = format!("<strong>{}</strong>", html_escape(title));
    for line in &p.lines {
        html = format!("{html}<br>{}", html_escape(line));
    }
    if let Some(url) = &msg.url {
        let url = html_escape(url);
        html = format!("{html}<br><a href=\"{url}\">{url}</a>");
    }
    if !p.log.is_empty() {
        html = format!("{html}<pre><code>{}</code></pre>", html_escape(&p.log.join("\n")));
    }
    html
}

/// `s` cut to at most `max` units as `len` counts them, ending in '…' when cut.
fn fit(s: &str, max: usize, len: fn(char) -> usize) -> String {
    if s.chars().map(len).sum::<usize>() <= max {
        return s.to_string();
    }
    let budget = max.saturating_sub(len('…'));
    let (mut used, mut end) = (0, 0);
    for (i, c) in s.char_indices() {
        used += len(c);
        if used > budget {
            break;
        }
        end = i + c.len_utf8();
    }
    format!("{}…", &s[..end])
}

/// Percent-encodes all but RFC 3986's unreserved characters (a path segment).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            true => char::from(b).to_string(),
            false => format!("%{b:02X}"),
        })
        .collect()
}

/// Standard base64 with padding (RFC 4648), for HTTP Basic credentials.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            match i <= chunk.len() {
                true => out.push(char::from(ABC[(n >> (18 - 6 * i) & 63) as usize])),
                false => out.push('='),
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "format_tests.rs"]
pub(crate) mod tests;
