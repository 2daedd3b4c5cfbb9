//! Real-component tests: podup against a real `systemd --user` manager, real podman and a real
//! registry, each test in its own bed started by `tests/real/podup-harness.sh` (see
//! `tests/real/README.md`).
//!
//! They need root and the packages the README lists. Where they cannot run, every test prints
//! `SKIPPED real test '<name>': <reason>` and passes; with `PODUP_REAL_TESTS=require` (CI) it
//! fails instead. `PODUP_KEEP_HARNESS=1` leaves each bed running for a look inside.

/// The suite's one support module: starting, using and tearing down one bed, of either kind;
/// podup installed and serving in it (first: its macro is used below).
#[macro_use]
mod harness;
/// The timer job with podup's own engine on labelled units (issue 24).
mod auto_engine;
/// The bed itself: a deploy can be shown, and nothing is left behind.
mod bed;
/// `make bench`: podup's update check beside podman auto-update --dry-run (ignored).
mod bench_check;
/// `make bench`: update-all and the timer job beside podman auto-update (ignored).
mod bench_update;
/// Update checks: the timer's check finds a newer image, "Update" deploys it.
mod checks;
/// The task engine end to end: deploys, rollbacks, stop, supersede, the timer.
mod deploy;
/// Discovery of labelled containers on the real bed.
mod discovery;
/// Faults on the real bed: the registry going down in the middle of a pull.
mod faults;
/// Floods against podup.socket: a burst, slow clients, oversized requests.
mod flood;
/// Notifications: a real ntfy server, a signed webhook and the real apprise CLI.
mod notify;
/// Issue 26's packages: the .deb installed, served, upgraded, removed and purged on the
/// trixie bed; the .rpm's files and scriptlets.
mod package;
/// Issue 24: twenty units and a pod in one update-all: order, verdicts, rollback of one.
mod parallel;
/// Issue 23: per-service policies (approve, Window=, MinAge=, Timer=no) as a user meets them.
mod policy;
/// Issue 23's Follow=: a check moves a unit to a higher version tag through a file podup owns.
mod policy_follow;
/// Quadlet units on the trixie bed: health-verified deploys, Notify=healthy, drop-ins, the timer.
mod quadlet;
/// Issue 27 on the real bed: the power cut mid-deploy, the operator's restart after a kill.
mod reboot;
/// Issue 27's kill-point matrix: a deploy killed or stopped at each step, then recovered.
mod recovery;
/// The sandbox of task units: exposure, unpacking special files, podman auto-update.
mod sandbox;
/// Senders other than GitHub: the registry's own notifications; Gitea, Harbor, Docker Hub.
mod senders;
/// podup's own socket and service units under the real manager.
mod socket;
