//! The timer job's engines (docs/tasks.md): `podup auto-update` with
//! `PODUP_AUTO_UPDATE_ENGINE=podup` finds the labelled units itself, asks a real
//! `docker-registry` on loopback for each image's tag once, and deploys only the units
//! with a new image, verified and rolled back; the default still runs `podman
//! auto-update`. podman and systemctl are recording fakes that keep a small world in
//! files: what each unit runs, where each tag points, which images fail to start.

use crate::checks::{image, insecure};
use crate::support::registry::{Registry, RegistryAuth, available};
use crate::support::*;

/// The fake podman's world, read and written by the snippet below.
const PODMAN: &str = r#"w="$FAKE_DIR/w"
key() { printf '%s' "$1" | tr '/:@' '___'; }
rec() { { printf 'podman'; for a in "$@"; do printf '\t%s' "$a"; done; printf '\n'; } >> "$FAKE_DIR/calls.log"; }
container() { read policy image id < "$w/units/$1"; state=running; [ -f "$w/failed.$1" ] && state=exited
  printf '{"Id":"c-%s","Names":["%s"],"Image":"%s","ImageID":"%s","State":"%s","Labels":{"PODMAN_SYSTEMD_UNIT":"%s","io.containers.autoupdate":"%s"}}' \
    "$1" "${1%.service}" "$image" "$id" "$state" "$1" "$policy"; }
case "$1 $2 $3" in
  "ps -a -q") rec "$@"; exit 0 ;;
  "ps -a --filter") rec "$@"; sep=; printf '['
    for f in "$w"/units/*; do u=$(basename "$f")
      case "$4" in label=io.containers.autoupdate|label=PODMAN_SYSTEMD_UNIT|"label=PODMAN_SYSTEMD_UNIT=$u") printf '%s' "$sep"; container "$u"; sep=, ;; esac
    done; printf ']\n'; exit 0 ;;
  "inspect --type container") rec "$@"; u=${6#c-}; read policy image id < "$w/units/$u"
    printf '[{"Image":"%s","ImageName":"%s","ImageDigest":"%s","State":{}}]\n' "$id" "$image" "$(cat "$w/digest.$id")"; exit 0 ;;
  "images --format json") rec "$@"; sep=; printf '['
    for f in "$w"/digest.*; do printf '%s{"Id":"%s","Digest":"%s","RepoDigests":[]}' "$sep" "${f##*/digest.}" "$(cat "$f")"; sep=,; done
    printf ']\n'; exit 0 ;;
  "image inspect --format") rec "$@"; f="$w/tag.$(key "$5")"; [ -f "$f" ] || { echo "Error: $5: image not known" >&2; exit 125; }
    cat "$f"; echo; exit 0 ;;
  "pull -q "*) rec "$@"; cat "$w/pull.$(key "${3#*@}")"; echo; exit 0 ;;
  "tag "*) rec "$@"; printf '%s' "$2" > "$w/tag.$(key "$3")"; exit 0 ;;
esac"#;

/// The fake systemctl: a restart runs what the unit's tag names (and fails on a broken
/// image); `show` says whether it is active.
const SYSTEMCTL: &str = r#"w="$FAKE_DIR/w"
key() { printf '%s' "$1" | tr '/:@' '___'; }
if [ "$1" = restart ] && [ -f "$w/units/$2" ]; then
  read policy image id < "$w/units/$2"; new=$(cat "$w/tag.$(key "$image")")
  echo "$policy $image $new" > "$w/units/$2"; rm -f "$w/failed.$2"
  [ -f "$w/broken.$new" ] && touch "$w/failed.$2"
fi
if [ "$1" = show ]; then
  for u; do :; done
  if [ -f "$w/failed.$u" ]; then a=failed; s=failed; r=exit-code; else a=active; s=running; r=success; fi
  printf 'LoadState=loaded\nActiveState=%s\nSubState=%s\nResult=%s\nMainPID=7\nNRestarts=0\nInvocationID=abc\nActiveEnterTimestampMonotonic=1\n' "$a" "$s" "$r"
  { printf 'systemctl'; for a in "$@"; do printf '\t%s' "$a"; done; printf '\n'; } >> "$FAKE_DIR/calls.log"
  exit 0
fi"#;

struct World {
    fakes: Fakes,
    podup: Podup,
    registry: Registry,
}

fn id(n: u8) -> String {
    format!("{n}").repeat(64)
}

fn key(s: &str) -> String {
    s.replace(['/', ':', '@'], "_")
}

impl World {
    fn new(name: &str, engine: Option<&str>) -> World {
        let registry = Registry::start(RegistryAuth::None);
        let fakes = Fakes::new();
        std::fs::create_dir_all(fakes.dir().join("w/units")).unwrap();
        fakes.before("podman", PODMAN);
        fakes.before("systemctl", SYSTEMCTL);
        let p = Podup::new(name);
        let conf = p.state.path().join("registries.conf");
        std::fs::write(&conf, insecure(&[registry.host()])).unwrap();
        let mut podup = p
            .env("PATH", &fakes.path_env())
            .env("FAKE_DIR", fakes.dir().to_str().unwrap())
            .env("PODUP_SYSTEMD_SCOPE", "system")
            .env("PODUP_VERIFY_SECS", "1")
            .env("PODUP_CHECK_ON_TIMER", "0")
            .env("CONTAINERS_REGISTRIES_CONF", conf.to_str().unwrap())
            .env("REGISTRY_AUTH_FILE", "/nonexistent/auth.json")
            .env("PODUP_CHECK_TIMEOUT_SECS", "2");
        if let Some(e) = engine {
            podup = podup.env("PODUP_AUTO_UPDATE_ENGINE", e);
        }
        World { fakes, podup, registry }
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.fakes.dir().join("w").join(name), text).unwrap();
    }

    /// `unit` runs local image `n` (known by `digest`) as `image`, whose tag names it.
    fn runs(&self, unit: &str, policy: &str, image: &str, n: u8, digest: &str) {
        self.write(&format!("units/{unit}"), &format!("{policy} {image} {}\n", id(n)));
        self.write(&format!("digest.{}", id(n)), digest);
        self.write(&format!("tag.{}", key(image)), &id(n));
    }

    /// A pull of `digest` gives local image `n`; `broken`: that image does not start.
    fn pullable(&self, digest: &str, n: u8, broken: bool) {
        self.write(&format!("pull.{}", key(digest)), &id(n));
        self.write(&format!("digest.{}", id(n)), digest);
        if broken {
            self.write(&format!("broken.{}", id(n)), "");
        }
    }

    /// What `unit` runs now: its image id.
    fn running(&self, unit: &str) -> String {
        let text = std::fs::read_to_string(self.fakes.dir().join("w/units").join(unit)).unwrap();
        text.split_whitespace().nth(2).unwrap().to_string()
    }

    /// Runs `podup auto-update ARGS`; the exit code and the task (status, reason,
    /// message, spec) with its unit rows (unit → status, message).
    fn auto_update(&self, args: &[&str]) -> (i32, [String; 4], Vec<(String, String, String)>) {
        let mut all = vec!["auto-update", "--caller", "timer"];
        all.extend_from_slice(args);
        let out = self.podup.run(&all);
        let conn = rusqlite::Connection::open(self.podup.db_path()).unwrap();
        let (task_id, status, reason, message, spec): (i64, String, String, String, String) = conn
            .query_row(
                "SELECT id, status, coalesce(reason, ''), coalesce(message, ''), spec FROM tasks
                 WHERE kind = 'auto-update' ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        let mut stmt = conn
            .prepare("SELECT unit, status, coalesce(message, '') FROM task_units WHERE task_id = ?1 ORDER BY unit")
            .unwrap();
        let units = stmt
            .query_map([task_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        (out.status.code().unwrap_or(-1), [status, reason, message, spec], units)
    }

    /// The calls that change something: pulls, tags, restarts, podman auto-update.
    fn changes(&self) -> Vec<String> {
        self.fakes
            .calls()
            .into_iter()
            .filter(|c| {
                matches!(
                    (c[0].as_str(), c.get(1).map(String::as_str)),
                    ("podman", Some("pull" | "tag" | "auto-update")) | ("systemctl", Some("restart"))
                )
            })
            .map(|c| c.join(" "))
            .collect()
    }
}

fn row<'a>(units: &'a [(String, String, String)], unit: &str) -> (&'a str, &'a str) {
    let r = units
        .iter()
        .find(|u| u.0 == unit)
        .unwrap_or_else(|| panic!("no row for {unit}: {units:?}"));
    (r.1.as_str(), r.2.as_str())
}

#[test]
fn podup_engine_updates_only_the_labelled_units_with_a_new_image() {
    if !available("auto-engine-updates") {
        return;
    }
    let w = World::new("auto-engine-updates", Some("podup"));
    let r = &w.registry;
    let d1 = r.push_image("acme/app", "latest", "app-v1");
    let same = r.push_image("acme/same", "latest", "same-v1");
    w.runs("app.service", "registry", &image(r, "acme/app"), 1, &d1);
    w.runs("same.service", "registry", &image(r, "acme/same"), 2, &same);
    // `local`: the tag already names a newer local image (4) than the container runs (3).
    w.runs(
        "cache.service",
        "local",
        "localhost/acme/cache:latest",
        3,
        "sha256:cache3",
    );
    w.write(&format!("digest.{}", id(4)), "sha256:cache4");
    w.write("tag.localhost_acme_cache_latest", &id(4));
    let d2 = r.push_image("acme/app", "latest", "app-v2");
    w.pullable(&d2, 5, false);

    let (code, [status, reason, message, spec], units) = w.auto_update(&[]);
    assert_eq!(
        (code, status.as_str(), reason.as_str()),
        (0, "succeeded", "ok"),
        "{message} {units:?}"
    );
    assert_eq!(message, "3 unit(s), 2 succeeded, 1 unchanged");
    assert!(spec.contains(r#""engine":"podup""#), "{spec}");
    assert_eq!(row(&units, "app.service").0, "succeeded");
    assert!(
        row(&units, "app.service").1.starts_with(&format!("runs {d2}")),
        "{units:?}"
    );
    assert_eq!(row(&units, "same.service"), ("unchanged", "runs the newest image"));
    assert_eq!(
        row(&units, "cache.service"),
        ("succeeded", &*format!("runs local image {}", &id(4)[..12]))
    );
    assert_eq!(w.running("app.service"), id(5));
    assert_eq!(w.running("same.service"), id(2));
    assert_eq!(w.running("cache.service"), id(4));
    // Only the changed units moved: a pull by digest and a tag for the registry image,
    // a restart each; the current unit was never pulled nor restarted.
    let app_image = image(r, "acme/app");
    assert_eq!(
        w.changes(),
        [
            format!("podman pull -q {}@{d2}", app_image.trim_end_matches(":latest")),
            format!("podman tag {} {app_image}", id(5)),
            "systemctl restart app.service".to_string(),
            "systemctl restart cache.service".to_string(),
        ]
    );
    // One registry request per image, never a GET of a manifest; one podman listing.
    assert_eq!(r.count("HEAD", "/acme/app/manifests/latest"), 1);
    assert_eq!(r.count("HEAD", "/acme/same/manifests/latest"), 1);
    assert_eq!(r.count("GET", "/manifests/"), 0);
    let listings = w
        .fakes
        .calls_of("podman")
        .into_iter()
        .filter(|c| c.contains(&"label=io.containers.autoupdate".to_string()))
        .count();
    assert_eq!(listings, 1);
}

#[test]
fn podup_engine_dry_run_says_what_is_available_and_changes_nothing() {
    if !available("auto-engine-dry") {
        return;
    }
    let w = World::new("auto-engine-dry", Some("podup"));
    let r = &w.registry;
    let d1 = r.push_image("acme/app", "latest", "dry-v1");
    let same = r.push_image("acme/same", "latest", "dry-same");
    w.runs("app.service", "registry", &image(r, "acme/app"), 1, &d1);
    w.runs("same.service", "registry", &image(r, "acme/same"), 2, &same);
    let d2 = r.push_image("acme/app", "latest", "dry-v2");
    let (code, [status, _, message, _], units) = w.auto_update(&["--dry-run"]);
    assert_eq!((code, status.as_str()), (0, "succeeded"), "{units:?}");
    assert_eq!(message, "2 unit(s), 1 unchanged, 1 available");
    let (s, m) = row(&units, "app.service");
    assert_eq!(s, "available");
    assert!(m.contains(&d2[..19]), "{m}");
    assert_eq!(row(&units, "same.service").0, "unchanged");
    assert_eq!(w.changes(), Vec::<String>::new());
    assert_eq!(w.running("app.service"), id(1));
}

#[test]
fn podup_engine_rolls_back_a_failing_image_and_says_why_a_check_failed() {
    if !available("auto-engine-fails") {
        return;
    }
    let w = World::new("auto-engine-fails", Some("podup"));
    let r = &w.registry;
    let d1 = r.push_image("acme/bad", "latest", "bad-v1");
    w.runs("bad.service", "registry", &image(r, "acme/bad"), 1, &d1);
    // Its repository is not in the registry: the check cannot tell.
    w.runs("gone.service", "registry", &image(r, "acme/gone"), 2, "sha256:gone");
    let d2 = r.push_image("acme/bad", "latest", "bad-v2");
    w.pullable(&d2, 3, true);

    let (code, [status, reason, message, _], units) = w.auto_update(&[]);
    assert_eq!(code, 1, "a failed timer job exits 1");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("failed", "check_failed"),
        "{units:?}"
    );
    assert_eq!(message, "2 unit(s), 1 rolled_back, 1 unknown");
    let (s, m) = row(&units, "bad.service");
    assert_eq!(s, "rolled_back", "{m}");
    assert!(m.contains("rolled back to"), "{m}");
    assert_eq!(w.running("bad.service"), id(1), "the old image runs again");
    let (s, m) = row(&units, "gone.service");
    assert_eq!(s, "unknown");
    assert!(!m.is_empty(), "the reason is on the row");
    assert_eq!(w.running("gone.service"), id(2));
    assert!(!w.changes().iter().any(|c| c.contains("gone")), "{:?}", w.changes());
}

#[test]
fn the_default_engine_still_runs_podman_auto_update() {
    if !available("auto-engine-default") {
        return;
    }
    let w = World::new("auto-engine-default", None);
    w.fakes.answer_args("podman", &["auto-update"], 0, "", "");
    let (code, [status, _, _, spec], units) = w.auto_update(&[]);
    assert_eq!((code, status.as_str()), (0, "succeeded"), "{units:?}");
    assert!(!spec.contains("engine"), "a podman spec reads as before: {spec}");
    let podman: Vec<String> = w.fakes.calls_of("podman").iter().map(|c| c[1..].join(" ")).collect();
    assert_eq!(podman, ["auto-update --format json"]);
    // A value podup does not know is a configuration error naming the variable.
    let out = w
        .podup
        .command(&["auto-update"])
        .env("PODUP_AUTO_UPDATE_ENGINE", "docker")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("PODUP_AUTO_UPDATE_ENGINE") && err.contains("'docker'"),
        "{err}"
    );
}

/// update-all (docs/tasks.md, "Parallel update-all"): the units already on their tag's
/// image cost one `HEAD` per image, and neither a pull nor a restart.
#[test]
fn update_all_pulls_only_the_units_whose_image_changed() {
    if !available("update-all-current") {
        return;
    }
    let w = World::new("update-all-current", None);
    let (same_image, app_image) = (image(&w.registry, "acme/same"), image(&w.registry, "acme/app"));
    let services =
        format!("s1.service={same_image}, s2.service={same_image}, s3.service={same_image}, app.service={app_image}");
    let w = World {
        podup: w.podup.env("PODUP_SERVICES", &services),
        ..w
    };
    let (r, podup) = (&w.registry, &w.podup);
    let same = r.push_image("acme/same", "latest", "same-v1");
    let d1 = r.push_image("acme/app", "latest", "app-v1");
    for u in ["s1.service", "s2.service", "s3.service"] {
        w.runs(u, "registry", &same_image, 2, &same);
    }
    w.runs("app.service", "registry", &app_image, 1, &d1);
    let d2 = r.push_image("acme/app", "latest", "app-v2");
    w.pullable(&d2, 5, false);
    let out = podup.run(&["trigger", "s1.service", "s2.service", "s3.service", "app.service"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let task = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let db = podup.db_path();
    podup.run(&["run-task", &task, "--db", db.to_str().unwrap()]);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare("SELECT unit, status, coalesce(message, '') FROM task_units WHERE task_id = ?1 ORDER BY unit")
        .unwrap();
    let rows: Vec<(String, String, String)> = stmt
        .query_map([task.parse::<i64>().unwrap()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for u in ["s1.service", "s2.service", "s3.service"] {
        let row = rows.iter().find(|r| r.0 == u).unwrap();
        assert_eq!(
            (row.1.as_str(), row.2.clone()),
            ("succeeded", format!("already runs {same}")),
            "{rows:?}"
        );
        assert_eq!(w.running(u), id(2));
    }
    let app = rows.iter().find(|r| r.0 == "app.service").unwrap();
    assert_eq!(app.1, "succeeded", "{rows:?}");
    assert_eq!(w.running("app.service"), id(5));
    // One pull, by the digest the check found; one restart; one HEAD per image.
    assert_eq!(
        w.changes(),
        [
            format!("podman pull -q {}@{d2}", app_image.trim_end_matches(":latest")),
            format!("podman tag {} {app_image}", id(5)),
            "systemctl restart app.service".to_string(),
        ]
    );
    assert_eq!(r.count("HEAD", "/acme/same/manifests/latest"), 1);
    assert_eq!(r.count("HEAD", "/acme/app/manifests/latest"), 1);
    assert_eq!(r.count("GET", "/manifests/"), 0);
    assert_eq!(r.count("GET", "/blobs/"), 0);
}
