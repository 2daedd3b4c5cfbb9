//! The standing probe: requests written as an attacker sends them, one test (or more)
//! per finding of the outside probe (docs/security.md, "Probed and closed"). Each
//! failed on e517b79 and passes now.

/// Findings 1 and 4: failed authentications never lock out a valid credential.
mod auth_limit;
/// Finding 2 and the event log's own informational findings: bounded rows, folded junk.
mod event_log;
/// Findings 3, 6 and 7: forward-auth, origins, long fields, prune ages, configuration.
mod proxy_and_fields;
/// Finding 5 and the framing and replay findings.
mod workers_and_framing;
