//! Senders other than GitHub on the real bed (issue 20): the bed's own `docker-registry`
//! sending its real notifications on a push, and signed deliveries shaped as Gitea,
//! Harbor and Docker Hub send them, each ending in a verified deploy.

use crate::harness::{
    Bed, Harness, Json, SECRET, Served, bed_bin, call, copy_binary, free_port, serve_on, shout, state_db, wait_until,
};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const VERIFY_SECS: &str = "2";
const REGISTRY_SECRET: &str = "real-test-registry-secret";
const GITEA_SECRET: &str = "real-test-gitea-secret";
const HARBOR_SECRET: &str = "real-test-harbor-secret";
const DOCKERHUB_SECRET: &str = "real-test-dockerhub-secret";

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
    let created = t["task"]["created_ms"].as_i64().unwrap();
    shout(&format!(
        "registry notifications: push → verified deploy: {:.2} s (task created by the delivery {:.2} s after push start, while the harness's build and buildah push took {push_s:.2} s; the task {:.2} s with its {VERIFY_SECS} s stay-active window)",
        (finished - pushed_ms) as f64 / 1000.0,
        (created - pushed_ms) as f64 / 1000.0,
        (finished - created) as f64 / 1000.0,
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

/// Hex HMAC-SHA256 of `body` under `secret`, as Gitea signs (`X-Gitea-Signature`).
fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// A Gitea `package` delivery for `owner/name:tag` on the instance at `host`. No Gitea
/// package delivery was ever captured (tests/fixtures/README.md, "gitea/"): this follows
/// go-gitea/gitea `modules/structs/hook.go` `PackagePayload{action, repository, package,
/// organization, sender}` and `modules/structs/package.go` `Package{id, owner,
/// repository, creator, type, name, version, html_url, created_at}`, with `html_url`
/// `<ROOT_URL>/<owner>/-/packages/container/<name>/<version>` as Gitea links a package.
fn gitea_package(host: &str, owner: &str, name: &str, tag: &str) -> Vec<u8> {
    let user = json!({"id": 1, "login": owner, "full_name": "", "email": "", "username": owner});
    let body = json!({
        "action": "created",
        "repository": null,
        "package": {
            "id": 7,
            "owner": user,
            "repository": null,
            "creator": user,
            "type": "container",
            "name": name,
            "version": tag,
            "html_url": format!("http://{host}/{owner}/-/packages/container/{name}/{tag}"),
            "created_at": "2026-01-01T00:00:00Z"
        },
        "organization": null,
        "sender": user
    });
    serde_json::to_vec(&body).unwrap()
}

/// Harbor's Default-format `PUSH_ARTIFACT`: the structure of the fixture
/// `harbor/PUSH_ARTIFACT.tagged.docs-2.0.json` with the bed's image in it.
fn harbor_push(image: &str, repo: &str, tag: &str, digest: &str) -> Vec<u8> {
    let text = include_str!("../fixtures/harbor/PUSH_ARTIFACT.tagged.docs-2.0.json");
    let mut v: Value = serde_json::from_str(text).unwrap();
    v["occur_at"] = json!(now_ms() / 1000);
    let r = &mut v["event_data"]["resources"][0];
    r["digest"] = json!(digest);
    r["tag"] = json!(tag);
    r["resource_url"] = json!(format!("{image}:{tag}"));
    let (namespace, name) = repo.split_once('/').unwrap();
    let repository = &mut v["event_data"]["repository"];
    repository["name"] = json!(name);
    repository["namespace"] = json!(namespace);
    repository["repo_full_name"] = json!(repo);
    serde_json::to_vec(&v).unwrap()
}

/// Docker Hub's push: the structure of the fixture `dockerhub/push.docker-docs.json`
/// with the bed's repository in it (Docker Hub names no host: docker.io).
fn dockerhub_push(repo: &str, tag: &str) -> Vec<u8> {
    let text = include_str!("../fixtures/dockerhub/push.docker-docs.json");
    let mut v: Value = serde_json::from_str(text).unwrap();
    let (namespace, name) = repo.split_once('/').unwrap();
    v["push_data"]["tag"] = json!(tag);
    v["push_data"]["pushed_at"] = json!(now_ms() / 1000);
    let r = &mut v["repository"];
    r["repo_name"] = json!(repo);
    r["namespace"] = json!(namespace);
    r["owner"] = json!(namespace);
    r["name"] = json!(name);
    r["repo_url"] = json!(format!("https://registry.hub.docker.com/u/{repo}/"));
    serde_json::to_vec(&v).unwrap()
}

/// The task a delivery's 202 names.
fn accepted(r: &Json, what: &str) -> i64 {
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (202, Some("accepted")),
        "{what}: {}",
        r.body
    );
    r.body["task_id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{what}: no task_id in {}", r.body))
}

on_kinds!(gitea_harbor_and_docker_hub_deliveries_deploy);
fn gitea_harbor_and_docker_hub_deliveries_deploy() {
    let env = [
        ("PODUP_GITEA_SECRET", GITEA_SECRET),
        ("PODUP_HARBOR_SECRET", HARBOR_SECRET),
        ("PODUP_DOCKERHUB_SECRET", DOCKERHUB_SECRET),
    ];
    let apps = [
        App {
            name: "app",
            repo: "acme/app",
            hub: false,
        },
        App {
            name: "hub",
            repo: "podup-hub/app",
            hub: true,
        },
    ];
    let Some((b, _)) = bed_with("senders-signed", &apps, &env, false) else {
        return;
    };
    let registry = b.bed.registry();
    let addr = b.podup.addr;

    // Gitea: signed, no digest; the deploy resolves the tag and records the digest.
    let v2 = b.bed.push_image("acme/app", "v2", None);
    let body = gitea_package(&registry, "acme", "app", "latest");
    let sig = hmac_hex(GITEA_SECRET, &body);
    let sig256 = format!("sha256={sig}");
    // Gitea also sends the GitHub and Gogs lookalike headers (services/webhook/deliver.go);
    // its SHA-1 `X-Hub-Signature` is left out (no SHA-1 here): podup checks neither.
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Gitea-Delivery", "5b4f1b1e-3c1a-4d8e-9a53-0c7c2b1f0a01"),
        ("X-Gitea-Event", "package"),
        ("X-Gitea-Event-Type", "package"),
        ("X-Gitea-Signature", sig.as_str()),
        ("X-Gogs-Delivery", "5b4f1b1e-3c1a-4d8e-9a53-0c7c2b1f0a01"),
        ("X-Gogs-Event", "package"),
        ("X-GitHub-Delivery", "5b4f1b1e-3c1a-4d8e-9a53-0c7c2b1f0a01"),
        ("X-GitHub-Event", "package"),
        ("X-Hub-Signature-256", sig256.as_str()),
    ];
    let r = call(addr, "POST", "/hooks/gitea", &headers, &body);
    let t = assert_deployed(&b, accepted(&r, "gitea"), "container-app.service", &v2);
    shout(&format!("gitea: delivery → verified deploy {:.2} s", took(&t)));
    // Gitea's "Redeliver" sends the same delivery again: answered with the same task.
    let again = call(addr, "POST", "/hooks/gitea", &headers, &body);
    assert_eq!(
        (again.status, again.body["task_id"].as_i64()),
        (200, t["task"]["id"].as_i64()),
        "{}",
        again.body
    );
    // Signed with another secret: refused.
    let forged = hmac_hex("not-the-gitea-secret", &body);
    let mut bad = headers;
    bad[4] = ("X-Gitea-Signature", forged.as_str());
    bad[9] = ("X-Hub-Signature-256", "");
    assert_eq!(call(addr, "POST", "/hooks/gitea", &bad, &body).status, 401);

    // Harbor: the Auth Header arrives verbatim in Authorization; the digest is in the body.
    let v3 = b.bed.push_image("acme/app", "v3", None);
    let image = b.bed.image_ref("acme/app");
    let body = harbor_push(image.trim_end_matches(":latest"), "acme/app", "latest", &v3);
    let headers = [("Content-Type", "application/json"), ("Authorization", HARBOR_SECRET)];
    let r = call(addr, "POST", "/hooks/harbor", &headers, &body);
    let t = assert_deployed(&b, accepted(&r, "harbor"), "container-app.service", &v3);
    let pulled = t["logs"].as_array().unwrap().iter().any(|l| {
        l["argv"].as_array().is_some_and(|a| {
            a.iter()
                .any(|x| x.as_str().is_some_and(|x| x.ends_with(&format!("@{v3}"))))
        })
    });
    assert!(pulled, "Harbor's digest is pulled by digest: {t:#}");
    shout(&format!("harbor: delivery → verified deploy {:.2} s", took(&t)));

    // Docker Hub: the secret is the path; docker.io/podup-hub/app is the bed's registry
    // (its registries.conf); no digest: resolved by the deploy and recorded.
    let hub2 = b.bed.push_image("podup-hub/app", "v2", None);
    let body = dockerhub_push("podup-hub/app", "latest");
    let path = format!("/hooks/dockerhub/{DOCKERHUB_SECRET}");
    let r = call(addr, "POST", &path, &[("Content-Type", "application/json")], &body);
    let t = assert_deployed(&b, accepted(&r, "dockerhub"), "container-hub.service", &hub2);
    assert_eq!(t["units"][0]["image"], "docker.io/podup-hub/app:latest", "{t:#}");
    shout(&format!("dockerhub: delivery → verified deploy {:.2} s", took(&t)));
    let wrong = call(
        addr,
        "POST",
        "/hooks/dockerhub/not-the-secret",
        &[("Content-Type", "application/json")],
        &body,
    );
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert_eq!(
        b.bed.running_digest("app"),
        v3,
        "the hub deploy left the other unit alone"
    );
}

/// From a task's creation to its end, in seconds.
fn took(t: &Value) -> f64 {
    let (created, finished) = (t["task"]["created_ms"].as_i64(), t["task"]["finished_ms"].as_i64());
    (finished.unwrap_or(0) - created.unwrap_or(0)) as f64 / 1000.0
}
