//! The standing probe: requests written as an attacker sends them, one test (or more)
//! per finding of the outside probe (docs/security.md, "Probed and closed"). Each
//! failed on e517b79 and passes now.

/// Findings 1 and 4: failed authentications never lock out a valid credential.
mod auth_limit;
/// Finding 2 and the event log's own informational findings: bounded rows, folded junk.
mod event_log;
/// Findings 6 and 7: long fields, prune ages, configuration.
mod fields;
/// The lenient framing findings: each form refused with a 400 and its own code.
mod framing;
/// Finding 3: the Host and Origin checks under a public URL.
mod host;
/// Finding 3 and the session findings: forward-auth, repeated headers, cookies, sign-in.
mod proxy;
/// Finding 5, the replay findings, and clients that hold workers.
mod workers_and_replay;
