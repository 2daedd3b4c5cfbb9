//! The packages (issue 26), as an operator meets them. The .deb installed with `dpkg -i`
//! into the trixie bed's root file system (an overlay thrown away with the bed), whose real
//! systemd 257 manager then runs the installed binary and units: nothing enabled or started
//! by the install, the timer present and disabled, socket activation answering `/health`
//! from `/usr/bin/podup`; upgraded over itself, removed (the conffile stays) and purged
//! (nothing left of the `dpkg -c` list, `/var/lib/podup` kept as the purge says, or removed
//! with `PODUP_PURGE_STATE=1`). The .rpm checked with Debian's `rpm`: the same files as the
//! .deb (`rpm -qpl` against `dpkg -c`) and scriptlets that enable nothing (`--scripts`).
//!
//! Both packages come from `make deb rpm`, run once per test process so that they hold the
//! code under test: the first run builds the release binary (minutes), later runs reuse it.

use crate::harness::{Harness, free_port, get, shout, stdout_of, wait_until};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const NOT_ON_BOOKWORM: &str = "the bookworm bed runs on this machine's own root file system, \
     where dpkg -i would install podup onto the host; the trixie bed's root is a throw-away overlay";

const NOT_ON_TRIXIE: &str = "the .rpm is checked once, on the host (it needs no bed)";

/// Units the package installs, system and user alike.
const UNITS: &[&str] = &[
    "podup.socket",
    "podup.service",
    "podup-cgi.socket",
    "podup-cgi@.service",
    "podup-auto-update.timer",
    "podup-auto-update.service",
    "podup-recover.service",
];

/// Paths the package installs that are not the same on Fedora/RHEL: (the .deb's, the .rpm's).
const RPM_PATHS: &[(&str, &str)] = &[
    ("/lib/systemd/system/", "/usr/lib/systemd/system/"),
    ("/usr/share/zsh/vendor-completions/", "/usr/share/zsh/site-functions/"),
];

/// What Debian's policy alone asks for: in the .deb only.
const DEB_ONLY: &[&str] = &["/usr/share/doc/podup/copyright"];

/// The state directory a purge keeps unless `PODUP_PURGE_STATE=1`.
const STATE_DIR: &str = "/var/lib/podup";

struct Packages {
    deb: PathBuf,
    rpm: PathBuf,
}

/// The .deb and .rpm of the checkout, built by `make deb rpm` once per test process.
fn packages() -> &'static Packages {
    static BUILT: OnceLock<Packages> = OnceLock::new();
    BUILT.get_or_init(|| {
        let started = Instant::now();
        let out = Command::new("make")
            .args(["-s", "deb", "rpm"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cannot run make");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "make deb rpm: {}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let path = |ext: &str| {
            let line = stdout
                .lines()
                .rfind(|l| l.ends_with(ext))
                .unwrap_or_else(|| panic!("make deb rpm named no {ext} file:\n{stdout}"));
            Path::new(env!("CARGO_MANIFEST_DIR")).join(line.trim())
        };
        shout(&format!("make deb rpm took {:.1} s", started.elapsed().as_secs_f64()));
        Packages {
            deb: path(".deb"),
            rpm: path(".rpm"),
        }
    })
}

/// Stdout of a host command that must succeed.
#[track_caller]
fn host(argv: &[&str]) -> String {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", argv[0]));
    assert!(
        out.status.success(),
        "{}: {}\n{}",
        argv.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every path in the .deb (`dpkg -c`), directories with no trailing slash.
fn deb_paths(deb: &Path) -> Vec<String> {
    host(&["dpkg", "-c", deb.to_str().unwrap()])
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(|p| p.trim_start_matches('.').trim_end_matches('/').to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The files (not directories) in the .deb.
fn deb_files(deb: &Path) -> BTreeSet<String> {
    host(&["dpkg", "-c", deb.to_str().unwrap()])
        .lines()
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(|p| p.trim_start_matches('.').to_string())
        .collect()
}

/// Runs `argv` in the bed; panics unless it succeeds; returns stdout and stderr together.
#[track_caller]
fn bed_ok(bed: &Harness, argv: &[&str]) -> String {
    let out = bed.exec(argv);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{}: {}\n{text}", argv.join(" "), out.status);
    text
}

/// The `paths` that exist in the bed.
fn existing(bed: &Harness, paths: &[String]) -> BTreeSet<String> {
    let script = "for p; do if [ -e \"$p\" ] || [ -L \"$p\" ]; then echo \"$p\"; fi; done";
    let mut argv = vec!["sh", "-c", script, "sh"];
    argv.extend(paths.iter().map(String::as_str));
    bed_ok(bed, &argv).lines().map(str::to_string).collect()
}

fn exists(bed: &Harness, path: &str) -> bool {
    bed.exec(&["test", "-e", path]).status.success()
}

/// `systemctl --user show` of one property (the bed's manager loads the user units).
fn property(bed: &Harness, unit: &str, prop: &str) -> String {
    bed.unit_property(unit, prop)
}

/// `GET /health` through the installed socket, with the process that answered.
fn health(bed: &Harness, addr: SocketAddr) -> String {
    let answer = get(addr, "/health").unwrap_or_else(|e| panic!("GET /health on {addr}: {e}"));
    assert_eq!(answer.status, 200, "{}", answer.body);
    let pid = property(bed, "podup.service", "MainPID");
    let exe = bed_ok(bed, &["readlink", &format!("/proc/{pid}/exe")]);
    exe.trim().to_string()
}

on_kinds!(deb_installs_enables_nothing_serves_upgrades_and_purges, only trixie, NOT_ON_BOOKWORM);
fn deb_installs_enables_nothing_serves_upgrades_and_purges() {
    let Some(bed) = Harness::up("package-deb") else {
        return;
    };
    let built = packages();
    let deb_in_bed = bed.dir().join("podup.deb");
    std::fs::copy(&built.deb, &deb_in_bed).unwrap();
    let deb = deb_in_bed.to_str().unwrap();
    let listed = deb_paths(&built.deb);
    let before = existing(&bed, &listed);

    // install: the units are known, nothing is enabled or started, the user is told how
    let said = bed_ok(&bed, &["dpkg", "-i", deb]);
    assert!(said.contains("nothing is enabled or started"), "{said}");
    assert!(said.contains("systemctl enable --now podup.socket"), "{said}");
    bed.systemctl_ok(&["daemon-reload"]);
    for unit in UNITS {
        if !unit.ends_with("@.service") {
            let path = property(&bed, unit, "FragmentPath");
            assert_eq!(path, format!("/usr/lib/systemd/user/{unit}"), "{unit}");
            assert_eq!(
                property(&bed, unit, "ActiveState"),
                "inactive",
                "{unit} started by the install"
            );
        }
        // units without an [Install] section are "static": only the sockets and the timer start them
        let state = stdout_of(&bed.systemctl(&["is-enabled", unit]));
        let want = if unit.ends_with(".service") && *unit != "podup-recover.service" {
            "static"
        } else {
            "disabled"
        };
        assert_eq!(state, want, "{unit} after the install");
    }
    assert!(exists(&bed, "/lib/systemd/system/podup.socket"));
    let links = bed_ok(&bed, &["find", "/etc/systemd", "-name", "podup*"]);
    assert_eq!(
        links.trim(),
        "",
        "the install enables nothing, system-wide or for users"
    );
    let env = bed_ok(&bed, &["cat", "/etc/podup/podup.env"]);
    assert!(env.lines().all(|l| l.is_empty() || l.starts_with('#')), "{env}");
    assert!(bed_ok(&bed, &["dpkg-query", "-W", "-f=${Conffiles}", "podup"]).contains("/etc/podup/podup.env"));

    // socket activation runs the installed binary
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let dropin = bed.unit_dir().join("podup.socket.d");
    std::fs::create_dir_all(&dropin).unwrap();
    std::fs::write(
        dropin.join("port.conf"),
        format!("[Socket]\nListenStream=\nListenStream={addr}\n"),
    )
    .unwrap();
    bed.systemctl_ok(&["daemon-reload"]);
    bed.systemctl_ok(&["start", "podup.socket"]);
    assert_eq!(health(&bed, addr), "/usr/bin/podup");

    // upgrade over itself: a running podup is restarted on the new binary, still serving
    let first_pid = property(&bed, "podup.service", "MainPID");
    let was_running = property(&bed, "podup.service", "ActiveState") == "active";
    bed_ok(&bed, &["dpkg", "-i", deb]);
    assert_eq!(property(&bed, "podup.socket", "ActiveState"), "active");
    if was_running {
        assert_eq!(property(&bed, "podup.service", "ActiveState"), "active");
        assert_ne!(
            property(&bed, "podup.service", "MainPID"),
            first_pid,
            "the upgrade restarts a running podup"
        );
    }
    assert_eq!(health(&bed, addr), "/usr/bin/podup");
    assert_eq!(property(&bed, "podup-auto-update.timer", "UnitFileState"), "disabled");
    assert_eq!(property(&bed, "podup-auto-update.timer", "ActiveState"), "inactive");

    // remove: units stopped, files gone, the conffile stays
    bed_ok(&bed, &["mkdir", "-p", STATE_DIR]);
    bed_ok(&bed, &["sh", "-c", &format!("echo state > {STATE_DIR}/podup.db")]);
    bed_ok(&bed, &["dpkg", "-r", "podup"]);
    let stopped = wait_until(Duration::from_secs(10), || {
        property(&bed, "podup.socket", "ActiveState") == "inactive"
    });
    assert!(stopped, "dpkg -r stops podup.socket");
    assert!(get(addr, "/health").is_err(), "nothing answers after dpkg -r");
    assert!(!exists(&bed, "/usr/bin/podup"));
    assert!(!exists(&bed, "/usr/lib/systemd/user/podup.socket"));
    assert!(exists(&bed, "/etc/podup/podup.env"), "dpkg -r keeps the conffile");

    // purge: the conffile goes, the state stays and the purge says so
    let said = bed_ok(&bed, &["dpkg", "-P", "podup"]);
    assert!(said.contains(&format!("podup: kept {STATE_DIR}")), "{said}");
    std::fs::remove_dir_all(&dropin).unwrap();
    let after = existing(&bed, &listed);
    assert_eq!(
        after, before,
        "after the purge only what was there before is left of `dpkg -c`"
    );
    assert!(!exists(&bed, "/etc/podup"), "the purge removes /etc/podup");
    assert!(
        exists(&bed, &format!("{STATE_DIR}/podup.db")),
        "the purge keeps {STATE_DIR}"
    );
    let leftovers = bed_ok(&bed, &["sh", "-c", "ls /var/lib/dpkg/info | grep '^podup\\.' || true"]);
    assert_eq!(leftovers.trim(), "", "dpkg forgets podup");

    // PODUP_PURGE_STATE=1 removes the state too, and says so
    bed_ok(&bed, &["dpkg", "-i", deb]);
    let said = bed_ok(&bed, &["env", "PODUP_PURGE_STATE=1", "dpkg", "-P", "podup"]);
    assert!(said.contains(&format!("podup: removed {STATE_DIR}")), "{said}");
    assert!(!exists(&bed, STATE_DIR));
    assert_eq!(existing(&bed, &listed), before);
}

on_kinds!(rpm_holds_the_debs_files_and_enables_nothing, only bookworm, NOT_ON_TRIXIE);
fn rpm_holds_the_debs_files_and_enables_nothing() {
    if Command::new("rpm").arg("--version").output().is_err() {
        let why = "needs Debian's rpm package (tests/packages.txt)";
        if std::env::var("PODUP_REAL_TESTS").as_deref() == Ok("require") {
            panic!("real test 'rpm_holds_the_debs_files_and_enables_nothing' cannot run: {why}");
        }
        shout(&format!(
            "SKIPPED real test 'rpm_holds_the_debs_files_and_enables_nothing': {why}"
        ));
        return;
    }
    let built = packages();
    let rpm = built.rpm.to_str().unwrap();
    let rpm_files: BTreeSet<String> = host(&["rpm", "-qpl", rpm]).lines().map(str::to_string).collect();
    let deb_as_rpm: BTreeSet<String> = deb_files(&built.deb)
        .into_iter()
        .filter(|f| !DEB_ONLY.contains(&f.as_str()))
        .map(|f| match RPM_PATHS.iter().find(|(deb, _)| f.starts_with(deb)) {
            Some((deb, rpm)) => f.replacen(deb, rpm, 1),
            None => f,
        })
        .collect();
    assert_eq!(rpm_files, deb_as_rpm, "the .rpm and the .deb hold the same files");
    assert!(rpm_files.contains("/usr/bin/podup"));
    assert!(rpm_files.contains("/usr/lib/systemd/user/podup.socket"));

    let config = host(&["rpm", "-qpc", rpm]);
    assert_eq!(config.trim(), "/etc/podup/podup.env");
    let scripts = host(&["rpm", "-qp", "--scripts", rpm]);
    for part in ["postinstall", "preuninstall", "postuninstall"] {
        assert!(scripts.contains(&format!("{part} scriptlet")), "no {part}:\n{scripts}");
    }
    assert!(scripts.contains("systemctl daemon-reload"), "{scripts}");
    assert!(scripts.contains("try-restart podup.service"), "{scripts}");
    // commands, not the install message (which tells the operator how to enable)
    for line in scripts.lines().filter(|l| l.trim_start().starts_with("systemctl")) {
        assert!(
            !line.contains(" enable") && !line.contains(" start ") && !line.contains(" preset"),
            "a scriptlet enables or starts something: {line}"
        );
    }
    let units = host(&["rpm", "-qpl", rpm]);
    for unit in UNITS {
        assert!(units.contains(&format!("/usr/lib/systemd/system/{unit}")), "{unit}");
    }
}
