//! A repository's tags, for `Follow=semver` and `regex`: `GET /v2/<name>/tags/list?n=<page>`
//! and each next page its `Link` header names, as the OCI distribution spec's "Listing
//! Image Tags" and "Pagination" sections say
//! (<https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-tags>):
//! the body is `{"name": <name>, "tags": [<tag>, ...]}`; while more tags remain, the answer
//! carries an RFC 8288 (formerly 5988) link to the next page, `Link: <url>; rel="next"`,
//! whose URL repeats `n` and adds `last` (distribution 2.8 sends it relative:
//! `</v2/acme/app/tags/list?last=b&n=2>; rel="next"`); without one, the list is complete.
//! distribution answers `"tags": null` for a repository whose tags were all deleted.
//!
//! Each endpoint is asked as `Client::digest` asks it (holds, pacing, one answered
//! challenge with the same `repository:<name>:pull` scope). Every answer is bounded: the
//! number of pages, of tags, and each page's body; a next page on another host, or one
//! already asked for, ends the listing as an unusable answer.

use super::AuthFiles;
use super::client::Client;
use super::conf::Endpoint;
use super::outcome::{CheckError, valid_tag};
use super::transport::Answer;
use serde::Deserialize;

/// A page's body, read up to this: a thousand tags of the longest kind fit four times over.
const MAX_PAGE_BODY_BYTES: u64 = 512 * 1024;
/// Tags asked for per page (`n`); registries may send fewer.
const DEFAULT_PAGE_TAGS: u32 = 1000;
const DEFAULT_MAX_PAGES: u32 = 50;
const DEFAULT_MAX_TAGS: usize = 10_000;

/// How much of a tag list is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagLimits {
    /// `n`: tags asked for per page.
    pub page: u32,
    /// Pages read at most.
    pub max_pages: u32,
    /// Tags kept at most.
    pub max_tags: usize,
}

impl Default for TagLimits {
    fn default() -> TagLimits {
        TagLimits {
            page: DEFAULT_PAGE_TAGS,
            max_pages: DEFAULT_MAX_PAGES,
            max_tags: DEFAULT_MAX_TAGS,
        }
    }
}

/// A repository's tags as one endpoint listed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagList {
    /// In the registry's order (lexical by the spec, unsorted from distribution 2.8);
    /// tags that are not valid tags are left out.
    pub tags: Vec<String>,
    /// `host/name` of the endpoint that answered.
    pub endpoint: String,
    /// False when a bound (pages or tags) ended the listing before the registry did: a
    /// newer tag may be among those not read.
    pub complete: bool,
}

impl Client {
    /// This client, reading tag lists within `limits`.
    pub fn with_tag_limits(mut self, limits: TagLimits) -> Client {
        self.tag_limits = limits;
        self
    }

    /// The repository's tags from the first of `endpoints` that lists them all; any
    /// failure of one falls through to the next, and the last endpoint's error is returned.
    pub fn tags(&mut self, endpoints: &[Endpoint], auth: &AuthFiles, now_ms: i64) -> Result<TagList, CheckError> {
        let mut last = CheckError::Config("no registry endpoint to ask".into());
        for endpoint in endpoints {
            match self.list(endpoint, auth, now_ms) {
                Ok(list) => return Ok(list),
                Err(e) => {
                    log::debug!(
                        "registry '{}' listed no tags of '{}': {e}",
                        endpoint.host,
                        endpoint.name
                    );
                    last = e;
                }
            }
        }
        Err(last)
    }

    fn list(&mut self, ep: &Endpoint, auth: &AuthFiles, now_ms: i64) -> Result<TagList, CheckError> {
        if let Some(held) = self.held(&ep.host, now_ms) {
            return Err(held);
        }
        let limits = self.tag_limits;
        let endpoint = format!("{}/{}", ep.host, ep.name);
        let bad = |message: String| CheckError::BadAnswer {
            host: ep.host.clone(),
            message,
        };
        let scope = format!("repository:{}:pull", ep.name);
        let mut sent = self.known_authorization(ep, &scope, auth, now_ms)?;
        let mut path = format!("/v2/{}/tags/list?n={}", ep.name, limits.page.max(1));
        let mut asked = vec![path.clone()];
        let mut tags = Vec::new();
        loop {
            let mut answer = self.page(ep, &path, sent.as_deref())?;
            if answer.status == 401 {
                sent = Some(self.authorize(ep, &scope, &answer, sent.as_deref(), auth, now_ms)?);
                self.counts.retries_after_401 += 1;
                answer = self.page(ep, &path, sent.as_deref())?;
            }
            if answer.status != 200 {
                return Err(self.refused(ep, endpoint, &answer, sent.is_some(), now_ms));
            }
            tags.extend(parse_body(&answer.body).map_err(bad)?);
            let next = next_link(&answer.joined("link"));
            let Some(next) = next else {
                let complete = tags.len() <= limits.max_tags;
                tags.truncate(limits.max_tags);
                return Ok(TagList {
                    tags,
                    endpoint,
                    complete,
                });
            };
            if tags.len() >= limits.max_tags || asked.len() >= limits.max_pages as usize {
                tags.truncate(limits.max_tags);
                log::info!(
                    "stopped listing the tags of '{endpoint}' after {} pages, {} tags",
                    asked.len(),
                    tags.len()
                );
                return Ok(TagList {
                    tags,
                    endpoint,
                    complete: false,
                });
            }
            path = next_path(ep, &next).map_err(bad)?;
            if asked.contains(&path) {
                return Err(bad(format!("its next page '{path}' was already read")));
            }
            asked.push(path.clone());
        }
    }

    fn page(&mut self, ep: &Endpoint, path: &str, authorization: Option<&str>) -> Result<Answer, CheckError> {
        let before = self.counts.gets;
        let answer = self.send_to(ep, path, "application/json", authorization, Some(MAX_PAGE_BODY_BYTES));
        self.counts.tag_pages += self.counts.gets - before;
        answer
    }
}

#[derive(Deserialize)]
struct Body {
    /// Absent or `null`: no tags.
    #[serde(default)]
    tags: Option<Vec<String>>,
}

/// The valid tags of one page's body.
pub(super) fn parse_body(body: &[u8]) -> Result<Vec<String>, String> {
    let body: Body =
        serde_json::from_slice(body).map_err(|e| format!("the tag list is not the JSON the spec describes: {e}"))?;
    Ok(body
        .tags
        .unwrap_or_default()
        .into_iter()
        .filter(|t| valid_tag(t))
        .collect())
}

/// The target of the first link with relation `next` in a `Link` value (RFC 8288:
/// `<uri>; param=value; ...`, links separated by commas, `rel` a space-separated list,
/// its value quoted or not, compared without case).
pub(super) fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        let after = rest.strip_prefix('<')?;
        let (target, params) = after.split_once('>')?;
        let (params, more) = split_params(params);
        rest = more;
        let is_next = params.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("rel") && value.split_whitespace().any(|r| r.eq_ignore_ascii_case("next"))
        });
        if is_next {
            return Some(target.trim().to_string());
        }
    }
}

/// The `; name=value` parameters of one link, up to the comma that ends it (commas inside
/// quoted values do not), and what follows that comma.
fn split_params(text: &str) -> (Vec<(String, String)>, &str) {
    let mut end = text.len();
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                end = i;
                break;
            }
            _ => {}
        }
    }
    let params = text[..end]
        .split(';')
        .filter_map(|p| p.split_once('='))
        .map(|(n, v)| (n.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect();
    (params, &text[end..])
}

/// The path (from `/v2/`, with its query) that a next link names on `ep`: a relative
/// reference as it is, an absolute URL only when it names the same host, since the
/// credential podup sends belongs to that host alone.
pub(super) fn next_path(ep: &Endpoint, link: &str) -> Result<String, String> {
    let shown: String = link.chars().take(120).collect();
    if link.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("its next page '{}' is not a URL", shown.escape_debug()));
    }
    let path = match link.split_once("://") {
        Some(("http" | "https", rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            if !authority.eq_ignore_ascii_case(&ep.host) {
                return Err(format!("its next page '{shown}' is on another host"));
            }
            path
        }
        Some(_) => return Err(format!("its next page '{shown}' is not an http URL")),
        None => link,
    };
    if !path.starts_with("/v2/") {
        return Err(format!("its next page '{shown}' is not under /v2/"));
    }
    Ok(path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(host: &str) -> Endpoint {
        Endpoint {
            host: host.into(),
            name: "acme/app".into(),
            insecure: false,
            mirror: false,
        }
    }

    #[test]
    fn the_next_link_is_found_among_others_quoted_or_not() {
        let spec = r#"<http://example.com/v2/hello-world/tags/list?n=20&last=b>; rel="next""#;
        assert_eq!(
            next_link(spec).as_deref(),
            Some("http://example.com/v2/hello-world/tags/list?n=20&last=b")
        );
        let distribution = r#"</v2/acme/app/tags/list?last=b&n=2>; rel="next""#;
        assert_eq!(
            next_link(distribution).as_deref(),
            Some("/v2/acme/app/tags/list?last=b&n=2")
        );
        let several = r#"</first?a,b>; rel="first"; title="x, y", </v2/x?last=c>; REL=Next"#;
        assert_eq!(next_link(several).as_deref(), Some("/v2/x?last=c"));
        assert_eq!(next_link(r#"</v2/y>; rel="prev next""#).as_deref(), Some("/v2/y"));
        for none in [
            "",
            r#"</v2/x>; rel="prev""#,
            "garbage",
            "<unclosed; rel=next",
            r#"</v2/x>; rel="nextpage""#,
        ] {
            assert_eq!(next_link(none), None, "{none}");
        }
    }

    #[test]
    fn a_next_page_stays_on_the_same_host() {
        let e = ep("registry.example:5000");
        assert_eq!(
            next_path(&e, "/v2/acme/app/tags/list?last=b").unwrap(),
            "/v2/acme/app/tags/list?last=b"
        );
        assert_eq!(
            next_path(&e, "https://Registry.Example:5000/v2/acme/app/tags/list?n=2&last=b").unwrap(),
            "/v2/acme/app/tags/list?n=2&last=b"
        );
        let other = next_path(&e, "https://evil.example/v2/acme/app/tags/list").unwrap_err();
        assert!(other.contains("another host"), "{other}");
        assert!(next_path(&e, "ftp://registry.example:5000/v2/x").is_err());
        assert!(next_path(&e, "/other/path").is_err());
        assert!(next_path(&e, "/v2/a b").is_err());
        assert!(next_path(&e, "https://registry.example:5000").is_err());
    }

    #[test]
    fn a_body_gives_its_valid_tags_and_null_is_none() {
        let body = br#"{"name":"acme/app","tags":["1.4.2","latest","-bad","1.5.0"]}"#;
        assert_eq!(parse_body(body).unwrap(), ["1.4.2", "latest", "1.5.0"]);
        assert_eq!(
            parse_body(br#"{"name":"acme/app","tags":null}"#).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(parse_body(br#"{"name":"acme/app"}"#).unwrap(), Vec::<String>::new());
        assert!(parse_body(br#"{"tags":"1.0"}"#).is_err());
        assert!(parse_body(b"<html>").is_err());
    }
}
