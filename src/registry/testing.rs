//! For the client's tests: a tiny scripted HTTP/1.1 server on 127.0.0.1 that records
//! each request and answers it with the test's closure, one connection per request.
//! A TLS hello (the https attempt on an insecure endpoint) is closed at once.

use super::conf::Endpoint;
use super::{Client, ClientOptions};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request as the server read it; header names in lower case.
#[derive(Debug, Clone)]
pub(super) struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A scripted answer.
pub(super) struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    pub fn new(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: &str) -> Reply {
        self.body = body.to_string();
        self
    }
}

type Handler = dyn Fn(&Recorded, &str) -> Reply + Send + 'static;

pub(super) struct Server {
    /// `127.0.0.1:<port>`.
    pub addr: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Serves until dropped; `handler` gets each request and the server's address.
    pub fn start(handler: impl Fn(&Recorded, &str) -> Reply + Send + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, halt, here) = (requests.clone(), stop.clone(), addr.clone());
        let handler: Box<Handler> = Box::new(handler);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if halt.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(stream) = stream {
                    serve(stream, &*handler, &log, &here);
                }
            }
        });
        Server { addr, requests, stop }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
    }
}

fn serve(mut stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Recorded>>, addr: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut first = [0u8; 1];
    if stream.peek(&mut first).is_err() || first[0] == 0x16 {
        return; // a TLS handshake, or nothing
    }
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let mut words = lines.next().unwrap_or("").split(' ');
    let (method, path) = (
        words.next().unwrap_or("").to_string(),
        words.next().unwrap_or("").to_string(),
    );
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let request = Recorded { method, path, headers };
    log.lock().unwrap().push(request.clone());
    let reply = handler(&request, addr);
    let mut out = format!("HTTP/1.1 {} Scripted\r\n", reply.status);
    for (n, v) in &reply.headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        reply.body.len()
    ));
    if request.method != "HEAD" {
        out.push_str(&reply.body);
    }
    let _ = stream.write_all(out.as_bytes());
}

/// An insecure endpoint on `server` (so that it is asked over plain http).
pub(super) fn endpoint(addr: &str, name: &str, mirror: bool) -> Endpoint {
    Endpoint {
        host: addr.to_string(),
        name: name.to_string(),
        insecure: true,
        mirror,
    }
}

/// A client with no spacing and a short timeout.
pub(super) fn client() -> Client {
    Client::new(ClientOptions {
        timeout: Duration::from_secs(5),
        spacing_ms: (0, 0),
        user_agent: "podup-test".into(),
    })
}

/// A well-formed digest made of one repeated hex digit.
pub(super) fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}
