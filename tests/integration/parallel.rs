//! The deploy of several units in one task (docs/tasks.md, "Parallel update-all"), run
//! as the worker (`podup run-task`) with recording fakes that keep a small world: which
//! image each unit runs, where each tag points, and each unit's dependencies. A restart
//! starts the image the unit's tag points at; a unit marked failing fails on the new
//! image. The fakes write what happened, in order, to `events` (`start`/`done` of each
//! restart, and how many pulls ran at once).

use crate::support::*;
use std::path::PathBuf;

const OLD_ID: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const NEW_ID: &str = "2222222222222222222222222222222222222222222222222222222222222222";

/// Shared by both fakes: the world directory, a call recorder, a lock.
const COMMON: &str = r#"W="$FAKE_DIR/w"
# One write a line: pulls run at once, and pieces of two lines must not interleave.
rec() { l=$(basename "$0"); for a in "$@"; do l="$l$(printf '\t%s' "$a")"; done; printf '%s\n' "$l" >> "$FAKE_DIR/calls.log"; }
lock() { while ! mkdir "$W/lock" 2>/dev/null; do sleep 0.01; done; }
unlock() { rmdir "$W/lock"; }
key() { printf '%s' "$1" | tr '/:@' '___'; }"#;

const PODMAN: &str = r#"
case "$1" in
ps)
  rec "$@"
  case "$4" in label=PODMAN_SYSTEMD_UNIT=*) ;; *) exit 0 ;; esac
  u=${4#label=PODMAN_SYSTEMD_UNIT=}; id=$(cat "$W/$u.img")
  printf '[{"Id":"c-%s","Names":["%s"],"Image":"x","ImageID":"%s","State":"running","Labels":{"PODMAN_SYSTEMD_UNIT":"%s"}}]' "$u" "$u" "$id" "$u"
  exit 0 ;;
inspect)
  rec "$@"; u=${6#c-}; id=$(cat "$W/$u.img")
  printf '[{"Image":"%s","ImageName":"x","ImageDigest":"sha256:%s"}]' "$id" "$(printf %s "$id" | cut -c1-8)"
  exit 0 ;;
pull)
  rec "$@"
  lock; n=$(( $(cat "$W/now") + 1 )); echo $n > "$W/now"; echo "pulls $n" >> "$W/events"; unlock
  # Holds the pull for up to pull_sleep seconds, or until a third pull runs beside it:
  # past the bound of 2 that ends at once and shows, whatever the machine's load.
  i=0; max=$(awk "BEGIN { print int($(cat "$W/pull_sleep") * 20) }")
  while [ $i -lt "$max" ] && [ "$(cat "$W/now")" -lt 3 ]; do sleep 0.05; i=$((i + 1)); done
  lock; echo $(( $(cat "$W/now") - 1 )) > "$W/now"; unlock
  cat "$W/new_id" > "$W/tag.$(key "$3")"; cat "$W/new_id"; exit 0 ;;
tag)
  rec "$@"; printf '%s' "$2" > "$W/tag.$(key "$3")"; exit 0 ;;
image)
  rec "$@"; printf 'sha256:%s\n' "$(printf %s "$5" | cut -c1-8)"; exit 0 ;;
esac
"#;

const SYSTEMCTL: &str = r#"
[ "$1" = --user ] && shift
case "$1" in
show)
  case "$2" in
  --property=Id,*)
    rec --user "$@"; shift 2
    for u in "$@"; do
      printf 'Id=%s\nRequires=app.slice basic.target\nBindsTo=%s\nPartOf=\nAfter=%s basic.target app.slice\n\n' \
        "$u" "$(cat "$W/$u.binds" 2>/dev/null)" "$(cat "$W/$u.after" 2>/dev/null)"
    done
    exit 0 ;;
  esac
  u=$3; id=$(cat "$W/$u.img")
  if [ -f "$W/$u.fails" ] && [ "$id" = "$(cat "$W/new_id")" ]; then s=failed; r=exit-code; else s=active; r=success; fi
  rec --user "$@"
  printf 'LoadState=loaded\nActiveState=%s\nSubState=x\nResult=%s\nMainPID=7\nNRestarts=0\nInvocationID=%s\nActiveEnterTimestampMonotonic=1\n' "$s" "$r" "$id"
  exit 0 ;;
restart)
  rec --user "$@"; shift
  for u in "$@"; do
    echo "start $u" >> "$W/events"; echo "start $u $(date +%s%N)" >> "$W/times"
    sleep "$(cat "$W/$u.restart_sleep" 2>/dev/null || echo 0)"
    cat "$W/tag.$(key "$(cat "$W/$u.ref")")" > "$W/$u.img"
    echo "done $u" >> "$W/events"; echo "done $u $(date +%s%N)" >> "$W/times"
  done
  exit 0 ;;
esac
"#;

struct World {
    fakes: Fakes,
    podup: Podup,
}

impl World {
    /// Units `units` (name, image reference) running `OLD_ID`, every pull `pull_sleep`
    /// seconds long.
    fn new(name: &str, units: &[(&str, &str)], pull_sleep: &str) -> World {
        let fakes = Fakes::new();
        let w = fakes.dir().join("w");
        std::fs::create_dir_all(&w).unwrap();
        for (file, text) in [
            ("now", "0"),
            ("pull_sleep", pull_sleep),
            ("new_id", NEW_ID),
            ("events", ""),
        ] {
            std::fs::write(w.join(file), text).unwrap();
        }
        let services: Vec<String> = units.iter().map(|(u, r)| format!("{u}={r}")).collect();
        for (u, r) in units {
            std::fs::write(w.join(format!("{u}.img")), OLD_ID).unwrap();
            std::fs::write(w.join(format!("{u}.ref")), r).unwrap();
        }
        fakes.before("podman", &format!("{COMMON}\n{PODMAN}"));
        fakes.before("systemctl", &format!("{COMMON}\n{SYSTEMCTL}"));
        // reg.example is blocked: the check before the pulls fails without a request,
        // and every unit is pulled by its tag.
        let p = Podup::new(name);
        let conf = p.state.path().join("registries.conf");
        std::fs::write(&conf, "[[registry]]\nlocation = \"reg.example\"\nblocked = true\n").unwrap();
        let podup = p
            .env("CONTAINERS_REGISTRIES_CONF", conf.to_str().unwrap())
            .env("PATH", &fakes.path_env())
            .env("FAKE_DIR", fakes.dir().to_str().unwrap())
            .env("PODUP_SYSTEMD_SCOPE", "user")
            .env("PODUP_VERIFY_SECS", "1")
            .env("PODUP_SERVICES", &services.join(", "));
        World { fakes, podup }
    }

    fn w(&self) -> PathBuf {
        self.fakes.dir().join("w")
    }

    fn set(&self, unit: &str, what: &str, text: &str) {
        std::fs::write(self.w().join(format!("{unit}.{what}")), text).unwrap();
    }

    fn events(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.w().join("events")).unwrap();
        text.lines().map(String::from).collect()
    }

    /// Triggers one task of `units` and runs its worker to the end; the task's status.
    fn deploy(&self, units: &[&str]) -> (i64, String) {
        let out = self.podup.run(&[&["trigger"], units].concat());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let id: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        let db = self.podup.db_path();
        self.podup
            .run(&["run-task", &id.to_string(), "--db", db.to_str().unwrap()]);
        let conn = rusqlite::Connection::open(&db).unwrap();
        let status = conn
            .query_row("SELECT status FROM tasks WHERE id = ?1", [id], |r| r.get(0))
            .unwrap();
        (id, status)
    }

    /// When each restart started and ended (`start`/`done`, unit), in milliseconds.
    fn times(&self) -> Vec<(String, String, u128)> {
        let text = std::fs::read_to_string(self.w().join("times")).unwrap_or_default();
        text.lines()
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                (f[0].into(), f[1].into(), f[2].parse::<u128>().unwrap() / 1_000_000)
            })
            .collect()
    }

    /// Each unit row's status and message.
    fn rows(&self, id: i64) -> Vec<(String, String, String)> {
        let conn = rusqlite::Connection::open(self.podup.db_path()).unwrap();
        let mut st = conn
            .prepare("SELECT unit, status, coalesce(message, '') FROM task_units WHERE task_id = ?1 ORDER BY unit")
            .unwrap();
        st.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn log(&self, id: i64) -> String {
        let conn = rusqlite::Connection::open(self.podup.db_path()).unwrap();
        let mut st = conn
            .prepare("SELECT coalesce(unit, ''), message FROM task_logs WHERE task_id = ?1 ORDER BY id")
            .unwrap();
        let lines: Vec<String> = st
            .query_map([id], |r| {
                Ok(format!("{}: {}", r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        lines.join("\n")
    }

    fn runs(&self, unit: &str) -> String {
        std::fs::read_to_string(self.w().join(format!("{unit}.img"))).unwrap()
    }
}

#[test]
fn a_unit_after_another_restarts_only_once_the_other_has() {
    let world = World::new(
        "parallel-after",
        &[("b.service", "reg.example/b:1"), ("a.service", "reg.example/a:1")],
        "0",
    );
    world.set("b.service", "after", "a.service");
    world.set("a.service", "restart_sleep", "1");
    let (id, status) = world.deploy(&["b.service", "a.service"]);
    assert_eq!(status, "succeeded", "{}", world.log(id));
    let events = world.events();
    let done_a = events.iter().position(|e| e == "done a.service").unwrap();
    let start_b = events.iter().position(|e| e == "start b.service").unwrap();
    assert!(done_a < start_b, "b restarted before a had: {events:?}");
    assert!(
        world
            .log(id)
            .contains("b.service: waits for a.service (After=) to restart"),
        "{}",
        world.log(id)
    );
}

#[test]
fn units_sharing_an_image_pull_it_once() {
    let units = [
        ("x.service", "reg.example/shared:1"),
        ("y.service", "reg.example/shared:1"),
        ("z.service", "reg.example/shared:1"),
    ];
    let world = World::new("parallel-shared", &units, "0.3");
    let (id, status) = world.deploy(&["x.service", "y.service", "z.service"]);
    assert_eq!(status, "succeeded", "{}", world.log(id));
    assert_eq!(
        world.fakes.calls_of("podman").iter().filter(|c| c[1] == "pull").count(),
        1
    );
    for (u, _) in units {
        assert_eq!(world.runs(u), NEW_ID, "{u}");
    }
    assert!(
        world
            .log(id)
            .contains("x.service: the registry could not say the digest of reg.example/shared:1")
            && world.log(id).contains("pulling by tag"),
        "{}",
        world.log(id)
    );
}

#[test]
fn no_more_pulls_run_at_once_than_the_bound() {
    let units: Vec<(String, String)> = (0..5)
        .map(|i| (format!("u{i}.service"), format!("reg.example/u{i}:1")))
        .collect();
    let refs: Vec<(&str, &str)> = units.iter().map(|(u, r)| (u.as_str(), r.as_str())).collect();
    let world = World::new("parallel-bound", &refs, "5");
    let world = World {
        podup: world.podup.env("PODUP_PULL_PARALLEL", "2"),
        fakes: world.fakes,
    };
    let names: Vec<&str> = refs.iter().map(|(u, _)| *u).collect();
    let (id, status) = world.deploy(&names);
    assert_eq!(status, "succeeded", "{}", world.log(id));
    let most = world
        .events()
        .iter()
        .filter_map(|e| e.strip_prefix("pulls ").map(|n| n.parse::<u32>().unwrap()))
        .max();
    assert_eq!(most, Some(2), "{:?}", world.events());
    assert_eq!(
        world.fakes.calls_of("podman").iter().filter(|c| c[1] == "pull").count(),
        5
    );
}

#[test]
fn a_unit_failing_verification_rolls_back_alone() {
    let units = [
        ("ok1.service", "reg.example/ok1:1"),
        ("bad.service", "reg.example/bad:1"),
        ("ok2.service", "reg.example/ok2:1"),
    ];
    let world = World::new("parallel-one-fails", &units, "0");
    world.set("bad.service", "fails", "");
    let (id, status) = world.deploy(&["ok1.service", "bad.service", "ok2.service"]);
    assert_eq!(status, "rolled_back", "{}", world.log(id));
    let rows = world.rows(id);
    let status_of = |u: &str| rows.iter().find(|r| r.0 == u).unwrap().1.clone();
    assert_eq!(status_of("bad.service"), "rolled_back", "{rows:?}");
    assert_eq!(status_of("ok1.service"), "succeeded", "{rows:?}");
    assert_eq!(status_of("ok2.service"), "succeeded", "{rows:?}");
    assert_eq!(world.runs("bad.service"), OLD_ID);
    assert_eq!(
        (world.runs("ok1.service"), world.runs("ok2.service")),
        (NEW_ID.into(), NEW_ID.into())
    );
}

#[test]
fn units_bound_together_roll_back_together() {
    let units = [
        ("db.service", "reg.example/db:1"),
        ("web.service", "reg.example/web:1"),
        ("other.service", "reg.example/other:1"),
    ];
    let world = World::new("parallel-bound-pair", &units, "0");
    world.set("web.service", "binds", "db.service");
    world.set("web.service", "after", "db.service");
    world.set("web.service", "fails", "");
    let (id, status) = world.deploy(&["web.service", "db.service", "other.service"]);
    assert_eq!(status, "rolled_back", "{}", world.log(id));
    let rows = world.rows(id);
    let row = |u: &str| rows.iter().find(|r| r.0 == u).unwrap().clone();
    assert_eq!(row("web.service").1, "rolled_back", "{rows:?}\n{}", world.log(id));
    let db = row("db.service");
    assert_eq!(db.1, "rolled_back", "{rows:?}\n{}", world.log(id));
    assert!(
        db.2.starts_with("web.service of its group failed after its restart; rolled back to"),
        "{}",
        db.2
    );
    assert_eq!(row("other.service").1, "succeeded", "{rows:?}");
    assert_eq!(
        (world.runs("db.service"), world.runs("web.service")),
        (OLD_ID.into(), OLD_ID.into())
    );
    assert_eq!(world.runs("other.service"), NEW_ID);
}

#[test]
fn a_pods_containers_restart_together_within_one_window() {
    let units = [("pa.service", "reg.example/pa:1"), ("pb.service", "reg.example/pb:1")];
    let world = World::new("parallel-pod", &units, "0");
    let world = World {
        podup: world.podup.env("PODUP_VERIFY_SECS", "3"),
        fakes: world.fakes,
    };
    for u in ["pa.service", "pb.service"] {
        world.set(u, "binds", "pod-p.service");
        world.set(u, "after", "pod-p.service");
    }
    let (id, status) = world.deploy(&["pa.service", "pb.service"]);
    assert_eq!(status, "succeeded", "{}", world.log(id));
    let times = world.times();
    let at = |what: &str, u: &str| times.iter().find(|t| t.0 == what && t.1 == u).unwrap().2;
    // A window is 3 s from a restart's end: each member restarts inside the other's.
    let first_done = at("done", "pa.service").min(at("done", "pb.service"));
    let last_start = at("start", "pa.service").max(at("start", "pb.service"));
    assert!(
        last_start < first_done + 3000,
        "one member restarted only after the other's window ended: {times:?}\n{}",
        world.log(id)
    );
    assert!(
        world.log(id).contains("pa.service, pb.service go together")
            && world
                .log(id)
                .contains("pa.service: restarting pod-p.service, pa.service, pb.service in one job"),
        "{}",
        world.log(id)
    );
    assert_eq!(
        (world.runs("pa.service"), world.runs("pb.service")),
        (NEW_ID.into(), NEW_ID.into())
    );
}
