//! Many container units on one bed at once, as a host with dozens of services has them
//! (issue 24): images copied between the bed's repositories by `skopeo copy` (one build,
//! many repositories), container units made by one shell in the bed rather than four
//! commands each, and a pod of two containers made with `podman generate systemd`.

use super::{Harness, check};

impl Harness {
    /// Copies `from` (a repository of this bed's registry, `acme/x:tag`) to each of `to`
    /// (`acme/y`, tagged `latest`), from the host: no build, the same digest everywhere.
    #[track_caller]
    pub fn copy_image(&self, from: &str, to: &[String]) {
        let reg = self.registry();
        for repo in to {
            let out = std::process::Command::new("skopeo")
                .args(["copy", "-q", "--src-tls-verify=false", "--dest-tls-verify=false"])
                .arg(format!("docker://{reg}/{from}"))
                .arg(format!("docker://{}", self.image_ref(repo)))
                .output()
                .unwrap_or_else(|e| panic!("cannot run skopeo: {e}"));
            check(out, &format!("skopeo copy {from} {repo}"));
        }
    }

    /// Makes `container-NAME.service` for each `(name, image)` the way
    /// [`Harness::container_unit`] does, in one shell inside the bed, and one
    /// daemon-reload. Returns the unit names; the units are installed, not started.
    #[track_caller]
    pub fn container_units(&self, units: &[(String, String)]) -> Vec<String> {
        let script = "cd \"$PODUP_UNIT_DIR\" || exit 1
while [ $# -gt 0 ]; do
  podman create -q --name \"$1\" --network=none \"$2\" >/dev/null || exit 1
  podman generate systemd --new --name --files --stop-timeout 2 \"$1\" >/dev/null || exit 1
  podman rm \"$1\" >/dev/null || exit 1
  shift 2
done
systemctl --user daemon-reload";
        let mut argv = vec!["sh", "-c", script, "sh"];
        for (name, image) in units {
            argv.push(name);
            argv.push(image);
        }
        check(self.exec(&argv), "podman generate systemd for the fleet");
        units
            .iter()
            .map(|(name, _)| {
                let unit = format!("container-{name}.service");
                assert!(self.unit_dir().join(&unit).is_file(), "{unit} was not generated");
                unit
            })
            .collect()
    }

    /// Makes `pod-POD.service` and a `container-NAME.service` for each `(name, image)` in
    /// it, with `podman generate systemd --new --name --files` on a pod (the container
    /// units carry `BindsTo=pod-POD.service` and `After=pod-POD.service`; the pod unit
    /// `Wants=` them). The pod's infra container runs `infra` (the bed has no pause
    /// image). Returns the pod's unit and the containers' units; nothing is started.
    #[track_caller]
    pub fn pod_units(&self, pod: &str, infra: &str, containers: &[(String, String)]) -> (String, Vec<String>) {
        let script = "cd \"$PODUP_UNIT_DIR\" || exit 1
pod=$1 infra=$2; shift 2
podman pod create --name \"$pod\" --network none --infra-image \"$infra\" >/dev/null || exit 1
while [ $# -gt 0 ]; do
  podman create -q --pod \"$pod\" --name \"$1\" \"$2\" >/dev/null || exit 1
  shift 2
done
podman generate systemd --new --name --files --stop-timeout 2 \"$pod\" >/dev/null || exit 1
podman pod rm -f \"$pod\" >/dev/null || exit 1
systemctl --user daemon-reload";
        let mut argv = vec!["sh", "-c", script, "sh", pod, infra];
        for (name, image) in containers {
            argv.push(name);
            argv.push(image);
        }
        check(self.exec(&argv), &format!("podman generate systemd for pod {pod}"));
        let pod_unit = format!("pod-{pod}.service");
        assert!(
            self.unit_dir().join(&pod_unit).is_file(),
            "{pod_unit} was not generated"
        );
        let units = containers
            .iter()
            .map(|(n, _)| format!("container-{n}.service"))
            .collect();
        (pod_unit, units)
    }

    /// When container `name` last started, in nanoseconds since the epoch.
    #[track_caller]
    pub fn started_ns(&self, name: &str) -> i64 {
        let text = self.exec_ok(&["podman", "inspect", name, "--format", "{{.State.StartedAt.UnixNano}}"]);
        text.parse()
            .unwrap_or_else(|e| panic!("StartedAt of {name}: {text:?}: {e}"))
    }

    /// The digests the named containers run, in one `podman inspect`; a container that
    /// is not there has "".
    pub fn running_digests(&self, names: &[String]) -> Vec<String> {
        let mut argv = vec![
            "sh",
            "-c",
            "for n; do podman inspect \"$n\" --format '{{.ImageDigest}}' 2>/dev/null || echo; done",
            "sh",
        ];
        argv.extend(names.iter().map(String::as_str));
        let out = self.exec(&argv);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .collect()
    }
}
