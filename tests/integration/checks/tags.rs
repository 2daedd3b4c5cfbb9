//! The registry client's tag listing (`Follow=semver`, `regex`) against a real
//! `docker-registry`, anonymous and behind a token service, as podup's library code asks
//! (no podup process: nothing calls the listing from the command line yet).
//!
//! Debian 12's distribution 2.8 does not paginate tags: it ignores `n` and `last` and
//! answers every tag at once, without a `Link` (pagination came with distribution 3).
//! So here a small `n` must still end after one page; following `Link` across pages
//! is tested against the scripted registry in `src/registry/tags_tests.rs`.

use crate::support::registry::{Registry, RegistryAuth, available};
use podup::registry::{AuthFiles, Client, ClientOptions, Endpoint, TagLimits};
use std::path::PathBuf;
use std::time::Duration;

const NOW_MS: i64 = 1_800_000_000_000;

fn client(page: u32) -> Client {
    let options = ClientOptions {
        timeout: Duration::from_secs(5),
        spacing_ms: (0, 0),
        user_agent: "podup-test".into(),
    };
    Client::new(options).with_tag_limits(TagLimits {
        page,
        ..TagLimits::default()
    })
}

fn endpoint(r: &Registry, name: &str) -> Vec<Endpoint> {
    vec![Endpoint {
        host: r.host(),
        name: name.into(),
        insecure: true,
        mirror: false,
    }]
}

const TAGS: [&str; 7] = ["1.4.2", "1.4.3", "1.5.0", "1.5.0-rc1", "2.0.0", "latest", "v1.6.0"];

#[test]
fn tags_are_listed_across_pages_of_a_real_registry() {
    if !available("tags-pages") {
        return;
    }
    let r = Registry::start(RegistryAuth::None);
    for (i, tag) in TAGS.iter().enumerate() {
        r.push_image("acme/app", tag, &format!("seed-{i}"));
    }
    let mut c = client(3);
    let list = c
        .tags(&endpoint(&r, "acme/app"), &AuthFiles::from_texts(Vec::new()), NOW_MS)
        .unwrap();
    let mut sorted = list.tags.clone();
    sorted.sort();
    assert_eq!(sorted, TAGS, "every tag, once");
    assert!(list.complete);
    assert_eq!(list.endpoint, format!("{}/acme/app", r.host()));
    let pages: Vec<String> = r
        .access_log()
        .into_iter()
        .filter(|(m, p, _)| m == "GET" && p.contains("/tags/list"))
        .map(|(_, p, status)| {
            assert_eq!(status, 200, "{p}");
            p
        })
        .collect();
    assert_eq!(
        pages,
        ["/v2/acme/app/tags/list?n=3"],
        "2.8 ignores n: one page, no Link"
    );
    assert_eq!(c.counts().tag_pages, 1);
    let e = c
        .tags(&endpoint(&r, "acme/none"), &AuthFiles::from_texts(Vec::new()), NOW_MS)
        .unwrap_err();
    assert_eq!(e.code(), "tag_not_found", "{e}");
}

#[test]
fn tags_are_listed_behind_a_token_service_with_the_pull_scope() {
    if !available("tags-token") {
        return;
    }
    let login = Some(("ci".to_string(), "s3cret".to_string()));
    let r = Registry::start(RegistryAuth::Token { login });
    for tag in ["1.0.0", "1.1.0", "1.2.0"] {
        r.push_image("acme/private", tag, tag);
    }
    let auth = AuthFiles::from_texts(vec![(PathBuf::from("auth.json"), r.auth_json())]);
    let mut c = client(2);
    let list = c.tags(&endpoint(&r, "acme/private"), &auth, NOW_MS).unwrap();
    let mut tags = list.tags.clone();
    tags.sort();
    assert_eq!(
        tags,
        ["1.0.0", "1.1.0", "1.2.0"],
        "in the registry's order, which 2.8 does not sort"
    );
    let scopes: Vec<(String, Option<String>)> = r.tokens().requests();
    assert_eq!(
        scopes,
        [("repository:acme/private:pull".to_string(), Some("ci".to_string()))]
    );
    let counts = c.counts();
    assert_eq!(
        (counts.tag_pages, counts.retries_after_401, counts.token_requests),
        (2, 1, 1),
        "the page that met the challenge, then the page with the token"
    );
}
