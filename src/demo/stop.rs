//! The stop flag of the task worker running on this thread (`backend::Threads` sets
//! it; the simulated commands of `world` watch it): a stopped unit's command in
//! progress ends at once, as the real one would on the unit's SIGTERM.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

thread_local! {
    /// The stop flag of the task whose worker runs on this thread.
    static STOP: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// This thread runs the worker whose unit turns `flag` true when stopped.
pub(super) fn own(flag: Arc<AtomicBool>) {
    STOP.with(|s| *s.borrow_mut() = Some(flag));
}

/// A stop signal arrived, or this thread's task unit was stopped: a simulated
/// command in progress ends at once.
pub(super) fn requested() -> bool {
    crate::sys::stop_requested() || STOP.with(|s| s.borrow().as_ref().is_some_and(|f| f.load(Ordering::SeqCst)))
}
