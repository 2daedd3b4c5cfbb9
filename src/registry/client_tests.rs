//! The client against a scripted registry on 127.0.0.1.

use super::auth::AuthFiles;
use super::base64;
use super::client::CheckError;
use super::conf::Endpoint;
use super::outcome::{valid_digest, valid_tag};
use super::testing::{Recorded, Reply, Server, client, digest, endpoint};
use std::path::PathBuf;

const NOW_MS: i64 = 1_700_000_000_000;

fn anonymous() -> AuthFiles {
    AuthFiles::from_texts(Vec::new())
}

fn with_password(host: &str, user: &str, password: &str) -> AuthFiles {
    let auth = base64::encode(format!("{user}:{password}").as_bytes());
    let text = format!(r#"{{"auths": {{"{host}": {{"auth": "{auth}"}}}}}}"#);
    AuthFiles::from_texts(vec![(PathBuf::from("/auth.json"), text)])
}

fn manifest_ok(c: char) -> Reply {
    Reply::new(200)
        .header("Docker-Content-Digest", &digest(c))
        .header("Last-Modified", "Tue, 14 Nov 2023 22:13:20 GMT")
}

fn heads(server: &Server) -> Vec<Recorded> {
    server.requests().into_iter().filter(|r| r.method == "HEAD").collect()
}

#[test]
fn anonymous_head_answers_the_digest() {
    let server = Server::start(|_, _| manifest_ok('a'));
    let mut c = client();
    let remote = c
        .digest(&[endpoint(&server.addr, "acme/app", false)], "v1", &anonymous(), NOW_MS)
        .unwrap();
    assert_eq!(remote.digest, digest('a'));
    assert_eq!(remote.created.as_deref(), Some("Tue, 14 Nov 2023 22:13:20 GMT"));
    assert_eq!(remote.endpoint, format!("{}/acme/app:v1", server.addr));
    let seen = server.requests();
    assert_eq!(seen.len(), 1, "HEAD only, no GET of the manifest");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("HEAD", "/v2/acme/app/manifests/v1")
    );
    let accept = seen[0].header("accept").unwrap();
    for kind in [
        "oci.image.index.v1",
        "manifest.list.v2",
        "oci.image.manifest.v1",
        "distribution.manifest.v2",
    ] {
        assert!(accept.contains(kind), "{accept}");
    }
    assert_eq!(seen[0].header("authorization"), None);
    let counts = c.counts();
    assert_eq!(
        (counts.heads, counts.gets, counts.token_requests),
        (1, 0, 0),
        "one HEAD reached the registry (the refused https handshake was no request)"
    );
}

/// A registry that wants a token from its own `/token`, for user `u` or anyone.
fn token_registry(user_required: bool) -> Server {
    Server::start(move |request, addr| {
        if request.path.starts_with("/token") {
            let basic = format!("Basic {}", base64::encode(b"u:pw"));
            if user_required && request.header("authorization") != Some(basic.as_str()) {
                return Reply::new(401);
            }
            return Reply::new(200).body(r#"{"token": "t0ken", "expires_in": 300}"#);
        }
        if request.header("authorization") == Some("Bearer t0ken") {
            return manifest_ok('b');
        }
        let challenge = format!(r#"Bearer realm="http://{addr}/token",service="test registry""#);
        Reply::new(401).header("WWW-Authenticate", &challenge)
    })
}

#[test]
fn a_bearer_token_is_fetched_once_per_repository() {
    let server = token_registry(false);
    let mut c = client();
    let ep = [endpoint(&server.addr, "acme/app", false)];
    assert_eq!(c.digest(&ep, "v1", &anonymous(), NOW_MS).unwrap().digest, digest('b'));
    assert_eq!(
        c.digest(&ep, "v2", &anonymous(), NOW_MS + 1000).unwrap().digest,
        digest('b')
    );
    let counts = c.counts();
    assert_eq!((counts.token_requests, counts.retries_after_401), (1, 1));
    let tokens: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/token"))
        .collect();
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        tokens[0].path,
        "/token?service=test%20registry&scope=repository%3Aacme%2Fapp%3Apull"
    );
    assert_eq!(tokens[0].header("authorization"), None, "anonymous");
    let heads = heads(&server);
    assert_eq!(heads.len(), 3, "401, retry with the token, then the token at once");
    assert_eq!(heads[2].header("authorization"), Some("Bearer t0ken"));

    // Another repository is another scope: another token.
    c.digest(
        &[endpoint(&server.addr, "acme/other", false)],
        "v1",
        &anonymous(),
        NOW_MS,
    )
    .unwrap();
    assert_eq!(c.counts().token_requests, 2);
    // An expired token is not sent.
    c.digest(&ep, "v1", &anonymous(), NOW_MS + 300_000).unwrap();
    assert_eq!(c.counts().token_requests, 3);
}

#[test]
fn the_token_request_carries_the_credential() {
    let server = token_registry(true);
    let mut c = client();
    let ep = [endpoint(&server.addr, "acme/app", false)];
    let auth = with_password(&server.addr, "u", "pw");
    assert_eq!(c.digest(&ep, "v1", &auth, NOW_MS).unwrap().digest, digest('b'));
    let token = server
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/token"))
        .unwrap();
    assert!(token.path.starts_with("/token?account=u&service="), "{}", token.path);

    let wrong = with_password(&server.addr, "u", "wrong-password");
    let err = client().digest(&ep, "v1", &wrong, NOW_MS).unwrap_err();
    assert_eq!(err.code(), "unauthorized");
    assert!(err.to_string().contains("refused user 'u'"), "{err}");
    assert!(!format!("{err} {err:?}").contains("wrong-password"));
}

#[test]
fn basic_auth_is_answered_then_sent_up_front() {
    let server = Server::start(|request, _| {
        let good = format!("Basic {}", base64::encode(b"u:pw"));
        match request.header("authorization") {
            Some(a) if a == good => manifest_ok('c'),
            _ => Reply::new(401).header("WWW-Authenticate", r#"Basic realm="registry""#),
        }
    });
    let ep = [endpoint(&server.addr, "app", false)];
    let mut c = client();
    let auth = with_password(&server.addr, "u", "pw");
    assert_eq!(c.digest(&ep, "1", &auth, NOW_MS).unwrap().digest, digest('c'));
    assert_eq!(c.digest(&ep, "2", &auth, NOW_MS).unwrap().digest, digest('c'));
    assert_eq!(c.counts().retries_after_401, 1);
    assert_eq!(heads(&server).len(), 3);

    let err = client().digest(&ep, "1", &anonymous(), NOW_MS).unwrap_err();
    assert_eq!(err.code(), "unauthorized");
    let err = client()
        .digest(&ep, "1", &with_password(&server.addr, "u", "nope"), NOW_MS)
        .unwrap_err();
    assert_eq!(err.code(), "unauthorized");
    assert!(!format!("{err:?}").contains("nope"));
}

#[test]
fn statuses_become_errors() {
    let server = Server::start(|request, _| match request.path.as_str() {
        "/v2/missing/manifests/v1" => Reply::new(404),
        "/v2/broken/manifests/v1" => Reply::new(500),
        "/v2/moved/manifests/v1" => Reply::new(307).header("Location", "http://elsewhere/"),
        "/v2/nodigest/manifests/v1" => Reply::new(200),
        "/v2/baddigest/manifests/v1" => Reply::new(200).header("Docker-Content-Digest", "sha256:ABC"),
        _ => Reply::new(418),
    });
    let ask = |name: &str| client().digest(&[endpoint(&server.addr, name, false)], "v1", &anonymous(), NOW_MS);
    assert_eq!(
        ask("missing").unwrap_err(),
        CheckError::NotFound {
            endpoint: format!("{}/missing:v1", server.addr)
        }
    );
    assert_eq!(
        ask("broken").unwrap_err(),
        CheckError::Server {
            host: server.addr.clone(),
            status: 500
        }
    );
    for name in ["moved", "nodigest", "baddigest", "teapot"] {
        assert_eq!(ask(name).unwrap_err().code(), "bad_answer", "{name}");
    }
}

#[test]
fn a_rate_limited_host_is_held() {
    let server = Server::start(|_, _| Reply::new(429).header("Retry-After", "30"));
    let mut c = client();
    let ep = [endpoint(&server.addr, "app", false)];
    let until_ms = NOW_MS + 30_000;
    let want = CheckError::RateLimited {
        host: server.addr.clone(),
        until_ms,
    };
    assert_eq!(c.digest(&ep, "v1", &anonymous(), NOW_MS).unwrap_err(), want);
    let asked = server.requests().len();
    assert_eq!(c.digest(&ep, "v2", &anonymous(), NOW_MS + 1000).unwrap_err(), want);
    assert_eq!(server.requests().len(), asked, "no request while held");
    assert_eq!(c.holds(), [(server.addr.clone(), until_ms)]);
    assert_eq!(
        c.digest(&ep, "v1", &anonymous(), until_ms).unwrap_err().code(),
        "rate_limited"
    );
    assert_eq!(server.requests().len(), asked + 1, "asked again once the hold is over");
}

#[test]
fn a_hold_from_an_earlier_run_is_kept() {
    let server = Server::start(|_, _| manifest_ok('d'));
    let mut c = client();
    c.hold(&server.addr, NOW_MS + 5000);
    let ep = [endpoint(&server.addr, "app", false)];
    assert_eq!(
        c.digest(&ep, "v1", &anonymous(), NOW_MS).unwrap_err().code(),
        "rate_limited"
    );
    assert!(server.requests().is_empty());
    assert!(c.digest(&ep, "v1", &anonymous(), NOW_MS + 5000).is_ok());
}

#[test]
fn nothing_listening_is_unreachable() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    for insecure in [false, true] {
        let ep = Endpoint {
            host: addr.clone(),
            name: "app".into(),
            insecure,
            mirror: false,
        };
        let err = client().digest(&[ep], "v1", &anonymous(), NOW_MS).unwrap_err();
        assert_eq!(err.code(), "registry_unreachable", "{err}");
        assert!(
            err.to_string()
                .starts_with(&format!("cannot reach registry '{addr}': ")),
            "{err}"
        );
    }
}

#[test]
fn a_failing_mirror_falls_through_to_the_location() {
    let mirror = Server::start(|_, _| Reply::new(404));
    let location = Server::start(|_, _| manifest_ok('e'));
    let eps = [
        endpoint(&mirror.addr, "hub/library/app", true),
        endpoint(&location.addr, "library/app", false),
    ];
    let remote = client().digest(&eps, "v1", &anonymous(), NOW_MS).unwrap();
    assert_eq!(remote.endpoint, format!("{}/library/app:v1", location.addr));
    assert_eq!(heads(&mirror).len(), 1);
    let missing = Server::start(|_, _| Reply::new(404));
    let eps = [endpoint(&mirror.addr, "a", true), endpoint(&missing.addr, "a", false)];
    let err = client().digest(&eps, "v1", &anonymous(), NOW_MS).unwrap_err();
    assert_eq!(
        err,
        CheckError::NotFound {
            endpoint: format!("{}/a:v1", missing.addr)
        },
        "the last error"
    );
}

#[test]
fn odd_challenges_and_tags_are_refused_without_panic() {
    let server = Server::start(|request, _| match request.path.as_str() {
        "/v2/norealm/manifests/v1" => Reply::new(401).header("WWW-Authenticate", "Bearer service=x"),
        "/v2/ftp/manifests/v1" => Reply::new(401).header("WWW-Authenticate", r#"Bearer realm="ftp://x/""#),
        "/v2/garbage/manifests/v1" => Reply::new(401).header("WWW-Authenticate", "\",,=="),
        _ => Reply::new(401),
    });
    for (name, code) in [
        ("norealm", "bad_answer"),
        ("ftp", "bad_answer"),
        ("garbage", "unauthorized"),
        ("none", "unauthorized"),
    ] {
        let err = client()
            .digest(&[endpoint(&server.addr, name, false)], "v1", &anonymous(), NOW_MS)
            .unwrap_err();
        assert_eq!(err.code(), code, "{name}: {err}");
    }
    let err = client()
        .digest(&[endpoint(&server.addr, "a", false)], "../x", &anonymous(), NOW_MS)
        .unwrap_err();
    assert_eq!(err.code(), "config");
    assert_eq!(
        client().digest(&[], "v1", &anonymous(), NOW_MS).unwrap_err().code(),
        "config"
    );
}

#[test]
fn digests_and_tags_are_checked() {
    assert!(valid_digest(&digest('0')));
    assert!(valid_digest(&format!("sha512:{}", "f".repeat(128))));
    for bad in [
        "",
        "sha256:",
        "sha256:abc",
        &format!("sha256:{}", "A".repeat(64)),
        &format!("md5:{}", "a".repeat(32)),
        &format!("sha512:{}", "a".repeat(64)),
    ] {
        assert!(!valid_digest(bad), "{bad}");
    }
    assert!(valid_tag("latest") && valid_tag("_x") && valid_tag("1.2.3-rc_1") && valid_tag(&"a".repeat(128)));
    for bad in ["", ".x", "-x", "a/b", "a:b", &"a".repeat(129)] {
        assert!(!valid_tag(bad), "{bad}");
    }
}
