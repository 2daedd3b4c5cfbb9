//! Shared by the probe tests of forward-auth, Host and field checks: requests with exactly
//! the headers given, and the documented same-host proxy setup.

use super::{Podup, Resp, exchange};
use std::net::SocketAddr;

pub const PROXY_SECRET: &str = "proxy-secret-0123456789abcdef";

/// Sends a request with exactly these headers (Host included) and body.
pub fn send(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    let mut raw = format!("{method} {path} HTTP/1.1\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    raw.push_str(body);
    exchange(addr, raw.as_bytes())
}

pub fn error(r: &Resp) -> String {
    r.json()["error"].as_str().unwrap_or_default().to_string()
}

pub fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// The documented same-host setup: a proxy on 127.0.0.1 names the user.
pub fn same_host_proxy(name: &str) -> Podup {
    Podup::new(name)
        .env("PODUP_TRUSTED_PROXIES", "127.0.0.1")
        .env("PODUP_FORWARD_AUTH_HEADER", "X-Forwarded-User")
        .env("PODUP_FORWARD_AUTH_SECRET", PROXY_SECRET)
}

pub type Headers<'a> = Vec<(&'a str, &'a str)>;
