//! Politeness towards one registry host: requests go one at a time (the client is
//! used from one thread), and between two requests to the same host a random pause
//! of up to as long as the host took to answer the last one, within the client's
//! spacing range. A busy registry (slow answers) gets up to the range's top between
//! requests; one that answers at once is not kept waiting for nothing, and timers of
//! many hosts do not fall into step.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

pub(super) struct Pacer {
    /// The spacing range, in ms: the pause is drawn from `low..=min(high, last answer)`.
    range: (u64, u64),
    last_sent: HashMap<String, Instant>,
    last_took: HashMap<String, Duration>,
    rng: u64,
}

impl Pacer {
    pub fn new(range: (u64, u64)) -> Pacer {
        let mut seed = std::collections::hash_map::RandomState::new().build_hasher();
        seed.write_u128(
            std::time::SystemTime::UNIX_EPOCH
                .elapsed()
                .unwrap_or_default()
                .as_nanos(),
        );
        Pacer {
            range: (range.0.min(range.1), range.0.max(range.1)),
            last_sent: HashMap::new(),
            last_took: HashMap::new(),
            rng: seed.finish() | 1,
        }
    }

    /// The pause before the next request to `host` (none before its first).
    pub fn gap(&mut self, host: &str) -> Duration {
        if !self.last_sent.contains_key(host) {
            return Duration::ZERO;
        }
        let (low, high) = self.range;
        let took = self.last_took.get(host).map_or(high, |d| d.as_millis() as u64);
        let top = high.min(took).max(low);
        Duration::from_millis(low + self.next_random() % (top - low + 1))
    }

    /// Waits as [`Pacer::gap`] says, counted from the last request to `host`, and
    /// notes the request about to go.
    pub fn wait(&mut self, host: &str) {
        let gap = self.gap(host);
        if let Some(last) = self.last_sent.get(host).copied() {
            let due = last + gap;
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        self.last_sent.insert(host.to_string(), Instant::now());
    }

    /// Notes how long `host` took to answer the request just sent.
    pub fn answered(&mut self, host: &str) {
        if let Some(sent) = self.last_sent.get(host) {
            self.last_took.insert(host.to_string(), sent.elapsed());
        }
    }

    /// xorshift64*: enough to spread requests, not for secrets.
    fn next_random(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_is_bounded_by_the_range_and_the_last_answer() {
        let mut p = Pacer::new((0, 25));
        assert_eq!(p.gap("r"), Duration::ZERO, "nothing before the first request");
        p.wait("r");
        // No answer time yet: up to the top of the range.
        assert!((0..200).all(|_| p.gap("r") <= Duration::from_millis(25)));
        p.last_took.insert("r".into(), Duration::from_millis(3));
        let gaps: Vec<Duration> = (0..500).map(|_| p.gap("r")).collect();
        assert!(gaps.iter().all(|g| *g <= Duration::from_millis(3)), "{gaps:?}");
        assert!(gaps.iter().any(|g| *g > Duration::ZERO), "random, not always nothing");
        p.last_took.insert("r".into(), Duration::from_secs(2));
        assert!(
            (0..200).all(|_| p.gap("r") <= Duration::from_millis(25)),
            "capped by the range"
        );
        let mut floor = Pacer::new((5, 25));
        floor.wait("r");
        floor.last_took.insert("r".into(), Duration::ZERO);
        assert!((0..200).all(|_| floor.gap("r") == Duration::from_millis(5)));
    }
}
