//! What a service's policy makes of a new image (docs/policy.md): deploy it now, hold it
//! (for an approval, or until it is old enough and the window is open), only tell, or
//! leave it. Pure: the caller brings the policy, when podup first heard of the image,
//! and the time; `Window=` arithmetic is `policy::window`'s.

use crate::model::{Action, Policy};
use crate::policy::window;
use crate::store::tasks::Hold;

/// What to do with a new image of one service.
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    /// Deploy it now.
    Now,
    /// Create the task waiting, with the sentence that says why.
    Hold(Hold, String),
    /// Only tell (`Policy=notify`).
    Tell(String),
    /// Do nothing (`Policy=manual`); an admin deploys by hand.
    Leave(String),
}

/// The gate for a new image podup first heard of at `seen_ms`.
pub fn gate(policy: &Policy, seen_ms: i64, now_ms: i64, approval_ttl_secs: u64) -> Gate {
    match policy.policy {
        Action::Manual => return Gate::Leave("Policy=manual: only an admin deploys it, by hand".into()),
        Action::Notify => return Gate::Tell("Policy=notify: podup only tells".into()),
        Action::Approve => {
            let deadline_ms = now_ms.saturating_add((approval_ttl_secs as i64).saturating_mul(1000));
            let why = format!(
                "Policy=approve: waits for an approval until {}",
                crate::clock::format_utc(deadline_ms)
            );
            return Gate::Hold(Hold::Approval { deadline_ms }, why);
        }
        Action::Auto => {}
    }
    let old_enough = seen_ms.saturating_add((policy.min_age_secs as i64).saturating_mul(1000));
    let mut at = old_enough.max(now_ms);
    let mut why = Vec::new();
    if old_enough > now_ms {
        why.push(format!("MinAge={}s: the image is new to podup", policy.min_age_secs));
    }
    if let Some(w) = &policy.window {
        match window::next_open(w, at) {
            Some(open) if open > at => {
                why.push(format!("Window={}: closed until then", w.text));
                at = open;
            }
            Some(_) => {}
            None => return Gate::Leave(format!("Window={} never opens", w.text)),
        }
    }
    if at <= now_ms {
        return Gate::Now;
    }
    let why = format!("scheduled for {} ({})", crate::clock::format_utc(at), why.join("; "));
    Gate::Hold(Hold::Schedule { not_before_ms: at }, why)
}

/// After an approval: now, or the window's next opening when it is closed (the approval
/// stands for the minimum age; the window still governs when a deploy may run).
pub fn after_approval(policy: &Policy, now_ms: i64) -> Option<i64> {
    let w = policy.window.as_ref()?;
    window::next_open(w, now_ms).filter(|open| *open > now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Span, Window};

    const NOW: i64 = 1_796_673_600_000; // 2026-12-07 20:00:00 UTC, a Monday

    fn policy(action: Action, min_age_secs: u64) -> Policy {
        Policy {
            policy: action,
            min_age_secs,
            ..Policy::default()
        }
    }

    #[test]
    fn each_policy_decides() {
        assert_eq!(gate(&Policy::default(), NOW, NOW, 60), Gate::Now);
        assert!(matches!(gate(&policy(Action::Manual, 0), NOW, NOW, 60), Gate::Leave(_)));
        assert!(matches!(gate(&policy(Action::Notify, 0), NOW, NOW, 60), Gate::Tell(_)));
        let Gate::Hold(Hold::Approval { deadline_ms }, why) = gate(&policy(Action::Approve, 0), NOW, NOW, 3600) else {
            panic!("approve holds");
        };
        assert_eq!(deadline_ms, NOW + 3_600_000);
        assert!(why.contains("2026-12-07 21:00:00 UTC"), "{why}");
    }

    #[test]
    fn min_age_counts_from_first_seen_and_a_newer_digest_restarts_it() {
        let p = policy(Action::Auto, 3600);
        assert_eq!(gate(&p, NOW - 3_600_000, NOW, 60), Gate::Now, "old enough");
        let Gate::Hold(Hold::Schedule { not_before_ms }, why) = gate(&p, NOW - 600_000, NOW, 60) else {
            panic!("too young");
        };
        assert_eq!(not_before_ms, NOW + 3_000_000);
        assert!(why.contains("MinAge=3600s"), "{why}");
        let Gate::Hold(Hold::Schedule { not_before_ms }, _) = gate(&p, NOW, NOW, 60) else {
            panic!("a newer digest, first seen now");
        };
        assert_eq!(not_before_ms, NOW + 3_600_000);
    }

    #[test]
    fn a_closed_window_schedules_at_its_opening() {
        // Every day 02:00-04:00 UTC.
        let w = Window {
            spans: vec![Span {
                days: 0x7f,
                start_min: 120,
                end_min: 240,
            }],
            tz: Some("UTC".into()),
            text: "02:00-04:00 TZ=UTC".into(),
        };
        let p = Policy {
            window: Some(w),
            ..Policy::default()
        };
        let Gate::Hold(Hold::Schedule { not_before_ms }, why) = gate(&p, NOW, NOW, 60) else {
            panic!("closed at 20:00");
        };
        assert_eq!(not_before_ms, NOW + 6 * 3_600_000, "02:00 the next day");
        assert!(why.contains("Window=02:00-04:00"), "{why}");
        assert_eq!(
            gate(&p, NOW, NOW + 6 * 3_600_000 + 60_000, 60),
            Gate::Now,
            "open at 02:01"
        );
        assert_eq!(after_approval(&p, NOW), Some(NOW + 6 * 3_600_000));
        assert_eq!(after_approval(&Policy::default(), NOW), None);
    }
}
