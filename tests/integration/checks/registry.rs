use super::*;
use crate::support::registry::{Registry, RegistryAuth, available};

#[test]
fn up_to_date_then_a_newer_digest_is_available_and_the_cache_is_used_within_its_ttl() {
    if !available("checks-newer") {
        return;
    }
    let r = Registry::start(RegistryAuth::None);
    let d1 = r.push_image("acme/app", "latest", "v1");
    let (fakes, podup) = checker(
        "checks-newer",
        &[format!("app.service={}", image(&r, "acme/app"))],
        &insecure(&[r.host()]),
        "{}",
    );
    runs(&fakes, &[("app.service", "img1", &d1, &[at(&r, "acme/app", &d1)])]);
    let (out, v) = check(&podup, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let app = verdict(&v, "app.service");
    assert_eq!(app["status"], "up_to_date", "{v:#}");
    assert_eq!(app["remote_digest"], d1.as_str());
    assert_eq!(r.count("HEAD", "/manifests/latest"), 1);
    assert_eq!(r.count("GET", "/manifests/"), 0, "never a GET of a manifest");

    let d2 = r.push_image("acme/app", "latest", "v2");
    // Within PODUP_CHECK_TTL the registry is not asked again.
    let (_, v) = check(&podup, &[]);
    assert_eq!(verdict(&v, "app.service")["status"], "up_to_date");
    assert_eq!(r.count("HEAD", "/manifests/latest"), 1, "the cache answered");
    // A fresh check asks, and finds the newer digest.
    let (out, v) = check(&podup, &["--fresh"]);
    assert!(out.status.success());
    let app = verdict(&v, "app.service");
    assert_eq!(app["status"], "available", "{v:#}");
    assert_eq!(app["remote_digest"], d2.as_str());
    assert_eq!(app["local_digests"], json!([d1]));
    assert_eq!(r.count("HEAD", "/manifests/latest"), 2);
    assert_eq!(r.count("GET", "/manifests/"), 0);
    // The task is a `check` with one unit row, `available`, from d1 to d2.
    let tasks = podup.run(&["tasks"]);
    assert!(String::from_utf8_lossy(&tasks.stdout).contains("check"));
    let conn = rusqlite::Connection::open(podup.db_path()).unwrap();
    let (status, from, to): (String, String, String) = conn
        .query_row(
            "SELECT status, from_digest, to_digest FROM task_units WHERE task_id = ?1",
            [v["task_id"].as_i64().unwrap()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (status.as_str(), from.as_str(), to.as_str()),
        ("available", d1.as_str(), d2.as_str())
    );
}

/// A two-platform image pulled by tag is known by its platform manifest and by the
/// index; the registry answers the index's digest: up to date, not changed forever.
#[test]
fn a_multi_arch_index_is_up_to_date_by_any_digest_the_image_is_known_by() {
    if !available("checks-index") {
        return;
    }
    let r = Registry::start(RegistryAuth::None);
    let (index, [amd64, _arm64]) = r.push_index("acme/multi", "latest", ["m-amd64", "m-arm64"]);
    let (fakes, podup) = checker(
        "checks-index",
        &[
            format!("multi.service={}", image(&r, "acme/multi")),
            format!("partial.service={}", image(&r, "acme/multi")),
            format!("listed.service={}", image(&r, "acme/multi")),
        ],
        &insecure(&[r.host()]),
        "{}",
    );
    // As podman 4.3 records it (tests/fixtures/podman/image-inspect-index.json): Digest
    // is the index, RepoDigests the platform manifest and the index. `partial` is an image
    // known by its platform manifest alone: the index is news to it.
    runs(
        &fakes,
        &[
            (
                "multi.service",
                "img-multi",
                &index,
                &[at(&r, "acme/multi", &amd64), at(&r, "acme/multi", &index)],
            ),
            (
                "partial.service",
                "img-partial",
                &amd64,
                &[at(&r, "acme/multi", &amd64)],
            ),
            // Digest the platform's manifest, the index among RepoDigests only.
            (
                "listed.service",
                "img-listed",
                &amd64,
                &[at(&r, "acme/multi", &amd64), at(&r, "acme/multi", &index)],
            ),
        ],
    );
    let (_, v) = check(&podup, &["--fresh"]);
    assert_eq!(verdict(&v, "multi.service")["status"], "up_to_date", "{v:#}");
    assert_eq!(verdict(&v, "multi.service")["remote_digest"], index.as_str());
    assert_eq!(verdict(&v, "listed.service")["status"], "up_to_date", "{v:#}");
    assert_eq!(verdict(&v, "partial.service")["status"], "available", "{v:#}");
    assert_eq!(
        r.count("HEAD", "/manifests/latest"),
        1,
        "one request for the units on one image"
    );
}

#[test]
fn a_removed_tag_is_unknown_and_the_command_says_so() {
    if !available("checks-removed") {
        return;
    }
    let r = Registry::start(RegistryAuth::None);
    let d1 = r.push_image("acme/app", "latest", "v1");
    let (fakes, podup) = checker(
        "checks-removed",
        &[format!("app.service={}", image(&r, "acme/app"))],
        &insecure(&[r.host()]),
        "{}",
    );
    runs(&fakes, &[("app.service", "img1", &d1, &[at(&r, "acme/app", &d1)])]);
    r.delete_tag("acme/app", "latest");
    let (out, v) = check(&podup, &["--fresh"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a service that cannot be told is a failure of the command"
    );
    let app = verdict(&v, "app.service");
    assert_eq!(
        (app["status"].as_str(), app["reason"].as_str()),
        (Some("unknown"), Some("tag_not_found")),
        "{v:#}"
    );
    // The text form names it too.
    let text = podup.run(&["check-updates", "--fresh"]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("app.service") && stdout.contains("tag_not_found"),
        "{stdout}"
    );
}

/// registries.conf rewrites `docker.io/acme` to the loopback registry, as the real bed
/// does for its Docker Hub test: podup asks where podman would pull from.
#[test]
fn a_registries_conf_prefix_rewrite_is_followed() {
    if !available("checks-prefix") {
        return;
    }
    let r = Registry::start(RegistryAuth::None);
    let d1 = r.push_image("mirror/acme/app", "latest", "v1");
    let conf = format!(
        "[[registry]]\nprefix = \"docker.io/acme\"\nlocation = \"{}/mirror/acme\"\ninsecure = true\n",
        r.host()
    );
    let (fakes, podup) = checker(
        "checks-prefix",
        &["app.service=docker.io/acme/app:latest".into()],
        &conf,
        "{}",
    );
    runs(
        &fakes,
        &[("app.service", "img1", &d1, &[format!("docker.io/acme/app@{d1}")])],
    );
    let (out, v) = check(&podup, &[]);
    assert!(out.status.success(), "{v:#}");
    assert_eq!(verdict(&v, "app.service")["status"], "up_to_date", "{v:#}");
    assert_eq!(r.count("HEAD", "/v2/mirror/acme/app/manifests/latest"), 1);
}
