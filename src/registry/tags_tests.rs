//! Tag listing against a scripted registry on 127.0.0.1 that pages as the spec and
//! distribution 3 do: pages, challenges, holds and bounds.

use super::auth::AuthFiles;
use super::client::CheckError;
use super::tags::TagLimits;
use super::testing::{Recorded, Reply, Server, client, endpoint};

const NOW_MS: i64 = 1_700_000_000_000;

fn anonymous() -> AuthFiles {
    AuthFiles::from_texts(Vec::new())
}

/// A registry holding `tags` that pages them as distribution does: `n` at most, then a
/// relative next link with `last`.
fn paging(tags: &'static [&'static str]) -> Server {
    Server::start(move |r: &Recorded, _| {
        let query = r.path.split_once('?').map_or("", |(_, q)| q);
        let arg = |name: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
        };
        let n: usize = arg("n").and_then(|v| v.parse().ok()).unwrap_or(tags.len());
        let start = arg("last").map_or(0, |last| tags.iter().position(|t| *t == last).unwrap() + 1);
        let page = &tags[start..(start + n).min(tags.len())];
        let body = serde_json::json!({"name": "acme/app", "tags": page}).to_string();
        let mut reply = Reply::new(200).header("Content-Type", "application/json").body(&body);
        if start + n < tags.len() {
            let next = format!(
                "</v2/acme/app/tags/list?last={}&n={n}>; rel=\"next\"",
                page[page.len() - 1]
            );
            reply = reply.header("Link", &next);
        }
        reply
    })
}

const SEVEN: [&str; 7] = ["1.4.2", "1.4.3", "1.5.0", "1.5.0-rc1", "2.0.0", "latest", "v1.6.0"];

#[test]
fn every_page_is_read_through_the_next_links() {
    let server = paging(&SEVEN);
    let limits = TagLimits {
        page: 3,
        ..TagLimits::default()
    };
    let mut c = client().with_tag_limits(limits);
    let list = c
        .tags(&[endpoint(&server.addr, "acme/app", false)], &anonymous(), NOW_MS)
        .unwrap();
    assert_eq!(list.tags, SEVEN);
    assert!(list.complete);
    assert_eq!(list.endpoint, format!("{}/acme/app", server.addr));
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/v2/acme/app/tags/list?n=3",
            "/v2/acme/app/tags/list?last=1.5.0&n=3",
            "/v2/acme/app/tags/list?last=latest&n=3"
        ]
    );
    assert!(server.requests().iter().all(|r| r.method == "GET"));
    let counts = c.counts();
    assert_eq!((counts.gets, counts.tag_pages, counts.heads), (3, 3, 0));
}

#[test]
fn the_bounds_end_a_long_list_as_incomplete() {
    let server = paging(&SEVEN);
    let ep = [endpoint(&server.addr, "acme/app", false)];
    let pages = TagLimits {
        page: 2,
        max_pages: 2,
        max_tags: 100,
    };
    let list = client().with_tag_limits(pages).tags(&ep, &anonymous(), NOW_MS).unwrap();
    assert_eq!((list.tags.len(), list.complete), (4, false));
    let tags = TagLimits {
        page: 3,
        max_pages: 50,
        max_tags: 5,
    };
    let list = client().with_tag_limits(tags).tags(&ep, &anonymous(), NOW_MS).unwrap();
    assert_eq!((list.tags.len(), list.complete), (5, false));
    let exact = TagLimits {
        page: 7,
        max_pages: 1,
        max_tags: 7,
    };
    let list = client().with_tag_limits(exact).tags(&ep, &anonymous(), NOW_MS).unwrap();
    assert_eq!(
        (list.tags.len(), list.complete),
        (7, true),
        "one page without a next link"
    );
}

#[test]
fn null_tags_are_none_and_a_missing_repository_is_not_found() {
    let server = Server::start(|r, _| match r.path.starts_with("/v2/acme/gone/") {
        true => Reply::new(404).body(r#"{"errors":[{"code":"NAME_UNKNOWN"}]}"#),
        false => Reply::new(200).body(r#"{"name":"acme/app","tags":null}"#),
    });
    let mut c = client();
    let list = c
        .tags(&[endpoint(&server.addr, "acme/app", false)], &anonymous(), NOW_MS)
        .unwrap();
    assert!(list.tags.is_empty() && list.complete);
    let e = c
        .tags(&[endpoint(&server.addr, "acme/gone", false)], &anonymous(), NOW_MS)
        .unwrap_err();
    assert_eq!(
        e,
        CheckError::NotFound {
            endpoint: format!("{}/acme/gone", server.addr)
        }
    );
}

#[test]
fn a_bearer_challenge_is_answered_with_the_pull_scope_and_the_token_reused() {
    let server = Server::start(|r, addr| {
        if r.path.starts_with("/token") {
            return Reply::new(200).body(r#"{"token": "t0ken", "expires_in": 300}"#);
        }
        if r.header("authorization") != Some("Bearer t0ken") {
            let challenge = format!(r#"Bearer realm="http://{addr}/token",service="reg""#);
            return Reply::new(401).header("WWW-Authenticate", &challenge);
        }
        Reply::new(200).body(r#"{"name":"acme/app","tags":["1.0"]}"#)
    });
    let mut c = client();
    let ep = [endpoint(&server.addr, "acme/app", false)];
    assert_eq!(c.tags(&ep, &anonymous(), NOW_MS).unwrap().tags, ["1.0"]);
    assert_eq!(c.tags(&ep, &anonymous(), NOW_MS + 1).unwrap().tags, ["1.0"]);
    let tokens: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/token"))
        .map(|r| r.path)
        .collect();
    assert_eq!(tokens, ["/token?service=reg&scope=repository%3Aacme%2Fapp%3Apull"]);
    let counts = c.counts();
    assert_eq!(
        (counts.token_requests, counts.retries_after_401, counts.tag_pages),
        (1, 1, 3)
    );
    assert_eq!(counts.gets, 4, "three pages and one token");
}

#[test]
fn a_429_holds_the_host_and_the_mirror_falls_through_to_the_location() {
    let mirror = Server::start(|_, _| Reply::new(429).header("Retry-After", "120"));
    let location = Server::start(|_, _| Reply::new(200).body(r#"{"name":"acme/app","tags":["2"]}"#));
    let eps = [
        endpoint(&mirror.addr, "acme/app", true),
        endpoint(&location.addr, "acme/app", false),
    ];
    let mut c = client();
    let list = c.tags(&eps, &anonymous(), NOW_MS).unwrap();
    assert_eq!(list.endpoint, format!("{}/acme/app", location.addr));
    assert_eq!(c.holds(), [(mirror.addr.clone(), NOW_MS + 120_000)]);
    c.tags(&eps, &anonymous(), NOW_MS + 1000).unwrap();
    assert_eq!(mirror.requests().len(), 1, "held: not asked again");
    let e = c.tags(&eps[..1], &anonymous(), NOW_MS + 1000).unwrap_err();
    assert_eq!(e.code(), "rate_limited");
}

#[test]
fn next_links_elsewhere_or_in_a_loop_are_unusable_answers() {
    let elsewhere = Server::start(|_, _| {
        Reply::new(200)
            .header(
                "Link",
                "<http://other.example/v2/acme/app/tags/list?last=a>; rel=\"next\"",
            )
            .body(r#"{"tags":["a"]}"#)
    });
    let e = client()
        .tags(&[endpoint(&elsewhere.addr, "acme/app", false)], &anonymous(), NOW_MS)
        .unwrap_err();
    assert!(
        matches!(&e, CheckError::BadAnswer { message, .. } if message.contains("another host")),
        "{e}"
    );
    let looping = Server::start(|_, _| {
        Reply::new(200)
            .header("Link", "</v2/acme/app/tags/list?n=1000>; rel=\"next\"")
            .body(r#"{"tags":["a"]}"#)
    });
    let e = client()
        .tags(&[endpoint(&looping.addr, "acme/app", false)], &anonymous(), NOW_MS)
        .unwrap_err();
    assert!(
        matches!(&e, CheckError::BadAnswer { message, .. } if message.contains("already read")),
        "{e}"
    );
    assert_eq!(looping.requests().len(), 1);
    let html = Server::start(|_, _| Reply::new(200).body("<html>"));
    let e = client()
        .tags(&[endpoint(&html.addr, "acme/app", false)], &anonymous(), NOW_MS)
        .unwrap_err();
    assert_eq!(e.code(), "bad_answer");
}
