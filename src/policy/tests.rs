//! Reading policies from files in a temp dir: sources with file:line, precedence, drop-ins,
//! resets, errors, and the last good policy kept in an in-memory database.

use super::*;
use crate::model::{Action, Follow, Level};
use std::path::PathBuf;

/// A scratch tree with Quadlet files under `q/`, unit files under `u/`, and a config that
/// reads only those (and `policies.ini` when `policy_file`).
struct Setup {
    root: PathBuf,
    config: Config,
}

impl Setup {
    fn new(name: &str, policy_file: bool) -> Setup {
        let root = crate::testing::scratch_dir(&format!("policy-{name}"));
        let mut config = Config::from_pairs(&[("PODUP_SERVICES", "app.service, solo.service")], 0).unwrap();
        config.quadlet_dirs = vec![root.join("q")];
        config.unit_dirs = vec![root.join("u")];
        config.policy_file = policy_file.then(|| root.join("policies.ini"));
        Setup { root, config }
    }

    fn write(&self, rel: &str, text: &str) -> &Setup {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    fn path(&self, rel: &str) -> String {
        self.root.join(rel).display().to_string()
    }

    fn at(&self, rel: &str, line: usize) -> Source {
        Source::File {
            path: self.path(rel),
            line,
        }
    }

    fn read(&self, unit: &str) -> (Policy, Vec<(&'static str, Source)>, Vec<String>) {
        let (p, s, e) = read(&self.config, unit);
        (p, s, e.iter().map(ToString::to_string).collect())
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn source_of<'a>(sources: &'a [(&'static str, Source)], key: &str) -> &'a Source {
    &sources.iter().find(|(k, _)| *k == key).unwrap().1
}

#[test]
fn quadlet_keys_with_their_file_and_line_and_a_dropin_overriding() {
    let s = Setup::new("quadlet", false);
    s.write(
        "q/app.container",
        "[Container]\nImage=ghcr.io/acme/app:1\n\n[X-PodUp]\n# weekly\nPolicy=approve\nMinAge=2h\nWindow=Mon..Fri 02:00-04:00\n",
    )
    .write("q/app.container.d/10-age.conf", "[X-PodUp]\nMinAge=1h 30min\nFollow=semver:minor\n");
    let (p, sources, errors) = s.read("app.service");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(p.policy, Action::Approve);
    assert_eq!(p.min_age_secs, 5400);
    assert_eq!(p.window.as_ref().unwrap().text, "Mon..Fri 02:00-04:00");
    assert!(p.timer);
    assert_eq!(p.follow, Follow::Semver(Level::Minor));
    let keys: Vec<&str> = sources.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, keys::KEYS);
    assert_eq!(source_of(&sources, "Policy"), &s.at("q/app.container", 6));
    assert_eq!(source_of(&sources, "MinAge"), &s.at("q/app.container.d/10-age.conf", 2));
    assert_eq!(source_of(&sources, "Timer"), &Source::Default);
    assert_eq!(s.read("solo.service").0, Policy::default(), "no file: the default");
}

#[test]
fn a_plain_unit_file_and_its_dropins() {
    let s = Setup::new("plain", false);
    s.write("u/app.service", "[Service]\nExecStart=/bin/true\n[X-PodUp]\nTimer=no\n")
        .write("u/app.service.d/override.conf", "[X-PodUp]\nPolicy=notify\n");
    let (p, sources, errors) = s.read("app.service");
    assert!(errors.is_empty(), "{errors:?}");
    assert!(!p.timer);
    assert_eq!(p.policy, Action::Notify);
    assert_eq!(source_of(&sources, "Timer"), &s.at("u/app.service", 4));
}

#[test]
fn the_units_own_files_win_over_the_policy_file_key_by_key() {
    let s = Setup::new("precedence", true);
    s.write("q/app.container", "[X-PodUp]\nPolicy=approve\n").write(
        "policies.ini",
        "[app.service]\nPolicy=manual\nTimer=no\n\n[solo.service]\nPolicy=notify\nWindow=Sat,Sun 01:00-06:00 TZ=UTC\n",
    );
    let (p, sources, errors) = s.read("app.service");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!((p.policy, p.timer), (Action::Approve, false));
    assert_eq!(source_of(&sources, "Policy"), &s.at("q/app.container", 2));
    assert_eq!(source_of(&sources, "Timer"), &s.at("policies.ini", 3));
    // A service declared only in PODUP_SERVICES: its section of the policy file.
    let (p, sources, _) = s.read("solo.service");
    assert_eq!(p.policy, Action::Notify);
    assert_eq!(p.window.unwrap().tz.as_deref(), Some("UTC"));
    assert_eq!(source_of(&sources, "Window"), &s.at("policies.ini", 7));
}

#[test]
fn an_empty_assignment_resets_and_window_lines_add_up() {
    let s = Setup::new("reset", true);
    s.write(
        "q/app.container",
        "[X-PodUp]\nPolicy=manual\nWindow=Mon 01:00-02:00\nWindow=Tue 01:00-02:00 TZ=Europe/Berlin\n",
    )
    .write(
        "q/app.container.d/50.conf",
        "[X-PodUp]\nPolicy=\nWindow=Sat 03:00-04:00\n",
    )
    .write("q/container.d/90.conf", "[X-PodUp]\nWindow=Sun 03:00-04:00\n")
    .write("policies.ini", "[app.service]\nPolicy=notify\n");
    let (p, sources, errors) = s.read("app.service");
    assert!(errors.is_empty(), "{errors:?}");
    // reset in the unit's own files: the default, not the policy file's value
    assert_eq!(p.policy, Action::Auto);
    assert_eq!(source_of(&sources, "Policy"), &s.at("q/app.container.d/50.conf", 2));
    let w = p.window.unwrap();
    assert_eq!(
        w.text,
        "Mon 01:00-02:00; Tue 01:00-02:00; Sat 03:00-04:00; Sun 03:00-04:00 TZ=Europe/Berlin"
    );
    assert_eq!(source_of(&sources, "Window"), &s.at("q/container.d/90.conf", 2));
    s.write("q/container.d/90.conf", "[X-PodUp]\nWindow=\n");
    let (p, sources, _) = s.read("app.service");
    assert_eq!(p.window, None, "an empty Window= clears every earlier line");
    assert_eq!(source_of(&sources, "Window"), &s.at("q/container.d/90.conf", 2));
}

#[test]
fn every_bad_value_and_unknown_key_is_named_with_file_and_line_in_file_order() {
    let s = Setup::new("errors", true);
    s.write(
        "q/app.container",
        "[X-PodUp]\nPolicy=approve\nWindow=Mon..Fry 02:00-04:00\nPolcy=manual\n",
    )
    .write(
        "q/app.container.d/10.conf",
        "[X-PodUp]\nMinAge=soon\nFollow=semver:tiny\nWindow=Tue 01:00-02:00 TZ=UTC\n",
    )
    .write(
        "q/app.container.d/20.conf",
        "[X-PodUp]\nWindow=Wed 01:00-02:00 TZ=Europe/Berlin\n",
    )
    .write("policies.ini", "[app.service]\nTimer=perhaps\n");
    let (_, _, errors) = s.read("app.service");
    let (main, ten, twenty, ini) = (
        s.path("q/app.container"),
        s.path("q/app.container.d/10.conf"),
        s.path("q/app.container.d/20.conf"),
        s.path("policies.ini"),
    );
    assert_eq!(
        errors,
        [
            format!("{main}:3: Window=: 'Mon..Fry' is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)"),
            format!("{main}:4: Polcy=: 'Polcy' is not a policy key (known: Policy, MinAge, Window, Timer, Follow)"),
            format!("{ten}:2: MinAge=: 'soon' is not a duration (like 30s, 15min, 2h, 3d, 1w or 1h 30min)"),
            format!("{ten}:3: Follow=: 'semver:tiny' is not a semver level (semver:patch, semver:minor, semver:major)"),
            format!(
                "{twenty}:2: Window=: TZ=Europe/Berlin differs from TZ=UTC on an earlier Window= line: a window has one zone"
            ),
            format!("{ini}:2: Timer=: 'perhaps' is not yes or no"),
        ]
    );
}

#[test]
fn a_missing_policy_file_is_an_error_naming_it() {
    let s = Setup::new("missing", true);
    let (p, _, errors) = s.read("solo.service");
    assert_eq!(p, Policy::default());
    assert_eq!(
        errors,
        [format!(
            "{}: the file named by PODUP_POLICY_FILE does not exist",
            s.path("policies.ini")
        )]
    );
}

#[test]
fn errors_keep_the_last_good_policy_or_else_the_default() {
    let s = Setup::new("lastgood", false);
    let conn = Connection::open_in_memory().unwrap();
    // Never read well: the default, with the errors.
    s.write("q/app.container", "[X-PodUp]\nPolicy=sometimes\n");
    let e = effective(Some(&conn), &s.config, "app.service", 1);
    assert_eq!(
        (e.policy.clone(), e.last_good, e.errors.len()),
        (Policy::default(), false, 1)
    );
    assert!(e.sources.iter().all(|(_, src)| *src == Source::Default));
    // Read well once: kept.
    s.write(
        "q/app.container",
        "[X-PodUp]\nPolicy=approve\nWindow=Sat 01:00-02:00 TZ=UTC\n",
    );
    let good = effective(Some(&conn), &s.config, "app.service", 2);
    assert!(good.errors.is_empty() && !good.last_good);
    // Broken again: the good one, with its sources, and the errors.
    s.write("q/app.container", "[X-PodUp]\nPolicy=manual\nWindow=Sat 25:00-02:00\n");
    let kept = effective(Some(&conn), &s.config, "app.service", 3);
    assert!(kept.last_good);
    assert_eq!(kept.policy, good.policy);
    assert_eq!(kept.sources, good.sources);
    assert_eq!(
        kept.errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
        [format!(
            "{}:3: Window=: '25:00' is not a time of day (HH:MM)",
            s.path("q/app.container")
        )]
    );
    // Without a database there is nothing to keep: the default.
    let none = effective(None, &s.config, "app.service", 4);
    assert_eq!((none.policy, none.last_good), (Policy::default(), false));
    // No key set anywhere: the default is good, and kept as no row at all.
    s.write("q/app.container", "[Container]\nImage=x/y:1\n");
    assert!(effective(Some(&conn), &s.config, "app.service", 5).policy.is_default());
    assert_eq!(crate::store::policies::last_good(&conn, "app.service").unwrap(), None);
}

#[test]
fn the_json_of_an_effective_policy() {
    let s = Setup::new("json", false);
    s.write("q/app.container", "[X-PodUp]\nPolicy=approve\nMinAge=2h\n");
    let e = effective(None, &s.config, "app.service", 0);
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "unit": "app.service",
            "policy": {"policy": "approve", "min_age_secs": 7200, "window": null, "timer": true, "follow": "digest"},
            "sources": {
                "Policy": {"file": s.path("q/app.container"), "line": 2},
                "MinAge": {"file": s.path("q/app.container"), "line": 3},
                "Window": "default",
                "Timer": "default",
                "Follow": "default",
            },
            "errors": [],
            "last_good": false,
        })
    );
}

#[test]
fn a_stored_policy_reads_back_as_it_was() {
    let conn = Connection::open_in_memory().unwrap();
    let policy = Policy {
        policy: Action::Notify,
        min_age_secs: 90,
        window: Some(spans::window("Mon..Fri 02:00-04:00; Sun 22:00-01:00 TZ=Europe/Berlin").unwrap()),
        timer: false,
        follow: Follow::Regex(r"^v?2\.\d+$".into()),
    };
    let sources = vec![
        (
            "Policy",
            Source::File {
                path: "/x/app.container".into(),
                line: 3,
            },
        ),
        ("MinAge", Source::Default),
        ("Window", Source::Default),
        ("Timer", Source::Default),
        ("Follow", Source::Default),
    ];
    stored::save(&conn, "app.service", &policy, &sources, 5).unwrap();
    assert_eq!(stored::load(&conn, "app.service").unwrap(), Some((policy, sources)));
    assert_eq!(stored::load(&conn, "other.service").unwrap(), None);
}

#[test]
fn policy_errors_read_as_file_line_key() {
    let e = PolicyError {
        path: "/etc/containers/systemd/app.container".into(),
        line: 7,
        key: "Window".into(),
        message: "'25:00' is not a time of day (HH:MM)".into(),
    };
    assert_eq!(
        e.to_string(),
        "/etc/containers/systemd/app.container:7: Window=: '25:00' is not a time of day (HH:MM)"
    );
    assert_eq!(PolicyError::whole_file("/p", "gone".into()).to_string(), "/p: gone");
}
