use super::*;

fn ok(line: &str) -> Sink {
    parse(line).unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn err(line: &str) -> SinkError {
    match parse(line) {
        Ok(s) => panic!("{line}: parsed as {s:?}"),
        Err(e) => e,
    }
}

#[test]
fn webhook_keeps_the_receivers_query_and_strips_podups() {
    let s = ok("webhook+https://hooks.example.org:8443/in/podup?team=ops&secret=hmac-key-1&events=failed&k=a%20b");
    assert_eq!(s.kind, SinkKind::Webhook);
    assert_eq!(s.events, vec![NotifyEvent::Failed]);
    let Target::Webhook { url, secret } = &s.target else {
        panic!()
    };
    assert_eq!(url, "https://hooks.example.org:8443/in/podup?team=ops&k=a%20b");
    assert_eq!(secret.as_ref().map(|s| s.0.as_str()), Some("hmac-key-1"));
    assert_eq!(
        s.display,
        "webhook+https://hooks.example.org:8443/***?team=***&secret=***&events=failed&k=***"
    );
    let Target::Webhook { url, secret } = ok("webhook+http://127.0.0.1:9000").target else {
        panic!()
    };
    assert_eq!((url.as_str(), secret.is_none()), ("http://127.0.0.1:9000/", true));
}

#[test]
fn exec_takes_an_absolute_program_and_decoded_args() {
    let s = ok("exec:/usr/bin/apprise?arg=-t&arg={title}&arg=-b&arg={text}&arg=json://127.0.0.1:9000/&arg=a%20b%26c");
    let Target::Exec { program, args } = &s.target else {
        panic!()
    };
    assert_eq!(program, &PathBuf::from("/usr/bin/apprise"));
    assert_eq!(
        args,
        &["-t", "{title}", "-b", "{text}", "json://127.0.0.1:9000/", "a b&c"]
    );
    assert_eq!(
        s.display,
        "exec:/usr/bin/apprise?arg=***&arg=***&arg=***&arg=***&arg=***&arg=***"
    );
    let Target::Exec { program, .. } = ok("exec:/opt/my%20tools/notify").target else {
        panic!()
    };
    assert_eq!(program, PathBuf::from("/opt/my tools/notify"));
    for bad in ["exec:apprise", "exec:./apprise", "exec://host/bin/x", "exec:"] {
        assert_eq!(err(bad).kind(), "sink_syntax", "{bad}");
    }
    assert!(err("exec:/bin/x?secret=1").to_string().contains("'secret'"));
}

#[test]
fn ntfy_with_a_token_or_a_password() {
    let s = ok("ntfy://ntfy.example.org/podup-alerts?token=tk_abc%2Fdef");
    let Target::Ntfy { base, topic, auth } = &s.target else {
        panic!()
    };
    assert_eq!(
        (base.as_str(), topic.as_str()),
        ("https://ntfy.example.org", "podup-alerts")
    );
    assert!(matches!(auth, Some(Auth::Bearer(t)) if t.0 == "tk_abc/def"));
    assert_eq!(s.display, "ntfy://ntfy.example.org/podup-alerts?token=***");

    let s = ok("ntfy+http://phil:p%40ss@localhost:8080/prefix/alerts");
    let Target::Ntfy { base, topic, auth } = &s.target else {
        panic!()
    };
    assert_eq!(
        (base.as_str(), topic.as_str()),
        ("http://localhost:8080/prefix", "alerts")
    );
    assert!(matches!(auth, Some(Auth::Basic { user, password }) if user == "phil" && password.0 == "p@ss"));
    assert_eq!(s.display, "ntfy+http://phil:***@localhost:8080/prefix/alerts");
    assert!(matches!(ok("ntfy://ntfy.sh/t").target, Target::Ntfy { auth: None, .. }));
    // Without credentials the topic is what keeps others out: it is masked.
    assert_eq!(
        ok("ntfy://ntfy.sh/prefix/secret-topic").display,
        "ntfy://ntfy.sh/prefix/***"
    );
}

#[test]
fn slack_and_discord_urls_are_their_credentials() {
    let s = ok("slack+https://hooks.slack.com/services/T000/B000/XXXXsecret");
    let Target::Slack { url } = &s.target else { panic!() };
    assert_eq!(url, "https://hooks.slack.com/services/T000/B000/XXXXsecret");
    assert_eq!(s.display, "slack+https://hooks.slack.com/***");
    assert!(matches!(
        ok("slack+https://chat.example.org/hooks/abc").target,
        Target::Slack { .. }
    ));

    let s = ok("discord+https://discord.com/api/webhooks/123456/tok-EN_secret?events=succeeded");
    let Target::Discord { url } = &s.target else { panic!() };
    assert_eq!(url, "https://discord.com/api/webhooks/123456/tok-EN_secret");
    assert_eq!(s.display, "discord+https://discord.com/***?events=succeeded");
    ok("discord+https://discord.com/api/v10/webhooks/1/t");
    for bad in [
        "discord+https://discord.com/api/webhooks/123",
        "discord+https://discord.com/x/webhooks/1/t",
    ] {
        assert_eq!(err(bad).kind(), "sink_syntax", "{bad}");
    }
}

#[test]
fn gotify_token_is_the_last_path_segment() {
    let s = ok("gotify://push.example.org:8443/gotify/AbCdEf.123");
    let Target::Gotify { base, token } = &s.target else {
        panic!()
    };
    assert_eq!(
        (base.as_str(), token.0.as_str()),
        ("https://push.example.org:8443/gotify", "AbCdEf.123")
    );
    assert_eq!(s.display, "gotify://push.example.org:8443/gotify/***");
    let Target::Gotify { base, .. } = ok("gotify+http://[::1]/A1").target else {
        panic!()
    };
    assert_eq!(base, "http://[::1]");
}

#[test]
fn matrix_token_in_the_password_place_and_a_room_id() {
    let s = ok("matrix://podup:syt_c2VjcmV0@matrix.example.org/!roomid:example.org");
    let Target::Matrix { base, room, token } = &s.target else {
        panic!()
    };
    assert_eq!(base, "https://matrix.example.org");
    assert_eq!(
        (room.as_str(), token.0.as_str()),
        ("!roomid:example.org", "syt_c2VjcmV0")
    );
    assert_eq!(s.display, "matrix://podup:***@matrix.example.org/!roomid:example.org");
    let Target::Matrix { room, .. } = ok("matrix://u:t@hs.example.org:8448/%21abc%3Aexample.org").target else {
        panic!()
    };
    assert_eq!(room, "!abc:example.org");
}

/// A bad variant of each scheme, with a distinctive secret that no error may repeat.
#[test]
fn errors_never_carry_secrets() {
    let cases = [
        (
            "webhook+https://h.example.org/p?secret=SEKRIT1&secret=SEKRIT1",
            "sink_parameter",
        ),
        ("webhook+http://h.example.org/p?secret=SEKRIT1", "sink_insecure"),
        ("webhook+https://u:SEKRIT1@h.example.org/", "sink_syntax"),
        ("exec:/bin/notify?arg=SEKRIT1&token=SEKRIT2", "sink_parameter"),
        ("exec:bin/notify?arg=SEKRIT1", "sink_syntax"),
        ("ntfy://u:SEKRIT1@ntfy.example.org/to.pic", "sink_syntax"),
        ("ntfy://ntfy.example.org/topic?token=SEKRIT1&mode=x", "sink_parameter"),
        (
            "ntfy://u:SEKRIT1@ntfy.example.org/topic?token=SEKRIT2",
            "sink_parameter",
        ),
        ("ntfy+http://u:SEKRIT1@ntfy.example.org/topic", "sink_insecure"),
        ("ntfy://u:SEKRIT1@ntfy.exa%mple.org/topic", "sink_syntax"),
        (
            "slack+https://hooks.slack.com/services/SEKRIT1?channel=x",
            "sink_parameter",
        ),
        ("slack+http://hooks.slack.com/services/SEKRIT1", "sink_scheme"),
        (
            "discord+https://discord.com/api/webhooks/12/SEKRIT1/extra",
            "sink_syntax",
        ),
        (
            "discord+https://discord.com/api/webhooks/12/SEKRIT1?events=nope",
            "sink_parameter",
        ),
        ("gotify://u:SEKRIT1@gotify.example.org/SEKRIT2", "sink_syntax"),
        ("gotify+http://gotify.example.org/SEKRIT1", "sink_insecure"),
        ("gotify://gotify.example.org:99999/SEKRIT1", "sink_syntax"),
        ("matrix://u:SEKRIT1@hs.example.org/#alias:example.org", "sink_syntax"),
        ("matrix://u:SEKRIT1@hs.example.org/room", "sink_syntax"),
        ("matrix://SEKRIT1@hs.example.org/!r:example.org", "sink_syntax"),
        ("matrix+http://u:SEKRIT1@hs.example.org/!r:example.org", "sink_insecure"),
        (
            "matrix://u:SEKRIT1@hs.example.org/!r:example.org?units=a%20b",
            "sink_parameter",
        ),
        ("matrixs://u:SEKRIT1@hs.example.org/!r:example.org", "sink_scheme"),
        ("https://u:SEKRIT1@hs.example.org/", "sink_scheme"),
        ("ntfy://ntfy.example.org/topic?token=SEKRIT1 x", "sink_syntax"),
        ("ntfy://ntfy.example.org/topic?token=SEKRIT1%zz", "sink_syntax"),
        ("ntfy://ntfy.example.org/topic?token=SEKRIT1%0a", "sink_syntax"),
        ("ntfy://ntfy.example.org/topic?token=SEKRIT1%ff", "sink_syntax"),
    ];
    for (line, kind) in cases {
        let e = err(line);
        let text = format!("{e} {e:?}");
        assert_eq!(e.kind(), kind, "{line}: {text}");
        assert!(!text.contains("SEKRIT"), "{line}: {text}");
    }
}

#[test]
fn debug_prints_only_the_masked_display() {
    for line in [
        "webhook+https://h.example.org/p?secret=SEKRIT1&tok=SEKRIT2",
        "exec:/bin/notify?arg=SEKRIT1",
        "ntfy://u:SEKRIT1@ntfy.example.org/topic",
        "ntfy://ntfy.example.org/topic?token=SEKRIT1",
        "slack+https://hooks.slack.com/services/SEKRIT1",
        "discord+https://discord.com/api/webhooks/1/SEKRIT1",
        "gotify://gotify.example.org/SEKRIT1",
        "matrix://u:SEKRIT1@hs.example.org/!r:example.org",
    ] {
        let s = ok(line);
        let debug = format!("{s:?} {:?}", vec![s.clone()]);
        assert!(debug.contains(&s.display) && debug.starts_with("Sink("), "{debug}");
        assert!(!debug.contains("SEKRIT") && !s.display.contains("SEKRIT"), "{debug}");
    }
}

#[test]
fn filters_events_units_and_host() {
    let s = ok("ntfy://ntfy.sh/t");
    assert_eq!(s.events, NotifyEvent::DEFAULT.to_vec());
    assert!(s.units.is_empty() && s.host.is_none());
    assert!(s.takes(NotifyEvent::RolledBack, &["web.service"]));
    assert!(!s.takes(NotifyEvent::Succeeded, &["web.service"]));
    assert!(s.takes(NotifyEvent::Test, &[]));

    let s =
        ok("ntfy://ntfy.sh/t?events=succeeded,auth_failures,succeeded&units=web-*.service,db?.service&host=prod%201");
    assert_eq!(s.events, vec![NotifyEvent::Succeeded, NotifyEvent::AuthFailures]);
    assert_eq!(s.units, vec!["web-*.service", "db?.service"]);
    assert_eq!(s.host.as_deref(), Some("prod 1"));
    assert!(s.takes(NotifyEvent::Succeeded, &["api.service", "web-eu.service"]));
    assert!(s.takes(NotifyEvent::Succeeded, &["db1.service"]));
    assert!(!s.takes(NotifyEvent::Succeeded, &["db12.service", "api.service"]));
    assert!(
        s.takes(NotifyEvent::AuthFailures, &[]),
        "a message without units passes"
    );
    assert!(!s.takes(NotifyEvent::Failed, &["web-eu.service"]));
    assert!(s.takes(NotifyEvent::Test, &["api.service"]), "test passes every filter");

    let e = err("ntfy://ntfy.sh/t?events=failed,faild");
    assert!(
        e.to_string().contains("'faild'") && e.to_string().contains("rolled_back"),
        "{e}"
    );
    for bad in [
        "events=",
        "units=",
        "units=a,,b",
        "units=a%20b",
        "host=",
        "events=failed&events=failed",
    ] {
        assert_eq!(
            err(&format!("ntfy://ntfy.sh/t?{bad}")).kind(),
            "sink_parameter",
            "{bad}"
        );
    }
    assert_eq!(
        err(&format!("ntfy://ntfy.sh/t?host={}", "h".repeat(65))).kind(),
        "sink_parameter"
    );
}

#[test]
fn globs() {
    for (p, n, want) in [
        ("*", "", true),
        ("*", "web.service", true),
        ("web.service", "web.service", true),
        ("web.service", "web.services", false),
        ("web*", "web.service", true),
        ("*.service", "web.socket", false),
        ("w?b.*", "wxb.service", true),
        ("w?b.*", "wb.service", false),
        ("a*b*c", "aXXbYYbc", true),
        ("a*b*c", "aXXbYYb", false),
        ("*-*@*.service", "app-1@x.service", true),
        ("é?", "éü", true),
    ] {
        assert_eq!(glob(p, n), want, "{p} {n}");
    }
}

#[test]
fn plain_http_only_to_loopback_unless_insecure() {
    for line in [
        "ntfy+http://127.0.0.1/t",
        "ntfy+http://127.8.9.10:81/t",
        "ntfy+http://[::1]:8080/t",
        "ntfy+http://LOCALHOST/t",
        "webhook+http://localhost/x",
        "gotify+http://127.0.0.1/A",
        "matrix+http://u:t@localhost/!r:x",
    ] {
        ok(line);
    }
    for line in [
        "ntfy+http://10.0.0.1/t",
        "ntfy+http://[::2]/t",
        "ntfy+http://localhost.example.org/t",
    ] {
        let e = err(line);
        assert_eq!(e.kind(), "sink_insecure", "{line}");
        assert!(
            e.to_string().contains("insecure=yes") && e.to_string().contains("loopback"),
            "{e}"
        );
        ok(&format!("{line}?insecure=yes"));
    }
    assert_eq!(err("ntfy+http://10.0.0.1/t?insecure=true").kind(), "sink_parameter");
    assert!(
        err("slack+https://h.example.org/x?insecure=yes")
            .to_string()
            .contains("'insecure'")
    );
}

#[test]
fn syntax_is_checked_strictly() {
    for bad in [
        "ntfy://ntfy.sh/t x",
        "ntfy://ntfy.sh/t\tx",
        "ntfy://ntfy.sh/tö",
        "ntfy://ntfy.sh/t#frag",
        "ntfy:///t",
        "ntfy://ntfy.sh:0/t",
        "ntfy://ntfy.sh:/t",
        "ntfy://ntfy.sh:8x/t",
        "ntfy://[::1/t",
        "ntfy://[zz]/t",
        "ntfy://ntfy.sh/",
        "ntfy://ntfy.sh/with.dot",
        "ntfy://ntfy.sh/t?=x",
        "webhook+https://h.example.org/a{b}",
        "webhook+https://h.example.org/?q=a{b}",
    ] {
        assert_eq!(err(bad).kind(), "sink_syntax", "{bad}");
    }
    let e = err("gopher://example.org/");
    assert!(
        e.to_string().contains("'gopher'") && e.to_string().contains("matrix+http://"),
        "{e}"
    );
    assert!(err("ntfy.sh/topic").to_string().contains("no scheme"));
    let e = err("ntfy://ntfy.sh/t?priority=5");
    assert!(
        e.to_string().contains("'priority'") && e.to_string().contains("token"),
        "{e}"
    );
}

#[test]
fn key_is_the_hash_of_the_trimmed_line() {
    let a = ok("  ntfy://ntfy.sh/t  ");
    assert_eq!(a.key, crate::hex::sha256_hex(b"ntfy://ntfy.sh/t")[..16]);
    assert_eq!(a.key, ok("ntfy://ntfy.sh/t").key);
    assert_ne!(a.key, ok("ntfy://ntfy.sh/u").key);
    assert_eq!(
        SinkKind::ALL.map(SinkKind::as_str).join(","),
        "webhook,exec,ntfy,slack,discord,gotify,matrix"
    );
}

#[test]
fn lists_skip_blanks_and_comments_and_name_the_line() {
    let text = "# sinks\n\nntfy://ntfy.sh/t\n   # indented comment\nexec:/bin/true\n";
    let sinks = parse_list(text).unwrap();
    assert_eq!(
        sinks.iter().map(|s| s.kind).collect::<Vec<_>>(),
        [SinkKind::Ntfy, SinkKind::Exec]
    );
    let (line, e) = parse_list("ntfy://ntfy.sh/t\n\nntfy://u:SEKRIT1@ntfy.sh/t?token=x\n").unwrap_err();
    assert_eq!(line, 3);
    assert!(!e.to_string().contains("SEKRIT"));
    assert!(parse_list("").unwrap().is_empty());
}

#[test]
fn an_exec_path_holding_a_url_is_refused_without_showing_it() {
    // Found by the sink_line fuzz target: the path was shown as written.
    for line in [
        "exec:/usr/bin/apprise/mailto://user:SEKRIT-PASS-1@mail.example.org",
        "exec:/usr/bin/x%40y/SEKRIT-PASS-2",
    ] {
        let e = parse(line).unwrap_err().to_string();
        assert!(e.contains("exec:") && !e.contains("SEKRIT"), "{e}");
    }
}

#[test]
fn an_unknown_parameter_is_named_only_when_it_looks_like_a_name() {
    // Found by the sink_line fuzz target: a mangled query put a URL with its password
    // where a parameter's name belongs, and the error echoed it.
    let e = parse("exec:/usr/bin/apprise?argexample://phil:SEKRIT-PASS-3@localhost/").unwrap_err();
    assert!(!e.to_string().contains("SEKRIT"), "{e}");
    let e = parse("ntfy://ntfy.example.org/t?token=tk_x12345678&colour=red").unwrap_err();
    assert!(e.to_string().contains("'colour'"), "{e}");
    // The same for an event (also found by the fuzzer) and a unit glob.
    let e = parse("ntfy://ntfy.example.org/t?events=x://u:SEKRIT-PASS-4@h/").unwrap_err();
    assert!(
        !e.to_string().contains("SEKRIT") && e.to_string().contains("events"),
        "{e}"
    );
    let e = parse("ntfy://ntfy.example.org/t?events=fialed").unwrap_err();
    assert!(e.to_string().contains("'fialed'"), "{e}");
    let e = parse("ntfy://ntfy.example.org/t?units=a/SEKRIT-PASS-5").unwrap_err();
    assert!(
        !e.to_string().contains("SEKRIT") && e.to_string().contains("units"),
        "{e}"
    );
}
