use crate::config::Config;

fn config(pairs: &[(&str, &str)]) -> Result<Config, String> {
    let mut all = vec![("PODUP_STATE_DIR", "/var/lib/podup-test")];
    all.extend_from_slice(pairs);
    Config::from_pairs(&all, 1000).map_err(|e| e.to_string())
}

const SECRET: &str = "tk_topsecret0123456789";

#[test]
fn sinks_are_read_one_per_line_with_their_filters() {
    let text = format!(
        "# deploy alerts\nntfy://ntfy.example.org/deploys?token={SECRET}\n\nwebhook+https://hooks.example.org/p?secret={SECRET}&events=succeeded,failed\n"
    );
    let c = config(&[("PODUP_NOTIFY", &text), ("PODUP_SYSTEMD_SCOPE", "user")]).unwrap();
    assert_eq!(c.notify.sinks.len(), 2);
    assert_eq!(c.notify.timeout_secs, 5);
    assert_eq!(c.notify.give_up_secs, 24 * 3600);
    let debug = format!("{:?}", c.notify);
    assert!(!debug.contains(SECRET), "{debug}");
}

#[test]
fn a_bad_sink_names_the_variable_and_line_never_the_secret() {
    let text = format!("ntfy://ntfy.example.org/deploys?token={SECRET}\nbogus://x/{SECRET}\n");
    let e = config(&[("PODUP_NOTIFY", &text), ("PODUP_SYSTEMD_SCOPE", "user")]).unwrap_err();
    assert!(e.starts_with("PODUP_NOTIFY: line 2: "), "{e}");
    assert!(!e.contains(SECRET), "{e}");
}

#[test]
fn the_system_scope_takes_sinks_from_a_file_or_credential_only() {
    let line = format!("ntfy://ntfy.example.org/deploys?token={SECRET}");
    let e = config(&[("PODUP_NOTIFY", &line), ("PODUP_SYSTEMD_SCOPE", "system")]).unwrap_err();
    assert!(e.contains("PODUP_NOTIFY_FILE") && !e.contains(SECRET), "{e}");
    let dir = crate::testing::scratch_dir("notify-file");
    let file = dir.join("notify");
    std::fs::write(&file, format!("{line}\n")).unwrap();
    let c = config(&[
        ("PODUP_NOTIFY_FILE", file.to_str().unwrap()),
        ("PODUP_SYSTEMD_SCOPE", "system"),
    ])
    .unwrap();
    assert_eq!(c.notify.sinks.len(), 1);
    let (env, props) = c.notify.worker_environment(None);
    assert!(
        env.iter()
            .any(|(k, v)| k == "PODUP_NOTIFY_FILE" && v == file.to_str().unwrap())
    );
    assert!(props.is_empty());
    assert!(!format!("{env:?}").contains(SECRET), "the file is passed by name");
}

#[test]
fn inline_sinks_reach_workers_by_name_only() {
    let line = format!("ntfy://ntfy.example.org/deploys?token={SECRET}");
    let c = config(&[("PODUP_NOTIFY", &line), ("PODUP_SYSTEMD_SCOPE", "user")]).unwrap();
    let (env, _) = c.notify.worker_environment(Some("https://podup.example.org"));
    assert!(env.contains(&("PODUP_NOTIFY".into(), String::new())), "{env:?}");
    assert!(!format!("{env:?}").contains(SECRET));
    assert_eq!(c.notify.pass_env(), [("PODUP_NOTIFY".to_string(), line)]);
}

#[test]
fn knobs_are_checked() {
    let e = config(&[("PODUP_NOTIFY_TIMEOUT_SECS", "0")]).unwrap_err();
    assert!(e.starts_with("PODUP_NOTIFY_TIMEOUT_SECS"), "{e}");
    let e = config(&[("PODUP_NOTIFY_RETRY", "soon")]).unwrap_err();
    assert!(e.starts_with("PODUP_NOTIFY_RETRY"), "{e}");
    let e = config(&[("PODUP_NOTIFY", "x"), ("PODUP_NOTIFY_FILE", "/x")]).unwrap_err();
    assert!(e.contains("set only one"), "{e}");
    let e = config(&[("PODUP_NOTIFY_FILE", "relative")]).unwrap_err();
    assert!(e.contains("absolute"), "{e}");
}
