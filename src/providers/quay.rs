//! Quay's "Webhook POST" notifications (quay.io, Red Hat Quay). Quay sends no event
//! name, no delivery id and no signature (only `Content-type: application/json`): the
//! body is the event's data alone, so its shape says which event it is. A `repo_push`
//! has `updated_tags` (an array of tags; in 2015 an object mapping tag → image id) and
//! `docker_url` (`<SERVER_HOSTNAME>/<namespace>/<name>`, the pull reference without a
//! tag); build events (`build_queued` … `build_cancelled`) have `build_id` and list
//! `docker_tags` they will push, and a later `repo_push` announces the result;
//! `vulnerability_found` has `vulnerability`. One item per updated tag. No digest: the
//! deploy resolves the tag at pull time. The event name recorded is the one Quay's
//! docs use for that shape (`repo_push`, `vulnerability_found`), or `build` for any
//! build event, since those differ only in optional fields.

use super::image::{self, ignored};
use super::json::{at, shorten, text};
use super::{Delivery, Headers, Item, Verdict};
use serde_json::Value;
use std::collections::HashSet;

/// Reads a delivery on `/hooks/quay/<secret>`.
pub fn read(_header: Headers<'_>, payload: &Value) -> Delivery {
    let present = |key: &str| at(payload, &[key]).is_some();
    let (event, verdicts) = if present("build_id") {
        let build = text(payload, &["build_name"]).or_else(|| text(payload, &["build_id"]));
        let detail = format!("a build event (build '{}')", shorten(&build.unwrap_or_default()));
        (Some("build"), vec![ignored("unsupported_event", detail)])
    } else if present("vulnerability") {
        let detail = "a vulnerability report".to_string();
        (Some("vulnerability_found"), vec![ignored("unsupported_event", detail)])
    } else if let Some(tags) = at(payload, &["updated_tags"]) {
        (Some("repo_push"), push(payload, tags))
    } else {
        let detail = "no 'updated_tags', 'build_id' or 'vulnerability' in the body".to_string();
        (None, vec![ignored("unsupported_event", detail)])
    };
    Delivery {
        event: event.map(str::to_string),
        id: None,
        items: verdicts.into_iter().map(|verdict| Item { verdict, id: None }).collect(),
    }
}

/// One verdict per distinct tag of a `repo_push`.
fn push(payload: &Value, tags: &Value) -> Vec<Verdict> {
    let docker_url = text(payload, &["docker_url"]).unwrap_or_default();
    let (mut host, mut path) = split_reference(&docker_url);
    if host.is_none() {
        // `homepage` is served from the same SERVER_HOSTNAME as the registry.
        let homepage = text(payload, &["homepage"]).unwrap_or_default();
        host = split_reference(&homepage).0;
    }
    if path.is_empty() {
        path = text(payload, &["repository"]).unwrap_or_else(|| {
            let part = |key| text(payload, &[key]).unwrap_or_default();
            format!("{}/{}", part("namespace"), part("name"))
        });
    }
    let tags = tag_list(tags);
    if tags.is_empty() {
        return vec![image::event(host.as_deref(), &path, None, None)];
    }
    tags.iter()
        .map(|tag| image::event(host.as_deref(), &path, Some(tag), None))
        .collect()
}

/// A pull reference's host, when its first component is one (has a `.` or a `:`, or
/// is `localhost`, as docker reads it), and the rest as the repository path; a URL's
/// scheme is skipped.
fn split_reference(reference: &str) -> (Option<String>, String) {
    let rest = reference.split_once("://").map_or(reference, |(_, rest)| rest);
    let (first, path) = rest.split_once('/').unwrap_or((rest, ""));
    let is_host = first.contains(['.', ':']) || first.eq_ignore_ascii_case("localhost");
    if is_host {
        (Some(first.to_string()), path.trim_matches('/').to_string())
    } else {
        (None, rest.trim_matches('/').to_string())
    }
}

/// The tags of `updated_tags`, first appearance first: an array's strings (and
/// numbers), an object's keys, or text holding either or a comma- or space-separated
/// list (a notification template may render it so).
fn tag_list(tags: &Value) -> Vec<String> {
    let found: Vec<String> = match tags {
        Value::Array(items) => items.iter().filter_map(tag_text).collect(),
        Value::Object(map) => map.keys().map(|k| k.trim().to_string()).collect(),
        Value::Number(n) => vec![n.to_string()],
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(items)) => items.iter().filter_map(tag_text).collect(),
            Ok(Value::Object(map)) => map.keys().map(|k| k.trim().to_string()).collect(),
            _ => s.split([',', ' ', '\t', '\n']).map(str::to_string).collect(),
        },
        Value::Null | Value::Bool(_) => Vec::new(),
    };
    let mut seen = HashSet::new();
    found
        .into_iter()
        .filter(|t| !t.is_empty() && seen.insert(t.clone()))
        .collect()
}

fn tag_text(item: &Value) -> Option<String> {
    match item {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
#[path = "quay_tests.rs"]
mod tests;
