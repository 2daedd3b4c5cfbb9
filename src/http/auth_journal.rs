//! The journal line for a failed authentication (`auth_limit::failed`), throttled but
//! naming new sources (docs/security.md, third probe, G4). A plain once-a-second
//! throttle named whichever source failed first in each second, so a guesser hidden in
//! a flood from many sources was never named. Now a source's first failure in
//! `NEW_FOR_MS` gets a line of its own, at most `LINES_PER_SEC` lines a second in all;
//! everything else is counted into the next line's "more". The credential itself is
//! never written: only its kind, the source and the reason code.

use std::collections::HashMap;
use std::sync::Mutex;

/// Most journal lines a second for failed authentications, all sources together.
const LINES_PER_SEC: u32 = 4;
/// A source not named for this long is new again.
const NEW_FOR_MS: i64 = 60_000;
/// Sources remembered as named (then the stale ones are forgotten, or all).
const REMEMBERED: usize = 1_024;

#[derive(Default)]
struct State {
    second: i64,
    lines: u32,
    skipped: u64,
    named: HashMap<String, i64>,
}

/// Which failures get a journal line: the first each second, and the first of each
/// new source while the second has lines left.
pub struct Announcer {
    state: Mutex<Option<State>>,
}

impl Announcer {
    pub const fn new() -> Announcer {
        Announcer {
            state: Mutex::new(None),
        }
    }

    /// `Some(skipped)` when a line naming `source` is due at `now_ms`, with the
    /// failures not written since the last line; else the failure is counted.
    pub fn admit(&self, source: &str, now_ms: i64) -> Option<u64> {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let state = guard.get_or_insert_with(State::default);
        let second = now_ms.div_euclid(1_000);
        if second != state.second {
            state.second = second;
            state.lines = 0;
        }
        let new = state
            .named
            .get(source)
            .is_none_or(|&t| now_ms.saturating_sub(t) >= NEW_FOR_MS);
        if !(state.lines == 0 || (new && state.lines < LINES_PER_SEC)) {
            state.skipped += 1;
            return None;
        }
        state.lines += 1;
        if state.named.len() >= REMEMBERED && !state.named.contains_key(source) {
            state.named.retain(|_, t| now_ms.saturating_sub(*t) < NEW_FOR_MS);
            if state.named.len() >= REMEMBERED {
                state.named.clear();
            }
        }
        state.named.insert(source.to_string(), now_ms);
        Some(std::mem::take(&mut state.skipped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_source_is_named_within_a_bounded_number_of_lines() {
        let a = Announcer::new();
        assert_eq!(a.admit("guesser", 5_000), Some(0), "the first is always written");
        assert_eq!(a.admit("guesser", 5_001), None, "a known source waits a second");
        // A flood from 60 sources in one second: 3 more lines, the rest counted.
        let written = (0..60).filter(|k| a.admit(&format!("s{k}"), 5_100).is_some()).count();
        assert_eq!(written, 3);
        // The next second: one line for a known source, new ones up to the bound.
        assert_eq!(a.admit("guesser", 6_000), Some(57));
        assert_eq!(a.admit("guesser", 6_001), None);
        assert_eq!(a.admit("new", 6_002), Some(1), "a new source is named at once");
        // A minute later the guesser is new again.
        assert_eq!(a.admit("s0", 66_000), Some(0));
        assert_eq!(a.admit("guesser", 66_001), Some(0));
    }

    #[test]
    fn the_memory_of_named_sources_is_bounded() {
        let a = Announcer::new();
        for k in 0..5 * REMEMBERED as i64 {
            let _ = a.admit(&format!("s{k}"), k * 1_000);
        }
        let len = a.state.lock().unwrap().as_ref().unwrap().named.len();
        assert!(len <= REMEMBERED, "{len}");
    }
}
