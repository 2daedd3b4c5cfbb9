//! The pool's work queue: what the poll loop and the writer thread hand to the workers.
//! Work comes in two lanes. `Urgent` work (a `/hooks/*` request, an answer already
//! made) may take any worker; `General` work may hold at most `limit` workers at once,
//! the pool's size less one, so a worker is always left for a webhook however long
//! other handlers take (finding 5 of issue 17: 16 overviews waiting on a hanging
//! `podman` held every worker while a signed delivery waited past GitHub's 10 s).

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};

/// Which workers may take a piece of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Any worker, the reserved one included.
    Urgent,
    /// Only while fewer than the limit of workers hold general work.
    General,
}

pub struct Queue<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
}

struct State<T> {
    items: VecDeque<(Lane, T)>,
    /// Workers holding general work now.
    general: usize,
    closed: bool,
}

impl<T> Queue<T> {
    pub fn new() -> Queue<T> {
        Queue {
            state: Mutex::new(State {
                items: VecDeque::new(),
                general: 0,
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
        // Every waiting worker looks: the first one woken may not be allowed to take it
        // while another lane's work is what it may take.
        self.ready.notify_all();
        Ok(())
    }

    /// The oldest work this worker may take, waiting for it; `None` once the queue is
    /// closed and empty. `limit()` is how many workers general work may hold (read at
    /// each look: the pool may shrink). Taking general work counts it until `done_general`.
    pub fn take(&self, limit: impl Fn() -> usize) -> Option<(Lane, T)> {
        let mut state = self.lock();
        loop {
            let room = state.general < limit().max(1);
            let found = state.items.iter().position(|(lane, _)| *lane == Lane::Urgent || room);
            if let Some(at) = found {
                let (lane, item) = state.items.remove(at).expect("found above");
                if lane == Lane::General {
                    state.general += 1;
                }
                return Some((lane, item));
            }
            if state.closed && state.items.is_empty() {
                return None;
            }
            state = self.ready.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// A worker is done with general work: another may take some.
    pub fn done_general(&self) {
        let mut state = self.lock();
        state.general = state.general.saturating_sub(1);
        drop(state);
        self.ready.notify_all();
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
    fn general_work_leaves_a_worker_for_urgent_work() {
        let q = Queue::new();
        for n in 0..3 {
            q.push(Lane::General, n).unwrap();
        }
        q.push(Lane::Urgent, 9).unwrap();
        // A pool of three: general work may hold two.
        let limit = || 2;
        assert_eq!(q.take(limit), Some((Lane::General, 0)));
        assert_eq!(q.take(limit), Some((Lane::General, 1)));
        // The third worker skips the waiting general work for the urgent one.
        assert_eq!(q.take(limit), Some((Lane::Urgent, 9)));
        q.done_general();
        assert_eq!(q.take(limit), Some((Lane::General, 2)));
        q.close();
        assert_eq!(q.push(Lane::Urgent, 5), Err(5));
    }

    #[test]
    fn a_worker_waiting_for_room_takes_general_work_when_some_is_done_and_ends_on_close() {
        let q = Queue::new();
        q.push(Lane::General, 1).unwrap();
        q.push(Lane::General, 2).unwrap();
        assert_eq!(q.take(|| 1), Some((Lane::General, 1)));
        std::thread::scope(|s| {
            let waiting = s.spawn(|| (q.take(|| 1), q.take(|| 1)));
            std::thread::sleep(std::time::Duration::from_millis(50));
            q.done_general();
            q.close();
            assert_eq!(waiting.join().unwrap(), (Some((Lane::General, 2)), None));
        });
    }

    #[test]
    fn a_pool_of_one_reserves_nothing() {
        let q = Queue::new();
        q.push(Lane::General, 1).unwrap();
        assert_eq!(q.take(|| 0), Some((Lane::General, 1)));
    }
}
