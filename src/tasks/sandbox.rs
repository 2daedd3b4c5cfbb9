//! The settings of `podup-task-<id>.service`, in one place: `systemd-run` gets each as a
//! `--property=`. docs/tasks.md ("The task unit's sandbox") explains what a task may do
//! and why each relaxation exists. The real tests run every deploy, rollback and stop inside
//! it (tests/real/deploy.rs), and measure its exposure, unpack special images and run
//! `podman auto-update` in it (tests/real/sandbox.rs).

use crate::host::Scope;
use std::path::Path;

/// The sandbox of a task unit in the system manager. A task runs podup's worker (SQLite in
/// the state directory), `podman pull`, `tag`, `rmi`, `inspect`, `ps` and `auto-update`
/// (registries over the network; podman's storage, where unpacking a layer mounts, chroots
/// and creates device nodes, set-uid files, files of any owner and file capabilities), and
/// `systemctl` / `journalctl` (the manager's socket, D-Bus). Containers never start in the
/// task unit: `systemctl restart` starts them in their own units.
pub const SYSTEM: &[&str] = &[
    "NoNewPrivileges=yes",
    // full, not strict: podman writes its storage wherever storage.conf puts it (graphroot,
    // runroot, /var/tmp), which podup does not know; /usr, /boot, /efi and /etc are read-only.
    "ProtectSystem=full",
    // read-only, not yes: root's registry credentials may be in /root/.docker/config.json.
    "ProtectHome=read-only",
    // Pulls stage blobs in /var/tmp: a private one is fine, they are gone after the pull.
    "PrivateTmp=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "KeyringMode=private",
    "LockPersonality=yes",
    "RestrictRealtime=yes",
    "MemoryDenyWriteExecute=yes",
    "SystemCallArchitectures=native",
    // Unpacking a layer unshares a mount namespace to chroot into it; nothing else is needed.
    "RestrictNamespaces=mnt",
    // AF_UNIX for the manager and D-Bus, AF_INET/AF_INET6 for registries.
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    // What unpacking and removing layers needs as root: owners and modes of any file
    // (CHOWN, DAC_*, FOWNER, FSETID), device nodes and overlay whiteouts (MKNOD), file
    // capabilities (SETFCAP), mounts and overlay xattrs (SYS_ADMIN), the chroot (SYS_CHROOT).
    "CapabilityBoundingSet=CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID \
     CAP_MKNOD CAP_SETFCAP CAP_SYS_ADMIN CAP_SYS_CHROOT",
    // A deny list: podman needs @mount, @privileged (chown, chroot) and @resources (the Go
    // runtime raises its open-files limit), so an allow list like @system-service cannot work.
    "SystemCallFilter=~@clock @cpu-emulation @debug @module @obsolete @raw-io @reboot @swap",
    "SystemCallErrorNumber=EPERM",
    // As podup.service: the worker's database files are podup's alone. podman sets the modes
    // of what it unpacks itself (checked on the bed: a layer pulled under 0077 runs as 1000).
    "UMask=0077",
];

/// `--property=` values of a task unit: its run-time limit, then the sandbox.
///
/// In the system manager the state directory is listed as writable (ProtectHome= or
/// ProtectSystem= would otherwise make it read-only if it lives under /home or /etc). In a
/// user manager there is no sandbox: there these settings imply `PrivateUsers=yes` or
/// `NoNewPrivileges=yes`, and rootless podman needs its own user namespace and the set-uid
/// `newuidmap`.
pub fn unit_properties(scope: Scope, runtime_max_secs: u64, state_dir: &Path) -> Vec<String> {
    let mut properties = vec![format!("RuntimeMaxSec={runtime_max_secs}")];
    if scope == Scope::System {
        properties.extend(SYSTEM.iter().map(|p| p.to_string()));
        properties.push(format!(
            "ReadWritePaths={}",
            quote(&format!("-{}", state_dir.display()))
        ));
    }
    properties
}

/// `ReadWritePaths=` of a system manager's task unit for the files `Follow=` deploys write
/// (docs/policy.md): a Quadlet unit's `90-podup-image.conf` beside its `.container` file, a
/// plain unit's `<unit>.env` in `images_dir`. `ProtectSystem=full` makes `/etc` read-only,
/// where both usually live; the vendor directories under `/usr` stay read-only. Missing
/// directories are skipped (`-`). None in a user manager, which has no sandbox.
pub fn image_file_paths(scope: Scope, quadlet_dirs: &[std::path::PathBuf], images_dir: Option<&Path>) -> Vec<String> {
    if scope != Scope::System {
        return Vec::new();
    }
    quadlet_dirs
        .iter()
        .map(|d| d.as_path())
        .filter(|d| !d.starts_with("/usr"))
        .chain(images_dir)
        .map(|d| format!("ReadWritePaths={}", quote(&format!("-{}", d.display()))))
        .collect()
}

/// A value in double quotes, as systemd unquotes it: a path may hold spaces.
fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_units_get_the_sandbox_and_a_writable_state_dir() {
        let p = unit_properties(Scope::System, 900, Path::new("/var/lib/podup"));
        assert_eq!(p[0], "RuntimeMaxSec=900");
        assert_eq!(
            &p[1..=SYSTEM.len()],
            SYSTEM.iter().map(|s| s.to_string()).collect::<Vec<_>>()
        );
        assert_eq!(p.last().unwrap(), "ReadWritePaths=\"-/var/lib/podup\"");
        assert_eq!(p.len(), SYSTEM.len() + 2);
    }

    #[test]
    fn follow_deploys_may_write_the_image_files_in_etc_but_not_in_usr() {
        let dirs: Vec<std::path::PathBuf> = [
            "/run/containers/systemd",
            "/etc/containers/systemd",
            "/usr/share/containers/systemd",
        ]
        .map(Into::into)
        .to_vec();
        let images = Path::new("/etc/podup/images");
        assert_eq!(
            image_file_paths(Scope::System, &dirs, Some(images)),
            [
                "ReadWritePaths=\"-/run/containers/systemd\"",
                "ReadWritePaths=\"-/etc/containers/systemd\"",
                "ReadWritePaths=\"-/etc/podup/images\"",
            ]
        );
        assert!(image_file_paths(Scope::User, &dirs, Some(images)).is_empty());
    }

    #[test]
    fn user_units_get_only_their_time_limit() {
        let p = unit_properties(Scope::User, 60, Path::new("/home/u/.local/state/podup"));
        assert_eq!(p, ["RuntimeMaxSec=60"]);
    }

    #[test]
    fn a_state_dir_with_spaces_or_quotes_stays_one_path() {
        let p = unit_properties(Scope::System, 1, Path::new("/srv/my \"state\"\\dir"));
        assert_eq!(p.last().unwrap(), r#"ReadWritePaths="-/srv/my \"state\"\\dir""#);
    }

    #[test]
    fn the_sandbox_keeps_what_unpacking_images_needs() {
        // Left out on purpose, each for a reason docs/tasks.md gives: the first three made
        // `podman pull` fail on the real test bed (set-uid files, device nodes, the chroot).
        for forbidden in [
            "RestrictSUIDSGID=",
            "PrivateDevices=",
            "RestrictNamespaces=yes",
            "DevicePolicy=",
            "ProtectProc=",
            "PrivateUsers=",
            "PrivateNetwork=",
        ] {
            assert!(!SYSTEM.iter().any(|p| p.starts_with(forbidden)), "{forbidden}");
        }
    }
}
