//! The door of the `registry_answer` fuzz target (`crate::fuzzing`) into this module's
//! private parsers: what registries, token services and podman's files say.

use super::conf::Endpoint;
use super::outcome::valid_tag;
use super::{AuthFiles, Registries, challenge, retry, tags, token};
use std::path::PathBuf;

const NOW_MS: i64 = 1_800_000_000_000;

/// Reads `text` as each thing a check reads from outside: a `WWW-Authenticate` value,
/// a `Retry-After` value, a token service's answer, a tag list page and its `Link`
/// value, a registries.conf and an auth.json, then asks them what a check asks. Panics
/// only when a property breaks: a wait is never in the past nor past a day; a token is a
/// header value that expires after now; a listed tag is a valid tag; a next page stays
/// on the registry's host under `/v2/`; a credential's secret never shows in its `Debug`.
pub fn answers(text: &str) {
    for c in challenge::parse(text) {
        assert!(c.scheme.bytes().all(|b| !b.is_ascii_uppercase()), "{c:?}");
    }
    let first = text.lines().next().unwrap_or("");
    let until = retry::until(Some(first), NOW_MS);
    assert!(
        (NOW_MS..=NOW_MS + 24 * 3600 * 1000).contains(&until),
        "{first:?} -> {until}"
    );
    if let Ok(t) = token::from_body(text.as_bytes(), NOW_MS) {
        assert!(t.expires_ms > NOW_MS && t.value.bytes().all(|b| b.is_ascii_graphic()));
    }
    if let Ok(list) = tags::parse_body(text.as_bytes()) {
        assert!(list.iter().all(|t| valid_tag(t)), "{list:?}");
    }
    let registry = Endpoint {
        host: "registry.example:5000".into(),
        name: "acme/app".into(),
        insecure: false,
        mirror: false,
    };
    if let Some(next) = tags::next_link(first) {
        if let Ok(path) = tags::next_path(&registry, &next) {
            assert!(
                path.starts_with("/v2/") && !path.contains(char::is_whitespace),
                "{path:?}"
            );
        }
    }
    let path = PathBuf::from("fuzz.conf");
    if let Ok(r) = Registries::parse(&[(path.clone(), text.to_string())]) {
        for repo in ["docker.io/library/app", "app", "localhost:5000/a/b", "quay.io/x"] {
            let _ = r.endpoints(repo);
        }
    }
    let auth = AuthFiles::from_texts(vec![(path, text.to_string())]);
    for (host, repo) in [("docker.io", "library/app"), ("localhost:5000", "a/b")] {
        if let Ok(Some(c)) = auth.lookup(host, repo) {
            let shown = format!("{c:?} {c}");
            assert!(c.secret.len() < 4 || !shown.contains(&c.secret), "{shown}");
        }
    }
}
