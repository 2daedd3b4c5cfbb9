//! A loopback HTTP receiver for notification tests and for registries that misbehave:
//! records each request (method, path, headers, body) and answers with the next status
//! (and headers, such as `Retry-After`) of its script (200 when the script is empty), or
//! reads the request and never answers (`hang`). A `HEAD` gets the head only.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    script: VecDeque<(u16, Vec<(String, String)>)>,
    hang: bool,
}

pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        Receiver::on(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    /// A receiver on `addr` (a port a test reserved and let go of).
    pub fn at(addr: SocketAddr) -> Receiver {
        Receiver::on(TcpListener::bind(addr).unwrap())
    }

    fn on(listener: TcpListener) -> Receiver {
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        Receiver { addr, state }
    }

    /// Answers the next requests with these statuses, then 200.
    pub fn script(&self, statuses: &[u16]) {
        self.state.lock().unwrap().script = statuses.iter().map(|&s| (s, Vec::new())).collect();
    }

    /// Answers the next requests with these statuses and extra headers, then 200:
    /// `[(429, &[("Retry-After", "120")]), (500, &[])]`.
    pub fn script_with_headers(&self, answers: &[(u16, &[(&str, &str)])]) {
        self.state.lock().unwrap().script = answers
            .iter()
            .map(|(s, hs)| (*s, hs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()))
            .collect();
    }

    pub fn hang(&self) {
        self.state.lock().unwrap().hang = true;
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }
}

fn serve(mut stream: TcpStream, state: &Mutex<State>) {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head_end, length) = loop {
        let Ok(n) = stream.read(&mut chunk) else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).to_string();
            let length = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            break (i + 4, length);
        }
    };
    while buf.len() < head_end + length {
        let Ok(n) = stream.read(&mut chunk) else { return };
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf[..head_end - 4]).to_string();
    let mut lines = head.lines();
    let first: Vec<&str> = lines.next().unwrap_or_default().split(' ').collect();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let received = Received {
        method: first.first().unwrap_or(&"").to_string(),
        path: first.get(1).unwrap_or(&"").to_string(),
        headers,
        body: buf[head_end..(head_end + length).min(buf.len())].to_vec(),
    };
    let head_only = received.method == "HEAD";
    let ((status, extra), hang) = {
        let mut s = state.lock().unwrap();
        s.received.push(received);
        (s.script.pop_front().unwrap_or((200, Vec::new())), s.hang)
    };
    if hang {
        std::thread::sleep(Duration::from_secs(60));
        return;
    }
    let body = "{}";
    let extra: String = extra.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{}",
        body.len(),
        if head_only { "" } else { body }
    );
}
