//! The command line and configuration errors: usage on stderr with exit 2, and a
//! message naming each bad variable.

use crate::support::*;

#[test]
fn help_and_version() {
    let podup = Podup::new("help");
    for args in [&["help"][..], &["--help"], &["-h"], &["serve", "--help"]] {
        let out = podup.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage: podup") && text.contains("Exit codes"), "{text}");
    }
    // A command's help is that command's usage, and runs nothing.
    let out = podup.run(&["prune", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("prune [--dry-run]") && !text.contains("trigger SERVICE"),
        "{text}"
    );
    assert!(!podup.db_path().exists(), "prune --help opened the database");
    let out = podup.run(&["version"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("podup {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains(", built "), "{text}");
}

#[test]
fn usage_errors_exit_2_with_usage_on_stderr() {
    let podup = Podup::new("usage");
    for (args, needle) in [
        (&[][..], "missing command"),
        (&["frobnicate"], "unknown command 'frobnicate'"),
        (&["serve", "--bogus"], "bogus"),
        (
            &["serve", "--idle-exit", "ten"],
            "--idle-exit: expected a whole number of seconds, got 'ten'",
        ),
        (&["serve", "extra"], "unexpected argument 'extra'"),
    ] {
        let out = podup.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle) && err.contains("Usage: podup"), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn each_bad_variable_exits_2_and_is_named() {
    for (var, value) in [
        ("PODUP_IDLE_EXIT_SECS", "ten"),
        ("PODUP_MAX_BODY_BYTES", "1MB"),
        ("PODUP_REQUEST_TIMEOUT_MS", "0"),
        ("PODUP_WORKERS", "100"),
        ("PODUP_LOG_LEVEL", "chatty"),
        ("PODUP_STATE_DIR", "relative/dir"),
        ("PODUP_GITHUB_SECRET_FILE", "/nonexistent/secret"),
    ] {
        let podup = Podup::new("badvar").env(var, value);
        let out = podup.run(&["serve", "--listen", "127.0.0.1:0"]);
        assert_eq!(out.status.code(), Some(2), "{var}={value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(var) && err.contains(value), "{var}={value}: {err}");
    }
    let podup = Podup::new("badvar").env("PODUP_IDLE_EXIT_SECS", "ten");
    let err = String::from_utf8_lossy(&podup.run(&["serve"]).stderr).to_string();
    assert!(
        err.contains("PODUP_IDLE_EXIT_SECS: expected a whole number of seconds, got 'ten'"),
        "{err}"
    );
}

#[test]
fn a_secret_never_appears_in_config_errors() {
    let podup = Podup::new("secret")
        .env("PODUP_GITHUB_SECRET", "s3cr3t-value")
        .env("PODUP_GITHUB_SECRET_FILE", "/x");
    let out = podup.run(&["serve"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("PODUP_GITHUB_SECRET") && !err.contains("s3cr3t-value"),
        "{err}"
    );
}

#[test]
fn the_env_example_lists_every_variable_commented_out() {
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/env/podup.env.example")).unwrap();
    // Every "PODUP_..." string literal in src/config/ (tests aside) is a variable podup reads.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/config");
    let mut code = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".rs") && !name.contains("tests") && name != "variables.rs" {
            let src = std::fs::read_to_string(&path).unwrap();
            code += src.split("#[cfg(test)]").next().unwrap();
        }
    }
    let mut names: Vec<String> = code
        .split("\"PODUP_")
        .skip(1)
        .map(|rest| {
            format!(
                "PODUP_{}",
                rest.split(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                    .next()
                    .unwrap()
            )
        })
        .filter(|n| n.len() > "PODUP_".len() + 1 && !n.ends_with('_'))
        .collect();
    names.sort();
    names.dedup();
    // The table podup checks names against (an unknown one draws a warning) and shows
    // in the settings page.
    let table = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/config/variables.rs")).unwrap();
    let mut problems = Vec::new();
    for name in &names {
        if !example.contains(&format!("#{name}=")) {
            problems.push(format!("{name} is missing from env/podup.env.example"));
        }
        // A `_FILE` twin is read wherever its variable is.
        let base = name.strip_suffix("_FILE").unwrap_or(name);
        if !table.contains(&format!("\"{name}\"")) && !table.contains(&format!("\"{base}\"")) {
            problems.push(format!(
                "{name} is missing from VARIABLES in src/config/variables.rs (podup would warn that it is unknown)"
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    let n = names.len();
    assert!(n >= 7, "found only {n} variables in config.rs");
    assert!(
        example.lines().all(|l| l.is_empty() || l.starts_with('#')),
        "every line is commented out"
    );
}
