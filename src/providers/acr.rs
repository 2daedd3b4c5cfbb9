//! Azure Container Registry webhooks (azure-management-docs
//! `container-registry-webhook-reference.md`). The body's `action` names the event
//! (`push`, `delete`, `chart_push`, `chart_delete`, `quarantine`, and `ping` from the
//! portal's Ping button) and its top-level `id` is the event's id. A push carries
//! `target.repository`, `target.tag`, `target.digest`, `target.mediaType` and
//! `request.host`, the registry host clients used (`<name>.azurecr.io`). The docs'
//! examples redact ids and digests with `xxxx`: such a digest reads as absent and the
//! tag still deploys. A Helm chart pushed with `helm push` arrives as a plain `push`
//! with an OCI manifest media type, indistinguishable from an image.

use super::image::{self, ignored};
use super::json::{object, shorten, text};
use super::{Delivery, Headers, Item, Verdict};
use serde_json::Value;

/// Manifest media types of a container image (docker schema 1 and 2, OCI).
const IMAGE_MANIFESTS: [&str; 6] = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];

/// Reads a delivery on `/hooks/acr`.
pub fn read(_header: Headers<'_>, payload: &Value) -> Delivery {
    let event = text(payload, &["action"]);
    let verdict = match event.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => ignored("missing_event", "no 'action' in the body".into()),
        Some("ping") => Verdict::Ping { hook_id: None },
        Some("push") => push(payload),
        Some("chart_push") => ignored("helm_chart", chart(payload)),
        Some(action) => ignored("unsupported_action", format!("action '{}'", shorten(action))),
    };
    Delivery {
        event,
        id: None,
        items: vec![Item {
            verdict,
            id: text(payload, &["id"]),
        }],
    }
}

fn push(payload: &Value) -> Verdict {
    let Some(target) = object(payload, &["target"]) else {
        return ignored("missing_package", "no 'target' object in the body".into());
    };
    let repository = text(&target, &["repository"]).unwrap_or_default();
    if let Some(media) = text(&target, &["mediaType"]) {
        let media = media.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if media.contains("helm") {
            return ignored("helm_chart", format!("'{}' is a Helm chart", shorten(&repository)));
        }
        if !IMAGE_MANIFESTS.contains(&media.as_str()) {
            return ignored("not_a_container", format!("media type '{}'", shorten(&media)));
        }
    }
    let host = object(payload, &["request"]).and_then(|r| text(&r, &["host"]));
    let tag = text(&target, &["tag"]);
    let digest = text(&target, &["digest"]);
    image::event(host.as_deref(), &repository, tag.as_deref(), digest.as_deref())
}

/// What a `chart_push` names, for the detail.
fn chart(payload: &Value) -> String {
    let target = object(payload, &["target"]).unwrap_or_default();
    let name = text(&target, &["name"]).or_else(|| text(&target, &["repository"]));
    let version = text(&target, &["version"]).or_else(|| text(&target, &["tag"]));
    let what = format!("{}:{}", name.unwrap_or_default(), version.unwrap_or_default());
    format!("chart '{}'", shorten(&what))
}

#[cfg(test)]
#[path = "acr_tests.rs"]
mod tests;
