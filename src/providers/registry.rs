//! Registry notifications: the envelope CNCF distribution (`registry:2`) sends, and the
//! registries built on it (GitLab's container registry, Harbor's internal one):
//! `{"events": [...]}`, events not necessarily related, each with its own `id`,
//! `action` (`push`, `pull`, `mount`, `delete`) and `target` (distribution's
//! `notifications/event.go`, `Event`). There is no event header.
//!
//! One `docker push` sends an event per blob and per manifest; only the push of a
//! manifest (or index) that carries `target.tag` deploys. Everything else is an item
//! ignored with a reason, answered 2xx: the registry retries anything else forever.
//!
//! Host: `request.host`, the host the client pushed to (the name clients pull by),
//! else the host of `target.url`. `source.addr` is the registry node, not a name to
//! pull by. What cannot be told: a Helm chart or other OCI artifact is pushed as an
//! OCI image manifest, like an image; only when the event also carries the manifest's
//! config (with `notifications.events.includereferences`, `target.references[0]`) or an
//! `artifactType` does it say so.

use super::image::{self, ignored};
use super::json::{at, list, object, shorten, text};
use super::{Delivery, Headers, Item, Verdict};
use serde_json::Value;

/// Manifest media types that name a container image (or a list of them).
const MANIFESTS: &[&str] = &[
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

/// Of those, the lists (their references are manifests, not a config and layers).
const INDEXES: &[&str] = &[
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.index.v1+json",
];

/// Config media types of a container image.
const IMAGE_CONFIGS: &[&str] = &[
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

/// Reads a delivery on `/hooks/registry`: one item per event of the envelope.
pub fn read(header: Headers<'_>, payload: &Value) -> Delivery {
    // zot (2.1.7 and later) sends CloudEvents, not this envelope: `ce-type`
    // `zotregistry.image.updated` and data `{name, reference, digest, mediaType,
    // manifest}` (project-zot/zot `pkg/extensions/events/events.go`). Nothing in it
    // names the registry's host, and podup does not guess one: said, not deployed.
    let ce_type = header("ce-type").or_else(|| {
        payload
            .get("specversion")
            .and(payload.get("type"))
            .and_then(Value::as_str)
    });
    if let Some(kind) = ce_type {
        let id = header("ce-id").map(str::to_string).or_else(|| text(payload, &["id"]));
        let detail = format!(
            "a CloudEvent '{}' (zot's): it names no registry host to pull from",
            shorten(kind)
        );
        return Delivery::one(Some(kind.to_string()), id, ignored("missing_registry", detail));
    }
    let events = list(payload, &["events"]);
    if events.is_empty() {
        let detail = if at(payload, &["events"]).is_some() {
            "'events' holds no event"
        } else {
            "no 'events' in the body"
        };
        return Delivery::one(None, None, ignored("missing_event", detail.into()));
    }
    let mut actions: Vec<String> = Vec::new();
    let items = events
        .iter()
        .map(|raw| {
            let ev = object(raw, &[]);
            let ev = ev.as_ref().unwrap_or(raw);
            if let Some(a) = text(ev, &["action"]).map(|a| a.to_ascii_lowercase())
                && !actions.contains(&a)
            {
                actions.push(a);
            }
            Item {
                verdict: event(ev),
                id: text(ev, &["id"]),
            }
        })
        .collect();
    Delivery {
        event: Some(actions.join(",")).filter(|a| !a.is_empty()),
        id: None,
        items,
    }
}

/// One event of the envelope.
fn event(ev: &Value) -> Verdict {
    if !ev.is_object() {
        return ignored("missing_event", "an event that is not an object".into());
    }
    let action = text(ev, &["action"]).unwrap_or_default();
    if !action.eq_ignore_ascii_case("push") {
        return ignored("unsupported_action", format!("action '{}'", shorten(&action)));
    }
    let Some(target) = object(ev, &["target"]) else {
        return ignored("not_a_manifest", "no 'target' in the event".into());
    };
    let url = text(&target, &["url"]).unwrap_or_default();
    let media = media_type(&target, &["mediaType"]);
    let what = || shorten(&format!("{} {}", media.as_deref().unwrap_or("no media type"), url));
    match media.as_deref() {
        Some(m) if m.contains("helm") => return ignored("helm_chart", format!("media type '{}'", shorten(m))),
        Some(m) if !MANIFESTS.contains(&m) => return ignored("not_a_manifest", what()),
        // No media type (not sent by any version read): the URL says what was pushed.
        None if !url.contains("/manifests/") => return ignored("not_a_manifest", what()),
        _ => {}
    }
    if let Some(v) = artifact(&target, media.as_deref()) {
        return v;
    }
    let repository = text(&target, &["repository"])
        .or_else(|| repository_of(&url))
        .unwrap_or_default();
    let host = text(ev, &["request", "host"]).or_else(|| Some(url.clone()).filter(|u| u.contains("://")));
    let tag = text(&target, &["tag"]);
    let digest = text(&target, &["digest"]);
    image::event(host.as_deref(), &repository, tag.as_deref(), digest.as_deref())
}

/// The media type at `path` of `v`, lower case, without parameters.
fn media_type(v: &Value, path: &[&str]) -> Option<String> {
    let m = text(v, path)?;
    let m = m.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    Some(m).filter(|m| !m.is_empty())
}

/// `Ignored` when the event says the manifest is not a container image: an
/// `artifactType` (OCI 1.1 descriptors), or the config among `target.references`
/// (distribution's `includereferences`), or a `config` a registry may add.
fn artifact(target: &Value, media: Option<&str>) -> Option<Verdict> {
    let index = media.is_some_and(|m| INDEXES.contains(&m));
    let config = media_type(target, &["artifactType"])
        .or_else(|| media_type(target, &["config", "mediaType"]))
        .or_else(|| {
            let first = list(target, &["references"]).first().filter(|_| !index)?;
            media_type(&object(first, &[])?, &["mediaType"])
        })?;
    if config.contains("helm") {
        return Some(ignored("helm_chart", format!("config '{}'", shorten(&config))));
    }
    (!IMAGE_CONFIGS.contains(&config.as_str()))
        .then(|| ignored("not_a_container", format!("config '{}'", shorten(&config))))
}

/// `<repository>` of `…/v2/<repository>/manifests/<reference>`.
fn repository_of(url: &str) -> Option<String> {
    let after = url.split_once("/v2/")?.1;
    let (repo, _) = after.rsplit_once("/manifests/")?;
    Some(repo.to_string()).filter(|r| !r.is_empty())
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
