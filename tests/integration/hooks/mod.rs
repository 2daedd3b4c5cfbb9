//! `POST /hooks/github[/<service>]` against the built binary with recording fakes:
//! signatures (GitHub's own test vector, real payloads), every ignored case,
//! idempotency, coalescing, rate limits, and the exact `systemd-run` argv.

/// Batched registry notifications.
mod batches;
/// Signatures, the dispatched task and its exact argv, every ignored case, form encoding.
mod deliveries;
/// Duplicates, a failing `systemd-run`, no secret, rate limits, and how refusals are logged.
mod failures_and_limits;
/// Every other sender: its credential, its real fixtures, another sender's credential,
/// path secrets never kept, duplicates.
mod senders;
