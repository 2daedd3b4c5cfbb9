//! Reverse proxies podup believes (`PODUP_TRUSTED_PROXIES`): IP addresses, CIDR ranges,
//! and `unix` for connections on a Unix socket. Only a request whose peer is one of
//! them may say it came over HTTPS (`X-Forwarded-Proto`) or name its user (the
//! forward-auth header); from anyone else those headers are ignored.

use std::net::IpAddr;

/// One trusted source.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Net { addr: IpAddr, prefix: u8 },
    Unix,
}

/// The parsed list; empty trusts nobody.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Source>);

impl TrustedProxies {
    /// Parses `10.0.0.0/8, 127.0.0.1, ::1, unix`. The error names the bad entry.
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        let mut list = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "unix" {
                list.push(Source::Unix);
                continue;
            }
            let bad = || format!("expected IP addresses, CIDR ranges or 'unix', got '{entry}'");
            let (addr, prefix) = match entry.split_once('/') {
                Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
                None => (entry, None),
            };
            let addr: IpAddr = addr.parse().map_err(|_| bad())?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = prefix.unwrap_or(max);
            if prefix > max {
                return Err(bad());
            }
            list.push(Source::Net { addr, prefix });
        }
        Ok(TrustedProxies(list))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the peer `client_ip` (as `Ctx::client_ip` has it: an address, or
    /// `local` for a Unix socket) is trusted.
    pub fn contains(&self, client_ip: &str) -> bool {
        if client_ip == "local" {
            return self.0.contains(&Source::Unix);
        }
        let Ok(ip) = client_ip.parse::<IpAddr>() else {
            return false;
        };
        let ip = ip.to_canonical();
        self.0.iter().any(|s| match s {
            Source::Unix => false,
            Source::Net { addr, prefix } => in_net(ip, *addr, *prefix),
        })
    }

    /// Whether a process on this host could connect as a trusted proxy: `unix`, or a
    /// range that takes in a loopback address (127.0.0.0/8, ::1, or their IPv4-mapped
    /// form). Any local user can open such a connection, so forward-auth from there
    /// needs the proxy's secret too (`config::forward`).
    pub fn trusts_local(&self) -> bool {
        let loopback: [(IpAddr, u8); 2] = [
            (IpAddr::from([127, 0, 0, 0]), 8),
            (IpAddr::from(std::net::Ipv6Addr::LOCALHOST), 128),
        ];
        self.0.iter().any(|s| {
            let (addr, prefix) = match s {
                Source::Unix => return true,
                // ::ffff:127.0.0.1 is how an IPv4 peer looks on a dual-stack socket.
                Source::Net {
                    addr: IpAddr::V6(v6),
                    prefix,
                } if *prefix >= 96 && v6.to_ipv4_mapped().is_some() => {
                    (IpAddr::V4(v6.to_ipv4_mapped().expect("just checked")), prefix - 96)
                }
                Source::Net { addr, prefix } => (*addr, *prefix),
            };
            // Two ranges overlap when the wider one holds the other's address.
            loopback
                .iter()
                .any(|(net, len)| addr.is_ipv4() == net.is_ipv4() && in_net(addr, *net, prefix.min(*len)))
        })
    }

    /// The entries as written in the configuration (for the settings page).
    pub fn describe(&self) -> String {
        self.0
            .iter()
            .map(|s| match s {
                Source::Unix => "unix".to_string(),
                Source::Net { addr, prefix } if *prefix == if addr.is_ipv4() { 32 } else { 128 } => addr.to_string(),
                Source::Net { addr, prefix } => format!("{addr}/{prefix}"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net.to_canonical()) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_ranges_and_unix() {
        let t = TrustedProxies::parse("10.0.0.0/8, 192.168.1.7, ::1, fd00::/8, unix").unwrap();
        for yes in ["10.1.2.3", "192.168.1.7", "::1", "fd12::5", "local", "::ffff:10.9.9.9"] {
            assert!(t.contains(yes), "{yes}");
        }
        for no in ["11.0.0.1", "192.168.1.8", "::2", "fe80::1", "garbage", ""] {
            assert!(!t.contains(no), "{no}");
        }
        assert_eq!(t.describe(), "10.0.0.0/8, 192.168.1.7, ::1, fd00::/8, unix");
        let all = TrustedProxies::parse("0.0.0.0/0").unwrap();
        assert!(all.contains("203.0.113.9") && !all.contains("local"));
    }

    #[test]
    fn which_lists_let_a_local_process_in() {
        for local in [
            "127.0.0.1",
            "127.0.0.5",
            "127.0.0.0/8",
            "0.0.0.0/0",
            "::1",
            "::/0",
            "unix",
            "::ffff:127.0.0.1",
        ] {
            assert!(TrustedProxies::parse(local).unwrap().trusts_local(), "{local}");
        }
        for remote in ["10.0.0.0/8", "192.168.1.7", "fd00::/8", "128.0.0.0/1", ""] {
            assert!(!TrustedProxies::parse(remote).unwrap().trusts_local(), "{remote}");
        }
    }

    #[test]
    fn nobody_is_trusted_by_default_and_bad_entries_are_named() {
        let none = TrustedProxies::parse("").unwrap();
        assert!(none.is_empty() && !none.contains("127.0.0.1") && !none.contains("local"));
        for bad in ["10.0.0.0/33", "proxy.example.com", "10.0.0.1/x", "::1/129"] {
            let e = TrustedProxies::parse(&format!("127.0.0.1,{bad}")).unwrap_err();
            assert!(e.contains(&format!("'{bad}'")), "{e}");
        }
    }
}
