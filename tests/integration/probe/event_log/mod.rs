//! See probe/mod.rs. Finding 2 (an anonymous client fills the disk through the event
//! log) and the event log's informational findings: opaque request ids, control
//! characters and tokens in stored paths.

/// What one row holds: bounded fields, opaque ids, escaped and redacted paths, replays.
mod rows;
/// What the size budget keeps: junk folded and pruned first, guessers' rows kept.
mod size;
