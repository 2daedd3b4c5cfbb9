//! Faults of the machine podup runs on, against the built binary with recording fakes:
//! a read-only state database, the database deleted while serving, a full disk,
//! `systemd-run` missing or failing, and `podman` missing for a task worker. Each must
//! give a clear error (JSON `error` + `message`, or a CLI message naming the thing), a
//! correct task status, and lose or corrupt no row written before it (docs/state.md,
//! "Faults"). Tests that mount a tmpfs or set the immutable flag need root; without it
//! they print `SKIPPED` and pass.

/// The state database read-only, deleted while serving, and on a full disk.
mod db;
/// `systemd-run` and `podman` missing.
mod programs;
