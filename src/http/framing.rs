//! Incremental HTTP/1.1 request framing on httparse, with hard limits. Bytes go in as
//! they arrive; out comes "need more", a complete `Request`, or a `FrameError` that
//! maps to one status and one reason code. No I/O here: the drivers read and write.

use super::Request;
use chunked::Chunked;

mod chunked;

/// Largest request head (request line + headers) accepted.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most headers accepted in one request.
pub const MAX_HEADERS: usize = 64;

/// Why a request could not be framed. Each maps to a status and a stable reason code.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameError {
    HeadTooLarge,
    TooManyHeaders,
    BodyTooLarge {
        declared: Option<u64>,
        limit: u64,
    },
    Malformed(String),
    /// A form some parsers accept and others read otherwise (bare LF line ends, junk in
    /// a chunk size, chunked on HTTP/1.0, two `Host` headers): refused, so that podup
    /// and a proxy in front of it can never see two different requests in the same bytes.
    Ambiguous(Ambiguity),
    UnsupportedTransferEncoding(String),
    /// The connection closed before the request was complete.
    Incomplete,
    /// The whole-request deadline passed.
    Timeout,
    /// Every connection slot was taken and others were waiting: this one, still
    /// incomplete after a while, was closed to make room.
    Overloaded,
}

impl FrameError {
    pub fn status(&self) -> u16 {
        match self {
            FrameError::HeadTooLarge | FrameError::TooManyHeaders => 431,
            FrameError::BodyTooLarge { .. } => 413,
            FrameError::Malformed(_) | FrameError::Ambiguous(_) | FrameError::Incomplete => 400,
            FrameError::UnsupportedTransferEncoding(_) => 501,
            FrameError::Timeout => 408,
            FrameError::Overloaded => 503,
        }
    }

    /// The stable code sent as `error` and stored as the event's `reason`.
    pub fn code(&self) -> &'static str {
        match self {
            FrameError::HeadTooLarge => "head_too_large",
            FrameError::TooManyHeaders => "too_many_headers",
            FrameError::BodyTooLarge { .. } => "body_too_large",
            FrameError::Malformed(_) => "malformed_request",
            FrameError::Ambiguous(a) => a.code(),
            FrameError::UnsupportedTransferEncoding(_) => "unsupported_transfer_encoding",
            FrameError::Incomplete => "incomplete_request",
            FrameError::Timeout => "request_timeout",
            FrameError::Overloaded => "overloaded",
        }
    }

    pub fn message(&self) -> String {
        match self {
            FrameError::HeadTooLarge => {
                format!(
                    "the request head (or the trailer section of its chunked body) is larger than {MAX_HEAD_BYTES} bytes"
                )
            }
            FrameError::TooManyHeaders => {
                format!(
                    "the request head (or the trailer section of its chunked body) has more than {MAX_HEADERS} fields"
                )
            }
            FrameError::BodyTooLarge {
                declared: Some(n),
                limit,
            } => {
                format!(
                    "the declared body of {n} bytes is larger than the limit of {limit} bytes (PODUP_MAX_BODY_BYTES)"
                )
            }
            FrameError::BodyTooLarge { declared: None, limit } => {
                format!("the chunked body is larger than the limit of {limit} bytes (PODUP_MAX_BODY_BYTES)")
            }
            FrameError::Malformed(why) => format!("the request is not valid HTTP/1.1: {why}"),
            FrameError::Ambiguous(a) => a.message(),
            FrameError::UnsupportedTransferEncoding(te) => {
                format!("transfer encoding '{te}' is not supported; send chunked or a Content-Length")
            }
            FrameError::Incomplete => "the connection closed before the request was complete".into(),
            FrameError::Timeout => "the request was not received completely before the deadline".into(),
            FrameError::Overloaded => "podup was holding all the connections it serves at once, others were waiting, \
                 and this request was still incomplete: it was closed to make room; send it again"
                .into(),
        }
    }
}

/// Which lenient form a request used. RFC 9112 lets a server accept some of these
/// (a bare LF as a line end, 2.2; a bare CR replaced by a space, 2.2; whitespace around
/// a chunk size, control bytes in a chunk extension and trailer lines that are not field
/// lines were never in the grammar, 7.1) and requires a 400 for others (two Host
/// headers, 3.2; chunked on HTTP/1.0 is treated as faulty framing, 6.1): podup refuses
/// them all, each with its own code, because a proxy in front may read the same bytes
/// another way.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ambiguity {
    BareLf,
    /// A CR inside a line of a chunked body (the head's are refused by httparse).
    BareCr,
    ChunkSize,
    ChunkExtension,
    ChunkedOnHttp10,
    DuplicateHost,
    /// A line of the trailer section that is not one field line.
    Trailer,
}

impl Ambiguity {
    pub fn code(self) -> &'static str {
        match self {
            Ambiguity::BareLf => "bare_lf",
            Ambiguity::BareCr => "bare_cr",
            Ambiguity::ChunkSize => "invalid_chunk_size",
            Ambiguity::ChunkExtension => "invalid_chunk_extension",
            Ambiguity::Trailer => "invalid_trailer",
            Ambiguity::ChunkedOnHttp10 => "chunked_on_http_1_0",
            Ambiguity::DuplicateHost => "duplicate_host",
        }
    }

    pub fn message(self) -> String {
        match self {
            Ambiguity::BareLf => "a line of the request ends in a bare LF; end every line with CRLF",
            Ambiguity::BareCr => "a line of the chunked body holds a CR that is not followed by LF",
            Ambiguity::ChunkExtension => {
                "a chunk extension is not ';name' or ';name=value' (a token, or a quoted string without control bytes)"
            }
            Ambiguity::Trailer => "a line after the last chunk is not a 'name: value' field line",
            Ambiguity::ChunkSize => {
                "a chunk size is not just hexadecimal digits (optionally followed by ';' and an extension)"
            }
            Ambiguity::ChunkedOnHttp10 => {
                "Transfer-Encoding is not part of HTTP/1.0; send HTTP/1.1 or a Content-Length"
            }
            Ambiguity::DuplicateHost => "the request has more than one Host header",
        }
        .into()
    }
}

/// Result of feeding bytes.
#[derive(Debug)]
pub enum Progress {
    NeedMore,
    Done(Box<Request>),
}

#[derive(Debug)]
enum State {
    Head,
    Body { len: usize },
    Chunked(Chunked),
    Done,
}

/// Frames one request from the bytes of a connection.
#[derive(Debug)]
pub struct Framer {
    max_body: u64,
    buf: Vec<u8>,
    state: State,
    head: Option<Request>,
    body: Vec<u8>,
    continue_pending: bool,
    /// How many CR and LF bytes the head starts with: empty lines before the request line,
    /// which httparse skips and which therefore cannot end the head.
    leading_blank: usize,
    /// Bytes received after the end of the request: the start of the next one on a
    /// kept-alive connection.
    leftover: Vec<u8>,
}

impl Framer {
    pub fn new(max_body: u64) -> Framer {
        Framer {
            max_body,
            buf: Vec::new(),
            state: State::Head,
            head: None,
            body: Vec::new(),
            continue_pending: false,
            leading_blank: 0,
            leftover: Vec::new(),
        }
    }

    /// The bytes that came after the end of the request, once it is done.
    pub fn take_leftover(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.leftover)
    }

    /// Bytes received so far (head and body).
    pub fn received(&self) -> usize {
        self.buf.len() + self.body.len()
    }

    /// Body bytes held so far (0 until the head has been parsed).
    pub fn body_len(&self) -> usize {
        self.body.len()
    }

    /// The method and path of the request, once the head has been parsed.
    pub fn head(&self) -> Option<&Request> {
        self.head.as_ref()
    }

    /// True once, after a head with `Expect: 100-continue` that will be read: the
    /// driver then sends `100 Continue`.
    pub fn take_continue(&mut self) -> bool {
        std::mem::take(&mut self.continue_pending)
    }

    /// Feeds newly received bytes.
    pub fn feed(&mut self, data: &[u8]) -> Result<Progress, FrameError> {
        match &mut self.state {
            State::Head => {
                // Only the new bytes (and the two before them) can complete the end of the
                // head; the head is judged once, when its end has arrived, however it was read.
                if self.leading_blank == self.buf.len() {
                    self.leading_blank += data.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
                }
                let scan_from = self.buf.len().saturating_sub(2).max(self.leading_blank);
                self.buf.extend_from_slice(data);
                if !has_head_end(&self.buf[scan_from..]) {
                    if self.buf.len() > MAX_HEAD_BYTES {
                        return Err(FrameError::HeadTooLarge);
                    }
                    return Ok(Progress::NeedMore);
                }
                self.parse_head()
            }
            State::Body { .. } => {
                self.body.extend_from_slice(data);
                self.check_body()
            }
            State::Chunked(c) => {
                let used = c.feed(data, &mut self.body, self.max_body)?;
                self.leftover.extend_from_slice(&data[used..]);
                self.check_body()
            }
            State::Done => Err(FrameError::Malformed("data after the end of the request".into())),
        }
    }

    fn parse_head(&mut self) -> Result<Progress, FrameError> {
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

    fn check_body(&mut self) -> Result<Progress, FrameError> {
        let done = match &self.state {
            State::Body { len } => {
                if self.body.len() > *len {
                    self.leftover = self.body.split_off(*len);
                }
                self.body.len() == *len
            }
            State::Chunked(c) => c.is_done(),
            State::Head | State::Done => false,
        };
        if !done {
            return Ok(Progress::NeedMore);
        }
        self.state = State::Done;
        let mut request = self.head.take().expect("head parsed before body");
        request.body = std::mem::take(&mut self.body);
        Ok(Progress::Done(Box::new(request)))
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
fn has_head_end(buf: &[u8]) -> bool {
    let mut from = 0;
    while let Some(n) = buf[from..].iter().position(|&b| b == b'\n') {
        from += n + 1;
        if matches!(buf[from..], [b'\n', ..] | [b'\r', b'\n', ..]) {
            return true;
        }
    }
    false
}

fn body_state(request: &Request, max_body: u64) -> Result<State, FrameError> {
    let te: Vec<&str> = request.headers_named("transfer-encoding").collect();
    let cl: Vec<&str> = request.headers_named("content-length").collect();
    if !te.is_empty() {
        if !cl.is_empty() {
            return Err(FrameError::Malformed(
                "both Transfer-Encoding and Content-Length are set".into(),
            ));
        }
        let codings: Vec<String> = te
            .iter()
            .flat_map(|v| v.split(','))
            .map(|c| c.trim().to_ascii_lowercase())
            .filter(|c| !c.is_empty())
            .collect();
        if codings != ["chunked"] {
            return Err(FrameError::UnsupportedTransferEncoding(codings.join(", ")));
        }
        return Ok(State::Chunked(Chunked::default()));
    }
    let Some(first) = cl.first() else {
        return Ok(State::Body { len: 0 });
    };
    if cl.iter().any(|v| v != first) {
        return Err(FrameError::Malformed("several different Content-Length headers".into()));
    }
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FrameError::Malformed(format!(
            "Content-Length '{first}' is not a number"
        )));
    }
    let declared = first.parse::<u64>().unwrap_or(u64::MAX);
    if declared > max_body {
        return Err(FrameError::BodyTooLarge {
            declared: Some(declared),
            limit: max_body,
        });
    }
    Ok(State::Body { len: declared as usize })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_MAX_BODY_BYTES;

    fn frame_all(max_body: u64, input: &[u8], step: usize) -> Result<Option<Request>, FrameError> {
        let mut f = Framer::new(max_body);
        for piece in input.chunks(step.max(1)) {
            if let Progress::Done(r) = f.feed(piece)? {
                return Ok(Some(*r));
            }
        }
        Ok(None)
    }

    #[test]
    fn simple_get_in_any_split() {
        let raw = b"GET /health?x=1 HTTP/1.1\r\nHost: a\r\nX-Test:  v \r\n\r\n";
        for step in [1, 2, 7, raw.len()] {
            let r = frame_all(10, raw, step).unwrap().unwrap();
            assert_eq!(
                (r.method.as_str(), r.path.as_str(), r.query.as_str()),
                ("GET", "/health", "x=1")
            );
            assert_eq!(r.header("x-test"), Some("v"));
        }
    }

    /// Frames the first request of `input` fed in pieces of `step` bytes; returns it and
    /// every byte after it (what the framer kept over, then the pieces not yet fed).
    fn frame_first(input: &[u8], step: usize) -> (Request, Vec<u8>) {
        let mut f = Framer::new(1024);
        let mut fed = 0;
        for piece in input.chunks(step) {
            fed += piece.len();
            if let Progress::Done(r) = f.feed(piece).unwrap() {
                return (*r, [f.take_leftover(), input[fed..].to_vec()].concat());
            }
        }
        panic!("no complete request in {input:?}");
    }

    #[test]
    fn the_bytes_after_a_request_are_the_next_request() {
        let second = b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n".to_vec();
        let firsts: [&[u8]; 4] = [
            b"POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
            b"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n",
            b"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3; a = \"b\\\"c\" ;d\r\nhel\r\n2\r\nlo\r\n0\r\nX-Sum: 1\r\nY:\r\n\r\n",
            b"GET /p HTTP/1.1\r\n\r\n",
        ];
        for first in firsts {
            let input = [first, &second].concat();
            for step in [1, 2, 5, 17, input.len()] {
                let (r, rest) = frame_first(&input, step);
                assert_eq!(
                    (r.path.as_str(), r.body.len()),
                    ("/p", if r.method == "POST" { 5 } else { 0 })
                );
                assert_eq!(rest, second, "step {step}");
                let (next, after) = frame_first(&rest, step);
                assert_eq!((next.path.as_str(), after.len()), ("/health", 0));
            }
        }
    }

    #[test]
    fn keep_alive_is_http_1_1_without_connection_close() {
        let keeps = |head: &str| frame_all(10, head.as_bytes(), 64).unwrap().unwrap().keep_alive;
        assert!(keeps("GET / HTTP/1.1\r\n\r\n"));
        assert!(keeps("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n"));
        assert!(!keeps("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
        assert!(!keeps("GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n"));
        assert!(!keeps(
            "GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"
        ));
        assert!(!keeps("GET / HTTP/1.0\r\n\r\n"));
        assert!(!keeps("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    }

    #[test]
    fn content_length_body() {
        let raw = b"POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
        for step in [1, 3, raw.len()] {
            assert_eq!(frame_all(10, raw, step).unwrap().unwrap().body, b"hello");
        }
        assert_eq!(
            frame_all(10, b"POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel", 100).unwrap(),
            None
        );
    }

    #[test]
    fn huge_declared_length_is_refused_from_the_head() {
        let raw = b"POST /p HTTP/1.1\r\nContent-Length: 1000000000000\r\n\r\n";
        let mut f = Framer::new(1024);
        let e = f.feed(raw).unwrap_err();
        assert_eq!((e.status(), e.code()), (413, "body_too_large"));
        assert_eq!(
            f.head().map(|r| r.path.as_str()),
            Some("/p"),
            "the head is kept for the event row"
        );
        let raw = b"POST /p HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n";
        assert_eq!(frame_all(1024, raw, raw.len()).unwrap_err().status(), 413);
    }

    #[test]
    fn head_and_header_limits() {
        let mut raw = b"GET / HTTP/1.1\r\nX: ".to_vec();
        raw.extend(std::iter::repeat_n(b'a', MAX_HEAD_BYTES + 10));
        assert_eq!(frame_all(0, &raw, 4096).unwrap_err(), FrameError::HeadTooLarge);
        let mut raw = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            raw.extend(format!("h{i}: v\r\n").bytes());
        }
        raw.extend(b"\r\n");
        assert_eq!(frame_all(0, &raw, raw.len()).unwrap_err(), FrameError::TooManyHeaders);
    }

    #[test]
    fn chunked_bodies_decode_within_the_cap() {
        let raw = b"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n";
        for step in [1, 2, 5, raw.len()] {
            assert_eq!(frame_all(100, raw, step).unwrap().unwrap().body, b"hello world");
        }
        let e = frame_all(8, raw, raw.len()).unwrap_err();
        assert_eq!((e.status(), e.code()), (413, "body_too_large"));
        let huge = b"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffff\r\n";
        assert_eq!(frame_all(100, huge, huge.len()).unwrap_err().status(), 413);
    }

    #[test]
    fn malformed_requests() {
        for raw in [
            &b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: -3\r\n\r\n",
            b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"\x00\x01\x02\r\n\r\n",
        ] {
            let e = frame_all(100, raw, raw.len()).unwrap_err();
            assert_eq!(e.status(), 400, "{e:?} for {:?}", String::from_utf8_lossy(raw));
        }
        let raw = b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
        assert_eq!(frame_all(100, raw, raw.len()).unwrap_err().status(), 501);
    }

    #[test]
    fn the_end_of_a_head_is_every_pairing_of_line_ends_and_nothing_less() {
        for end in [&b"\n\n"[..], b"\n\r\n", b"\r\n\n", b"\r\n\r\n"] {
            let head = [&b"GET / HTTP/1.1\r\nHost: a"[..], end, b"{\"a\":1}"].concat();
            assert!(has_head_end(&head), "{end:?}");
        }
        for partial in [&b"a\r\nb\r\n\r"[..], b"a\nb\r\n", b"\n", b"\n\r", b"", b"a\rb\r\r\n"] {
            assert!(!has_head_end(partial), "{partial:?}");
        }
    }

    #[test]
    fn a_head_ending_in_lf_then_crlf_does_not_wait_for_the_deadline() {
        // Found by the http_framing fuzz target: httparse ends a head at a bare-LF line
        // followed by a CRLF blank line, but the framer did not see that as the end and
        // waited for bytes that never came, answering 408 at the deadline.
        // Bare LF line ends are refused now (issue 17), and still at once.
        let raw = b"T / HTTP/1.1\n\r\n";
        for step in [1, 2, raw.len()] {
            let e = frame_all(DEFAULT_MAX_BODY_BYTES, raw, step).unwrap_err();
            assert_eq!(e, FrameError::Ambiguous(Ambiguity::BareLf), "step {step}");
        }
        let raw = b"GET / HTTP/1.1\r\nHost: a\n\r\n";
        assert_eq!(frame_all(0, raw, 1).unwrap_err().code(), "bare_lf");
    }

    #[test]
    fn lenient_forms_are_refused_in_any_split_with_their_own_code() {
        let cases: [(&[u8], &str); 12] = [
            // Red-team finding 6: a bare CR, control bytes in an extension, a trailer that
            // is not a field line (a request line a proxy might read as the next request).
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;a\rb\r\n{}\r\n0\r\n\r\n",
                "bare_cr",
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;a\x01b\r\n{}\r\n0\r\n\r\n",
                "invalid_chunk_extension",
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;=x\r\n{}\r\n0\r\n\r\n",
                "invalid_chunk_extension",
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nGET /smuggled HTTP/1.1\r\n\r\n",
                "invalid_trailer",
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n folded\r\n\r\n",
                "invalid_trailer",
            ),
            (b"GET / HTTP/1.1\nHost: a\n\n", "bare_lf"),
            (b"GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", "bare_lf"),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\n{}\r\n0\r\n\r\n",
                "bare_lf",
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2 \r\n{}\r\n0\r\n\r\n",
                "invalid_chunk_size",
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n 2\r\n{}\r\n0\r\n\r\n",
                "invalid_chunk_size",
            ),
            (
                b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
                "chunked_on_http_1_0",
            ),
            (b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", "duplicate_host"),
        ];
        for (raw, code) in cases {
            for step in [1, 3, raw.len()] {
                let e = frame_all(100, raw, step).unwrap_err();
                assert_eq!(
                    (e.status(), e.code()),
                    (400, code),
                    "{:?} step {step}",
                    String::from_utf8_lossy(raw)
                );
            }
        }
        // What stays accepted: a chunk extension right after the size, one Host, HTTP/1.0
        // with a Content-Length.
        let ok = b"POST / HTTP/1.0\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(frame_all(100, ok, 1).unwrap().unwrap().body, b"{}");
    }

    #[test]
    fn empty_lines_before_the_request_line_do_not_make_the_answer_depend_on_the_reads() {
        // Found by the http_framing fuzz target: the empty lines in front of a request line
        // (which httparse skips) looked like the end of a head, so these bytes in one read were
        // refused at once (400), but in three reads waited for the deadline (408).
        let raw = b"\n\nnnnnnn /ookks/genpa\nc";
        let mut framer = Framer::new(6);
        for piece in [&raw[..2], &raw[2..20], &raw[20..]] {
            assert!(matches!(framer.feed(piece), Ok(Progress::NeedMore)));
        }
        assert!(matches!(Framer::new(6).feed(raw), Ok(Progress::NeedMore)));
        let mut raw = raw.to_vec();
        raw.extend(b"\n\n");
        assert_eq!(frame_all(6, &raw, raw.len()).unwrap_err().status(), 400);
        let raw = b"\r\n\nGET /health HTTP/1.1\r\n\r\n";
        for step in [1, 2, raw.len()] {
            assert_eq!(frame_all(0, raw, step).unwrap().unwrap().path, "/health", "step {step}");
        }
    }

    #[test]
    fn the_trailer_section_keeps_the_head_limits() {
        let start = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n".to_vec();
        let mut many = start.clone();
        for i in 0..=MAX_HEADERS {
            many.extend(format!("t{i}: v\r\n").bytes());
        }
        many.extend(b"\r\n");
        let mut long = start;
        for _ in 0..MAX_HEAD_BYTES / 1000 + 1 {
            long.extend(format!("t: {}\r\n", "v".repeat(1000)).bytes());
        }
        long.extend(b"\r\n");
        for (raw, code) in [(many, "too_many_headers"), (long, "head_too_large")] {
            for step in [1, 7, raw.len()] {
                let e = frame_all(100, &raw, step).unwrap_err();
                assert_eq!((e.status(), e.code()), (431, code), "step {step}");
            }
        }
    }

    #[test]
    fn expect_continue_is_signalled_once() {
        let mut f = Framer::new(100);
        let r = f
            .feed(b"POST /p HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
            .unwrap();
        assert!(matches!(r, Progress::NeedMore));
        assert!(f.take_continue());
        assert!(!f.take_continue());
        assert!(matches!(f.feed(b"ok").unwrap(), Progress::Done(_)));
    }
}
