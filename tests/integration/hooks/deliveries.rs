//! What one delivery does: its signature is checked, a package event dispatches one
//! task with the exact `systemd-run` argv, and every other case is ignored with a reason.

use crate::support::*;

#[test]
fn githubs_test_vector_is_accepted_and_other_signatures_are_refused() {
    assert_eq!(
        sign(SECRET, b"Hello, World!"),
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    );
    let (fakes, podup) = setup("hook-sig", &[]);
    let server = podup.serve(&[]);
    let body = b"Hello, World!";
    // Signed right but not JSON: the signature passed, the payload is refused.
    let r = deliver(
        server.addr,
        "/hooks/github",
        "package",
        "d0",
        body,
        Some(&sign(SECRET, body)),
    );
    assert_eq!((r.status, r.json()["error"].as_str()), (400, Some("invalid_payload")));
    let good = fixture("package.published.container-tagged.json");
    let expected = sign(SECRET, &good);
    let wrong = sign("another secret", &good);
    for (sig, code) in [
        (None, "signature_missing"),
        (Some(wrong.as_str()), "signature_mismatch"),
        (
            Some("sha1=757107ea0eb2509fc211221cce984b8a37570b6d"),
            "signature_malformed",
        ),
        (
            Some("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
            "signature_malformed",
        ),
    ] {
        let r = deliver(server.addr, "/hooks/github", "package", "d1", &good, sig);
        assert_eq!((r.status, r.json()["error"].as_str()), (401, Some(code)), "{sig:?}");
        assert!(
            !r.body.contains(&expected[7..]),
            "the expected signature is never revealed"
        );
    }
    assert!(fakes.calls_of("systemd-run").is_empty(), "nothing dispatched");
    let conn = rusqlite::Connection::open(&server.db).unwrap();
    let leaked: i64 = conn
        .query_row(
            "SELECT count(*) FROM event_log WHERE meta LIKE ?1 OR path LIKE ?1",
            [format!("%{}%", &expected[7..])],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(leaked, 0, "the expected signature is never stored");
    let reasons: Vec<String> = events(&server.db).into_iter().map(|e| e.4).collect();
    assert!(reasons.contains(&"signature_mismatch".to_string()), "{reasons:?}");
}

#[test]
fn a_signed_package_event_dispatches_one_task_with_the_exact_argv() {
    // The public host is the one these requests name (Host: t): others get 421.
    let (fakes, podup) = setup("hook-dispatch", &[("PODUP_PUBLIC_URL", "https://t")]);
    let server = podup.serve(&[]);
    let r = published(server.addr, "delivery-1");
    assert_eq!(r.status, 202, "{}", r.body);
    let v = r.json();
    let id = v["task_id"].as_i64().unwrap();
    assert_eq!(v["status_url"], format!("https://t/api/v1/tasks/{id}"));
    let runs = fakes.calls_of("systemd-run");
    assert_eq!(runs.len(), 1);
    let argv = &runs[0];
    let db = server.db.display().to_string();
    let expected_head = [
        "systemd-run".to_string(),
        format!("--unit=podup-task-{id}.service"),
        "--collect".into(),
        "--no-block".into(),
    ];
    assert_eq!(&argv[..4], &expected_head[..], "{argv:?}");
    assert!(
        argv.iter().any(|a| a.starts_with("--description=podup task ")),
        "{argv:?}"
    );
    // The run-time limit, the sandbox of src/tasks/sandbox.rs, the state dir writable.
    let properties: Vec<&str> = argv.iter().filter_map(|a| a.strip_prefix("--property=")).collect();
    let state_dir = server.db.parent().unwrap().display().to_string();
    let expected = [
        "RuntimeMaxSec=1800",
        "NoNewPrivileges=yes",
        "ProtectSystem=full",
        "ProtectHome=read-only",
        "PrivateTmp=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "ProtectClock=yes",
        "ProtectHostname=yes",
        "KeyringMode=private",
        "LockPersonality=yes",
        "RestrictRealtime=yes",
        "MemoryDenyWriteExecute=yes",
        "SystemCallArchitectures=native",
        "RestrictNamespaces=mnt",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "CapabilityBoundingSet=CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID \
         CAP_MKNOD CAP_SETFCAP CAP_SYS_ADMIN CAP_SYS_CHROOT",
        "SystemCallFilter=~@clock @cpu-emulation @debug @module @obsolete @raw-io @reboot @swap",
        "SystemCallErrorNumber=EPERM",
        "UMask=0077",
        &format!("ReadWritePaths=\"-{state_dir}\""),
        // Where a Follow= deploy writes the file that moves a unit to a new tag.
        "ReadWritePaths=\"-/run/containers/systemd\"",
        "ReadWritePaths=\"-/etc/containers/systemd\"",
        "ReadWritePaths=\"-/etc/podup/images\"",
        // A stop ends safely (docs/tasks.md): SIGTERM to the worker alone, and time
        // for its rollback: two start timeouts, the 10 s window and a margin.
        "KillMode=mixed",
        "TimeoutStopSec=160",
    ];
    assert_eq!(properties, expected);
    assert!(argv.iter().any(|a| a.starts_with("--setenv=PATH=")), "{argv:?}");
    assert!(
        !argv
            .iter()
            .any(|a| a.contains("SECRET") || a.contains(SECRET) || a.contains("NOTIFY_SOCKET")),
        "{argv:?}"
    );
    let tail: Vec<&str> = argv[argv.len() - 5..].iter().map(String::as_str).collect();
    assert_eq!(tail, [PODUP, "run-task", &id.to_string(), "--db", &db]);
    assert!(!argv.contains(&"--user".to_string()));
    let conn = rusqlite::Connection::open(&server.db).unwrap();
    let (kind, unit, digest, delivery): (String, String, String, String) = conn
        .query_row(
            "SELECT t.kind, u.unit, u.to_digest, t.delivery_id FROM tasks t JOIN task_units u ON u.task_id = t.id WHERE t.id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        (kind.as_str(), unit.as_str(), digest.as_str(), delivery.as_str()),
        ("webhook", "app.service", DIGEST, "delivery-1")
    );
    let linked: i64 = conn
        .query_row("SELECT count(*) FROM event_log WHERE task_id = ?1", [id], |r| r.get(0))
        .unwrap();
    assert_eq!(linked, 1, "the creating request's event row links the task");
}

#[test]
fn user_scope_adds_user_to_systemd_run() {
    let (fakes, podup) = setup("hook-user", &[("PODUP_SYSTEMD_SCOPE", "user")]);
    let server = podup.serve(&[]);
    assert_eq!(published(server.addr, "d-user").status, 202);
    let argv = &fakes.calls_of("systemd-run")[0];
    assert_eq!(argv[1], "--user", "{argv:?}");
    assert!(argv.contains(&"--setenv=PODUP_SYSTEMD_SCOPE=user".to_string()));
}

#[test]
fn ping_and_every_ignored_case() {
    let (fakes, podup) = setup(
        "hook-ignored",
        &[("PODUP_SERVICES", "other.service=ghcr.io/acme/other:1")],
    );
    let server = podup.serve(&[]);
    let ping = fixture("ping.payload.json");
    let r = deliver(
        server.addr,
        "/hooks/github",
        "ping",
        "p",
        &ping,
        Some(&sign(SECRET, &ping)),
    );
    assert_eq!((r.status, r.json()["status"].as_str()), (200, Some("pong")));
    assert!(r.json()["hook_id"].is_i64());
    for (event, file, reason) in [
        ("push", "push.payload.json", "unsupported_event"),
        ("package", "package.published.npm.payload.json", "not_a_container"),
        ("package", "package.published.docker.payload.json", "untagged"),
        (
            "package",
            "package.published.container-tagged.json",
            "no_matching_service",
        ),
    ] {
        let body = fixture(file);
        let r = deliver(
            server.addr,
            "/hooks/github",
            event,
            "i",
            &body,
            Some(&sign(SECRET, &body)),
        );
        assert_eq!(
            (r.status, r.json()["reason"].as_str()),
            (202, Some(reason)),
            "{file}: {}",
            r.body
        );
    }
    let body = fixture("package.published.container-tagged.json");
    let r = deliver(
        server.addr,
        "/hooks/github/other.service",
        "package",
        "i",
        &body,
        Some(&sign(SECRET, &body)),
    );
    assert_eq!((r.status, r.json()["reason"].as_str()), (202, Some("image_mismatch")));
    let r = deliver(
        server.addr,
        "/hooks/github/nope.service",
        "package",
        "i",
        &body,
        Some(&sign(SECRET, &body)),
    );
    assert_eq!((r.status, r.json()["error"].as_str()), (404, Some("unknown_service")));
    assert!(fakes.calls_of("systemd-run").is_empty());
}

#[test]
fn form_encoded_deliveries_are_read() {
    let (fakes, podup) = setup("hook-form", &[]);
    let server = podup.serve(&[]);
    let json = fixture("package.published.container-tagged.json");
    let mut form = b"payload=".to_vec();
    for b in json {
        if b.is_ascii_alphanumeric() {
            form.push(b);
        } else {
            form.extend(format!("%{b:02X}").bytes());
        }
    }
    let sig = sign(SECRET, &form);
    let raw = [
        format!("POST /hooks/github HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nX-GitHub-Event: package\r\nX-Hub-Signature-256: {sig}\r\nContent-Length: {}\r\n\r\n", form.len()).into_bytes(),
        form,
    ]
    .concat();
    assert_eq!(exchange(server.addr, &raw).status, 202);
    assert_eq!(fakes.calls_of("systemd-run").len(), 1);
}
