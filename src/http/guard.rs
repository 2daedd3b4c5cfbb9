//! Checks every request passes before it is routed, and before any credential is
//! looked at:
//! - a security header sent twice is refused (400 `duplicate_header`): with two
//!   copies, which one a proxy checked and which one podup reads could differ;
//! - with `PODUP_PUBLIC_URL` set, the `Host` header must name that host, an IP
//!   address or `localhost` (421 `misdirected_request`): a page that rebinds its own
//!   DNS name to this host sends that name, and is refused.
//!
//! Duplicate `Host` headers are refused by `framing`, not here.

use super::{Request, Response};
use crate::config::Config;
use crate::config::forward::PROXY_SECRET_HEADER;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Headers that carry or vouch for a credential, or that a check reads one copy of.
/// `X-Forwarded-For` is a list proxies may extend line by line, so it is not here.
const SINGLE: &[&str] = &[
    "authorization",
    "cookie",
    "origin",
    "x-csrf-token",
    "x-hub-signature-256",
    "x-hub-signature",
    "x-github-delivery",
    "x-github-event",
    "x-forwarded-proto",
    PROXY_SECRET_HEADER,
];

pub fn check(config: &Config, req: &Request) -> Option<Response> {
    let forward = config.forward_auth.as_ref().map(|(h, _)| h.as_str());
    for name in SINGLE.iter().copied().chain(forward) {
        if req.headers_named(name).nth(1).is_some() {
            return Some(Response::error(
                400,
                "request",
                "duplicate_header",
                format!("the {name} header is sent more than once: send it once"),
            ));
        }
    }
    let public = config.public_url.as_deref()?;
    let host = req.header("host")?;
    if host_allowed(host, public) {
        return None;
    }
    Some(Response::error(
        421,
        "request",
        "misdirected_request",
        format!(
            "this server answers to '{}' (PODUP_PUBLIC_URL), an IP address or localhost, not to '{}'",
            host_of_url(public),
            host.chars().take(100).collect::<String>()
        ),
    ))
}

/// The host name of `PODUP_PUBLIC_URL` (lower case, without port, path or trailing dot).
pub fn host_of_url(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    match parse_host(authority) {
        Some(Host::Address(ip)) => ip.to_string(),
        Some(Host::Name(name)) => name,
        None => authority.to_ascii_lowercase(),
    }
}

/// A `Host` value read whole (RFC 9110 section 7.2, RFC 3986 section 3.2.2).
#[derive(Debug, PartialEq)]
enum Host {
    /// `[v6]`, `[v6]:port`, `v4` or `v4:port`: the literal is the whole host.
    Address(IpAddr),
    /// A DNS name, lower case, without its port and its one trailing dot.
    Name(String),
}

/// Reads `host`, or None when it is none of the forms `Host` names: nothing may follow
/// `]` but `:port`, a port is 1 to 5 digits below 65536, a name is dot-separated
/// non-empty labels of letters, digits and `-` (so no userinfo, no spaces, no second
/// colon). A name keeps one trailing dot, the absolute form of the same DNS name, and
/// its case does not matter (RFC 4343); both are folded away.
fn parse_host(host: &str) -> Option<Host> {
    // `port` is empty or starts with its colon.
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => rest.split_once(']')?,
        None => host.find(':').map_or((host, ""), |i| host.split_at(i)),
    };
    if !port.is_empty() {
        let digits = port.strip_prefix(':')?;
        if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse::<u16>().ok()?;
    }
    if host.starts_with('[') {
        return name.parse::<Ipv6Addr>().ok().map(|ip| Host::Address(IpAddr::V6(ip)));
    }
    if let Ok(ip) = name.parse::<Ipv4Addr>() {
        return Some(Host::Address(IpAddr::V4(ip)));
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let label_ok = |l: &str| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    name.split('.')
        .all(label_ok)
        .then(|| Host::Name(name.to_ascii_lowercase()))
}

/// The name is compared, not the port: a rebinding page controls the name it is
/// served under, and a proxy may pass the public name with or without a port.
/// An address literal or `localhost` cannot be rebound, so direct local access
/// (`curl http://127.0.0.1:8777`, a proxy that sends its upstream's address) works.
/// A `Host` that is none of these forms (`[127.0.0.1]evil.com`) is refused.
pub fn host_allowed(host: &str, public_url: &str) -> bool {
    match parse_host(host) {
        Some(Host::Address(_)) => true,
        Some(Host::Name(name)) => name == "localhost" || name == host_of_url(public_url),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_a_rebinding_page_cannot_send() {
        let public = "https://Podup.example.com/base";
        assert_eq!(host_of_url(public), "podup.example.com");
        assert_eq!(host_of_url("http://u@[::1]:8777"), "::1");
        for ok in [
            "podup.example.com",
            "PODUP.EXAMPLE.COM:443",
            "podup.example.com.",
            "127.0.0.1:8777",
            "[::1]:8777",
            "localhost",
            "localhost:8777",
            "10.1.2.3",
        ] {
            assert!(host_allowed(ok, public), "{ok}");
        }
        for bad in [
            "rebind.attacker.example",
            "podup.example.com.attacker.example",
            "evil.localhost",
            "127.0.0.1.nip.io",
            "",
            ":8777",
            // Red-team finding 6: an address literal is the whole host or nothing.
            "[127.0.0.1]evil.com",
            "[::1]evil.example",
            "[::1]:8777x",
            "[::1]:",
            "[127.0.0.1]",
            "[fe80::1%25eth0]",
            "::1",
            "podup.example.com:",
            "podup.example.com:65536",
            "podup.example.com:+443",
            "user@podup.example.com",
            "podup.example.com..",
            ".podup.example.com",
            "podup.example.com\t",
            "podup.example.com evil",
        ] {
            assert!(!host_allowed(bad, public), "{bad}");
        }
        for same in [
            "PODUP.example.com.",
            "podup.example.com.:8443",
            "[::FFFF:127.0.0.1]:1",
            "[::1]",
            "localhost.",
        ] {
            assert!(host_allowed(same, public), "{same}");
        }
    }
}
