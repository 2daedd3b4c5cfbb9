//! The sandbox of task units (src/tasks/sandbox.rs) on the real manager: a task unit has
//! it and is less exposed than one without it (`systemd-analyze security`), a deploy of an
//! image with set-uid files, device nodes, foreign owners, file capabilities and a
//! whiteout succeeds inside it with those files intact, and so does `podman auto-update`.
//! Deploys, rollbacks, stops and the timer inside it are in deploy.rs.

use crate::harness::{Harness, Kind, setup, shout, wait_until};
use std::time::Duration;

/// The overall exposure `systemd-analyze security UNIT` gives (0 safest, 10 least safe).
fn exposure(bed: &Harness, unit: &str) -> f64 {
    let out = bed.exec_ok(&["systemd-analyze", "security", "--no-pager", unit]);
    out.lines()
        .find_map(|l| l.split_once("Overall exposure level for ")?.1.split_once(": "))
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no overall exposure for {unit}:\n{out}"))
}

on_kinds!(a_task_unit_is_sandboxed_less_exposed_and_still_unpacks_any_image);
fn a_task_unit_is_sandboxed_less_exposed_and_still_unpacks_any_image() {
    let Some((b, _v1)) = setup("sandbox-exposure", "8") else {
        return;
    };
    // A task unit as dispatched before the sandbox: only its run-time limit.
    let bare = "podup-bare-exposure.service";
    b.bed.exec_ok(&[
        "systemd-run",
        &format!("--unit={bare}"),
        "--collect",
        "--no-block",
        "--quiet",
        "--property=RuntimeMaxSec=1800",
        "/bin/sleep",
        "300",
    ]);
    assert!(wait_until(Duration::from_secs(10), || b
        .bed
        .unit_property(bare, "ActiveState")
        == "active"));
    let before = exposure(&b.bed, bare);
    b.bed.systemctl_ok(&["stop", bare]);

    // On trixie the bed's stand-in for the system manager is a systemd 257 *user* manager,
    // which (even as root) puts a unit with ProtectSystem=, ProtectHome=, PrivateTmp= ... in
    // a user namespace that maps only root (measured: uid_map "0 0 1"; systemd 252 did not).
    // A file owned by 1000 or a device node cannot be unpacked there; a real system
    // manager, where podup's task units run, adds no user namespace.
    let special = b.bed.kind() == Kind::Bookworm;
    let v2 = if special {
        b.bed.push_image_special("acme/app", "v2")
    } else {
        shout(&format!(
            "NOT RUN part of real test 'sandbox-exposure' on {}: unpacking set-uid files, device \
             nodes and other owners in the task sandbox (the bed's user manager maps only root \
             into the units' user namespace; a system manager does not)",
            b.bed.kind().name()
        ));
        b.bed.push_image("acme/app", "v2", None)
    };
    let id = b.update(&v2);
    b.podup.wait_status(id, "running", Some("verify"));
    let unit = format!("podup-task-{id}.service");
    let show = b.bed.systemctl_ok(&[
        "show",
        "-p",
        "NoNewPrivileges,ProtectSystem,ProtectHome,PrivateTmp,RestrictNamespaces,MemoryDenyWriteExecute",
        &unit,
    ]);
    for want in [
        "NoNewPrivileges=yes",
        "ProtectSystem=full",
        "ProtectHome=read-only",
        "PrivateTmp=yes",
        "RestrictNamespaces=mnt",
        "MemoryDenyWriteExecute=yes",
    ] {
        assert!(show.lines().any(|l| l == want), "{unit} lacks {want}:\n{show}");
    }
    let after = exposure(&b.bed, &unit);
    let service = exposure(&b.bed, "podup.service");
    shout(&format!(
        "systemd-analyze security: task unit {before:.1} without the sandbox, {after:.1} with it; \
         podup.service {service:.1}"
    ));
    assert!(after < before, "the sandbox lowers the exposure: {before} -> {after}");
    assert!(after <= 4.0, "task unit exposure {after}");
    assert!(service < 2.5, "podup.service exposure {service}");
    podup_service_covers_the_options_it_leaves_out(&b.bed);
    // The commands podup.service runs itself (systemctl, podman) work in its sandbox.
    let r = b.podup.api("GET", "/api/v1/overview", "");
    assert_eq!(r.status, 200, "{}", r.body);
    for name in ["scope", "podman"] {
        let check = r.body["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned();
        assert_eq!(
            check.as_ref().map(|c| c["ok"].clone()),
            Some(true.into()),
            "{name}: {check:?}"
        );
    }

    let t = b.podup.wait_task(id, Duration::from_secs(90));
    assert_eq!(b.status(&t), ("succeeded".into(), "ok".into()), "{t:#}");
    assert_eq!(b.bed.running_digest("app"), v2);
    if !special {
        return;
    }
    // Unpacked inside the sandbox, and nothing lost: modes, owners, the device node...
    let listing = b.bed.exec_ok(&[
        "podman",
        "exec",
        "app",
        "/bin/busybox",
        "stat",
        "-c",
        "%n %a %u:%g %F %t:%T",
        "/special/setuid",
        "/special/setgid",
        "/special/null",
        "/special/owned",
    ]);
    assert_eq!(
        listing,
        "/special/setuid 4755 0:0 regular file 0:0\n\
         /special/setgid 2755 0:0 regular file 0:0\n\
         /special/null 666 0:0 character special file 1:3\n\
         /special/owned 640 1000:1000 regular empty file 0:0"
    );
    // ... the file deleted in the second layer stays deleted (an overlay whiteout) ...
    let gone = b.bed.exec(&[
        "podman",
        "exec",
        "app",
        "/bin/busybox",
        "test",
        "-e",
        "/special/deleted",
    ]);
    assert!(!gone.status.success(), "the whiteout hides /special/deleted");
    // ... and the file capability survived.
    let xattr = b.bed.exec_ok(&[
        "sh",
        "-c",
        "m=$(podman image mount \"$1\") && python3 -c 'import os, sys; \
         print(os.getxattr(sys.argv[1], \"security.capability\").hex())' \"$m/special/capped\"; \
         podman image umount \"$1\" >/dev/null",
        "sh",
        &format!("{}@{v2}", b.repository),
    ]);
    assert_eq!(
        xattr, "0100000200040000000000000000000000000000",
        "cap_net_bind_service=ep"
    );
}

/// podup.service leaves out ProtectKernelLogs=, ProtectKernelModules= and ProtectClock=
/// because other options cover each of their parts (the comment in units/podup.service):
/// those options are in force on the running unit, and its syscall filter is an allow
/// list without the log, module and clock syscalls. It also opens no network socket,
/// yet the deploys of this bed went through it.
fn podup_service_covers_the_options_it_leaves_out(bed: &Harness) {
    let unit = "podup.service";
    for (prop, want) in [
        ("RestrictAddressFamilies", "AF_UNIX"),
        ("CapabilityBoundingSet", ""),
        ("DevicePolicy", "closed"),
        ("ProcSubset", "pid"),
        ("KeyringMode", "private"),
        ("NoNewPrivileges", "yes"),
    ] {
        assert_eq!(bed.unit_property(unit, prop), want, "{unit} {prop}=");
    }
    let filter = bed.unit_property(unit, "SystemCallFilter");
    assert!(
        !filter.is_empty() && !filter.starts_with('~'),
        "an allow list: {filter}"
    );
    let allowed: Vec<&str> = filter.split_whitespace().collect();
    assert!(allowed.contains(&"read") && allowed.contains(&"accept4"), "{filter}");
    for call in [
        "syslog",
        "init_module",
        "finit_module",
        "delete_module",
        "clock_settime",
        "settimeofday",
        "adjtimex",
    ] {
        assert!(!allowed.contains(&call), "{unit} may call {call}");
    }
}

on_kinds!(podman_auto_update_still_works_in_a_task_unit);
/// Task units all get the same sandbox (checked on a deploy's unit above): podman
/// auto-update still works inside it.
fn podman_auto_update_still_works_in_a_task_unit() {
    let Some((b, _v1)) = setup("sandbox-auto-update", "3") else {
        return;
    };
    let v2 = b.bed.push_image("acme/app", "v2", None);
    let r = b.podup.api("POST", "/api/v1/update-all", r#"{"mode": "auto-update"}"#);
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["task_id"].as_i64().unwrap();
    let t = b.podup.wait_task(id, Duration::from_secs(120));
    assert_eq!(t["task"]["status"], "succeeded", "{t:#}");
    let unit = t["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"] == "container-app.service")
        .cloned();
    assert_eq!(unit.map(|u| u["status"].clone()), Some("succeeded".into()), "{t:#}");
    assert_eq!(b.bed.running_digest("app"), v2);
}
