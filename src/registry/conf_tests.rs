//! registries.conf: which files, how they merge, and the endpoints they give.

use super::conf::{ConfError, Endpoint, Env, Registries};
use super::conf_files::read_files;
use crate::testing::scratch_dir;
use std::path::PathBuf;

fn parse(files: &[(&str, &str)]) -> Result<Registries, ConfError> {
    let files: Vec<_> = files.iter().map(|(p, t)| (PathBuf::from(p), t.to_string())).collect();
    Registries::parse(&files)
}

fn one(text: &str) -> Registries {
    parse(&[("/etc/containers/registries.conf", text)]).unwrap()
}

/// `host/name` of each endpoint, `!` after a mirror, `?` after an insecure one.
fn asked(registries: &Registries, repository: &str) -> Vec<String> {
    let flags = |e: &Endpoint| {
        format!(
            "{}{}",
            if e.mirror { "!" } else { "" },
            if e.insecure { "?" } else { "" }
        )
    };
    registries
        .endpoints(repository)
        .unwrap()
        .iter()
        .map(|e| format!("{}/{}{}", e.host, e.name, flags(e)))
        .collect()
}

#[test]
fn longest_prefix_wins_and_rewrites() {
    let r = one(r#"
        [[registry]]
        prefix = "example.com/foo"
        location = "mirror.internal/foo"

        [[registry]]
        prefix = "example.com/foo/bar"
        location = "other.internal:5000/x"
    "#);
    assert_eq!(asked(&r, "example.com/foo/bar/app"), ["other.internal:5000/x/app"]);
    assert_eq!(asked(&r, "example.com/foo/app"), ["mirror.internal/foo/app"]);
    assert_eq!(
        asked(&r, "example.com/foobar/app"),
        ["example.com/foobar/app"],
        "a prefix ends at '/'"
    );
    assert_eq!(asked(&r, "quay.io/acme/app"), ["quay.io/acme/app"]);
}

#[test]
fn mirrors_come_first_in_order_with_their_own_insecure() {
    let r = one(r#"
        [[registry]]
        location = "docker.io"
        [[registry.mirror]]
        location = "mirror-a.lan:5000"
        insecure = true
        [[registry.mirror]]
        location = "mirror-b.lan/hub"
    "#);
    assert_eq!(
        asked(&r, "docker.io/library/nginx"),
        [
            "mirror-a.lan:5000/library/nginx!?",
            "mirror-b.lan/hub/library/nginx!",
            "registry-1.docker.io/library/nginx"
        ]
    );
}

#[test]
fn digest_only_mirrors_are_skipped_for_a_tag() {
    let r = one(r#"
        [[registry]]
        location = "quay.io"
        mirror = [
            { location = "digests.lan", pull-from-mirror = "digest-only" },
            { location = "tags.lan", pull-from-mirror = "tag-only" },
            { location = "all.lan", pull-from-mirror = "all" },
        ]

        [[registry]]
        location = "ghcr.io"
        mirror-by-digest-only = true
        mirror = [{ location = "any.lan" }]
    "#);
    assert_eq!(
        asked(&r, "quay.io/a/b"),
        ["tags.lan/a/b!", "all.lan/a/b!", "quay.io/a/b"]
    );
    assert_eq!(asked(&r, "ghcr.io/a/b"), ["ghcr.io/a/b"]);
}

#[test]
fn insecure_and_blocked() {
    let r = one(r#"
        [[registry]]
        location = "reg.lan:5000"
        insecure = true

        [[registry]]
        prefix = "docker.io/evil"
        location = "docker.io/evil"
        blocked = true
    "#);
    assert_eq!(asked(&r, "reg.lan:5000/app"), ["reg.lan:5000/app?"]);
    let err = r.endpoints("docker.io/evil/app").unwrap_err();
    assert_eq!(err.kind(), "registry_blocked");
    assert!(err.to_string().contains("'docker.io/evil/app' is blocked"), "{err}");
    assert_eq!(asked(&r, "docker.io/good/app"), ["registry-1.docker.io/good/app"]);
}

#[test]
fn aliases_and_short_names() {
    let main = r#"
        unqualified-search-registries = ["registry.fedoraproject.org", "docker.io"]
        short-name-mode = "enforcing"
        [aliases]
        "app" = "quay.io/acme/app"
        "tools/cli" = "ghcr.io/acme/cli"
        "hub" = "docker.io/busybox"
    "#;
    let r = one(main);
    assert_eq!(asked(&r, "app"), ["quay.io/acme/app"]);
    assert_eq!(asked(&r, "tools/cli"), ["ghcr.io/acme/cli"]);
    assert_eq!(asked(&r, "hub"), ["registry-1.docker.io/library/busybox"]);
    assert_eq!(
        asked(&r, "nginx"),
        ["registry-1.docker.io/library/nginx"],
        "no alias: Docker Hub"
    );
    assert_eq!(asked(&r, "acme/app"), ["registry-1.docker.io/acme/app"]);
    assert_eq!(
        r.unqualified_search_registries(),
        ["registry.fedoraproject.org", "docker.io"]
    );
    for bad in ["app:1", "", "a@sha256:00", "quay.io/a/b:tag"] {
        assert_eq!(r.endpoints(bad).unwrap_err().kind(), "bad_repository", "{bad}");
    }
    let removed = parse(&[("/main.conf", main), ("/d/10-x.conf", "[aliases]\napp = \"\"\n")]).unwrap();
    assert_eq!(asked(&removed, "app"), ["registry-1.docker.io/library/app"]);
    for bad in [
        "[aliases]\n\"quay.io/x\" = \"quay.io/x\"",
        "[aliases]\nx = \"x/y\"",
        "[aliases]\nx = \"quay.io/x:1\"",
    ] {
        assert_eq!(
            parse(&[("/m.conf", bad)]).unwrap_err().kind(),
            "registries_conf_invalid",
            "{bad}"
        );
    }
}

#[test]
fn drop_ins_override_by_prefix_and_replace_search_lists() {
    let r = parse(&[
        (
            "/etc/containers/registries.conf",
            "unqualified-search-registries = [\"a.io\"]\n[[registry]]\nprefix = \"quay.io\"\nlocation = \"old.lan\"\n[[registry]]\nlocation = \"kept.io\"\ninsecure = true\n",
        ),
        (
            "/etc/containers/registries.conf.d/50-new.conf",
            "[[registry]]\nprefix = \"quay.io\"\nlocation = \"new.lan\"\n",
        ),
    ])
    .unwrap();
    assert_eq!(asked(&r, "quay.io/a/b"), ["new.lan/a/b"]);
    assert_eq!(asked(&r, "kept.io/a"), ["kept.io/a?"]);
    assert_eq!(
        r.unqualified_search_registries(),
        ["a.io"],
        "a drop-in that does not set it keeps it"
    );
}

#[test]
fn wildcard_prefixes_match_subdomains() {
    let r = one(r#"
        [[registry]]
        prefix = "*.corp.example"
        insecure = true

        [[registry]]
        prefix = "*.cdn.example"
        location = "cache.lan"
    "#);
    assert_eq!(asked(&r, "reg.corp.example/app"), ["reg.corp.example/app?"]);
    assert_eq!(asked(&r, "a.b.corp.example:5000/app"), ["a.b.corp.example:5000/app?"]);
    assert_eq!(
        asked(&r, "corp.example/app"),
        ["corp.example/app"],
        "the bare domain is not a subdomain"
    );
    assert_eq!(asked(&r, "eu.cdn.example/x/y"), ["cache.lan/x/y"]);
    assert_eq!(asked(&r, "other.io/corp.example/app"), ["other.io/corp.example/app"]);
}

#[test]
fn version_1_tables_in_the_main_file_only() {
    let v1 = "[registries.search]\nregistries = ['docker.io']\n[registries.insecure]\nregistries = ['reg.lan:5000']\n[registries.block]\nregistries = ['bad.io']\n";
    let r = one(v1);
    assert_eq!(asked(&r, "reg.lan:5000/app"), ["reg.lan:5000/app?"]);
    assert_eq!(r.endpoints("bad.io/x").unwrap_err().kind(), "registry_blocked");
    assert_eq!(r.unqualified_search_registries(), ["docker.io"]);
    let drop_in = parse(&[("/m.conf", ""), ("/d/1.conf", v1)]).unwrap_err();
    assert!(drop_in.to_string().contains("version 2"), "{drop_in}");
    let mixed = parse(&[(
        "/m.conf",
        "[registries.block]\nregistries = ['x.io']\n[[registry]]\nlocation = 'y.io'\n",
    )]);
    assert_eq!(mixed.unwrap_err().kind(), "registries_conf_invalid");
}

#[test]
fn syntax_errors_name_the_file_and_line() {
    let err = parse(&[(
        "/etc/containers/registries.conf",
        "[[registry]]\nlocation = \"a.io\"\n\ninsecure = yes\n",
    )])
    .unwrap_err();
    assert_eq!(err.kind(), "registries_conf_syntax");
    let text = err.to_string();
    assert!(
        text.starts_with("registries.conf: /etc/containers/registries.conf: line 4: "),
        "{text}"
    );
    let err = parse(&[("/m.conf", "[[registry]]\nlocation = 5\n")]).unwrap_err();
    assert!(
        err.to_string().starts_with("registries.conf: /m.conf: line 2: "),
        "{err}"
    );
}

#[test]
fn unknown_keys_are_ignored() {
    let r = one(r#"
        credential-helpers = ["containers-auth.json"]
        something-new = 1
        [[registry]]
        location = "quay.io"
        future-option = true
        [some.table]
        x = "y"
    "#);
    assert_eq!(asked(&r, "quay.io/a/b"), ["quay.io/a/b"]);
}

#[test]
fn invalid_entries_are_refused() {
    for bad in [
        "[[registry]]\nlocation = \"https://quay.io\"",
        "[[registry]]\ninsecure = true",
        "[[registry]]\nprefix = \"quay.io\"",
        "[[registry]]\nprefix = \"*.x.io/a\"",
        "[[registry]]\nlocation = \"q.io\"\npull-from-mirror = \"all\"",
        "[[registry]]\nlocation = \"q.io\"\nmirror = [{ location = \"m\", pull-from-mirror = \"sometimes\" }]",
        "[[registry]]\nlocation = \"q.io\"\nmirror = [{ insecure = true }]",
        "[[registry]]\nlocation = \"q.io\"\nmirror-by-digest-only = true\nmirror = [{ location = \"m\", pull-from-mirror = \"all\" }]",
        "[[registry]]\nprefix = \"a.io\"\nlocation = \"q.io\"\n[[registry]]\nprefix = \"b.io\"\nlocation = \"q.io\"\ninsecure = true",
        "short-name-mode = \"sometimes\"",
    ] {
        let err = parse(&[("/m.conf", bad)]).unwrap_err();
        assert_eq!(err.kind(), "registries_conf_invalid", "{bad}: {err}");
        assert!(err.to_string().starts_with("registries.conf: /m.conf: "), "{err}");
    }
    let r = one("[[registry]]\nprefix = \"quay.io\"\nlocation = \"Bad Host\"\n");
    assert_eq!(r.endpoints("quay.io/a").unwrap_err().kind(), "registries_conf_invalid");
}

#[test]
fn no_input_panics() {
    let junk = [
        "",
        "\u{0}",
        "[[registry]",
        "[[registry]]\nmirror = 5",
        "[aliases]\n\"\" = \"\"",
        "x = [[[",
        "registries = 1",
        "[registries]\nsearch = 2",
    ];
    for text in junk {
        if let Ok(r) = parse(&[("/m.conf", text)]) {
            for repo in [
                "",
                "/",
                "a//b",
                "quay.io/",
                "localhost",
                "[::1]:5000/a",
                "x.io/A",
                "é.io/a",
            ] {
                let _ = r.endpoints(repo);
            }
        }
    }
    assert_eq!(asked(&one(""), "[::1]:5000/a"), ["[::1]:5000/a"]);
}

#[test]
fn files_read_as_podman_chooses_them() {
    let root = scratch_dir("registries-conf");
    let system = root.join("etc");
    let home = root.join("home");
    std::fs::create_dir_all(system.join("registries.conf.d/sub.conf")).unwrap();
    std::fs::create_dir_all(home.join(".config/containers/registries.conf.d")).unwrap();
    std::fs::write(system.join("registries.conf"), "# system\n").unwrap();
    std::fs::write(system.join("registries.conf.d/20-b.conf"), "").unwrap();
    std::fs::write(system.join("registries.conf.d/10-a.conf"), "").unwrap();
    std::fs::write(system.join("registries.conf.d/notes.txt"), "").unwrap();
    std::fs::write(home.join(".config/containers/registries.conf.d/00-user.conf"), "").unwrap();
    let names = |env: &Env| -> Vec<String> {
        let files = read_files(env, &system).unwrap();
        files
            .iter()
            .map(|(p, _)| p.strip_prefix(&root).unwrap().display().to_string())
            .collect()
    };
    let mut env = Env {
        home: Some(home.clone()),
        ..Env::default()
    };
    let all = [
        "etc/registries.conf.d/10-a.conf",
        "etc/registries.conf.d/20-b.conf",
        "home/.config/containers/registries.conf.d/00-user.conf",
    ];
    assert_eq!(names(&env), [&["etc/registries.conf"][..], &all].concat());

    // A user file replaces the system one, and the system drop-ins with it.
    std::fs::write(home.join(".config/containers/registries.conf"), "").unwrap();
    assert_eq!(
        names(&env),
        [
            "home/.config/containers/registries.conf",
            "home/.config/containers/registries.conf.d/00-user.conf"
        ]
    );

    // $CONTAINERS_REGISTRIES_CONF replaces the main file only; it must exist.
    env.registries_conf = Some(root.join("mine.conf"));
    let err = read_files(&env, &system).unwrap_err();
    assert_eq!(err.kind(), "registries_conf_unreadable");
    std::fs::write(root.join("mine.conf"), "").unwrap();
    assert_eq!(names(&env), [&["mine.conf"][..], &all].concat());

    // Nothing at all is an empty configuration.
    let bare = Env::default();
    let files = read_files(&bare, &root.join("nowhere")).unwrap();
    assert_eq!(files, [(root.join("nowhere/registries.conf"), String::new())]);
    let _ = std::fs::remove_dir_all(&root);
}
