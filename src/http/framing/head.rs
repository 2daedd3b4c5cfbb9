//! The request head: found in the bytes, parsed by httparse, checked for the lenient
//! forms podup refuses, and turned into the state that reads the body.

use super::body::body_state;
use super::{Ambiguity, FrameError, Framer, MAX_HEAD_BYTES, MAX_HEADERS, Progress, State};
use crate::http::Request;

impl Framer {
    pub(super) fn parse_head(&mut self) -> Result<Progress, FrameError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        let head_len = match parsed.parse(&self.buf) {
            Ok(httparse::Status::Complete(n)) => n,
            // Not expected once the end was seen, but waiting is the safe answer.
            Ok(httparse::Status::Partial) if self.buf.len() <= MAX_HEAD_BYTES => {
                return Ok(Progress::NeedMore);
            }
            Ok(httparse::Status::Partial) => return Err(FrameError::HeadTooLarge),
            Err(httparse::Error::TooManyHeaders) => return Err(FrameError::TooManyHeaders),
            Err(e) => return Err(FrameError::Malformed(e.to_string())),
        };
        if head_len > MAX_HEAD_BYTES {
            return Err(FrameError::HeadTooLarge);
        }
        let target = parsed.path.unwrap_or("/").to_string();
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (target.clone(), String::new()),
        };
        let headers: Vec<(String, String)> = parsed
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_ascii_lowercase(),
                    String::from_utf8_lossy(h.value).trim().to_string(),
                )
            })
            .collect();
        let mut request = Request {
            keep_alive: false,
            method: parsed.method.unwrap_or_default().to_string(),
            target,
            path,
            query,
            headers,
            body: Vec::new(),
        };
        // HTTP/1.1 keeps the connection unless either side says close; 1.0 closes.
        request.keep_alive = parsed.version == Some(1)
            && !request
                .headers_named("connection")
                .flat_map(|v| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case("close"));
        let version = parsed.version;
        let rest = self.buf.split_off(head_len);
        let head = std::mem::take(&mut self.buf);
        let head = &head[self.leading_blank.min(head.len())..];
        let refused = ambiguity(head, version, &request);
        let state = match refused {
            Some(a) => Err(FrameError::Ambiguous(a)),
            None => body_state(&request, self.max_body),
        };
        let expects = request
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
        // Keep the head even when the body is refused: the event row names the route.
        self.head = Some(request);
        self.state = state?;
        self.continue_pending = expects && !matches!(self.state, State::Body { len: 0 });
        // A body read with the head is moved, not copied again (the body is empty yet).
        if rest.is_empty() || matches!(self.state, State::Body { .. }) {
            self.body = rest;
            return self.check_body();
        }
        self.feed(&rest)
    }
}

/// The lenient form `head` (without the blank lines before its request line) uses, if any.
fn ambiguity(head: &[u8], version: Option<u8>, request: &Request) -> Option<Ambiguity> {
    let bare_lf = head
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || head[i - 1] != b'\r'));
    if bare_lf {
        return Some(Ambiguity::BareLf);
    }
    if request.headers_named("host").nth(1).is_some() {
        return Some(Ambiguity::DuplicateHost);
    }
    if version == Some(0) && request.headers_named("transfer-encoding").next().is_some() {
        return Some(Ambiguity::ChunkedOnHttp10);
    }
    None
}

/// True when `buf` contains the blank line that ends a request head: a line end (`\n` or
/// `\r\n`) and then an empty line (`\n` or `\r\n`), every pairing httparse accepts.
/// Stops at the first such line: a body read with the head is not scanned.
pub(super) fn has_head_end(buf: &[u8]) -> bool {
    let mut from = 0;
    while let Some(n) = buf[from..].iter().position(|&b| b == b'\n') {
        from += n + 1;
        if matches!(buf[from..], [b'\n', ..] | [b'\r', b'\n', ..]) {
            return true;
        }
    }
    false
}
