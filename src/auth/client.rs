//! Who a request comes from, as the failed-authentication limit counts it. A request
//! from a trusted proxy (`PODUP_TRUSTED_PROXIES`) comes from the client the proxy
//! reports in `X-Forwarded-For`: walking the list from the right (each proxy appends the
//! address it was reached from), the first entry that is not itself a trusted proxy.
//! Entries to the left of it were written by the client and are never believed. From
//! anyone else the header is ignored. IPv6 sources are counted per /64, the block one
//! host is usually given, so that walking through its own addresses gains nothing.

use super::proxy::TrustedProxies;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// Most `X-Forwarded-For` entries looked at, from the right: a real chain of proxies
/// is a few hops long.
const MAX_HOPS: usize = 32;

/// The client a trusted proxy reports for a request whose peer is `peer` (as
/// `Ctx::client_ip` has it), from the request's `X-Forwarded-For` headers in order.
/// `None` when the peer is not trusted, names nobody, or the walk reaches an entry
/// that is not an address (the request is then counted against the proxy itself).
pub fn forwarded<'a>(
    peer: &str,
    forwarded_for: impl Iterator<Item = &'a str>,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    if !trusted.contains(peer) {
        return None;
    }
    let entries: Vec<&str> = forwarded_for.flat_map(|h| h.split(',')).collect();
    let mut nearest_proxy = None;
    for entry in entries.iter().rev().take(MAX_HOPS) {
        let ip = parse_entry(entry)?.to_canonical();
        if !trusted.contains(&ip.to_string()) {
            return Some(ip);
        }
        nearest_proxy = Some(ip);
    }
    // Every entry is a trusted proxy: the request started inside the chain.
    nearest_proxy
}

/// `203.0.113.9`, `2001:db8::1`, and the forms with a port some proxies write
/// (`203.0.113.9:5100`, `[2001:db8::1]:5100`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// The source a failure is counted against: the reported client, else the peer; an
/// IPv6 address as its /64 (`2001:db8:1:2::/64`), an IPv4 one (also written as
/// IPv4-mapped IPv6) as itself, and a Unix-socket peer as `local`.
pub fn limit_source<'a>(peer: &str, forwarded_for: impl Iterator<Item = &'a str>, trusted: &TrustedProxies) -> String {
    let ip = forwarded(peer, forwarded_for, trusted).or_else(|| peer.parse::<IpAddr>().ok());
    match ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let net = Ipv6Addr::from(u128::from(v6) & !(u128::from(u64::MAX)));
            format!("{net}/64")
        }
        None => peer.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted(list: &str) -> TrustedProxies {
        TrustedProxies::parse(list).unwrap()
    }

    fn source(peer: &str, headers: &[&str], list: &str) -> String {
        limit_source(peer, headers.iter().copied(), &trusted(list))
    }

    #[test]
    fn the_right_most_untrusted_entry_is_the_client() {
        let t = "127.0.0.1, 10.0.0.0/8";
        // The client forged the left-most entry; the proxies appended the rest.
        assert_eq!(
            source("127.0.0.1", &["1.1.1.1, 198.51.100.7, 10.0.0.5"], t),
            "198.51.100.7"
        );
        // Several headers are one list, in order.
        assert_eq!(source("127.0.0.1", &["1.1.1.1", "198.51.100.7"], t), "198.51.100.7");
        assert_eq!(source("127.0.0.1", &["198.51.100.7:5100"], t), "198.51.100.7");
        assert_eq!(source("127.0.0.1", &["[2001:db8::1]:5100"], t), "2001:db8::/64");
        // Only the chain's own addresses: the left-most of them.
        assert_eq!(source("127.0.0.1", &["10.0.0.9, 10.0.0.5"], t), "10.0.0.9");
        // No header, or one that is not an address where the walk reaches it: the proxy.
        assert_eq!(source("127.0.0.1", &[], t), "127.0.0.1");
        assert_eq!(source("127.0.0.1", &["198.51.100.7, bogus"], t), "127.0.0.1");
        assert_eq!(source("127.0.0.1", &["unknown"], t), "127.0.0.1");
    }

    #[test]
    fn the_header_is_ignored_from_anyone_else() {
        assert_eq!(source("203.0.113.9", &["198.51.100.7"], "127.0.0.1"), "203.0.113.9");
        assert_eq!(source("127.0.0.1", &["198.51.100.7"], ""), "127.0.0.1");
        assert_eq!(source("local", &["198.51.100.7"], "127.0.0.1"), "local");
        assert_eq!(source("local", &["198.51.100.7"], "unix"), "198.51.100.7");
    }

    #[test]
    fn ipv6_sources_are_counted_per_64() {
        assert_eq!(source("2001:db8:1:2::a", &[], ""), "2001:db8:1:2::/64");
        assert_eq!(source("2001:db8:1:2:ffff:ffff:ffff:b", &[], ""), "2001:db8:1:2::/64");
        assert_eq!(source("2001:db8:1:3::a", &[], ""), "2001:db8:1:3::/64");
        assert_eq!(source("::ffff:192.0.2.1", &[], ""), "192.0.2.1");
        assert_eq!(source("::1", &[], ""), "::/64");
    }
}
