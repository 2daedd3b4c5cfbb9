//! Images and container units for a bed: busybox images pushed to its registry, and
//! `container-NAME.service` units made the way an operator makes them.

use super::{Harness, check, path_str, script_command, stdout_of};

impl Harness {
    /// Builds a busybox image whose `/version` holds `version`, pushes it as `repo` (see
    /// [`Harness::image_ref`]) and returns its digest `sha256:...`. `cmd` is a shell command or
    /// a JSON exec array; the default runs until SIGTERM.
    #[track_caller]
    pub fn push_image(&self, repo: &str, version: &str, cmd: Option<&str>) -> String {
        self.build_and_push(repo, version, cmd, false, 0)
    }

    /// Like [`Harness::push_image`], with a layer of `pad_mib` MiB of random bytes (`/pad`),
    /// for a pull that takes a while.
    #[track_caller]
    pub fn push_padded_image(&self, repo: &str, version: &str, cmd: Option<&str>, pad_mib: u32) -> String {
        self.build_and_push(repo, version, cmd, false, pad_mib)
    }

    /// Like [`Harness::push_image`], plus what real base images carry and unpacking must
    /// keep: under `/special` a set-uid and a set-gid file, a device node (`null`), a file
    /// owned by 1000:1000 (`owned`), a file with a capability (`capped`), and in a second
    /// layer a deleted file (a whiteout).
    #[track_caller]
    pub fn push_image_special(&self, repo: &str, version: &str) -> String {
        self.build_and_push(repo, version, None, true, 0)
    }

    /// Like [`Harness::push_image`], without the `io.containers.autoupdate` label: a unit
    /// running it is podup's to update, never `podman auto-update`'s.
    #[track_caller]
    pub fn push_image_unlabelled(&self, repo: &str, version: &str) -> String {
        self.build(repo, version, None, false, 0, "")
    }

    #[track_caller]
    fn build_and_push(&self, repo: &str, version: &str, cmd: Option<&str>, special: bool, pad_mib: u32) -> String {
        self.build(repo, version, cmd, special, pad_mib, "registry")
    }

    #[track_caller]
    fn build(
        &self,
        repo: &str,
        version: &str,
        cmd: Option<&str>,
        special: bool,
        pad_mib: u32,
        autoupdate: &str,
    ) -> String {
        let reference = self.image_ref(repo);
        let mut args = vec!["image", path_str(self.dir()), reference.as_str(), version];
        args.extend(cmd);
        let output = script_command(self.kind(), &args)
            .env("PODUP_IMAGE_SPECIAL", if special { "1" } else { "0" })
            .env("PODUP_IMAGE_PAD_MB", pad_mib.to_string())
            .env("PODUP_IMAGE_AUTOUPDATE", autoupdate)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.kind().script()));
        let output = check(output, &format!("harness image {reference} {version}"));
        let stdout = stdout_of(&output);
        let digest = stdout.lines().last().unwrap_or("").trim().to_string();
        assert!(digest.starts_with("sha256:"), "image: no digest in {stdout:?}");
        digest
    }

    /// Makes `container-NAME.service` run `image` the way an operator would: `podman create`
    /// (no network), `podman generate systemd --new --name --files`, remove the container,
    /// daemon-reload. Returns the unit name. The unit is installed, not started.
    #[track_caller]
    pub fn container_unit(&self, name: &str, image: &str) -> String {
        self.exec_ok(&["podman", "create", "-q", "--name", name, "--network=none", image]);
        // --stop-timeout 2: an image whose PID 1 ignores SIGTERM stops in 2 s, not 10
        let generate = "cd \"$PODUP_UNIT_DIR\" && \
                        podman generate systemd --new --name --files --stop-timeout 2 \"$1\"";
        check(
            self.exec(&["sh", "-c", generate, "sh", name]),
            &format!("podman generate systemd --new --name --files {name}"),
        );
        self.exec_ok(&["podman", "rm", name]);
        self.systemctl_ok(&["daemon-reload"]);
        let unit = format!("container-{name}.service");
        assert!(self.unit_dir().join(&unit).is_file(), "{unit} was not generated");
        unit
    }

    /// The digest of the image container `name` runs (`podman inspect --format {{.ImageDigest}}`).
    #[track_caller]
    pub fn running_digest(&self, name: &str) -> String {
        self.exec_ok(&["podman", "inspect", name, "--format", "{{.ImageDigest}}"])
    }
}
