//! A service's update policy (docs/policy.md), read from where it is written: `[X-PodUp]` in
//! the service's unit file or Quadlet file and their drop-ins, or its section of
//! `PODUP_POLICY_FILE`. Parsing the values is `keys`' and `spans`'; whether a time is inside
//! a `Window=` is `window`'s. Acting on a policy (approvals, schedules, following versions)
//! belongs to the modules that do those things.

pub mod keys;
pub mod spans;
pub mod window;
