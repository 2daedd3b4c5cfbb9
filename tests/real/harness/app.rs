//! The bed the deploy tests share: `container-app.service` running v1 of `acme/app`, and
//! podup serving with that unit as its one service.

use super::{Harness, SECRET, Served, bed_bin, copy_binary, serve_with};

/// A bed with `container-app.service` running v1 of `acme/app` and podup serving.
pub struct Bed {
    pub bed: Harness,
    pub podup: Served,
    pub repository: String,
    /// podup's binary in the bed, as its units run it.
    pub bin: String,
    /// `PODUP_VERIFY_SECS` of podup.service.
    pub verify_secs: String,
}

/// Starts such a bed; `verify_secs` is how long a deployed unit must stay up.
pub fn setup(name: &str, verify_secs: &str) -> Option<(Bed, String)> {
    setup_with(name, verify_secs, false)
}

/// [`setup`]; with `on_disk`, podup is installed at `DIR/usr-local-bin/podup` (the bed's
/// disk), where it survives [`Harness::powercycle`], rather than on the bed's `/run`.
pub fn setup_with(name: &str, verify_secs: &str, on_disk: bool) -> Option<(Bed, String)> {
    setup_env(name, verify_secs, on_disk, |_| Vec::new())
}

/// [`setup_with`], with the variables `extra` gives for podup.service once the bed is up
/// (files it names must be in the bed's directory: podup.service has a private /tmp).
pub fn setup_env(
    name: &str,
    verify_secs: &str,
    on_disk: bool,
    extra: impl FnOnce(&Harness) -> Vec<(String, String)>,
) -> Option<(Bed, String)> {
    let bed = Harness::up(name)?;
    let extra = extra(&bed);
    let v1 = bed.push_image("acme/app", "v1", None);
    let image = bed.image_ref("acme/app");
    let unit = bed.container_unit("app", &image);
    bed.systemctl_ok(&["start", &unit]);
    assert_eq!(bed.running_digest("app"), v1);
    let services = format!("{unit}={image}");
    let bin = if on_disk {
        let bin = bed.dir().join("usr-local-bin/podup").display().to_string();
        bed.exec_ok(&["install", "-D", "-m", "0755", env!("CARGO_BIN_EXE_podup"), &bin]);
        bin
    } else {
        copy_binary(&bed);
        bed_bin(&bed)
    };
    let mut env = vec![
        ("PODUP_SERVICES", services.as_str()),
        ("PODUP_GITHUB_SECRET", SECRET),
        ("PODUP_VERIFY_SECS", verify_secs),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let podup = serve_with(&bed, &env, &bin);
    let repository = image.trim_end_matches(":latest").to_string();
    let verify_secs = verify_secs.to_string();
    Some((
        Bed {
            bed,
            podup,
            repository,
            bin,
            verify_secs,
        },
        v1,
    ))
}

impl Bed {
    /// Deploys `digest` to `container-app.service` through the API; returns the task id.
    pub fn update(&self, digest: &str) -> i64 {
        let r = self.podup.api(
            "POST",
            "/api/v1/services/container-app.service/update",
            &format!(r#"{{"digest": "{digest}"}}"#),
        );
        assert_eq!(r.status, 202, "{}", r.body);
        r.body["task_id"].as_i64().unwrap()
    }

    /// Installs `podup-auto-update.service` and `.timer` as shipped (the binary path
    /// aside), with drop-ins that fire the timer a second after it starts and give the
    /// service `env` (`NAME=value` pairs), and starts the timer.
    pub fn start_timer(&self, env: &[(&str, &str)]) {
        let units = concat!(env!("CARGO_MANIFEST_DIR"), "/units");
        let service = std::fs::read_to_string(format!("{units}/podup-auto-update.service"))
            .unwrap()
            .replace(
                "ExecStart=/usr/local/bin/podup",
                &format!("ExecStart={}", bed_bin(&self.bed)),
            );
        let timer = std::fs::read_to_string(format!("{units}/podup-auto-update.timer")).unwrap();
        let dropin = self.bed.unit_dir().join("podup-auto-update.timer.d");
        std::fs::create_dir_all(&dropin).unwrap();
        std::fs::write(
            dropin.join("test.conf"),
            "[Timer]\nOnActiveSec=1s\nAccuracySec=100ms\nRandomizedDelaySec=0\n",
        )
        .unwrap();
        let sdropin = self.bed.unit_dir().join("podup-auto-update.service.d");
        std::fs::create_dir_all(&sdropin).unwrap();
        let lines: String = env.iter().map(|(k, v)| format!("Environment={k}={v}\n")).collect();
        std::fs::write(sdropin.join("test.conf"), format!("[Service]\n{lines}")).unwrap();
        self.bed.install_unit("podup-auto-update.service", &service);
        self.bed.install_unit("podup-auto-update.timer", &timer);
        self.bed.systemctl_ok(&["start", "podup-auto-update.timer"]);
    }

    pub fn status(&self, t: &serde_json::Value) -> (String, String) {
        (
            t["task"]["status"].as_str().unwrap_or("").into(),
            t["task"]["reason"].as_str().unwrap_or("").into(),
        )
    }
}
