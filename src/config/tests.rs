//! Tests of the configuration: defaults, precedence, every bad value named, secrets.
use super::*;

fn config(pairs: &[(&str, &str)], euid: u32) -> Result<Config, ConfigError> {
    Config::from_pairs(pairs, euid)
}

#[test]
fn defaults() {
    let c = config(&[("HOME", "/home/u")], 1000).unwrap();
    assert_eq!(c.state_dir, PathBuf::from("/home/u/.local/state/podup"));
    assert_eq!(c.idle_exit_secs, DEFAULT_IDLE_EXIT_SECS);
    assert_eq!(c.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
    assert_eq!(c.workers, DEFAULT_WORKERS);
    assert!(c.github_secrets.is_empty());
    assert_eq!(config(&[], 0).unwrap().state_dir, PathBuf::from("/var/lib/podup"));
}

#[test]
fn scope_services_and_limits() {
    assert!(config(&[("HOME", "/h")], 1000).unwrap().systemd_user);
    assert!(!config(&[], 0).unwrap().systemd_user);
    assert!(config(&[("PODUP_SYSTEMD_SCOPE", "user")], 0).unwrap().systemd_user);
    let c = config(
        &[
            ("PODUP_SERVICES", "a.service=ghcr.io/x/a:1, b.service"),
            ("PODUP_LIMIT_IMAGE", "3/1h"),
        ],
        0,
    )
    .unwrap();
    assert_eq!(c.services.len(), 2);
    assert_eq!(c.limit_image[0].to_string(), "3/1h");
    assert_eq!(c.limit_update_all.len(), 2);
    let u = config(&[("PODUP_PUBLIC_URL", "https://podup.example.com/")], 0).unwrap();
    assert_eq!(u.public_url.as_deref(), Some("https://podup.example.com"));
}

#[test]
fn state_dir_precedence() {
    let c = config(
        &[
            ("STATE_DIRECTORY", "/var/lib/podup:/var/lib/other"),
            ("XDG_STATE_HOME", "/x"),
        ],
        1000,
    )
    .unwrap();
    assert_eq!(c.state_dir, PathBuf::from("/var/lib/podup"));
    let c = config(&[("XDG_STATE_HOME", "/x"), ("HOME", "/h")], 1000).unwrap();
    assert_eq!(c.state_dir, PathBuf::from("/x/podup"));
    let c = config(&[("PODUP_STATE_DIR", "/s"), ("STATE_DIRECTORY", "/t")], 0).unwrap();
    assert_eq!(c.state_dir, PathBuf::from("/s"));
    assert_eq!(
        config(&[("PODUP_STATE_DIR", "rel")], 0).unwrap_err().variable,
        "PODUP_STATE_DIR"
    );
}

#[test]
fn bad_values_name_the_variable_and_value() {
    let e = config(&[("PODUP_IDLE_EXIT_SECS", "ten")], 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "PODUP_IDLE_EXIT_SECS: expected a whole number of seconds, got 'ten'"
    );
    for (var, val) in [
        ("PODUP_MAX_BODY_BYTES", "-1"),
        ("PODUP_REQUEST_TIMEOUT_MS", "0"),
        ("PODUP_WORKERS", "0"),
        ("PODUP_WORKERS", "65"),
        ("PODUP_PULL_PARALLEL", "0"),
        ("PODUP_PULL_PARALLEL", "17"),
        ("PODUP_PULL_PARALLEL", "four"),
        ("PODUP_LOG_LEVEL", "loud"),
        ("PODUP_SERVICES", "app"),
        ("PODUP_SYSTEMD_SCOPE", "global"),
        ("PODUP_VERIFY_SECS", "soon"),
        ("PODUP_TASK_TIMEOUT_SECS", "0"),
        ("PODUP_AUTO_UPDATE_ENGINE", "docker"),
        ("PODUP_PUBLIC_URL", "podup.example.com"),
        ("PODUP_LIMIT_IMAGE", "six"),
        ("PODUP_RETENTION_EVENTS", "forever"),
        ("PODUP_AUTO_DISCOVER", "maybe"),
        ("PODUP_EXCLUDE", "app"),
        ("PODUP_TRUSTED_PROXIES", "proxy.local"),
        ("PODUP_FORWARD_AUTH_HEADER", "X-User:trigger"),
        ("PODUP_FORWARD_AUTH_HEADER", "bad header"),
        ("PODUP_SESSION_SECS", "0"),
        ("PODUP_POLICY_FILE", "policies.ini"),
    ] {
        let e = config(&[(var, val)], 0).unwrap_err();
        assert_eq!(e.variable, var);
        assert!(e.to_string().contains(&format!("'{val}'")), "{e}");
    }
}

#[test]
fn pulls_run_four_at_once_unless_told() {
    assert_eq!(config(&[], 0).unwrap().pull_parallel, 4);
    assert_eq!(config(&[("PODUP_PULL_PARALLEL", "16")], 0).unwrap().pull_parallel, 16);
}

#[test]
fn the_auto_update_engine_is_podman_unless_podup_is_asked_for() {
    use crate::model::Engine;
    assert_eq!(config(&[], 0).unwrap().auto_update_engine, Engine::Podman);
    let podup = config(&[("PODUP_AUTO_UPDATE_ENGINE", "podup")], 0).unwrap();
    assert_eq!(podup.auto_update_engine, Engine::Podup);
    let e = config(&[("PODUP_AUTO_UPDATE_ENGINE", "Podup")], 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "PODUP_AUTO_UPDATE_ENGINE: expected 'podman' or 'podup', got 'Podup'"
    );
}

#[test]
fn the_policy_file_is_a_path_not_yet_read() {
    assert_eq!(config(&[], 0).unwrap().policy_file, None);
    // A missing file is not a reason to refuse to start: `policy` reports it when used.
    let c = config(&[("PODUP_POLICY_FILE", "/nonexistent/policies.ini")], 0).unwrap();
    assert_eq!(c.policy_file, Some(PathBuf::from("/nonexistent/policies.ini")));
}

#[test]
fn secrets_from_value_file_and_credential() {
    let dir = crate::testing::scratch_dir("config");
    std::fs::write(dir.join("file"), "old-secret-0123456\n\n new-secret-0123456 \n").unwrap();
    std::fs::write(dir.join("github-secret"), "cred-secret-0123456\n").unwrap();
    std::fs::write(dir.join("blank"), "\n \n").unwrap();
    let f = dir.join("file").display().to_string();
    let (a, b) = ("a-secret-0123456789", "b-secret-0123456789");
    let c = config(&[("PODUP_GITHUB_SECRET", &format!("{a}\n{b}"))], 0).unwrap();
    assert_eq!(c.github_secrets, vec![Secret(a.into()), Secret(b.into())]);
    let c = config(&[("PODUP_GITHUB_SECRET_FILE", &f)], 0).unwrap();
    assert_eq!(
        c.github_secrets,
        vec![Secret("old-secret-0123456".into()), Secret("new-secret-0123456".into())]
    );
    let d = dir.display().to_string();
    let c = config(&[("CREDENTIALS_DIRECTORY", &d)], 0).unwrap();
    assert_eq!(c.github_secrets, vec![Secret("cred-secret-0123456".into())]);
    let e = config(&[("PODUP_GITHUB_SECRET", "x"), ("PODUP_GITHUB_SECRET_FILE", &f)], 0).unwrap_err();
    assert_eq!(e.variable, "PODUP_GITHUB_SECRET");
    let e = config(&[("PODUP_GITHUB_SECRET_FILE", "/nonexistent/s")], 0).unwrap_err();
    assert_eq!(e.variable, "PODUP_GITHUB_SECRET_FILE");
    let blank = dir.join("blank").display().to_string();
    let e = config(&[("PODUP_GITHUB_SECRET_FILE", &blank)], 0).unwrap_err();
    assert!(e.to_string().contains("holds no secret"));
    assert!(!format!("{c:?}").contains("cred"), "Debug must not print secrets");
    // A secret shorter than 16 bytes is refused, naming where it came from, not what it is.
    let e = config(&[("PODUP_GITHUB_SECRET", "0123456789abcdef\nabcde")], 0).unwrap_err();
    assert_eq!(e.variable, "PODUP_GITHUB_SECRET");
    assert!(
        e.message.contains("secret 2 of 2 is 5 bytes") && !e.message.contains("abcde"),
        "{e}"
    );
    std::fs::write(dir.join("github-secret"), "tiny\n").unwrap();
    let e = config(&[("CREDENTIALS_DIRECTORY", &d)], 0).unwrap_err();
    assert_eq!(e.variable, "credential 'github-secret'");
    assert!(config(&[("PODUP_GITHUB_SECRET", "0123456789abcdef")], 0).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn proxies_and_forward_auth() {
    let c = config(&[], 0).unwrap();
    assert!(c.trusted_proxies.is_empty() && c.forward_auth.is_none());
    assert_eq!(c.session_secs, DEFAULT_SESSION_SECS);
    let c = config(
        &[
            ("PODUP_TRUSTED_PROXIES", "10.0.0.0/8, unix"),
            ("PODUP_FORWARD_AUTH_HEADER", "X-Forwarded-User"),
            ("PODUP_FORWARD_AUTH_SECRET", "0123456789abcdef"),
        ],
        0,
    )
    .unwrap();
    assert!(c.trusted_proxies.contains("10.2.3.4") && c.trusted_proxies.contains("local"));
    assert_eq!(c.forward_auth, Some(("x-forwarded-user".to_string(), Role::Admin)));
    let c = config(&[("PODUP_FORWARD_AUTH_HEADER", "Remote-User:read")], 0).unwrap();
    assert_eq!(c.forward_auth, Some(("remote-user".to_string(), Role::Read)));
}

#[test]
fn unknown_podup_variables_are_reported() {
    let c = config(&[("PODUP_IDLE_EXIT_SEC", "5"), ("PODUP_GITHUB_SECRET_FILE", "")], 0).unwrap();
    assert_eq!(c.unknown_variables, vec!["PODUP_IDLE_EXIT_SEC".to_string()]);
}
