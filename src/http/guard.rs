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

/// The host name of `PODUP_PUBLIC_URL` (lower case, without port or path).
pub fn host_of_url(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    name_of(authority)
}

/// The name part of a `Host` value (`name`, `name:port`, `[v6]:port`), lower case,
/// without a trailing dot.
fn name_of(host: &str) -> String {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => match host.rsplit_once(':') {
            Some((n, port)) if port.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => host,
        },
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The name is compared, not the port: a rebinding page controls the name it is
/// served under, and a proxy may pass the public name with or without a port.
/// An address literal or `localhost` cannot be rebound, so direct local access
/// (`curl http://127.0.0.1:8777`, a proxy that sends its upstream's address) works.
pub fn host_allowed(host: &str, public_url: &str) -> bool {
    let name = name_of(host);
    !name.is_empty()
        && (name == host_of_url(public_url) || name == "localhost" || name.parse::<std::net::IpAddr>().is_ok())
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
        ] {
            assert!(!host_allowed(bad, public), "{bad}");
        }
    }
}
