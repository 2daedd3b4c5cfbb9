//! Issue 23's `Follow=` on the real bed: a service on `1.4.2` with `Follow=semver:minor`, the
//! registry holding `1.5.0` and `2.0.0`. `podup check-updates` in the bed proposes `1.5.0`,
//! the service's policy (auto) deploys it by pointing the file podup owns at the new tag (on
//! trixie the Quadlet drop-in `app.container.d/90-podup-image.conf`, on bookworm the
//! environment file `podup/images/container-app.service.env` the unit reads its image from),
//! and a `1.5.0` that cannot run is rolled back with that file put back.

use crate::harness::{PolicyBed, Scope, policy_bed_in, shout};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

const VERIFY_SECS: &str = "2";
const FOLLOW: &str = "Follow=semver:minor";
const ETC_IS_THE_HOSTS: &str =
    "a bookworm bed's /etc is the host's: no Quadlet file of the bed can be in /etc/containers/systemd";

/// A bed running `acme/app:1.4.2` with `Follow=semver:minor`, `2.0.0` in the registry beside
/// it; returns it, the unit and the digest of 1.4.2.
fn follow_bed(test: &str, scope: Scope) -> Option<(PolicyBed, String, String)> {
    let (p, mut services) = policy_bed_in(test, VERIFY_SECS, &[("app", "acme/app:1.4.2", FOLLOW)], scope)?;
    let (app, d142) = services.remove(0);
    p.bed.push_image("acme/app:2.0.0", "2.0.0", None);
    Some((p, app.unit, d142))
}

impl PolicyBed {
    /// The file podup owns that says which image `unit` runs (it may not exist).
    fn image_file(&self, unit: &str) -> PathBuf {
        match self.bed.kind() {
            crate::harness::Kind::Trixie => self.bed.quadlet_dir().join("app.container.d/90-podup-image.conf"),
            crate::harness::Kind::Bookworm => self.bed.images_env_file(unit),
        }
    }

    /// `podup check-updates --json` in the bed: the service's verdict and the one task its
    /// policy made.
    #[track_caller]
    fn check_proposes(&self, unit: &str) -> (Value, i64) {
        let out = self.cli(&["check-updates", "--json"]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("check-updates: {e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
        let verdict = v["services"]
            .as_array()
            .and_then(|l| l.iter().find(|s| s["unit"] == unit))
            .cloned()
            .unwrap_or_else(|| panic!("{unit} was not checked: {v:#}"));
        let tasks = v["policy_tasks"].as_array().cloned().unwrap_or_default();
        assert_eq!(tasks.len(), 1, "the policy made one task: {v:#}");
        (verdict, tasks[0].as_i64().unwrap())
    }

    /// Polls until task `id` has ended; returns it.
    #[track_caller]
    fn ended(&self, id: i64) -> Value {
        let open = ["pending", "running", "scheduled", "awaiting_approval"];
        let done = crate::harness::wait_until(Duration::from_secs(180), || {
            !open.contains(&self.podup.task(id)["task"]["status"].as_str().unwrap_or(""))
        });
        let t = self.podup.task(id);
        assert!(done, "task {id} still open: {t:#}");
        t
    }
}

on_kinds!(follow_semver_minor_moves_to_1_5_not_2_0);
/// The check proposes 1.5.0 (not 2.0.0) and the policy deploys it through the file podup
/// owns; the container runs 1.5.0.
fn follow_semver_minor_moves_to_1_5_not_2_0() {
    moves_to_1_5("policy-follow", Scope::User);
}

on_kinds!(follow_moves_a_quadlet_unit_from_inside_the_system_sandbox, only trixie, ETC_IS_THE_HOSTS);
/// As root on a host: podup in the system scope reads `/etc/containers/systemd/app.container`
/// and its task unit runs in the system manager's sandbox (ProtectSystem=full), from which the
/// deploy still writes the drop-in beside that file.
fn follow_moves_a_quadlet_unit_from_inside_the_system_sandbox() {
    moves_to_1_5("policy-follow-sys", Scope::System);
}

fn moves_to_1_5(test: &str, scope: Scope) {
    let Some((p, unit, d142)) = follow_bed(test, scope) else {
        return;
    };
    let d150 = p.bed.push_image("acme/app:1.5.0", "1.5.0", None);
    let (verdict, id) = p.check_proposes(&unit);
    assert_eq!(verdict["status"], "available", "{verdict:#}");
    assert_eq!(verdict["remote_digest"], d150.as_str(), "1.5.0's digest: {verdict:#}");
    let t = p.ended(id);
    assert_eq!(p.status_of(id), ("succeeded".into(), "ok".into()), "{t:#}");
    assert_eq!(p.bed.running_digest("app"), d150);
    assert_eq!(p.bed.version_in("app"), "1.5.0", "1.5.0 runs, not 2.0.0 nor 1.4.2");
    assert_ne!(p.bed.running_digest("app"), d142);
    let file = p.image_file(&unit);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert!(
        text.contains("acme/app:1.5.0") && !text.contains(":2.0.0"),
        "{}: {text}",
        file.display()
    );
    let shown = p.bed.systemctl_ok(&["cat", &unit]);
    assert!(
        shown.contains("acme/app:1.5.0") || shown.contains("PODUP_IMAGE"),
        "{shown}"
    );
    shout(&format!(
        "Follow=semver:minor: 1.4.2 → 1.5.0 through {}",
        file.display()
    ));
}

on_kinds!(a_failing_1_5_is_rolled_back_and_the_dropin_removed);
/// A 1.5.0 whose container exits at once: the deploy rolls back, the file podup wrote is
/// gone (Quadlet) or says 1.4.2 again (environment file), and 1.4.2 runs.
fn a_failing_1_5_is_rolled_back_and_the_dropin_removed() {
    let Some((p, unit, d142)) = follow_bed("policy-follow-rb", Scope::User) else {
        return;
    };
    let file = p.image_file(&unit);
    let before = std::fs::read_to_string(&file).ok();
    p.bed
        .push_image("acme/app:1.5.0", "1.5.0", Some("echo 1.5.0 fails; exit 1"));
    let (_, id) = p.check_proposes(&unit);
    let t = p.ended(id);
    assert_eq!(p.status_of(id).0, "rolled_back", "{t:#}");
    assert_eq!(
        std::fs::read_to_string(&file).ok(),
        before,
        "{} is as it was",
        file.display()
    );
    if p.bed.kind() == crate::harness::Kind::Trixie {
        assert!(!file.exists(), "the drop-in is removed");
    }
    assert_eq!(p.bed.running_digest("app"), d142);
    assert_eq!(p.bed.version_in("app"), "1.4.2");
    assert_eq!(p.bed.unit_property(&unit, "ActiveState"), "active");
}
