//! Who writes the next event row. Under load the writer thread writes rows in group
//! commits; with one request at a time that thread only added two hand-offs to every
//! answer (worker to writer, writer's commit, answer sent from there): at one
//! connection podup answered 1.5x as fast as adnanh/webhook, at 64 6.3x. So when the
//! writer is idle (no row waits for it, no commit under way) a worker commits its own
//! row on its own handle and sends the answer itself; the gate keeps the two from
//! writing at once, so rows that come meanwhile wait for the writer's next commit, as
//! before, and every commit still lands before its answer is sent.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

/// Rows written between two looks at the size budget.
pub const BUDGET_CHECK_ROWS: usize = 1_000;

pub struct Gate {
    /// Held while rows are written: by the writer thread for a batch (and the look at
    /// the budget after it), by a worker for its own row.
    writing: Mutex<()>,
    /// Rows handed to the writer thread and not written yet.
    queued: AtomicUsize,
    /// Rows written since the last look at the size budget, by anyone.
    since_check: AtomicUsize,
}

pub type Held<'g> = MutexGuard<'g, ()>;

impl Gate {
    /// A gate whose writer is starting: busy until it calls `started`, so that the
    /// first rows do not meet its first commit in SQLite's lock (whose busy handler
    /// sleeps) but wait for it.
    pub fn new() -> Gate {
        Gate {
            writing: Mutex::new(()),
            queued: AtomicUsize::new(1),
            since_check: AtomicUsize::new(0),
        }
    }

    /// The right to write, only when the writer is idle: no row waits for it and
    /// nobody writes. (The writer counts its rows written only after their commit,
    /// still holding the gate, so a row taken from the queue is still waiting here.)
    pub fn idle(&self) -> Option<Held<'_>> {
        if self.queued.load(Ordering::Acquire) > 0 {
            return None;
        }
        let held = match self.writing.try_lock() {
            Ok(held) => held,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        // A row may have been queued between the two looks: it goes first.
        (self.queued.load(Ordering::Acquire) == 0).then_some(held)
    }

    /// The right to write, waiting for whoever writes now.
    pub fn hold(&self) -> Held<'_> {
        self.writing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The writer has its handle and is ready: called with the gate held.
    pub fn started(&self) {
        self.unqueued(1);
    }

    /// A row is handed to the writer thread.
    pub fn queued(&self) {
        self.queued.fetch_add(1, Ordering::AcqRel);
    }

    /// `rows` that were queued are written (or refused): called with the gate held.
    pub fn unqueued(&self, rows: usize) {
        self.queued.fetch_sub(rows, Ordering::AcqRel);
    }

    /// `rows` more are written; whether it is time to look at the size budget (once
    /// for every `BUDGET_CHECK_ROWS`, whoever wrote them).
    pub fn written(&self, rows: usize) -> bool {
        let before = self.since_check.fetch_add(rows, Ordering::AcqRel);
        if before + rows < BUDGET_CHECK_ROWS {
            return false;
        }
        // Only the one that takes the count back to zero looks.
        self.since_check
            .compare_exchange(before + rows, 0, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_is_idle_only_with_nothing_queued_and_nobody_writing() {
        let gate = Gate::new();
        assert!(gate.idle().is_none(), "the writer is starting");
        gate.started();
        let held = gate.idle().expect("nothing queued, nobody writing");
        assert!(gate.idle().is_none(), "someone writes");
        drop(held);
        gate.queued();
        assert!(gate.idle().is_none(), "a row waits for the writer");
        let held = gate.hold();
        gate.unqueued(1);
        drop(held);
        assert!(gate.idle().is_some());
    }

    #[test]
    fn the_budget_is_due_once_per_check_rows_whoever_writes() {
        let gate = Gate::new();
        assert!(!gate.written(BUDGET_CHECK_ROWS - 1));
        assert!(gate.written(1));
        assert!(!gate.written(BUDGET_CHECK_ROWS - 2));
        assert!(gate.written(5));
    }
}
