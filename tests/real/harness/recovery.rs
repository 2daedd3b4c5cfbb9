//! What the crash-safety tests (issue 27) do to the deploy bed: pause a deploy's worker at
//! a named step (`PODUP_TEST_PAUSE_AT`), kill or stop it there, run a recovery by each of
//! its three paths, and read what the host shows afterwards (the image the unit's tag
//! points at, the image its container runs) and which recovery tasks podup recorded.

use super::app::Bed;
use super::{check, stdout_of, wait_until};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

/// `PODUP_VERIFY_SECS` of the recovery beds: short, so that the matrix stays cheap.
pub const RECOVERY_VERIFY_SECS: &str = "2";

/// An image that starts, then exits 1 a second later: it fails verification.
pub const BAD_IMAGE: &str = "echo started $(cat /version); sleep 1; exit 1";

/// How a recovery is brought about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecoverBy {
    /// The next worker for the unit: a new deploy repairs first, then deploys its own target.
    NextWorker,
    /// The timer job: the shipped `podup-auto-update.service`, started as its timer would.
    Timer,
    /// `podup recover` on the command line.
    Cli,
}

impl RecoverBy {
    pub fn name(self) -> &'static str {
        match self {
            RecoverBy::NextWorker => "next worker",
            RecoverBy::Timer => "timer job",
            RecoverBy::Cli => "podup recover",
        }
    }
}

impl Bed {
    /// Deploys a fresh image (bad or good), pushed as `acme/app:TAG` (the registry's
    /// `latest` stays), and waits until its worker is paused at `point`; returns the task
    /// id, the image the unit ran before and the target.
    pub fn paused_deploy(&self, tag: &str, point: &str, bad: bool) -> (i64, String, String) {
        let v_old = self.bed.running_digest("app");
        let target = self
            .bed
            .push_image(&format!("acme/app:{tag}"), tag, bad.then_some(BAD_IMAGE));
        self.set_pause(Some(point), true);
        let id = self.update(&target);
        self.wait_paused(id, point);
        (id, v_old, target)
    }

    /// Runs the recovery `by`; returns the image that must run afterwards, given the one
    /// the recovery itself must leave (`recovered`). The next worker deploys a fresh good
    /// image (`acme/app:TAG`) after it repairs; the timer job finds the registry's `latest`
    /// at `recovered`, so it has nothing to update.
    pub fn recover(&self, by: RecoverBy, recovered: &str, tag: &str, what: &str) -> String {
        match by {
            RecoverBy::NextWorker => {
                let next = self.bed.push_image(&format!("acme/app:{tag}"), tag, None);
                let t = self.podup.wait_task(self.update(&next), Duration::from_secs(120));
                assert_eq!(t["task"]["status"], "succeeded", "{what}: the next deploy: {t:#}");
                next
            }
            RecoverBy::Timer => {
                self.registry_latest(recovered);
                let out = self.run_timer_job();
                eprintln!("{what}: timer job: {}", output_text(&out));
                self.assert_timer_left_app_alone(what);
                recovered.to_string()
            }
            RecoverBy::Cli => {
                let out = self.recover_cli();
                eprintln!("{what}: podup recover: {}", output_text(&out));
                recovered.to_string()
            }
        }
    }

    /// The directory of the pause files (`PODUP_TEST_PAUSE_DIR`), on the bed's disk, where
    /// the sandboxed task units can write.
    pub fn pause_dir(&self) -> PathBuf {
        self.bed.dir().join("pause")
    }

    /// The file a worker paused at `point` waits on.
    pub fn pause_file(&self, id: i64, point: &str) -> PathBuf {
        self.pause_dir().join(format!("task-{id}.{point}"))
    }

    /// Writes podup.service's pause drop-in: workers dispatched from now on pause at
    /// `point`, or nowhere with `None` (the variables are then not set at all). Takes
    /// effect at podup.service's next start: with `restart`, it is stopped now (the socket
    /// starts it again on the next request); without, at the next boot.
    pub fn set_pause(&self, point: Option<&str>, restart: bool) {
        let dir = self.bed.unit_dir().join("podup.service.d");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(self.pause_dir()).unwrap();
        // (a matrix deploys to one image far more often than the default 6 in 10 minutes)
        let mut text = "[Service]\nEnvironment=PODUP_LIMIT_IMAGE=1000/10m\n".to_string();
        if let Some(p) = point {
            text += &format!(
                "Environment=PODUP_TEST_PAUSE_AT={p}\nEnvironment=PODUP_TEST_PAUSE_DIR={}\n",
                self.pause_dir().display()
            );
        }
        std::fs::write(dir.join("pause.conf"), text).unwrap();
        if restart {
            self.bed.systemctl_ok(&["daemon-reload"]);
            self.bed.systemctl_ok(&["stop", "podup.service"]);
        }
    }

    /// Waits until task `id`'s worker is paused at `point` (its pause file exists).
    #[track_caller]
    pub fn wait_paused(&self, id: i64, point: &str) {
        let file = self.pause_file(id, point);
        let mut ended = None;
        let paused = wait_until(Duration::from_secs(90), || {
            if file.exists() {
                return true;
            }
            let t = self.podup.task(id);
            if !matches!(t["task"]["status"].as_str(), Some("pending" | "running")) {
                ended = Some(t);
                return true;
            }
            false
        });
        if let Some(t) = ended.filter(|_| !file.exists()) {
            panic!("task {id} ended before it paused at {point}: {t:#}");
        }
        assert!(paused, "task {id} never paused at {point}: {:#}", self.podup.task(id));
    }

    /// SIGKILLs task `id`'s worker unit and waits until the manager has collected it.
    #[track_caller]
    pub fn kill_worker(&self, id: i64) {
        let unit = format!("podup-task-{id}.service");
        self.bed.systemctl_ok(&["kill", "--signal=SIGKILL", &unit]);
        let gone = wait_until(Duration::from_secs(20), || {
            self.bed.unit_property(&unit, "LoadState") == "not-found"
        });
        assert!(gone, "{unit} is still loaded after SIGKILL");
    }

    /// The image id the unit's tag (`acme/app:latest` in the bed's storage) points at.
    #[track_caller]
    pub fn tag_image_id(&self) -> String {
        let image = self.bed.image_ref("acme/app");
        self.bed
            .exec_ok(&["podman", "image", "inspect", "--format", "{{.Id}}", &image])
    }

    /// The image id container `app` runs.
    #[track_caller]
    pub fn running_image_id(&self) -> String {
        self.bed
            .exec_ok(&["podman", "inspect", "app", "--format", "{{.Image}}"])
    }

    /// The invariant of issue 27: the unit is active, its container runs `digest`, and the
    /// unit's tag points at the image the container runs.
    #[track_caller]
    pub fn assert_runs(&self, digest: &str, what: &str) {
        let active = wait_until(Duration::from_secs(20), || {
            self.bed.unit_property("container-app.service", "ActiveState") == "active"
        });
        assert!(active, "{what}: container-app.service is not active");
        assert_eq!(self.bed.running_digest("app"), digest, "{what}: the image that runs");
        assert_eq!(
            self.tag_image_id(),
            self.running_image_id(),
            "{what}: the unit's tag points at the image its container runs"
        );
    }

    /// Points the registry's `acme/app:latest` at `digest` (the same manifest, so the same
    /// digest), so that the timer job's `podman auto-update` finds nothing newer than it.
    #[track_caller]
    pub fn registry_latest(&self, digest: &str) {
        let from = format!("docker://{}@{digest}", self.repository);
        let to = format!("docker://{}:latest", self.repository);
        check(
            self.bed.exec(&[
                "skopeo",
                "copy",
                "-q",
                "--preserve-digests",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                &from,
                &to,
            ]),
            "skopeo copy (registry latest)",
        );
    }

    /// `podup recover` in the bed, as an operator runs it (with podup.service's state
    /// directory and verification window).
    pub fn recover_cli(&self) -> Output {
        let db = super::state_db(&self.bed);
        let state = format!("PODUP_STATE_DIR={}", db.parent().unwrap().display());
        let verify = format!("PODUP_VERIFY_SECS={}", self.verify_secs);
        self.bed.exec(&["env", &state, &verify, &self.bin, "recover"])
    }

    /// Runs the timer job once: the shipped `podup-auto-update.service` (installed the first
    /// time), started and waited for as its timer starts it. Its result is not checked: it
    /// fails on purpose when a unit was rolled back.
    pub fn run_timer_job(&self) -> Output {
        let name = "podup-auto-update.service";
        if !self.bed.unit_dir().join(name).exists() {
            let dir = self.bed.unit_dir().join(format!("{name}.d"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join("test.conf"),
                format!("[Service]\nEnvironment=PODUP_VERIFY_SECS={}\n", self.verify_secs),
            )
            .unwrap();
            let units = concat!(env!("CARGO_MANIFEST_DIR"), "/units");
            let text = std::fs::read_to_string(format!("{units}/{name}"))
                .unwrap()
                .replace("ExecStart=/usr/local/bin/podup", &format!("ExecStart={}", self.bin));
            self.bed.install_unit(name, &text);
        }
        self.bed.systemctl(&["start", name])
    }

    /// After [`Bed::run_timer_job`]: the newest auto-update task found nothing to update in
    /// container-app.service (its unit row is `unchanged`), so what runs is what the
    /// recovery left, not a fresh update from the registry.
    #[track_caller]
    pub fn assert_timer_left_app_alone(&self, what: &str) {
        let list = self.podup.api("GET", "/api/v1/tasks?kind=auto-update&limit=1", "");
        let id = list.body["tasks"][0]["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("{what}: no auto-update task: {}", list.body));
        let t = self.podup.task(id);
        let row = t["units"]
            .as_array()
            .and_then(|u| u.iter().find(|r| r["unit"] == "container-app.service"))
            .unwrap_or_else(|| panic!("{what}: no container-app row: {t:#}"));
        assert_eq!(row["status"], "unchanged", "{what}: the timer job's update: {t:#}");
    }

    /// Every recovery task (kind `maintenance`, reason `recovered`), oldest first.
    pub fn recovery_tasks(&self) -> Vec<Value> {
        let r = self.podup.api("GET", "/api/v1/tasks?kind=maintenance&limit=500", "");
        assert_eq!(r.status, 200, "{}", r.body);
        let mut ids: Vec<i64> = r.body["tasks"]
            .as_array()
            .map(|l| l.iter().filter_map(|t| t["id"].as_i64()).collect())
            .unwrap_or_default();
        ids.sort();
        ids.into_iter()
            .map(|id| self.podup.task(id))
            .filter(|t| t["task"]["trigger_reason"] == "recovered")
            .collect()
    }

    /// The recovery tasks that repaired lost task `lost`.
    pub fn recoveries_of(&self, lost: i64) -> Vec<Value> {
        self.recovery_tasks()
            .into_iter()
            .filter(|t| t["task"]["spec"]["recovers"].as_i64() == Some(lost))
            .collect()
    }

    /// The one recovery task that repaired lost task `lost`, checked for its kind, reason
    /// and mode; panics when there is none or more than one.
    #[track_caller]
    pub fn recovery_of(&self, lost: i64) -> Value {
        let of = self.recoveries_of(lost);
        assert_eq!(
            of.len(),
            1,
            "one recovery task for task {lost}: {:#?}",
            self.recovery_tasks()
        );
        let t = of[0].clone();
        assert_eq!(t["task"]["kind"], "maintenance", "{t:#}");
        assert_eq!(t["task"]["trigger_reason"], "recovered", "{t:#}");
        assert_eq!(t["task"]["spec"]["mode"], "recover", "{t:#}");
        // Its log says what it found, and the lost task's log names it.
        let said = |task: &Value, text: &str| {
            task["logs"].as_array().is_some_and(|l| {
                l.iter()
                    .any(|line| line["message"].as_str().is_some_and(|m| m.contains(text)))
            })
        };
        assert!(said(&t, &format!("task {lost} was lost")), "{t:#}");
        let id = t["task"]["id"].as_i64().unwrap_or_default();
        let lost_task = self.podup.task(lost);
        assert!(said(&lost_task, &format!("recovery task {id}")), "{lost_task:#}");
        t
    }

    /// Task `id` as lost: `unknown`, reason `worker_lost`.
    #[track_caller]
    pub fn assert_lost(&self, id: i64) {
        let t = self.podup.task(id);
        assert_eq!(
            (t["task"]["status"].as_str(), t["task"]["reason"].as_str()),
            (Some("unknown"), Some("worker_lost")),
            "the killed task says it was lost: {t:#}"
        );
    }
}

/// Stdout and stderr of a command, for a failure message.
pub fn output_text(o: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        o.status,
        stdout_of(o),
        String::from_utf8_lossy(&o.stderr).trim_end()
    )
}
