use super::human::took;
use super::*;
use crate::notify::message::{AuthFailuresPart, SCHEMA, TaskPart, TriggerPart, UnitPart};
use crate::notify::sink::parse;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use std::path::Path;

/// The sample every golden file renders: a webhook task that rolled back, two units,
/// triggered by GitHub, four lines of log, a panel link.
pub(crate) fn sample_message() -> Message {
    let units = [
        (
            "web.service",
            "rolled_back",
            "web",
            "0123456789ab",
            "89abcdef0123",
            Some("health check failed after restart"),
        ),
        (
            "worker.service",
            "succeeded",
            "worker",
            "fedcba987654",
            "76543210fedc",
            None,
        ),
    ];
    Message {
        schema: SCHEMA,
        id: "podup-0f1e2d3c4b5a69788796a5b4c3d2e1f0".into(),
        event: Event::RolledBack,
        host: "host-a".into(),
        ts_ms: 1_765_000_012_400,
        title: "web.service and 1 more rolled back on host-a".into(),
        task: Some(TaskPart {
            id: 42,
            kind: "webhook".into(),
            status: "rolled_back".into(),
            reason: Some("health_check_failed".into()),
            message: Some("web.service did not become healthy; its previous image runs again".into()),
            created_ms: 1_765_000_000_000,
            finished_ms: Some(1_765_000_012_300),
            duration_ms: Some(12_300),
        }),
        units: units
            .map(|(unit, status, name, from, to, message)| UnitPart {
                unit: unit.into(),
                status: status.into(),
                image: Some(format!("ghcr.io/acme/{name}:latest")),
                tag: Some("latest".into()),
                from_digest: Some(format!("sha256:{}", &from.repeat(6)[..64])),
                to_digest: Some(format!("sha256:{}", &to.repeat(6)[..64])),
                message: message.map(String::from),
            })
            .into(),
        trigger: Some(TriggerPart {
            source: "github".into(),
            caller: Some("acme/web".into()),
            reason: Some("package published".into()),
        }),
        log_tail: vec![
            "info web.service: pulled ghcr.io/acme/web@sha256:89abcdef0123".into(),
            "info web.service: restarted; waiting up to 30 s for it to become healthy".into(),
            "error web.service: health check failed: connection refused on 127.0.0.1:8080 <&>".into(),
            "warn web.service: rolled back to sha256:0123456789ab".into(),
        ],
        url: Some("https://podup.example.org/tasks?task=42".into()),
        auth_failures: None,
    }
}

fn auth_failures_message() -> Message {
    Message {
        schema: SCHEMA,
        id: "podup-aaaabbbbccccddddeeeeffff00001111".into(),
        event: Event::AuthFailures,
        host: "host-a".into(),
        ts_ms: 1_765_000_300_000,
        title: "40 failed authentications on host-a".into(),
        task: None,
        units: Vec::new(),
        trigger: None,
        log_tail: Vec::new(),
        url: Some("https://podup.example.org/events".into()),
        auth_failures: Some(AuthFailuresPart {
            count: 40,
            window_secs: 300,
            first_ms: 1_765_000_003_000,
            last_ms: 1_765_000_291_000,
            routes: [("/hooks/github".to_string(), 38), ("/api/tasks".to_string(), 2)].into(),
        }),
    }
}

/// One sink of each kind, with made-up credentials.
const SINKS: [(&str, &str); 7] = [
    (
        "webhook",
        "webhook+https://hooks.example.org/podup?team=ops&secret=webhook-hmac-key",
    ),
    (
        "exec",
        "exec:/usr/bin/apprise?arg=-t&arg={title}&arg=-b&arg={text}&arg=json://127.0.0.1:9000/",
    ),
    ("ntfy", "ntfy://ntfy.example.org/podup-alerts?token=tk_made_up_token"),
    ("slack", "slack+https://hooks.slack.com/services/T000/B000/made-up"),
    (
        "discord",
        "discord+https://discord.com/api/webhooks/123456789/made-up-token",
    ),
    ("gotify", "gotify://gotify.example.org/AmadeUpToken1"),
    (
        "matrix",
        "matrix://podup:syt_made_up@matrix.example.org/!room123:example.org",
    ),
];

fn sink(kind: &str) -> Sink {
    let line = SINKS.iter().find(|(k, _)| *k == kind).unwrap().1;
    parse(line).unwrap()
}

fn http_parts(r: Request) -> (&'static str, String, Vec<(String, String)>, Vec<u8>) {
    match r {
        Request::Http {
            method,
            url,
            headers,
            body,
        } => (method, url, headers, body),
        Request::Exec { .. } => panic!("expected an HTTP request"),
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Compares `got` with `tests/fixtures/notify/<name>`; `PODUP_GOLDEN=record` writes it.
fn golden(name: &str, got: &[u8]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/notify")
        .join(name);
    if std::env::var("PODUP_GOLDEN").as_deref() == Ok("record") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want =
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (PODUP_GOLDEN=record writes it)", path.display()));
    assert!(
        want == got,
        "{} differs (PODUP_GOLDEN=record rewrites it)\nwant: {}\ngot:  {}",
        path.display(),
        String::from_utf8_lossy(&want),
        String::from_utf8_lossy(got)
    );
}

#[test]
fn golden_bodies_of_every_kind() {
    let msg = sample_message();
    for (kind, _) in SINKS {
        match render(&sink(kind), &msg) {
            Request::Http { body, .. } => {
                serde_json::from_slice::<Value>(&body).unwrap();
                golden(&format!("{kind}.json"), &body);
            }
            Request::Exec {
                program,
                args,
                stdin,
                env,
            } => {
                golden("exec.stdin.json", &stdin);
                let rest = json!({ "program": program, "args": args, "env": env });
                let mut pretty = serde_json::to_vec_pretty(&rest).unwrap();
                pretty.push(b'\n');
                golden("exec.argv-env.json", &pretty);
            }
        }
    }
    let (_, _, _, body) = http_parts(render(&sink("ntfy"), &auth_failures_message()));
    golden("ntfy-auth_failures.json", &body);
}

#[test]
fn webhook_is_podups_json_signed_over_the_exact_body() {
    let msg = sample_message();
    let (method, url, headers, body) = http_parts(render(&sink("webhook"), &msg));
    assert_eq!(
        (method, url.as_str()),
        ("POST", "https://hooks.example.org/podup?team=ops")
    );
    assert_eq!(serde_json::from_slice::<Message>(&body).unwrap(), msg);
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"webhook-hmac-key").unwrap();
    mac.update(&body);
    let want = format!("sha256={}", crate::hex::hex(&mac.finalize().into_bytes()));
    assert_eq!(header(&headers, "X-Podup-Signature-256"), Some(want.as_str()));
    assert_eq!(header(&headers, "Content-Type"), Some("application/json"));
    assert_eq!(
        header(&headers, "User-Agent"),
        Some(format!("podup/{VERSION}").as_str())
    );
    assert_eq!(header(&headers, "X-Podup-Event"), Some("rolled_back"));
    assert_eq!(header(&headers, "X-Podup-Delivery"), Some(msg.id.as_str()));
    let unsigned = parse("webhook+https://hooks.example.org/podup").unwrap();
    let (_, _, headers, _) = http_parts(render(&unsigned, &msg));
    assert_eq!(header(&headers, "X-Podup-Signature-256"), None);
}

#[test]
fn where_each_service_is_asked() {
    let msg = sample_message();
    let (m, url, headers, _) = http_parts(render(&sink("ntfy"), &msg));
    assert_eq!((m, url.as_str()), ("POST", "https://ntfy.example.org/"));
    assert_eq!(header(&headers, "Authorization"), Some("Bearer tk_made_up_token"));
    let basic = parse("ntfy://phil:mypass@ntfy.example.org/t").unwrap();
    let (_, _, headers, _) = http_parts(render(&basic, &msg));
    assert_eq!(header(&headers, "Authorization"), Some("Basic cGhpbDpteXBhc3M="));

    let (m, url, headers, _) = http_parts(render(&sink("gotify"), &msg));
    assert_eq!((m, url.as_str()), ("POST", "https://gotify.example.org/message"));
    assert_eq!(header(&headers, "X-Gotify-Key"), Some("AmadeUpToken1"));

    let (m, url, _, _) = http_parts(render(&sink("slack"), &msg));
    assert_eq!(
        (m, url.as_str()),
        ("POST", "https://hooks.slack.com/services/T000/B000/made-up")
    );
    let (m, url, _, _) = http_parts(render(&sink("discord"), &msg));
    assert_eq!(
        (m, url.as_str()),
        ("POST", "https://discord.com/api/webhooks/123456789/made-up-token")
    );

    let matrix = sink("matrix");
    let (m, url, headers, _) = http_parts(render(&matrix, &msg));
    let txn = format!("{}.{}", msg.id, matrix.key);
    let want = format!(
        "https://matrix.example.org/_matrix/client/v3/rooms/%21room123%3Aexample.org/send/m.room.message/{txn}"
    );
    assert_eq!((m, url.as_str()), ("PUT", want.as_str()));
    assert_eq!(header(&headers, "Authorization"), Some("Bearer syt_made_up"));
    let (_, again, _, _) = http_parts(render(&matrix, &msg));
    assert_eq!(again, url, "a retry reuses the transaction id");
    let other = parse("matrix://podup:syt_made_up@matrix.example.org/!room123:example.org?events=failed").unwrap();
    assert_ne!(
        http_parts(render(&other, &msg)).1,
        url,
        "another sink, another transaction"
    );
}

#[test]
fn exec_gets_argv_env_and_stdin() {
    let msg = sample_message();
    let Request::Exec {
        program,
        args,
        stdin,
        env,
    } = render(&sink("exec"), &msg)
    else {
        panic!()
    };
    let (title, body) = text(&msg, "host-a");
    assert_eq!(program, Path::new("/usr/bin/apprise"));
    assert_eq!(
        args,
        ["-t", title.as_str(), "-b", body.as_str(), "json://127.0.0.1:9000/"]
    );
    assert_eq!(serde_json::from_slice::<Message>(&stdin).unwrap(), msg);
    let env: std::collections::HashMap<_, _> = env.into_iter().collect();
    assert_eq!(env["PODUP_UNITS"], "web.service worker.service");
    assert_eq!(env["PODUP_TASK_ID"], "42");
    assert_eq!(env["PODUP_TASK_STATUS"], "rolled_back");
    assert_eq!(env["PODUP_URL"], "https://podup.example.org/tasks?task=42");
    let mut bare = auth_failures_message();
    bare.url = None;
    let Request::Exec { env, .. } = render(&sink("exec"), &bare) else {
        panic!()
    };
    assert!(env.iter().all(|(k, _)| k != "PODUP_URL" && k != "PODUP_TASK_ID"));
    assert_eq!(fill("{title}/{text}/{x}/{", "a{text}", "b"), "a{text}/b/{x}/{");
}

#[test]
fn a_sinks_host_replaces_the_messages_everywhere() {
    let msg = sample_message();
    for (kind, line) in SINKS {
        let s = parse(&format!(
            "{line}{}host=prod-eu",
            if line.contains('?') { '&' } else { '?' }
        ))
        .unwrap();
        let bytes = match render(&s, &msg) {
            Request::Http { body, .. } => body,
            Request::Exec { args, stdin, env, .. } => {
                [stdin, args.join(" ").into_bytes(), format!("{env:?}").into_bytes()].concat()
            }
        };
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("prod-eu") && !text.contains("host-a"), "{kind}: {text}");
    }
    let (_, _, _, body) = http_parts(render(
        &parse("webhook+https://h.example.org/?host=prod-eu").unwrap(),
        &msg,
    ));
    let m: Message = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (m.host.as_str(), m.title.as_str()),
        ("prod-eu", "web.service and 1 more rolled back on prod-eu")
    );
}

#[test]
fn failures_are_louder_than_successes() {
    let mut msg = sample_message();
    let prio = |msg: &Message, kind: &str| {
        let body: Value = serde_json::from_slice(&http_parts(render(&sink(kind), msg)).3).unwrap();
        body["priority"].as_u64().unwrap()
    };
    let (ntfy_bad, gotify_bad) = (prio(&msg, "ntfy"), prio(&msg, "gotify"));
    msg.event = Event::Succeeded;
    assert!(ntfy_bad > prio(&msg, "ntfy") && gotify_bad > prio(&msg, "gotify"));
}

#[test]
fn long_text_is_cut_within_each_limit() {
    let mut msg = sample_message();
    msg.log_tail = (0..10).map(|i| format!("{i} 🦀{}", "é".repeat(499))).collect();
    msg.units = (0..40).flat_map(|_| msg.units.clone()).collect();
    let field = |msg: &Message, kind: &str, pointer: &str| -> String {
        let body: Value = serde_json::from_slice(&http_parts(render(&sink(kind), msg)).3).unwrap();
        body.pointer(pointer).unwrap().as_str().unwrap().to_string()
    };
    let ntfy = field(&msg, "ntfy", "/message");
    assert!(ntfy.len() <= 4096 && ntfy.ends_with('…'), "{}", ntfy.len());
    let slack = field(&msg, "slack", "/text");
    assert!(slack.encode_utf16().count() <= 4000 && slack.ends_with('…'));
    let discord = field(&msg, "discord", "/embeds/0/description");
    assert!(discord.encode_utf16().count() <= 4096 && discord.ends_with('…'));
    let gotify = field(&msg, "gotify", "/message");
    assert!(gotify.len() <= 16 * 1024 && gotify.ends_with('…'));
    let matrix: Value = serde_json::from_slice(&http_parts(render(&sink("matrix"), &msg)).3).unwrap();
    assert!(matrix["body"].as_str().unwrap().len() <= 16 * 1024);
    assert!(
        matrix.get("formatted_body").is_none(),
        "HTML too large for the event is left out"
    );
    msg.title = format!("{} on host-a", "t".repeat(300));
    assert_eq!(field(&msg, "discord", "/embeds/0/title").chars().count(), 256);
}

#[test]
fn fit_cuts_on_character_boundaries() {
    assert_eq!(fit("abc", 3, char::len_utf8), "abc");
    assert_eq!(fit("abcd", 3, char::len_utf8), "…");
    assert_eq!(fit("abcdef", 5, char::len_utf16), "abcd…");
    assert_eq!(fit("ééééé", 8, char::len_utf8), "éé…");
    assert_eq!(fit("🦀🦀🦀", 5, char::len_utf16), "🦀🦀…");
    assert_eq!(fit("🦀🦀🦀", 4, char::len_utf16), "🦀…");
    assert_eq!(fit("🦀🦀🦀", 6, char::len_utf16), "🦀🦀🦀");
}

#[test]
fn chat_text_is_escaped_for_its_service() {
    let msg = sample_message();
    let body = |kind: &str| String::from_utf8(http_parts(render(&sink(kind), &msg)).3).unwrap();
    let slack: Value = serde_json::from_str(&body("slack")).unwrap();
    assert!(slack["text"].as_str().unwrap().contains("8080 &lt;&amp;&gt;"));
    let matrix: Value = serde_json::from_str(&body("matrix")).unwrap();
    let html = matrix["formatted_body"].as_str().unwrap();
    assert!(
        html.contains("8080 &lt;&amp;&gt;") && html.starts_with("<strong>"),
        "{html}"
    );
    assert!(matrix["body"].as_str().unwrap().contains("8080 <&>"));
    let discord: Value = serde_json::from_str(&body("discord")).unwrap();
    assert_eq!(discord["allowed_mentions"], json!({ "parse": [] }));
}

#[test]
fn human_text_of_each_shape() {
    let (title, body) = text(&sample_message(), "host-a");
    assert_eq!(title, "web.service and 1 more rolled back on host-a");
    let first = body.lines().next().unwrap();
    assert_eq!(
        first,
        "web.service: ghcr.io/acme/web:latest 0123456789ab → 89abcdef0123 (rolled_back: health check failed after restart)"
    );
    assert!(
        body.contains("; took 12.3 s\ntrigger: github (caller: acme/web; reason: package published)\n"),
        "{body}"
    );
    assert!(body.contains("https://podup.example.org/tasks?task=42\n\nlast log lines:\ninfo web.service"));

    let (title, body) = text(&auth_failures_message(), "host-b");
    assert_eq!(title, "40 failed authentications on host-b");
    assert_eq!(
        body,
        "40 requests failed authentication within 5 min (first at 05:46:43 UTC, last at 05:51:31 UTC)\n\
         /api/tasks: 2\n/hooks/github: 38\nhttps://podup.example.org/events"
    );

    let mut test = auth_failures_message();
    (test.event, test.auth_failures, test.url, test.title) = (Event::Test, None, None, String::new());
    let (title, body) = text(&test, "host-a");
    assert_eq!(title, "test on host-a");
    assert_eq!(
        body,
        "This is a test notification from podup on host-a: this sink works."
    );
    assert_eq!(
        [took(0), took(12_345), took(65_000), took(300_000), took(7_380_000)],
        ["0.0 s", "12.3 s", "1 min 5 s", "5 min", "2 h 3 min"]
    );
}

#[test]
fn base64_and_encoding() {
    for (plain, want) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64(plain.as_bytes()), want);
    }
    assert_eq!(encode("!a:b.c~d/e f"), "%21a%3Ab.c~d%2Fe%20f");
}

#[test]
fn debug_of_a_request_shows_no_secret() {
    for (kind, _) in SINKS {
        let debug = format!("{:?}", render(&sink(kind), &sample_message()));
        for secret in ["hmac-key", "tk_made", "made-up", "AmadeUp", "syt_made", "acme"] {
            assert!(!debug.contains(secret), "{kind}: {debug}");
        }
    }
}
