//! Discovery on the real bed: running containers labelled io.containers.autoupdate
//! (as `podman generate systemd --new` units run them) are found with their unit
//! and image; at scale (100 Quadlet files + 100 labelled containers) all 200 are
//! found, and the time is printed.

use crate::harness::{Harness, shout, wait_until};
use std::time::{Duration, Instant};

fn discover(bed: &Harness, extra: &str) -> (String, f64) {
    let state = bed.dir().join("podup-state");
    let script = format!(
        "PODUP_STATE_DIR={} PODUP_AUTO_DISCOVER=1 PODUP_SYSTEMD_SCOPE=user {extra} {} discover",
        state.display(),
        env!("CARGO_BIN_EXE_podup")
    );
    let start = Instant::now();
    let out = bed.sh(&script);
    let secs = start.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    (text, secs)
}

on_kinds!(labelled_containers_are_discovered_with_their_unit_and_image);
fn labelled_containers_are_discovered_with_their_unit_and_image() {
    let Some(bed) = Harness::up("discovery") else { return };
    bed.push_image("acme/one", "v1", None);
    bed.push_image("acme/two", "v1", None);
    for name in ["one", "two"] {
        let unit = bed.container_unit(name, &bed.image_ref(&format!("acme/{name}")));
        bed.systemctl_ok(&["start", &unit]);
    }
    // A running container that carries the auto-update label (from its image) but
    // no PODMAN_SYSTEMD_UNIT is not taken: there is no unit to restart.
    bed.exec_ok(&[
        "podman",
        "run",
        "-d",
        "--name",
        "plain",
        "--network=none",
        &bed.image_ref("acme/one"),
    ]);
    // Under a loaded machine a unit can report started a moment before podman lists
    // its container as running; discovery takes only running containers.
    let both_running = wait_until(Duration::from_secs(20), || {
        let out = bed.exec_ok(&["podman", "ps", "--format", "{{.Names}}"]);
        ["one", "two"].iter().all(|n| out.lines().any(|l| l.trim() == *n))
    });
    assert!(
        both_running,
        "{}",
        bed.exec_ok(&["podman", "ps", "-a", "--format", "{{.Names}} {{.Status}}"])
    );
    let (text, _) = discover(&bed, "");
    for name in ["one", "two"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("container-{name}.service")))
            .unwrap_or_else(|| panic!("{name}: {text}"));
        assert!(
            line.contains("container") && line.contains(&format!("acme/{name}")),
            "{line}"
        );
    }
    assert_eq!(text.lines().count(), 2, "{text}");
    let (text, _) = discover(&bed, "PODUP_EXCLUDE=container-two.service");
    assert!(
        text.contains("container-two.service") && text.contains("excluded"),
        "{text}"
    );
}

on_kinds!(discovery_at_scale);
fn discovery_at_scale() {
    let Some(bed) = Harness::up("discovery-scale") else {
        return;
    };
    bed.push_image("acme/many", "v1", None);
    let image = bed.image_ref("acme/many");
    let start = Instant::now();
    let script = format!(
        "for i in $(seq 1 100); do podman run -d -q --name c$i --network=none --label PODMAN_SYSTEMD_UNIT=c$i.service {image} >/dev/null || {{ echo \"container c$i did not start\" >&2; exit 1; }}; done"
    );
    let started = bed.sh(&script);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    let dir = std::path::PathBuf::from(bed.env_var("XDG_CONFIG_HOME")).join("containers/systemd");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..100 {
        std::fs::write(
            dir.join(format!("q{i}.container")),
            format!("[Container]\nImage=ghcr.io/acme/q{i}:1\nAutoUpdate=registry\n"),
        )
        .unwrap();
    }
    shout(&format!(
        "discovery at scale: 100 containers started in {:.1} s",
        start.elapsed().as_secs_f64()
    ));
    let running = || -> usize {
        let out = bed.exec_ok(&[
            "podman",
            "ps",
            "-q",
            "--filter",
            "label=PODMAN_SYSTEMD_UNIT",
            "--filter",
            "label=io.containers.autoupdate",
        ]);
        out.lines().count()
    };
    let mut times = Vec::new();
    for _ in 0..5 {
        let before = running();
        let (text, secs) = discover(&bed, "");
        let containers = text.lines().filter(|l| l.contains(" container ")).count();
        let quadlets = text.lines().filter(|l| l.contains(" quadlet ")).count();
        assert_eq!(quadlets, 100, "{text}");
        // Every labelled container podman reports running is found.
        assert!(
            containers >= before.min(running()) && containers >= 95,
            "{containers} found, {before} running: {text}"
        );
        times.push(secs);
    }
    times.sort_by(f64::total_cmp);
    shout(&format!(
        "discovery of 100 Quadlet files + 100 labelled containers (whole `podup discover` process): median {:.0} ms, min {:.0} ms, max {:.0} ms",
        times[2] * 1000.0,
        times[0] * 1000.0,
        times[4] * 1000.0
    ));
}
