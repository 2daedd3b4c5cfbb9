//! Each source's share of the body budget (red-team G1 of issue 17). Over the budget,
//! the loop reads only heads and the oldest connection; one address holding the whole
//! budget with bodies it never finishes (40 connections of 1 MiB less a byte, re-opened
//! as they time out) kept a signed delivery's body unread until it was the oldest
//! connection, 8 to 9.6 s, against GitHub's 10 s. So the body bytes one source's
//! connections hold while being read are capped at a share of the budget, and the
//! rest stays open to everyone else. A source is the peer address, an IPv6 peer by its
//! /64 (the block one host is usually given), and every Unix-socket peer together.
//!
//! A source may pass its share by what one read brings with a head (at most
//! `READ_CHUNK_BYTES` per connection), since heads are always read. Many addresses
//! together are not bounded here: the reverse proxy's request buffering is (see
//! docs/security.md).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// One source may hold this fraction of the body budget: a quarter.
pub const SOURCE_SHARE_DIVISOR: usize = 4;

/// Who a connection's bytes count against; `None`: a Unix-socket peer.
pub type Source = Option<IpAddr>;

/// The source of a peer as `accept` names it (`203.0.113.9:5100`, `[2001:db8::1]:5100`).
pub fn source_of(remote: Option<&str>) -> Source {
    let ip = remote?.parse::<SocketAddr>().ok()?.ip().to_canonical();
    Some(match ip {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        v4 => v4,
    })
}

/// Body bytes held per source while being read, against each source's share.
pub struct Shares {
    share: usize,
    held: HashMap<Source, usize>,
}

impl Shares {
    pub fn new(budget: usize, held: impl Iterator<Item = (Source, usize)>) -> Shares {
        let mut shares = Shares {
            share: budget / SOURCE_SHARE_DIVISOR,
            held: HashMap::new(),
        };
        for (source, bytes) in held {
            shares.add(source, bytes);
        }
        shares
    }

    /// What the source may still take before its share is held.
    pub fn room(&self, source: Source) -> usize {
        self.share.saturating_sub(self.held.get(&source).copied().unwrap_or(0))
    }

    pub fn add(&mut self, source: Source, bytes: usize) {
        if bytes > 0 {
            *self.held.entry(source).or_insert(0) += bytes;
        }
    }

    pub fn remove(&mut self, source: Source, bytes: usize) {
        if let Some(held) = self.held.get_mut(&source) {
            *held = held.saturating_sub(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_peer_counts_by_its_64_and_a_mapped_ipv4_as_itself() {
        let a = source_of(Some("[2001:db8:1:2::5]:4000"));
        assert_eq!(a, source_of(Some("[2001:db8:1:2:ffff::9]:1")));
        assert_ne!(a, source_of(Some("[2001:db8:1:3::5]:4000")));
        assert_eq!(
            source_of(Some("[::ffff:192.0.2.7]:80")),
            source_of(Some("192.0.2.7:81"))
        );
        assert_eq!(source_of(None), None);
    }

    #[test]
    fn a_source_holding_its_share_has_no_room_and_others_keep_theirs() {
        let (a, b) = (source_of(Some("192.0.2.1:1")), source_of(Some("192.0.2.2:1")));
        let mut shares = Shares::new(16, [(a, 3)].into_iter());
        assert_eq!(shares.room(a), 1);
        shares.add(a, 2);
        assert_eq!(shares.room(a), 0);
        assert_eq!(shares.room(b), 4);
        shares.remove(a, 5);
        assert_eq!(shares.room(a), 4);
    }
}
