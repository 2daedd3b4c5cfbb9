//! The ceiling for `make bench`: a server that does nothing but what every receiver
//! must (accept, read one request with its body, answer 401, close), so the table can
//! show how much of a connection-per-request run is the kernel's and wrk's, not podup's.
//! Built by bench.py with plain `rustc -O`; std only. Usage: noop_server PORT

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

fn content_length(head: &[u8]) -> usize {
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    head.lines()
        .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
        .unwrap_or(0)
}

fn serve(listener: &TcpListener) {
    let mut buf = vec![0u8; 64 * 1024];
    let body = b"{\"error\":\"signature_mismatch\",\"message\":\"no\"}\n";
    let answer = format!(
        "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    loop {
        let Ok((mut s, _)) = listener.accept() else { continue };
        let mut got = 0;
        while got < buf.len() {
            match s.read(&mut buf[got..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
            if let Some(end) = buf[..got].windows(4).position(|w| w == b"\r\n\r\n") {
                if got >= end + 4 + content_length(&buf[..end]) {
                    break;
                }
            }
        }
        let _ = s.write_all(answer.as_bytes()).and_then(|()| s.write_all(body));
    }
}

fn main() {
    let port = std::env::args().nth(1).expect("usage: noop_server PORT");
    let listener = Arc::new(TcpListener::bind(format!("127.0.0.1:{port}")).expect("bind"));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let l = Arc::clone(&listener);
            std::thread::spawn(move || serve(&l))
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
}
