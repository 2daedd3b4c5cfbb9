//! Credentials: which files, which entry, helpers, and secrets kept out of sight.

use super::auth::{AuthFiles, Credential, paths};
use super::base64;
use super::conf::Env;
use super::helper;
use crate::testing::scratch_dir;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn entry(user: &str, password: &str) -> String {
    format!(
        r#"{{"auth": "{}"}}"#,
        base64::encode(format!("{user}:{password}").as_bytes())
    )
}

fn files(texts: &[(&str, String)]) -> AuthFiles {
    AuthFiles::from_texts(texts.iter().map(|(p, t)| (PathBuf::from(p), t.clone())).collect())
}

fn user(files: &AuthFiles, host: &str, repository: &str) -> Option<String> {
    files.lookup(host, repository).unwrap().map(|c| c.username)
}

#[test]
fn files_are_read_in_podman_order() {
    let env = Env {
        xdg_runtime_dir: Some("/run/user/1000".into()),
        home: Some("/home/u".into()),
        uid: 1000,
        ..Env::default()
    };
    let want = [
        "/run/user/1000/containers/auth.json",
        "/home/u/.config/containers/auth.json",
        "/home/u/.docker/config.json",
        "/home/u/.dockercfg",
    ];
    assert_eq!(paths(&env), want.map(PathBuf::from));
    let root = Env {
        home: Some("/root".into()),
        xdg_config_home: Some("/etc/xdg-root".into()),
        ..Env::default()
    };
    assert_eq!(
        paths(&root)[..2],
        ["/run/containers/0/auth.json", "/etc/xdg-root/containers/auth.json"].map(PathBuf::from)
    );
    let rootless = Env {
        uid: 1001,
        ..Env::default()
    };
    assert_eq!(paths(&rootless), [PathBuf::from("/run/user/1001/containers/auth.json")]);
    let docker = Env {
        docker_config: Some("/cfg".into()),
        ..env.clone()
    };
    assert_eq!(
        paths(&docker),
        [PathBuf::from("/cfg/config.json")],
        "$DOCKER_CONFIG alone"
    );
    let explicit = Env {
        auth_file: Some("/secrets/auth.json".into()),
        ..docker
    };
    assert_eq!(
        paths(&explicit),
        [PathBuf::from("/secrets/auth.json")],
        "$REGISTRY_AUTH_FILE alone"
    );
}

#[test]
fn first_file_with_an_answer_wins() {
    let first = format!(r#"{{"auths": {{"quay.io": {}}}}}"#, entry("from-first", "p1"));
    let second = format!(
        r#"{{"auths": {{"quay.io": {}, "ghcr.io": {}}}}}"#,
        entry("from-second", "p2"),
        entry("gh", "p3")
    );
    let f = files(&[("/a/auth.json", first), ("/b/config.json", second)]);
    assert_eq!(user(&f, "quay.io", "acme/app").as_deref(), Some("from-first"));
    assert_eq!(user(&f, "ghcr.io", "acme/app").as_deref(), Some("gh"));
    assert_eq!(user(&f, "docker.io", "library/app"), None);
}

#[test]
fn the_most_specific_key_wins() {
    let text = format!(
        r#"{{"auths": {{"reg.io": {}, "reg.io/acme": {}, "reg.io/acme/app": {}}}}}"#,
        entry("host", "x"),
        entry("namespace", "x"),
        entry("repo", "x")
    );
    let f = files(&[("/auth.json", text)]);
    assert_eq!(user(&f, "reg.io", "acme/app").as_deref(), Some("repo"));
    assert_eq!(user(&f, "reg.io", "acme/other").as_deref(), Some("namespace"));
    assert_eq!(user(&f, "reg.io", "else/app").as_deref(), Some("host"));
    assert_eq!(user(&f, "reg.io", "acme/app/deeper").as_deref(), Some("repo"));
}

#[test]
fn url_keys_and_docker_hub() {
    let text = format!(
        r#"{{"auths": {{"https://index.docker.io/v1/": {}, "https://reg.lan:5000": {}}}}}"#,
        entry("hub", "x"),
        entry("lan", "x")
    );
    let f = files(&[("/home/u/.docker/config.json", text)]);
    assert_eq!(user(&f, "docker.io", "library/alpine").as_deref(), Some("hub"));
    assert_eq!(user(&f, "reg.lan:5000", "app").as_deref(), Some("lan"));
    let legacy = format!(r#"{{"https://index.docker.io/v1/": {}}}"#, entry("old", "x"));
    let f = files(&[("/home/u/.dockercfg", legacy)]);
    assert_eq!(user(&f, "docker.io", "library/alpine").as_deref(), Some("old"));
}

#[test]
fn auth_fields_decode_as_podman_reads_them() {
    let f = files(&[(
        "/auth.json",
        format!(r#"{{"auths": {{"q.io": {}}}}}"#, entry("me", "pa:ss\u{0}")),
    )]);
    let c = f.lookup("q.io", "a").unwrap().unwrap();
    assert_eq!((c.username.as_str(), c.secret.as_str()), ("me", "pa:ss"));
    let no_colon = format!(
        r#"{{"auths": {{"q.io": {{"auth": "{}"}}}}}}"#,
        base64::encode(b"justone")
    );
    let empty = r#"{"auths": {"q.io": {}}}"#.to_string();
    let fallback = format!(r#"{{"auths": {{"q.io": {}}}}}"#, entry("later", "x"));
    let f = files(&[("/1.json", no_colon), ("/2.json", empty), ("/3.json", fallback)]);
    assert_eq!(
        user(&f, "q.io", "a").as_deref(),
        Some("later"),
        "unusable entries fall through"
    );
    let f = files(&[("/bad.json", r#"{"auths": {"q.io": {"auth": "***"}}}"#.to_string())]);
    let err = f.lookup("q.io", "a").unwrap_err();
    assert_eq!(err.kind(), "bad_auth_entry");
    assert_eq!(err.to_string(), "/bad.json: the 'auth' of entry 'q.io' is not base64");
}

#[test]
fn bad_files_and_identity_tokens_are_warnings() {
    let f = files(&[
        (
            "/broken.json",
            "{\"auths\": {\"q.io\": {\"auth\": \"c2VjcmV0\"".to_string(),
        ),
        (
            "/token.json",
            r#"{"auths": {"q.io": {"identitytoken": "refresh-secret"}}}"#.to_string(),
        ),
    ]);
    assert_eq!(f.lookup("q.io", "a").unwrap(), None);
    assert_eq!(f.warnings().len(), 2, "{:?}", f.warnings());
    assert!(f.warnings()[0].starts_with("/broken.json: not valid JSON (line 1 column"));
    assert!(f.warnings()[1].contains("identity token"));
    let shown = format!("{:?} {:?}", f, f.warnings());
    assert!(
        !shown.contains("c2VjcmV0") && !shown.contains("refresh-secret"),
        "{shown}"
    );
}

#[test]
fn load_skips_missing_and_unreadable_files() {
    let dir = scratch_dir("auth-load");
    std::fs::create_dir_all(dir.join("run/containers/auth.json")).unwrap(); // a directory: unreadable
    std::fs::create_dir_all(dir.join("home/.docker")).unwrap();
    let text = format!(r#"{{"auths": {{"q.io": {}}}}}"#, entry("docker", "x"));
    std::fs::write(dir.join("home/.docker/config.json"), text).unwrap();
    let env = Env {
        xdg_runtime_dir: Some(dir.join("run")),
        home: Some(dir.join("home")),
        uid: 1000,
        ..Env::default()
    };
    let f = AuthFiles::load(&env);
    assert_eq!(user(&f, "q.io", "a").as_deref(), Some("docker"));
    assert_eq!(f.warnings().len(), 1, "{:?}", f.warnings());
    assert!(
        f.warnings()[0].contains("run/containers/auth.json: cannot read"),
        "{:?}",
        f.warnings()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn secrets_stay_out_of_debug_and_display() {
    let c = Credential {
        username: "robot".into(),
        secret: "hunter2".into(),
    };
    assert_eq!(format!("{c:?}"), r#"Credential { username: "robot", secret: *** }"#);
    assert_eq!(c.to_string(), "user 'robot'");
    assert_eq!(c.basic(), format!("Basic {}", base64::encode(b"robot:hunter2")));
}

/// A `docker-credential-<name>` shell script in `dir`.
fn helper_script(dir: &Path, name: &str, body: &str) {
    let path = dir.join(format!("docker-credential-{name}"));
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn credential_helpers_are_asked_for_their_host() {
    let dir = scratch_dir("auth-helpers");
    helper_script(
        &dir,
        "fake",
        r#"[ "$1" = get ] || exit 3
read server
case "$server" in
  reg.io) echo '{"ServerURL":"reg.io","Username":"helped","Secret":"s3cret"}' ;;
  *) echo 'credentials not found in native keychain'; exit 1 ;;
esac"#,
    );
    helper_script(&dir, "broken", "echo 'cannot reach the keyring'; exit 2");
    helper_script(&dir, "leaky", "echo '{\"Secret\":\"s3cret\"'; exit 2");
    let text = r#"{"credHelpers": {"reg.io": "fake", "other.io": "fake", "bad.io": "broken", "leak.io": "leaky", "gone.io": "absent"},
        "auths": {"other.io": {"auth": "dTpw"}}}"#;
    let fallback = format!(r#"{{"auths": {{"other.io": {}}}}}"#, entry("next-file", "x"));
    let f = files(&[("/auth.json", text.to_string()), ("/2.json", fallback)]).with_helper_dir(dir.clone());
    let c = f.lookup("reg.io", "acme/app").unwrap().unwrap();
    assert_eq!((c.username.as_str(), c.secret.as_str()), ("helped", "s3cret"));
    assert_eq!(
        user(&f, "other.io", "a").as_deref(),
        Some("next-file"),
        "not found: the next file is asked"
    );
    let err = f.lookup("bad.io", "a").unwrap_err();
    assert_eq!(err.kind(), "credential_helper_failed");
    assert_eq!(
        err.to_string(),
        "credential helper 'docker-credential-broken' failed (exit status 2): 'cannot reach the keyring'"
    );
    let err = f.lookup("leak.io", "a").unwrap_err().to_string();
    assert!(!err.contains("s3cret"), "{err}");
    let err = f.lookup("gone.io", "a").unwrap_err().to_string();
    assert!(err.contains("docker-credential-absent' cannot be run"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_slow_helper_is_killed() {
    let dir = scratch_dir("auth-slow-helper");
    helper_script(&dir, "slow", "sleep 5");
    let started = std::time::Instant::now();
    let err = helper::get("slow", "reg.io", Some(&dir), Duration::from_millis(200)).unwrap_err();
    assert!(err.to_string().contains("did not answer within"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(helper::get("../x", "reg.io", Some(&dir), Duration::from_secs(1)).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
