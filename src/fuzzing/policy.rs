//! The `policy_values` target: what a unit file's `[X-PodUp]` section and a registry's tag
//! list can say, through the parsers and arithmetic that act on them.

use crate::model::Follow;
use crate::policy::{follow, keys, spans, window};

/// Epoch ms of 2026-12-07 00:00 UTC, where the window arithmetic starts.
const BASE_MS: i64 = 1_796_601_600_000;

/// The first line is the running tag, then `Key=Value` lines (the policy keys), then a line
/// `--`, then one tag per line (a registry's list).
///
/// Checks: no panic; a `Window=` value that parses reads back from its own text as the same
/// window; from a few instants, `next_open` is never earlier than asked and is open then,
/// and a window open at `t` closes after `t`; a `Follow=` that parses spells itself back,
/// and its proposal, if any, is one of the tags and not the running one.
pub fn policy_values(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (head, tags) = text.split_once("\n--\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let running = lines.next().unwrap_or("").trim();
    let tags: Vec<String> = tags.lines().take(2000).map(str::to_string).collect();
    for line in lines {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match keys::known(key.trim()) {
            Ok("Window") => check_window(value),
            Ok("Follow") => check_follow(value, running, &tags),
            Ok("MinAge") => {
                if let Ok(secs) = keys::min_age(value) {
                    assert_eq!(keys::min_age(&keys::min_age_text(secs)), Ok(secs), "{value:?}");
                }
            }
            Ok("Policy") => drop(keys::action(value)),
            Ok(_) => drop(keys::timer(value)),
            Err(_) => {}
        }
    }
}

fn check_window(value: &str) {
    let Ok(w) = spans::window(value) else { return };
    let again = spans::window(&w.text).unwrap_or_else(|e| panic!("{:?} does not read back: {e}", w.text));
    assert_eq!(again.spans, w.spans, "{value:?}");
    for step in 0..4 {
        let t = BASE_MS + step * 7 * 3_600_000 + step * 60_000;
        if let Some(open) = window::next_open(&w, t) {
            assert!(open >= t, "{value:?}: opens {open} before {t}");
            assert!(window::is_open(&w, open), "{value:?}: not open when it opens ({open})");
        }
        if window::is_open(&w, t) {
            let end = window::closes_at(&w, t).expect("an open window closes");
            assert!(end > t, "{value:?}: closes at {end}, not after {t}");
        }
    }
}

fn check_follow(value: &str, running: &str, tags: &[String]) {
    let Ok(f) = keys::follow(value) else { return };
    assert_eq!(Follow::from_spelling(&f.spelling()), Some(f.clone()), "{value:?}");
    if let Ok(Some(tag)) = follow::propose(&f, running, tags) {
        assert!(tags.contains(&tag), "{tag:?} is not among the tags");
        assert_ne!(tag, running, "the running tag is no move");
    }
}
