//! The client side of HTTP: one request on a new connection, answers read as a client
//! reads them and checked against their Content-Length.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// Sends `raw` on a new connection and reads one answer.
pub fn exchange(addr: SocketAddr, raw: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(raw).unwrap();
    read_response(&mut s)
}

/// Reads one answer as an HTTP client does: the head, then the body its Content-Length
/// gives, without waiting for the connection to close (a kept-alive one stays open)
/// and without reading into the next answer (pipelined ones follow at once). An
/// answer cut short is returned as it is, for `parse_response` to refuse.
pub fn read_response(s: &mut impl Read) -> Resp {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    let failed = |e: std::io::Error, buf: &[u8]| -> ! {
        panic!("reading the answer: {e} (have {:?})", String::from_utf8_lossy(buf))
    };
    // The head a byte at a time: where it ends is known only once it has.
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(0) => return parse_response(&buf),
            Ok(_) => buf.push(byte[0]),
            // A read with SO_RCVTIMEO fails with EINTR when the process is stopped and
            // continued, even without a signal handler (signal(7)); clients read again.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => failed(e, &buf),
        }
    }
    let len = parse_content_length(&buf).map_or(u64::MAX, |n| n as u64);
    if let Err(e) = s.take(len).read_to_end(&mut buf) {
        failed(e, &buf);
    }
    parse_response(&buf)
}

fn parse_content_length(head: &[u8]) -> Option<usize> {
    String::from_utf8_lossy(head)
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        })
        .and_then(|(_, v)| v.trim().parse().ok())
}

/// True when the server closes `s` within `limit` (reads nothing more first).
pub fn closes_within(mut s: &TcpStream, limit: Duration) -> bool {
    s.set_read_timeout(Some(limit)).unwrap();
    let mut byte = [0u8; 1];
    matches!(s.read(&mut byte), Ok(0))
}

pub fn parse_response(buf: &[u8]) -> Resp {
    let text = String::from_utf8_lossy(buf).to_string();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {text:?}"));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let resp = Resp {
        status,
        head: head.to_string(),
        body: body.to_string(),
    };
    let declared: usize = resp
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .expect("Content-Length");
    assert_eq!(declared, resp.body.len(), "Content-Length matches the body");
    resp
}

pub fn get(addr: SocketAddr, path: &str) -> Resp {
    exchange(addr, format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
}

/// One API call: `method path` with a bearer `token` when given and a JSON `body`.
pub fn call(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: &str) -> Resp {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let raw = format!(
        "{method} {path} HTTP/1.1\r\nHost: t\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    exchange(addr, raw.as_bytes())
}

/// Sends `raw` and reads one answer as GitHub does: within `GITHUB_TIMEOUT`, or the
/// read fails and `read_response` panics naming the timeout.
pub fn exchange_within(addr: SocketAddr, raw: &[u8], limit: Duration) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(limit)).unwrap();
    s.write_all(raw).unwrap();
    read_response(&mut s)
}
