//! Services with an update policy (`[X-PodUp]`) in a bed, for the policy tests: on trixie a
//! Quadlet `.container` file (the real generator makes `NAME.service`), on bookworm the plain
//! `container-NAME.service` that `podman generate systemd` makes, with the section added.
//! podup serves them in the user scope, so that it reads the unit and Quadlet directories
//! the bed's manager reads; the timer job and the CLI get the same settings.

use super::{Harness, Kind, SECRET, Served, bed_bin, copy_binary, serve_with, wait_until};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Wall-clock milliseconds, as podup's `*_ms` fields count them.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// One service of a [`PolicyBed`].
pub struct Service {
    /// The container's name (`ContainerName=`, `podman inspect NAME`).
    pub name: String,
    /// `NAME.service` (Quadlet) or `container-NAME.service`.
    pub unit: String,
    /// The reference the unit runs, `localhost:PORT/acme/app:latest`.
    pub image: String,
    /// The reference without its tag, as deliveries name it.
    pub repository: String,
    /// The tag the unit runs.
    pub tag: String,
}

/// A bed whose services each have their policy, and podup serving them.
pub struct PolicyBed {
    pub bed: Harness,
    pub podup: Served,
    /// podup's binary in the bed.
    pub bin: String,
    /// podup.service's settings: also the timer job's and the CLI's.
    pub env: Vec<(String, String)>,
}

impl Harness {
    /// Makes a unit run `image` as container `name`, with `policy` (lines `Key=value`; empty:
    /// no section) in `[X-PodUp]`: a Quadlet file on trixie, a generated unit on bookworm.
    /// Returns the unit's name. The unit is installed, not started.
    #[track_caller]
    pub fn policy_unit(&self, name: &str, image: &str, policy: &str) -> String {
        let section = match policy.trim() {
            "" => String::new(),
            p => format!("\n[X-PodUp]\n{p}\n"),
        };
        match self.kind() {
            Kind::Trixie => {
                let file = self.quadlet_dir().join(format!("{name}.container"));
                let text = format!(
                    "[Unit]\nDescription=podup policy test {name}\n\n[Container]\nImage={image}\n\
                     ContainerName={name}\nAutoUpdate=registry\nNetwork=none\nStopTimeout=2\n{section}"
                );
                std::fs::write(&file, text).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
                self.systemctl_ok(&["daemon-reload"]);
                let unit = format!("{name}.service");
                let generated = self.systemctl_ok(&["cat", &unit]);
                assert!(generated.contains(image), "Quadlet made {unit}: {generated}");
                unit
            }
            Kind::Bookworm => {
                let unit = self.container_unit(name, image);
                let path = self.unit_dir().join(&unit);
                let mut text = std::fs::read_to_string(&path).unwrap() + &section;
                if policy.contains("Follow=") {
                    text = self.image_from_env_file(&unit, image, &text);
                }
                self.install_unit(&unit, &text);
                unit
            }
        }
    }

    /// `text` (a generated unit running `image`) made to take its image from the environment
    /// file podup owns, as docs/policy.md asks of a plain unit that `Follow=` moves:
    /// `EnvironmentFile=` of `$XDG_CONFIG_HOME/podup/images/UNIT.env` (written, holding
    /// `PODUP_IMAGE=image`) and `${PODUP_IMAGE}` in `ExecStart=`.
    pub fn image_from_env_file(&self, unit: &str, image: &str, text: &str) -> String {
        let file = self.images_env_file(unit);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, format!("PODUP_IMAGE={image}\n")).unwrap();
        let mut out = String::new();
        for line in text.lines() {
            match line {
                l if l.starts_with('#') => out += l,
                "[Service]" => out += &format!("[Service]\nEnvironmentFile={}", file.display()),
                l => out += &l.replace(image, "${PODUP_IMAGE}"),
            }
            out.push('\n');
        }
        assert!(out.contains("${PODUP_IMAGE}"), "no image in ExecStart=: {text}");
        out
    }

    /// Where podup keeps the image of plain unit `unit` that `Follow=` moves (user scope).
    pub fn images_env_file(&self, unit: &str) -> PathBuf {
        PathBuf::from(self.env_var("XDG_CONFIG_HOME")).join(format!("podup/images/{unit}.env"))
    }

    /// Writes `text` as the drop-in `NAME` of unit `unit` (whose container is `name`):
    /// `NAME.container.d/` on trixie, `UNIT.d/` on bookworm. Returns its path.
    #[track_caller]
    pub fn policy_dropin(&self, name: &str, unit: &str, file: &str, text: &str) -> PathBuf {
        let dir = match self.kind() {
            Kind::Trixie => self.quadlet_dir().join(format!("{name}.container.d")),
            Kind::Bookworm => self.unit_dir().join(format!("{unit}.d")),
        };
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self.systemctl_ok(&["daemon-reload"]);
        path
    }

    /// The directory the bed's Quadlet generator reads.
    pub fn quadlet_dir(&self) -> PathBuf {
        PathBuf::from(self.env_var("PODUP_QUADLET_DIR"))
    }

    /// When container `name` last started (`podman inspect --format {{.State.StartedAt}}`).
    #[track_caller]
    pub fn started_at(&self, name: &str) -> String {
        self.exec_ok(&["podman", "inspect", name, "--format", "{{.State.StartedAt}}"])
    }

    /// What `/version` says in container `name`.
    #[track_caller]
    pub fn version_in(&self, name: &str) -> String {
        self.exec_ok(&["podman", "exec", name, "cat", "/version"])
    }

    /// `systemctl --user list-timers --all`, as an operator reads it.
    #[track_caller]
    pub fn timers(&self) -> String {
        self.systemctl_ok(&["list-timers", "--all", "--no-pager"])
    }
}

/// Starts a bed with one service per `(name, repo, policy)`, each running `v1` of `repo` (a
/// repository of the bed's registry, `:TAG` optional), and podup serving them all. Returns
/// the bed and, per service, it and the digest it runs.
pub fn policy_bed(
    test: &str,
    verify_secs: &str,
    services: &[(&str, &str, &str)],
) -> Option<(PolicyBed, Vec<(Service, String)>)> {
    policy_bed_in(test, verify_secs, services, Scope::User)
}

/// Which manager podup talks to, and where it reads unit and Quadlet files.
#[derive(Clone, Copy, PartialEq)]
pub enum Scope {
    /// The user manager's directories (`PODUP_SYSTEMD_SCOPE=user`): task units unsandboxed.
    User,
    /// As root on a host (the default): `/etc/containers/systemd` and task units in the
    /// system manager's sandbox. The bed's generator reads only the user directory, so that
    /// directory is bind-mounted at `/etc/containers/systemd` inside the bed (trixie only:
    /// a bookworm bed's `/etc` is the host's).
    System,
}

/// [`policy_bed`] with podup in `scope`.
pub fn policy_bed_in(
    test: &str,
    verify_secs: &str,
    services: &[(&str, &str, &str)],
    scope: Scope,
) -> Option<(PolicyBed, Vec<(Service, String)>)> {
    let bed = Harness::up(test)?;
    if scope == Scope::System {
        assert_eq!(bed.kind(), Kind::Trixie, "a bookworm bed's /etc is the host's");
        let dir = bed.quadlet_dir().display().to_string();
        bed.exec_ok(&["mkdir", "-p", "/etc/containers/systemd"]);
        bed.exec_ok(&["mount", "--bind", &dir, "/etc/containers/systemd"]);
    }
    let mut made = Vec::new();
    for (name, repo, policy) in services {
        let (_, tag) = repo.rsplit_once(':').unwrap_or((repo, "latest"));
        let v1 = bed.push_image(repo, tag, None);
        let image = bed.image_ref(repo);
        let unit = bed.policy_unit(name, &image, policy);
        bed.systemctl_ok(&["start", &unit]);
        assert_eq!(bed.running_digest(name), v1, "{unit} runs v1");
        let repository = image.rsplit_once(':').unwrap().0.to_string();
        let service = Service {
            name: name.to_string(),
            unit,
            image,
            repository,
            tag: tag.to_string(),
        };
        made.push((service, v1));
    }
    let list: Vec<String> = made.iter().map(|(s, _)| format!("{}={}", s.unit, s.image)).collect();
    let env: Vec<(String, String)> = [
        ("PODUP_SERVICES", list.join(",").as_str()),
        ("PODUP_GITHUB_SECRET", SECRET),
        ("PODUP_VERIFY_SECS", verify_secs),
        // root in the bed, but the unit and Quadlet files are the user manager's
        (
            "PODUP_SYSTEMD_SCOPE",
            if scope == Scope::User { "user" } else { "system" },
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    copy_binary(&bed);
    let bin = bed_bin(&bed);
    let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let podup = serve_with(&bed, &pairs, &bin);
    Some((PolicyBed { bed, podup, bin, env }, made))
}

impl PolicyBed {
    /// `podup ARGS...` inside the bed, with podup.service's settings and state directory,
    /// as an operator runs it there.
    pub fn cli(&self, args: &[&str]) -> Output {
        let db = super::state_db(&self.bed);
        let mut argv = vec![
            "env".to_string(),
            format!("PODUP_STATE_DIR={}", db.parent().unwrap().display()),
        ];
        argv.extend(self.env.iter().map(|(k, v)| format!("{k}={v}")));
        argv.push(self.bin.clone());
        argv.extend(args.iter().map(|a| a.to_string()));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        self.bed.exec(&argv)
    }

    /// Sends the signed GitHub delivery saying `service`'s tag is now `digest`; returns the
    /// answer's body after checking its status is 202.
    #[track_caller]
    pub fn deliver(&self, service: &Service, digest: &str, delivery: &str) -> Value {
        let r = self.podup.webhook(&service.repository, &service.tag, digest, delivery);
        assert_eq!(r.status, 202, "{}", r.body);
        r.body
    }

    /// The task's `status` and `reason`.
    pub fn status_of(&self, id: i64) -> (String, String) {
        let t = self.podup.task(id);
        (
            t["task"]["status"].as_str().unwrap_or("").into(),
            t["task"]["reason"].as_str().unwrap_or("").into(),
        )
    }

    /// Polls until task `id` has `status`; panics with the task after `limit`.
    #[track_caller]
    pub fn wait_for_status(&self, id: i64, status: &str, limit: Duration) -> Value {
        let ok = wait_until(limit, || self.podup.task(id)["task"]["status"] == status);
        let t = self.podup.task(id);
        assert!(ok, "task {id} never became {status} within {limit:?}: {t:#}");
        t
    }

    /// Runs the timer job once, as `podup-auto-update.timer` starts it: the shipped
    /// `podup-auto-update.service` with podup.service's settings (and `extra`), started and
    /// waited for. Returns whether it succeeded (it fails when a unit was rolled back).
    pub fn run_timer_job(&self, extra: &[(&str, &str)]) -> bool {
        let name = "podup-auto-update.service";
        let dir = self.bed.unit_dir().join(format!("{name}.d"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut conf = String::from("[Service]\nTimeoutStartSec=600\n");
        for (k, v) in self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(extra.iter().copied())
        {
            conf += &format!("Environment=\"{k}={v}\"\n");
        }
        std::fs::write(dir.join("test.conf"), conf).unwrap();
        let units = concat!(env!("CARGO_MANIFEST_DIR"), "/units");
        let text = std::fs::read_to_string(format!("{units}/{name}"))
            .unwrap()
            .replace("ExecStart=/usr/local/bin/podup", &format!("ExecStart={}", self.bin));
        self.bed.install_unit(name, &text);
        self.bed.systemctl(&["start", name]).status.success()
    }
}
