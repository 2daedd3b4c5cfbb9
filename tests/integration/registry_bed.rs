//! The registry test bed itself: a real `docker-registry` answers as the update checks
//! will expect under each kind of auth, the scripted registry misbehaves as told, and
//! the fake podman answers per subcommand. If these fail, the update-check tests built
//! on them mean nothing.

use crate::support::oci::{self, ACCEPT_ANY_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use crate::support::receiver::Receiver;
use crate::support::registry::{Registry, RegistryAuth, available, closed_port};
use crate::support::token_service::base64;
use crate::support::{Fakes, wait_until};
use std::time::{Duration, Instant};

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build(),
    )
}

/// A HEAD as an outside client sends it: status, `Docker-Content-Digest`,
/// `WWW-Authenticate`.
fn head(url: &str, accept: &str, authorization: Option<&str>) -> (u16, Option<String>, Option<String>) {
    let mut req = agent(Duration::from_secs(10)).head(url).header("Accept", accept);
    if let Some(a) = authorization {
        req = req.header("Authorization", a);
    }
    let resp = req.call().unwrap();
    let header = |name: &str| resp.headers().get(name).map(|v| v.to_str().unwrap().to_string());
    (
        resp.status().as_u16(),
        header("docker-content-digest"),
        header("www-authenticate"),
    )
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

/// `Bearer realm="…",service="…",scope="…"` → the token URL a client asks.
fn token_url(challenge: &str) -> String {
    let params = challenge.strip_prefix("Bearer ").expect(challenge);
    let value = |key: &str| {
        let at = params
            .find(&format!("{key}=\""))
            .unwrap_or_else(|| panic!("no {key} in {challenge}"));
        params[at + key.len() + 2..].split('"').next().unwrap().to_string()
    };
    let escape = |s: String| s.replace(':', "%3A").replace('/', "%2F").replace(',', "%2C");
    format!(
        "{}?service={}&scope={}",
        value("realm"),
        value("service"),
        escape(value("scope"))
    )
}

fn fetch_token(url: &str, authorization: Option<&str>) -> (u16, Option<String>) {
    let mut req = agent(Duration::from_secs(10)).get(url);
    if let Some(a) = authorization {
        req = req.header("Authorization", a);
    }
    let mut resp = req.call().unwrap();
    let status = resp.status().as_u16();
    let body: serde_json::Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    (status, body["token"].as_str().map(|t| format!("Bearer {t}")))
}

#[test]
fn anonymous_registry_answers_head_with_the_pushed_digest() {
    if !available("anonymous_registry_answers_head_with_the_pushed_digest") {
        return;
    }
    let reg = Registry::start(RegistryAuth::None);
    let digest = reg.push_image("podup/app", "latest", "one");
    let url = reg.url("/v2/podup/app/manifests/latest");
    assert_eq!(head(&url, ACCEPT_ANY_MANIFEST, None), (200, Some(digest.clone()), None));
    assert_eq!(head(&url, OCI_MANIFEST, None).1, Some(digest.clone()));
    // the same seed makes the same image; another seed moves the tag
    assert_eq!(reg.push_image("podup/app", "latest", "one"), digest);
    let moved = reg.push_image("podup/app", "latest", "two");
    assert_ne!(moved, digest);
    assert_eq!(head(&url, ACCEPT_ANY_MANIFEST, None).1, Some(moved));
    assert_eq!(reg.auth_json(), r#"{"auths":{}}"#);
}

#[test]
fn htpasswd_registry_wants_its_basic_credentials() {
    if !available("htpasswd_registry_wants_its_basic_credentials") {
        return;
    }
    let auth = RegistryAuth::Htpasswd {
        user: "puller".into(),
        password: "pw-one".into(),
    };
    let reg = Registry::start(auth);
    let digest = reg.push_image("podup/app", "v1", "one");
    let url = reg.url("/v2/podup/app/manifests/v1");
    let (status, _, challenge) = head(&url, ACCEPT_ANY_MANIFEST, None);
    assert_eq!(status, 401);
    assert!(challenge.unwrap().starts_with("Basic realm="));
    assert_eq!(head(&url, ACCEPT_ANY_MANIFEST, Some(&basic("puller", "wrong"))).0, 401);
    let right = basic("puller", "pw-one");
    assert_eq!(head(&url, ACCEPT_ANY_MANIFEST, Some(&right)), (200, Some(digest), None));
    let json: serde_json::Value = serde_json::from_str(&reg.auth_json()).unwrap();
    assert_eq!(
        format!("Basic {}", json["auths"][reg.host()]["auth"].as_str().unwrap()),
        right
    );
}

#[test]
fn token_registry_answers_a_token_from_its_service() {
    if !available("token_registry_answers_a_token_from_its_service") {
        return;
    }
    let login = ("puller".to_string(), "pw-two".to_string());
    let reg = Registry::start(RegistryAuth::Token { login: Some(login) });
    let digest = reg.push_image("podup/app", "v1", "one");
    let url = reg.url("/v2/podup/app/manifests/v1");
    let (status, _, challenge) = head(&url, ACCEPT_ANY_MANIFEST, None);
    assert_eq!(status, 401);
    let challenge = challenge.unwrap();
    assert!(
        challenge.contains(r#"scope="repository:podup/app:pull""#),
        "{challenge}"
    );
    let token_url = token_url(&challenge);

    assert_eq!(fetch_token(&token_url, None), (401, None));
    assert_eq!(fetch_token(&token_url, Some(&basic("puller", "wrong"))).0, 401);
    let (status, token) = fetch_token(&token_url, Some(&basic("puller", "pw-two")));
    assert_eq!(status, 200);
    assert_eq!(
        head(&url, ACCEPT_ANY_MANIFEST, token.as_deref()),
        (200, Some(digest), None)
    );
    assert_eq!(head(&url, ACCEPT_ANY_MANIFEST, Some("Bearer not-a-jwt")).0, 401);

    // one request a fetch, failed ones included; the test's own pushes are not requests
    let scope = "repository:podup/app:pull".to_string();
    let user = |u: &str| Some(u.to_string());
    let want = vec![
        (scope.clone(), None),
        (scope.clone(), user("puller")),
        (scope, user("puller")),
    ];
    assert_eq!(reg.tokens().requests(), want);

    // a token for another repository does not open this one
    let other = reg.tokens().mint(&["repository:podup/other:pull"]);
    assert_eq!(head(&url, ACCEPT_ANY_MANIFEST, Some(&format!("Bearer {other}"))).0, 401);
    reg.tokens().fail_with(Some(503));
    assert_eq!(fetch_token(&token_url, Some(&basic("puller", "pw-two"))), (503, None));
}

#[test]
fn anonymous_token_service_counts_each_scope_fetch() {
    if !available("anonymous_token_service_counts_each_scope_fetch") {
        return;
    }
    let reg = Registry::start(RegistryAuth::Token { login: None });
    reg.push_image("podup/a", "latest", "a");
    reg.push_image("podup/b", "latest", "b");
    for repo in ["podup/a", "podup/b", "podup/a"] {
        let url = reg.url(&format!("/v2/{repo}/manifests/latest"));
        let (_, _, challenge) = head(&url, ACCEPT_ANY_MANIFEST, None);
        let (status, token) = fetch_token(&token_url(&challenge.unwrap()), None);
        assert_eq!(status, 200);
        assert_eq!(head(&url, ACCEPT_ANY_MANIFEST, token.as_deref()).0, 200);
    }
    let scopes: Vec<_> = reg
        .tokens()
        .requests()
        .into_iter()
        .map(|(s, u)| (s, u.is_some()))
        .collect();
    let a = ("repository:podup/a:pull".to_string(), false);
    let b = ("repository:podup/b:pull".to_string(), false);
    assert_eq!(scopes, vec![a.clone(), b, a]);
}

#[test]
fn index_answers_with_its_own_digest_and_a_deleted_tag_with_404() {
    if !available("index_answers_with_its_own_digest_and_a_deleted_tag_with_404") {
        return;
    }
    let reg = Registry::start(RegistryAuth::None);
    let (index, [amd64, arm64]) = reg.push_index("podup/multi", "latest", ["amd", "arm"]);
    let url = reg.url("/v2/podup/multi/manifests/latest");
    assert_eq!(head(&url, ACCEPT_ANY_MANIFEST, None).1, Some(index.clone()));
    assert_eq!(head(&url, OCI_INDEX, None).1, Some(index.clone()));
    // registry 2.8 picks no platform for a client whose Accept leaves out the OCI index
    // type: to that client the tag does not exist, so the check must name it
    assert_eq!(head(&url, OCI_MANIFEST, None), (404, None, None));
    assert_eq!(head(&url, oci::DOCKER_MANIFEST, None), (404, None, None));
    for d in [&amd64, &arm64] {
        let by_digest = reg.url(&format!("/v2/podup/multi/manifests/{d}"));
        assert_eq!(head(&by_digest, ACCEPT_ANY_MANIFEST, None).1.as_ref(), Some(d));
    }
    assert_eq!(reg.head_manifest("podup/multi", "latest"), (200, Some(index)));

    reg.delete_tag("podup/multi", "latest");
    assert_eq!(head(&url, ACCEPT_ANY_MANIFEST, None).0, 404);
    let by_digest = reg.url(&format!("/v2/podup/multi/manifests/{arm64}"));
    assert_eq!(
        head(&by_digest, ACCEPT_ANY_MANIFEST, None).0,
        200,
        "platform manifests stay"
    );

    reg.push_image("podup/app", "v1", "one");
    reg.delete_tag("podup/app", "v1");
    assert_eq!(reg.head_manifest("podup/app", "v1").0, 404);
}

#[test]
fn access_log_shows_each_head_with_its_status() {
    if !available("access_log_shows_each_head_with_its_status") {
        return;
    }
    let reg = Registry::start(RegistryAuth::None);
    reg.push_image("podup/app", "latest", "one");
    let url = reg.url("/v2/podup/app/manifests/latest");
    head(&url, ACCEPT_ANY_MANIFEST, None);
    head(&url, ACCEPT_ANY_MANIFEST, None);
    head(&reg.url("/v2/podup/app/manifests/gone"), ACCEPT_ANY_MANIFEST, None);
    assert_eq!(reg.count("HEAD", "/v2/podup/app/manifests/latest"), 2);
    assert_eq!(reg.count("PUT", "/v2/podup/app/manifests/latest"), 1);
    let heads: Vec<_> = reg.access_log().into_iter().filter(|(m, _, _)| m == "HEAD").collect();
    let want = |path: &str, status| ("HEAD".to_string(), path.to_string(), status);
    assert_eq!(
        heads,
        vec![
            want("/v2/podup/app/manifests/latest", 200),
            want("/v2/podup/app/manifests/latest", 200),
            want("/v2/podup/app/manifests/gone", 404)
        ]
    );
}

#[test]
fn scripted_registry_misbehaves_as_told() {
    let rec = Receiver::start();
    rec.script_with_headers(&[(429, &[("Retry-After", "120")]), (500, &[])]);
    let url = format!("http://{}/v2/podup/app/manifests/latest", rec.addr);
    let resp = agent(Duration::from_secs(5)).head(&url).call().unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "120");
    assert_eq!(head(&url, ACCEPT_ANY_MANIFEST, None).0, 500);
    assert_eq!(head(&url, ACCEPT_ANY_MANIFEST, None).0, 200);
    assert_eq!(rec.received().len(), 3);

    rec.hang();
    let start = Instant::now();
    assert!(agent(Duration::from_millis(500)).head(&url).call().is_err());
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(wait_until(Duration::from_secs(2), || rec.received().len() == 4));

    let closed = format!("http://{}/v2/", closed_port());
    let err = agent(Duration::from_secs(5)).get(&closed).call().unwrap_err();
    assert!(
        matches!(err, ureq::Error::Io(ref e) if e.kind() == std::io::ErrorKind::ConnectionRefused),
        "{err:?}"
    );
}

#[test]
fn fake_podman_answers_per_subcommand() {
    let fakes = Fakes::new();
    fakes.answer("podman", 0, "plain\n", "");
    fakes.answer_args("podman", &["image", "inspect"], 0, "[{\"Id\":\"x\"}]\n", "");
    fakes.answer_args("podman", &["ps"], 3, "ps\n", "ps failed\n");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(fakes.dir().join("podman"))
            .args(args)
            .env("FAKE_DIR", fakes.dir())
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    assert_eq!(
        run(&["image", "inspect", "--format", "json", "abc"]),
        (0, "[{\"Id\":\"x\"}]\n".into(), String::new())
    );
    assert_eq!(
        run(&["ps", "-a", "--format", "json"]),
        (3, "ps\n".into(), "ps failed\n".into())
    );
    assert_eq!(run(&["image", "ls"]), (0, "plain\n".into(), String::new()));
    assert_eq!(run(&[]), (0, "plain\n".into(), String::new()));
    assert_eq!(fakes.calls_of("podman").len(), 4);
}

#[test]
fn fixtures_match_what_the_helpers_push() {
    let fixture = |name: &str| -> serde_json::Value {
        let path = format!("{}/tests/fixtures/podman/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let digests = |v: &serde_json::Value| -> Vec<String> {
        let repo_digests = v[0]["RepoDigests"].as_array().unwrap();
        repo_digests
            .iter()
            .map(|d| d.as_str().unwrap().split_once('@').unwrap().1.to_string())
            .collect()
    };
    let single = fixture("image-inspect-single.json");
    let image = oci::Image::new("one", "amd64");
    assert_eq!(single[0]["Digest"], image.manifest.digest.as_str());
    assert_eq!(digests(&single), [image.manifest.digest.as_str()]);
    assert_eq!(single[0]["Id"], image.config.digest.trim_start_matches("sha256:"));

    let multi = fixture("image-inspect-index.json");
    let (amd64, arm64) = (oci::Image::new("amd", "amd64"), oci::Image::new("arm", "arm64"));
    let index = oci::index(&[(&amd64, "amd64"), (&arm64, "arm64")]);
    assert_eq!(multi[0]["Digest"], index.digest.as_str());
    assert_eq!(digests(&multi), [amd64.manifest.digest.as_str(), index.digest.as_str()]);
    let ps = fixture("ps-labelled.json");
    assert_eq!(ps[0]["ImageID"], multi[0]["Id"]);
    assert_eq!(ps[0]["Labels"]["PODMAN_SYSTEMD_UNIT"], "app.service");
}
