//! Quadlet, for real (trixie only: Debian 12's podman 4.3.1 has no Quadlet): `.container`
//! files turned into units by the real generator on `daemon-reload`, deployed by signed
//! webhooks, verified on their health checks and rolled back; `Notify=healthy`; discovery
//! and the `Image=` lookup through drop-ins; the auto-update timer on Quadlet units.

use crate::harness::{Harness, SECRET, Served, bed_bin, serve, shout, wait_until};
use std::time::Duration;

const NOT_ON_BOOKWORM: &str = "Debian 12's podman 4.3.1 ships no Quadlet generator";

/// Healthy unless the image's `/version` says "broken" (the harness's images hold their version).
const HEALTH: &str = "HealthCmd=/bin/grep -qv broken /version\nHealthInterval=1s\nHealthRetries=1\nHealthTimeout=5s\n";

/// A bed running `app.service` from `app.container` (Image= the bed's `acme/app`, with
/// `extra` in `[Container]` and `service` in `[Service]`) on v1, and podup serving it.
struct QuadletBed {
    bed: Harness,
    podup: Served,
    repository: String,
}

fn setup(name: &str, extra: &str, service: &str, verify_secs: &str) -> Option<(QuadletBed, String)> {
    let bed = Harness::up(name)?;
    let v1 = bed.push_image("acme/app", "v1", None);
    let image = bed.image_ref("acme/app");
    let dir = std::path::PathBuf::from(bed.env_var("PODUP_QUADLET_DIR"));
    std::fs::write(
        dir.join("app.container"),
        format!(
            "[Unit]\nDescription=a Quadlet app\n\n[Container]\nImage={image}\nContainerName=app\n\
             AutoUpdate=registry\nNetwork=none\n{extra}\n[Service]\n{service}"
        ),
    )
    .unwrap();
    bed.systemctl_ok(&["daemon-reload"]);
    let generated = bed.systemctl_ok(&["cat", "app.service"]);
    assert!(
        generated.contains("podman-user-generator") || generated.contains("SourcePath="),
        "{generated}"
    );
    bed.systemctl_ok(&["start", "app.service"]);
    assert_eq!(bed.running_digest("app"), v1);
    let services = format!("app.service={image}");
    let podup = serve(
        &bed,
        &[
            ("PODUP_SERVICES", &services),
            ("PODUP_GITHUB_SECRET", SECRET),
            ("PODUP_VERIFY_SECS", verify_secs),
        ],
    );
    let repository = image.trim_end_matches(":latest").to_string();
    Some((QuadletBed { bed, podup, repository }, v1))
}

impl QuadletBed {
    /// Sends the webhook for `digest` and waits for its task to end.
    fn deploy(&self, digest: &str, delivery: &str) -> serde_json::Value {
        let r = self.podup.webhook(&self.repository, "latest", digest, delivery);
        assert_eq!(r.status, 202, "{}", r.body);
        let id = r.body["task_id"].as_i64().unwrap();
        self.podup.wait_task(id, Duration::from_secs(120))
    }
}

fn status(t: &serde_json::Value) -> (&str, &str) {
    (
        t["task"]["status"].as_str().unwrap_or(""),
        t["task"]["reason"].as_str().unwrap_or(""),
    )
}

/// The task's log messages of `step`.
fn messages<'a>(t: &'a serde_json::Value, step: &str) -> Vec<&'a str> {
    t["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["step"] == step)
        .filter_map(|l| l["message"].as_str())
        .collect()
}

on_kinds!(a_quadlet_unit_with_a_health_check_is_verified_on_it_and_rolled_back_when_unhealthy, only trixie, NOT_ON_BOOKWORM);
/// `app.container` with AutoUpdate=registry and a HealthCmd (no Notify=healthy: the unit is
/// active as soon as the container runs). A signed webhook deploys v2: verified, and the log
/// says the health check reported healthy. An image that starts, runs and stays active but
/// whose health check fails is rolled back: active is not enough.
fn a_quadlet_unit_with_a_health_check_is_verified_on_it_and_rolled_back_when_unhealthy() {
    let Some((q, v1)) = setup("quadlet-health", HEALTH, "TimeoutStartSec=20\n", "4") else {
        return;
    };
    let v2 = q.bed.push_image("acme/app", "v2", None);
    let t = q.deploy(&v2, "quadlet-v2");
    assert_eq!(status(&t), ("succeeded", "ok"), "{t:#}");
    assert_eq!(t["units"][0]["from_digest"], v1.as_str());
    assert_eq!(q.bed.running_digest("app"), v2);
    let verify = messages(&t, "verify");
    assert!(
        verify.contains(&"the health check reports 'healthy'"),
        "the log shows the health verdict: {verify:?}"
    );

    let broken = q.bed.push_image("acme/app", "broken", None);
    let t = q.deploy(&broken, "quadlet-broken");
    assert_eq!(status(&t), ("rolled_back", "verify_failed"), "{t:#}");
    let message = t["task"]["message"].as_str().unwrap();
    assert!(message.contains("the health check reports 'unhealthy'"), "{message}");
    assert_eq!(q.bed.running_digest("app"), v2, "back on v2");
    assert_eq!(q.bed.unit_property("app.service", "ActiveState"), "active");
    assert_eq!(
        q.bed
            .exec_ok(&["podman", "inspect", "app", "--format", "{{.State.Health.Status}}"]),
        "healthy"
    );
}

on_kinds!(notify_healthy_makes_the_deploy_wait_for_the_health_verdict, only trixie, NOT_ON_BOOKWORM);
/// `Notify=healthy`: the unit's start completes only when the health check passes, so a
/// new image that never turns healthy fails its restart after TimeoutStartSec, and podup
/// rolls back. podup's restart waited for that verdict, not for the container to run.
fn notify_healthy_makes_the_deploy_wait_for_the_health_verdict() {
    const TIMEOUT_START_SECS: u64 = 6;
    let service = format!("TimeoutStartSec={TIMEOUT_START_SECS}\n");
    let extra = format!("Notify=healthy\n{HEALTH}");
    let Some((q, _v1)) = setup("quadlet-notify", &extra, &service, "2") else {
        return;
    };
    let v2 = q.bed.push_image("acme/app", "v2", None);
    let t = q.deploy(&v2, "notify-v2");
    assert_eq!(status(&t), ("succeeded", "ok"), "{t:#}");
    assert!(
        messages(&t, "verify").contains(&"the health check reports 'healthy'"),
        "{t:#}"
    );

    let broken = q.bed.push_image("acme/app", "broken", None);
    let t = q.deploy(&broken, "notify-broken");
    assert_eq!(status(&t), ("rolled_back", "verify_failed"), "{t:#}");
    let restart = t["logs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["step"] == "restart" && l["argv"].is_array())
        .cloned()
        .unwrap_or_else(|| panic!("no restart command: {t:#}"));
    assert_ne!(restart["exit_status"].as_i64(), Some(0), "{restart:#}");
    let ms: u64 = restart["message"]
        .as_str()
        .and_then(|m| m.split(", ").nth(1)?.strip_suffix(" ms)")?.parse().ok())
        .unwrap_or(0);
    shout(&format!(
        "Notify=healthy: the restart onto an image that never turns healthy failed after {:.1} s (TimeoutStartSec={TIMEOUT_START_SECS})",
        ms as f64 / 1000.0
    ));
    assert!(
        ms >= (TIMEOUT_START_SECS - 1) * 1000,
        "the restart waited for the health verdict: {restart:#}"
    );
    assert_eq!(q.bed.running_digest("app"), v2, "back on v2");
    assert_eq!(q.bed.unit_property("app.service", "ActiveState"), "active");
}

on_kinds!(quadlet_discovery_reads_the_marker_and_the_image_through_drop_ins, only trixie, NOT_ON_BOOKWORM);
/// `X-PodUp-Webhook=yes` in a `.container` whose image a drop-in (`web.container.d/*.conf`)
/// replaces: the real generator runs the drop-in's image, and `podup discover` finds the unit
/// with that same image. An unmarked file without AutoUpdate= is not taken.
fn quadlet_discovery_reads_the_marker_and_the_image_through_drop_ins() {
    let Some(bed) = Harness::up("quadlet-discovery") else {
        return;
    };
    let digest = bed.push_image("acme/web", "v1", None);
    let image = bed.image_ref("acme/web");
    let dir = std::path::PathBuf::from(bed.env_var("PODUP_QUADLET_DIR"));
    std::fs::write(
        dir.join("web.container"),
        format!(
            "[Unit]\nX-PodUp-Webhook=yes\n\n[Container]\nImage={}/acme/old:1\nContainerName=web\nNetwork=none\n",
            bed.registry()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("web.container.d")).unwrap();
    std::fs::write(
        dir.join("web.container.d/10-image.conf"),
        format!("[Container]\nImage={image}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("other.container"),
        format!("[Container]\nImage={image}\nContainerName=other\nNetwork=none\n"),
    )
    .unwrap();
    bed.systemctl_ok(&["daemon-reload"]);
    let generated = bed.systemctl_ok(&["cat", "web.service"]);
    assert!(
        generated.contains(&image),
        "the generator took the drop-in's image: {generated}"
    );
    bed.systemctl_ok(&["start", "web.service"]);
    assert_eq!(bed.running_digest("web"), digest);

    let state = bed.dir().join("podup-state");
    let script = format!(
        "PODUP_STATE_DIR={} PODUP_AUTO_DISCOVER=1 PODUP_SYSTEMD_SCOPE=user {} discover",
        state.display(),
        env!("CARGO_BIN_EXE_podup")
    );
    let out = bed.sh(&script);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let web = text
        .lines()
        .find(|l| l.starts_with("web.service"))
        .unwrap_or_else(|| panic!("web.service not found: {text}"));
    assert!(web.contains(" quadlet ") && web.contains(&image), "{web}");
    assert!(!web.contains("acme/old"), "{web}");
    assert!(!text.contains("other.service"), "unmarked, no AutoUpdate=: {text}");
}

on_kinds!(the_auto_update_timer_updates_quadlet_units, only trixie, NOT_ON_BOOKWORM);
/// podup-auto-update.timer, as shipped, on a Quadlet unit with AutoUpdate=registry: the timer
/// runs `podup auto-update`, which records the unit's row, and the unit runs the new image.
fn the_auto_update_timer_updates_quadlet_units() {
    let Some((q, _v1)) = setup("quadlet-timer", HEALTH, "TimeoutStartSec=20\n", "3") else {
        return;
    };
    let v2 = q.bed.push_image("acme/app", "v2", None);
    let units = concat!(env!("CARGO_MANIFEST_DIR"), "/units");
    let service = std::fs::read_to_string(format!("{units}/podup-auto-update.service"))
        .unwrap()
        .replace(
            "ExecStart=/usr/local/bin/podup",
            &format!("ExecStart={}", bed_bin(&q.bed)),
        );
    let timer = std::fs::read_to_string(format!("{units}/podup-auto-update.timer")).unwrap();
    for (unit, conf) in [
        (
            "podup-auto-update.timer",
            "[Timer]\nOnActiveSec=1s\nAccuracySec=100ms\nRandomizedDelaySec=0\n",
        ),
        (
            "podup-auto-update.service",
            "[Service]\nEnvironment=PODUP_VERIFY_SECS=3\n",
        ),
    ] {
        let d = q.bed.unit_dir().join(format!("{unit}.d"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("test.conf"), conf).unwrap();
    }
    q.bed.install_unit("podup-auto-update.service", &service);
    q.bed.install_unit("podup-auto-update.timer", &timer);
    q.bed.systemctl_ok(&["start", "podup-auto-update.timer"]);
    let fired = wait_until(Duration::from_secs(120), || {
        let r = q.podup.api("GET", "/api/v1/tasks?kind=auto-update", "");
        r.body["tasks"]
            .as_array()
            .is_some_and(|l| l.iter().any(|t| t["status"] != "pending" && t["status"] != "running"))
    });
    assert!(fired, "the timer ran podup auto-update");
    let list = q.podup.api("GET", "/api/v1/tasks?kind=auto-update", "");
    let id = list.body["tasks"][0]["id"].as_i64().unwrap();
    let t = q.podup.task(id);
    assert_eq!(t["task"]["caller"], "timer", "{t:#}");
    let row = t["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"] == "app.service")
        .cloned()
        .unwrap_or_else(|| panic!("no row for app.service: {t:#}"));
    assert_eq!(row["status"], "succeeded", "{t:#}");
    assert_eq!(q.bed.running_digest("app"), v2);
    assert_eq!(q.bed.unit_property("podup-auto-update.service", "Result"), "success");
}
