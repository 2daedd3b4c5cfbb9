//! Senders other than GitHub on the real bed (issue 20): the bed's own `docker-registry`
//! sending its real notifications on a push, and signed deliveries shaped as Gitea,
//! Harbor and Docker Hub send them, each ending in a verified deploy.

use crate::harness::{
    Bed, Harness, SECRET, Served, bed_bin, copy_binary, free_port, serve_on, shout, state_db, wait_until,
};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const VERIFY_SECS: &str = "2";
const REGISTRY_SECRET: &str = "real-test-registry-secret";

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

/// What a bed's unit runs: `container-<name>.service`, image `repo` pushed to the
/// bed's registry, named as Docker Hub names it (`docker.io/<repo>`) when `hub`.
struct App {
    name: &'static str,
    repo: &'static str,
    hub: bool,
}

impl App {
    fn image(&self, bed: &Harness) -> String {
        if self.hub {
            format!("docker.io/{}:latest", self.repo)
        } else {
            bed.image_ref(self.repo)
        }
    }
}

/// A bed whose units run v1 of each app, and podup serving them with `env`; with
/// `notify`, the bed's registry sends its notifications to podup (podup's port is
/// chosen before the bed is up, since the registry starts first).
fn bed_with(test: &str, apps: &[App], env: &[(&str, &str)], notify: bool) -> Option<(Bed, Vec<String>)> {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hooks/registry");
    let mut knobs = Vec::new();
    if notify {
        knobs.push(("PODUP_REGISTRY_NOTIFY_URL", url.as_str()));
        knobs.push(("PODUP_REGISTRY_NOTIFY_SECRET", REGISTRY_SECRET));
    }
    let bed = Harness::up_with(test, &knobs)?;
    let mut services = Vec::new();
    let mut v1 = Vec::new();
    for app in apps {
        v1.push(bed.push_image(app.repo, "v1", None));
        let image = app.image(&bed);
        let unit = bed.container_unit(app.name, &image);
        bed.systemctl_ok(&["start", &unit]);
        assert_eq!(&bed.running_digest(app.name), v1.last().unwrap(), "{unit} runs v1");
        services.push(format!("{unit}={image}"));
    }
    copy_binary(&bed);
    let bin = bed_bin(&bed);
    let services = services.join(",");
    let mut all = vec![
        ("PODUP_SERVICES", services.as_str()),
        ("PODUP_GITHUB_SECRET", SECRET),
        ("PODUP_VERIFY_SECS", VERIFY_SECS),
    ];
    all.extend_from_slice(env);
    let podup: Served = serve_on(&bed, &all, &bin, port);
    let repository = apps[0].image(&bed).trim_end_matches(":latest").to_string();
    Some((
        Bed {
            bed,
            podup,
            repository,
            bin,
            verify_secs: VERIFY_SECS.into(),
        },
        v1,
    ))
}

/// Ids of the tasks deliveries of `sender` made, oldest first.
fn tasks_of(b: &Bed, sender: &str) -> Vec<i64> {
    let conn = rusqlite::Connection::open(state_db(&b.bed)).unwrap();
    let mut st = conn
        .prepare("SELECT id FROM tasks WHERE source = ?1 ORDER BY id")
        .unwrap();
    st.query_map([sender], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// How many of the registry's deliveries podup answered with `reason`, and their statuses.
fn registry_answers(b: &Bed, reason: &str) -> Vec<i64> {
    let conn = rusqlite::Connection::open(state_db(&b.bed)).unwrap();
    let mut st = conn
        .prepare("SELECT status FROM event_log WHERE action = 'registry_webhook' AND reason = ?1")
        .unwrap();
    st.query_map([reason], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Waits for task `id` to end and checks it deployed and verified `digest` on `unit`.
fn assert_deployed(b: &Bed, id: i64, unit: &str, digest: &str) -> Value {
    let t = b.podup.wait_task(id, Duration::from_secs(120));
    assert_eq!(b.status(&t), ("succeeded".into(), "ok".into()), "{t:#}");
    let name = unit.trim_start_matches("container-").trim_end_matches(".service");
    assert_eq!(b.bed.running_digest(name), digest, "{unit} runs the pushed digest");
    assert_eq!(t["units"][0]["unit"], unit, "{t:#}");
    assert_eq!(
        t["units"][0]["to_digest"], digest,
        "the task records what it deployed: {t:#}"
    );
    t
}

on_kinds!(the_registrys_own_notifications_deploy_a_push);
fn the_registrys_own_notifications_deploy_a_push() {
    let env = [("PODUP_REGISTRY_SECRET", REGISTRY_SECRET)];
    let app = App {
        name: "app",
        repo: "acme/app",
        hub: false,
    };
    let Some((b, v1)) = bed_with("senders-registry", &[app], &env, true) else {
        return;
    };
    // The registry queued v1's push (and the unit's pulls) while podup was not yet
    // listening and retries them: v1's tagged manifest push makes a task too (it
    // deploys what already runs). Wait for it, so that the next task is v2's.
    assert!(
        wait_until(Duration::from_secs(60), || !tasks_of(&b, "registry").is_empty()),
        "the registry's retried delivery of v1's push made no task"
    );
    let first = tasks_of(&b, "registry")[0];
    let t = b.podup.wait_task(first, Duration::from_secs(120));
    assert_eq!(t["units"][0]["to_digest"], v1[0].as_str(), "{t:#}");
    let before = tasks_of(&b, "registry").len();

    let pushed_ms = now_ms();
    let v2 = b.bed.push_image("acme/app", "v2", None);
    let push_s = (now_ms() - pushed_ms) as f64 / 1000.0;
    let mut tasks = Vec::new();
    assert!(
        wait_until(Duration::from_secs(60), || {
            tasks = tasks_of(&b, "registry");
            tasks.len() > before
        }),
        "the registry's delivery of v2's push made no task"
    );
    assert_eq!(tasks.len(), before + 1, "one push, one task: {tasks:?}");
    let t = assert_deployed(&b, tasks[before], "container-app.service", &v2);
    assert_eq!(t["task"]["source"], "registry", "{t:#}");
    let finished = t["task"]["finished_ms"].as_i64().unwrap();
    shout(&format!(
        "registry notifications: push → verified deploy: {:.2} s (of which the harness's build and buildah push {push_s:.2} s; the deploy's stay-active window is {VERIFY_SECS} s)",
        (finished - pushed_ms) as f64 / 1000.0
    ));
    // The push's blob events and the pulls were each answered 2xx, ignored, so the
    // registry did not retry them.
    let blobs = registry_answers(&b, "not_a_manifest");
    let pulls = registry_answers(&b, "unsupported_action");
    assert!(
        !blobs.is_empty() && !pulls.is_empty(),
        "blobs {blobs:?} pulls {pulls:?}"
    );
    assert!(
        blobs.iter().chain(&pulls).all(|s| (200..300).contains(s)),
        "{blobs:?} {pulls:?}"
    );
    shout(&format!(
        "registry notifications: {} blob pushes and {} pulls answered 2xx ignored",
        blobs.len(),
        pulls.len()
    ));
}
