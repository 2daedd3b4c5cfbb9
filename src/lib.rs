//! `podup`: deploys new container images to Podman + systemd hosts when asked to,
//! verifies them, and records what happened. `docs/architecture.md` explains the shape.
//!
//! The crate is a library so that fuzz targets (`fuzz/`) can reach the parsers; the one
//! program is `src/main.rs`, which calls [`run`]. Nothing here is a public API: the modules
//! are private, and [`fuzzing`] exists only for the fuzz targets.

/// Bearer tokens, panel sessions, CSRF, trusted proxies, roles and the check each route makes.
mod auth;
/// The version and build facts (commit, date) of this binary.
mod build_info;
/// Self-checks: is podup able to do its job here?
mod checks;
/// Subcommands, their flags, usage text and exit codes.
mod cli;
/// The wall clock, read in one place.
mod clock;
/// Every `PODUP_*` variable and credential, parsed and validated once.
mod config;
/// `podup demo`: the panel over a simulated host with seeded history.
mod demo;
/// Opt-in discovery of webhook-capable units.
mod discovery;
/// Durations as written (`30d`), bounded, and checked conversions to milliseconds.
mod duration;
/// Lower-case hex of bytes and of a SHA-256.
mod hex;
/// The only place that runs systemctl, systemd-run, podman and journalctl, and reads what they print.
mod host;
/// HTTP/1.1 framing on httparse, requests, responses and routing.
mod http;
/// The `log` backend: journald when stderr is the journal, plain stderr otherwise.
mod logging;
/// The shared nouns: task kinds, statuses, specs, scopes and modes, with their stored spellings.
mod model;
/// Notifications: sinks, the outbox and its delivery.
mod notify;
/// The admin panel's files (`web/`), embedded at compile time.
mod panel;
/// Each service's update policy: read from its unit files or the policy file, its window,
/// and which tag `Follow=` moves a unit to.
mod policy;
/// Provider payloads (GitHub, ...) turned into one normalized image event.
mod providers;
/// Sliding-window rate limits kept in the state database.
mod ratelimit;
/// Asking an image's registry for a tag's digest, as podman would resolve and authenticate it.
pub mod registry;
/// Socket activation, the request loop, idle exit and sd-notify.
mod serve;
/// Declared services, unit names and image references.
mod services;
/// The SQLite state database: schema, migrations and one module per table family.
mod store;
/// The few libc calls std does not wrap: poll, signals, socket options.
mod sys;
/// Tasks: dispatch into transient units, and the worker.
mod tasks;
/// Unit-test helpers: a scratch directory and a migrated in-memory database.
#[cfg(test)]
pub(crate) mod testing;

/// Entry points for the fuzz targets in `fuzz/`: raw bytes in, checks inside.
#[doc(hidden)]
pub mod fuzzing;

pub use cli::run;
