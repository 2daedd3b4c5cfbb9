//! The pool's work queue: what the poll loop and the writer thread hand to the workers.
//! Work comes in two lanes. `Urgent` work (a `/hooks/*` request, or its answer when a
//! worker must finish it) may go to any worker; `General` work only to workers that may take it: all
//! but the last the pool may start, so that one is always left for a webhook however
//! long other handlers take (finding 5 of issue 17: 16 overviews waiting on a hanging
//! `podman` held every worker while a signed delivery waited past GitHub's 10 s).
//! The reserved worker is a fixed one, the last started, not whichever is free: the
//! first worker holds the handle opened before serving, which restores a deleted
//! database (`store`), and must keep getting requests.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};

/// Which workers may take a piece of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Any worker, the reserved one included.
    Urgent,
    /// Every worker but the reserved one.
    General,
}

pub struct Queue<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
}

struct State<T> {
    items: VecDeque<(Lane, T)>,
    closed: bool,
}

impl<T> Queue<T> {
    pub fn new() -> Queue<T> {
        Queue {
            state: Mutex::new(State {
                items: VecDeque::new(),
                closed: false,
            }),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `item`; gives it back once the queue is closed.
    pub fn push(&self, lane: Lane, item: T) -> Result<(), T> {
        let mut state = self.lock();
        if state.closed {
            return Err(item);
        }
        state.items.push_back((lane, item));
        drop(state);
        // Every waiting worker looks: the one woken first may be the reserved one,
        // which does not take general work.
        self.ready.notify_all();
        Ok(())
    }

    /// The oldest work this worker may take, waiting for it; `None` once the queue is
    /// closed and empty. `general()` says whether this worker takes general work
    /// (asked at each look: the pool may shrink).
    pub fn take(&self, general: impl Fn() -> bool) -> Option<T> {
        let mut state = self.lock();
        loop {
            let any = general();
            let found = state.items.iter().position(|(lane, _)| *lane == Lane::Urgent || any);
            if let Some(at) = found {
                return state.items.remove(at).map(|(_, item)| item);
            }
            if state.closed && state.items.is_empty() {
                return None;
            }
            state = self.ready.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// No more work: workers end once what is queued is taken.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserved_worker_takes_only_urgent_work_and_others_take_any() {
        let q = Queue::new();
        q.push(Lane::General, 1).unwrap();
        q.push(Lane::Urgent, 9).unwrap();
        q.push(Lane::General, 2).unwrap();
        // The reserved worker skips the waiting general work for the urgent one.
        assert_eq!(q.take(|| false), Some(9));
        // Another takes what is oldest.
        assert_eq!(q.take(|| true), Some(1));
        q.close();
        assert_eq!(q.push(Lane::Urgent, 5), Err(5));
        // Closed: what is queued is still taken, then the workers end.
        assert_eq!(q.take(|| true), Some(2));
        assert_eq!(q.take(|| true), None);
    }

    #[test]
    fn the_reserved_worker_waits_past_general_work_and_ends_on_close() {
        let q = Queue::new();
        q.push(Lane::General, 1).unwrap();
        std::thread::scope(|s| {
            let reserved = s.spawn(|| (q.take(|| false), q.take(|| false)));
            std::thread::sleep(std::time::Duration::from_millis(50));
            q.push(Lane::Urgent, 7).unwrap();
            assert_eq!(q.take(|| true), Some(1));
            q.close();
            assert_eq!(reserved.join().unwrap(), (Some(7), None));
        });
    }
}
