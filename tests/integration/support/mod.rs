//! What every integration test shares: the built binary under a clean environment
//! ([`Podup`], [`Server`]), a scratch directory ([`TempDir`]), HTTP exchanges, recording
//! fakes of the host's programs, signed GitHub deliveries, and a real registry. Test
//! files import this module only, never each other.

/// A kept-alive connection and the database's size, for the event-log probe tests.
pub mod event_log;
mod fakes;
/// Root-only guards and surviving rows, for the fault tests.
pub mod faults;
mod github;
mod http;
/// Tiny deterministic OCI images and manifest media types, for the registry tests.
pub mod oci;
mod podup;
/// Requests with exact headers and the same-host proxy setup, for the probe tests.
pub mod probe;
pub mod receiver;
/// A real `docker-registry` on loopback (anonymous, htpasswd or token auth), for the
/// update-check tests.
pub mod registry;
mod senders;
/// The Bearer token service a token-auth registry sends clients to.
pub mod token_service;

pub use fakes::Fakes;
pub use github::*;
pub use http::*;
pub use podup::*;
pub use senders::*;

use std::path::Path;
use std::time::{Duration, Instant};

/// Number of rows in the event log.
pub fn event_count(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM event_log", [], |r| r.get(0))
        .unwrap()
}

/// Rows of the event log as (method, path, status, action, reason, remote).
pub fn events(db: &Path) -> Vec<(String, String, u16, String, String, Option<String>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn
        .prepare("SELECT method, path, status, action, reason, remote_addr FROM event_log ORDER BY id")
        .unwrap();
    st.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Runs `f(i)` for `i` in `0..n`, all at once, each on a thread of its own; the results
/// in order.
pub fn at_once<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = (0..n).map(|i| s.spawn(move || f(i))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Polls `f` until it is true or `limit` passes.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}
