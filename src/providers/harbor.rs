//! Harbor's project webhooks (goharbor/website `configure-webhooks.md`). The body's
//! `type` names the event (`PUSH_ARTIFACT`; `harbor.artifact.pushed` in the
//! CloudEvents payload format, whose event sits in `data` instead of `event_data`).
//! A push lists one resource per tag pushed, each with `tag`, `digest` and
//! `resource_url` (`<harbor host>/<project>/<repo>:<tag>`, the only place the registry
//! host appears); an untagged push puts the digest where the tag goes. Harbor 1.x
//! sent `event_type` `pushImage` and `events[]`, which name no host at all. Helm
//! charts and other OCI artifacts also arrive as `PUSH_ARTIFACT` with nothing to
//! tell them apart (goharbor/harbor#14177): they reach matching, where no unit's
//! image names them. The Default format has no delivery id; CloudEvents' `id` is one.

use super::image::{self, ignored};
use super::json::{list, object, shorten, text};
use super::{Delivery, Headers, Item, Verdict};
use serde_json::Value;

/// The `type`s (any case) of a push: 2.x, CloudEvents, and the 1.x `pushImage`.
const PUSH_TYPES: [&str; 3] = ["PUSH_ARTIFACT", "harbor.artifact.pushed", "pushImage"];

/// Reads a delivery on `/hooks/harbor`.
pub fn read(_header: Headers<'_>, payload: &Value) -> Delivery {
    let event = text(payload, &["type"]).or_else(|| text(payload, &["event_type"]));
    let id = text(payload, &["specversion"]).and_then(|_| text(payload, &["id"]));
    let items = match &event {
        None => vec![item(ignored("missing_event", "no 'type' in the body".into()))],
        Some(e) if PUSH_TYPES.iter().any(|p| p.eq_ignore_ascii_case(e)) => push(payload),
        Some(e) => vec![item(ignored("unsupported_event", format!("type '{}'", shorten(e))))],
    };
    Delivery { event, id, items }
}

fn item(verdict: Verdict) -> Item {
    Item { verdict, id: None }
}

/// One item per pushed resource (2.x and CloudEvents) or per 1.x event.
fn push(payload: &Value) -> Vec<Item> {
    let data = object(payload, &["event_data"]).or_else(|| object(payload, &["data"]));
    let items: Vec<Item> = match &data {
        Some(data) => {
            let repository = object(data, &["repository"]).unwrap_or_default();
            list(data, &["resources"])
                .iter()
                .map(|r| item(resource(r, &repository)))
                .collect()
        }
        None => list(payload, &["events"]).iter().map(|e| item(legacy(e))).collect(),
    };
    if items.is_empty() {
        return vec![item(ignored(
            "missing_package",
            "no pushed resource in the body".into(),
        ))];
    }
    items
}

/// One `event_data.resources[]` entry of a 2.x push.
fn resource(resource: &Value, repository: &Value) -> Verdict {
    if !resource.is_object() {
        return ignored("missing_package", "a resource that is not an object".into());
    }
    let url = text(resource, &["resource_url"]).unwrap_or_default();
    let url = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(&url);
    // `host/project/repo:tag` or `host/project/repo@sha256:…`; no `/`, no host.
    let (host, rest) = match url.split_once('/') {
        Some((host, rest)) => (Some(host), rest),
        None => (None, ""),
    };
    let (url_path, url_tag) = match rest.split_once('@') {
        Some((path, _digest)) => (path, None),
        None => match rest.rsplit_once(':') {
            Some((path, tag)) if !tag.contains('/') => (path, Some(tag)),
            _ => (rest, None),
        },
    };
    let path = text(repository, &["repo_full_name"])
        .or_else(|| {
            let namespace = text(repository, &["namespace"])?;
            Some(format!("{namespace}/{}", text(repository, &["name"])?))
        })
        .unwrap_or_else(|| url_path.to_string());
    let tag = text(resource, &["tag"]).or_else(|| url_tag.map(str::to_string));
    let digest = text(resource, &["digest"]);
    image::event(host, &path, tag.as_deref(), digest.as_deref())
}

/// One `events[]` entry of Harbor 1.x: no host anywhere, so never an image, but
/// judged by the same rules so the reason says what is missing.
fn legacy(event: &Value) -> Verdict {
    let path = text(event, &["full_name"])
        .or_else(|| {
            Some(format!(
                "{}/{}",
                text(event, &["project"])?,
                text(event, &["repo_name"])?
            ))
        })
        .unwrap_or_default();
    let tag = text(event, &["tag"]);
    image::event(None, &path, tag.as_deref(), None)
}

#[cfg(test)]
#[path = "harbor_tests.rs"]
mod tests;
