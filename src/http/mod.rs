//! HTTP/1.1 as podup speaks it: requests framed by `framing`, routed by the table in
//! `routes` (which authorizes once), handlers that return a `Response` value or a
//! `Refusal` (never touching the socket), what they are given in `context`, what
//! they read from a request in `extract`, shared answers in `answer`, the caller's
//! credential checked in `authorize`, JSON errors with stable codes, and the
//! redaction of secrets from request targets before they are stored.

pub mod answer;
pub mod api;
pub mod auth_journal;
pub mod auth_limit;
pub mod authorize;
pub mod context;
pub mod dbinfo;
pub mod event_log;
pub mod extract;
pub mod framing;
pub mod guard;
pub mod health;
pub mod hooks;
pub mod metrics;
pub mod notify;
pub mod ops;
pub mod overview;
pub mod panel;
pub mod redact;
pub mod refusal;
pub mod routes;
pub mod senders;
pub mod session;
pub mod tasks;
pub mod updates;
pub mod webhooks;

use serde_json::{Value, json};

/// A complete, framed request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    /// The raw request target (path and query).
    pub target: String,
    pub path: String,
    pub query: String,
    /// Header names lower-cased, values trimmed (lossy UTF-8).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The client allows another request on this connection (HTTP/1.1 without
    /// `Connection: close`).
    pub keep_alive: bool,
}

impl Request {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What a handler answers, plus what the event log should say about it.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// snake_case: what the request was taken to be (`health`, `not_found`, ...).
    pub action: &'static str,
    /// snake_case: why it ended as it did (`ok`, `body_too_large`, ...).
    pub reason: &'static str,
    /// Extra facts for the event's `meta` column (a JSON object).
    pub meta: Value,
    /// The task this request created or refers to, linked from its event row.
    pub task_id: Option<i64>,
    /// The request presented a credential that failed (already counted against its
    /// source by `auth_limit::failed`, before it was answered): its row outlives
    /// anonymous ones under the size budget (`store::fold`).
    pub auth_failed: bool,
    /// A repeat of a signed delivery already seen (same id, or same body under
    /// another id): no new activity, so its row is filed as a refused one.
    pub repeated: bool,
}

impl Response {
    pub fn json(status: u16, action: &'static str, reason: &'static str, body: &Value) -> Response {
        let mut bytes = serde_json::to_vec(body).expect("a JSON value serializes");
        bytes.push(b'\n');
        Response {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: bytes,
            action,
            reason,
            meta: json!({}),
            task_id: None,
            auth_failed: false,
            repeated: false,
        }
    }

    /// `{"error": code, "message": message}`; `code` is also the event's reason.
    pub fn error(status: u16, action: &'static str, code: &'static str, message: impl Into<String>) -> Response {
        Response::json(status, action, code, &json!({"error": code, "message": message.into()}))
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    /// Marks the answer as a failed authentication (see `auth_failed`).
    pub fn auth_failure(mut self) -> Response {
        self.auth_failed = true;
        self
    }

    /// Marks the answer as a repeat of a delivery already seen (see `repeated`).
    pub fn repeated(mut self) -> Response {
        self.repeated = true;
        self
    }

    pub fn with_meta(mut self, meta: Value) -> Response {
        self.meta = meta;
        self
    }

    pub fn with_task(mut self, id: i64) -> Response {
        self.task_id = Some(id);
        self
    }

    /// A JSON answer's body with `extra`'s fields added (an answer that is not a JSON
    /// object is left as it is).
    pub fn with_extra(mut self, extra: Value) -> Response {
        let Ok(mut body) = serde_json::from_slice::<Value>(&self.body) else {
            return self;
        };
        if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
            b.extend(e);
            self.body = serde_json::to_vec(&body).expect("a JSON value serializes");
            self.body.push(b'\n');
        }
        self
    }

    /// `{status, task_id, status_url}` of a JSON answer about a task, for a list.
    pub fn task_summary(&self) -> Value {
        let body: Value = serde_json::from_slice(&self.body).unwrap_or(Value::Null);
        json!({"status": body["status"], "task_id": body["task_id"], "status_url": body["status_url"]})
    }

    /// The bytes on the wire; `head_only` leaves the body out (HEAD requests) but
    /// keeps its Content-Length. Without `keep_alive`, the answer says `Connection: close`.
    pub fn to_bytes(&self, head_only: bool, keep_alive: bool) -> Vec<u8> {
        // Answers are not cached unless a handler says otherwise (the panel's assets).
        let cache = if self.headers.iter().any(|(n, _)| *n == "Cache-Control") {
            ""
        } else {
            "Cache-Control: no-store\r\n"
        };
        let connection = if keep_alive { "" } else { "Connection: close\r\n" };
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{connection}{cache}X-Content-Type-Options: nosniff\r\n",
            self.status,
            reason_phrase(self.status),
            self.content_type,
            self.body.len()
        )
        .into_bytes();
        for (name, value) in &self.headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if !head_only {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

/// The reason phrase of `status`: every status RFC 9110 section 15 defines, and 429 and
/// 431 from RFC 6585 (a test checks each status written in `src/` has one).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// Query parameter names whose values are always hidden.
const SECRET_KEYS: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "key",
    "signature",
    "sig",
    "auth",
    "credential",
    "session",
    "code",
];

/// The request target as stored in the event log: query values that look like
/// secrets (by name, or long random-looking values) and path segments that look like
/// a credential become `REDACTED`, control and bidi characters are percent-encoded
/// (`redact`), and the whole is cut to 1024 bytes.
pub fn redact_target(path: &str, query: &str) -> String {
    let mut out = redact::redact_segments(path);
    if !query.is_empty() {
        let parts: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, v)) if looks_secret(k, v) => format!("{k}=REDACTED"),
                _ => pair.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&parts.join("&"));
    }
    let mut out = redact::escape_controls(&out);
    if out.len() > 1024 {
        let mut cut = 1024;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

fn looks_secret(key: &str, value: &str) -> bool {
    let k = key.to_ascii_lowercase();
    let named = SECRET_KEYS.iter().any(|s| k.contains(s));
    let random_looking = value.len() >= 20
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_+/=.%".contains(&b))
        && value.bytes().any(|b| b.is_ascii_digit())
        && value.bytes().any(|b| b.is_ascii_alphabetic());
    named || random_looking
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn response_bytes_have_a_correct_content_length() {
        let r = Response::error(404, "not_found", "unknown_route", "no route for '/x'");
        let bytes = r.to_bytes(false, false);
        let text = String::from_utf8(bytes).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"));
        assert!(head.contains(&format!("Content-Length: {}\r\n", body.len())));
        assert!(head.contains("Connection: close"));
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"], "unknown_route");
        let head_only = String::from_utf8(r.to_bytes(true, false)).unwrap();
        assert!(head_only.ends_with("\r\n\r\n") && head_only.contains(&format!("Content-Length: {}", body.len())));
    }

    #[test]
    fn a_kept_connection_is_not_told_to_close() {
        let r = Response::error(404, "not_found", "unknown_route", "no route for '/x'");
        let kept = String::from_utf8(r.to_bytes(false, true)).unwrap();
        assert!(!kept.to_ascii_lowercase().contains("connection:"), "{kept}");
        assert_eq!(
            kept.len(),
            r.to_bytes(false, false).len() - "Connection: close\r\n".len()
        );
    }

    /// Every status RFC 9110 section 15 defines (418 is unused there, 422 and 426 are
    /// in it), as podup writes it on the status line.
    const RFC_9110: &[u16] = &[
        100, 101, 200, 201, 202, 203, 204, 205, 206, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401, 402, 403, 404,
        405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 426, 500, 501, 502, 503, 504, 505,
    ];

    #[test]
    fn every_status_podup_sends_has_its_reason_phrase() {
        for &status in RFC_9110 {
            assert_ne!(reason_phrase(status), "Unknown", "{status}");
        }
        assert!(
            String::from_utf8(Response::error(421, "request", "misdirected_request", "x").to_bytes(false, true))
                .unwrap()
                .starts_with("HTTP/1.1 421 Misdirected Request\r\n")
        );
        // 429 and 431 come from RFC 6585; every status written in src/ is in one of the two.
        let known = |s: u16| RFC_9110.contains(&s) || s == 429 || s == 431;
        let written = statuses_in_source(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")));
        assert!(
            written.contains(&421) && written.contains(&408),
            "the scan finds them: {written:?}"
        );
        for status in written {
            assert!(known(status), "status {status} in src/ is not in RFC 9110 or 6585");
            assert_ne!(reason_phrase(status), "Unknown", "{status}");
        }
    }

    /// The status numbers given to `Response::error(`, `Response::json(`, `status: ` and
    /// match arms (`=> 408`: the error enums' status tables) in the sources under `dir`,
    /// whitespace and line breaks allowed.
    fn statuses_in_source(dir: &Path) -> Vec<u16> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                found.extend(statuses_in_source(&path));
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for marker in ["Response::error(", "Response::json(", "status: ", "=> "] {
                for (at, _) in text.match_indices(marker) {
                    let rest = text[at + marker.len()..].trim_start();
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    if digits.len() == 3 {
                        found.push(digits.parse().unwrap());
                    }
                }
            }
        }
        found
    }

    #[test]
    fn secrets_in_queries_are_redacted() {
        assert_eq!(redact_target("/h", ""), "/h");
        assert_eq!(redact_target("/h", "page=2&token=abc"), "/h?page=2&token=REDACTED");
        assert_eq!(redact_target("/h", "x=ghp_0123456789abcdefABCDEF"), "/h?x=REDACTED");
        assert_eq!(
            redact_target("/h", "status=failed&unit=app.service"),
            "/h?status=failed&unit=app.service"
        );
        assert_eq!(redact_target("/h", "API_KEY=1"), "/h?API_KEY=REDACTED");
        let long = "a".repeat(3000);
        assert!(redact_target(&format!("/{long}"), "").chars().count() <= 1025);
    }
}
