//! JFrog Artifactory's predefined webhooks (jfrog.com "domain-docker"; the envelope as
//! keel's and kargo's receivers read it). The body's `domain` and `event_type` name
//! the event (`docker` / `pushed` is "Docker Tag was Pushed"); `data` holds
//! `repo_key`, `image_name`, `tag`, `name` (`manifest.json` or `list.manifest.json`)
//! and `sha256`, the checksum of that manifest file, so the manifest digest. The
//! body names no registry host: `jpd_origin` is the platform's URL, and Artifactory
//! serves a repository at `<platform host>/<repo_key>/<image>` (its "repository path"
//! access method, the one that needs no reverse proxy), so that is the reference built;
//! a platform reached by another method or through a virtual repository builds a
//! reference no unit names, and nothing deploys. Without `jpd_origin` the event is
//! `missing_registry`. JFrog's test deliveries carry placeholder values
//! (`"sha256": "sample_checksum"`): a checksum that is not one marks a test, answered
//! as a ping. The body carries no delivery or event id.

use super::image::{self, ignored};
use super::json::{object, shorten, text};
use super::{Delivery, Headers, Verdict};
use serde_json::Value;

/// Reads a delivery on `/hooks/jfrog`.
pub fn read(_header: Headers<'_>, payload: &Value) -> Delivery {
    let domain = text(payload, &["domain"]);
    let kind = text(payload, &["event_type"]);
    let verdict = match (domain.as_deref(), kind.as_deref()) {
        (Some(d), Some(k)) if d.eq_ignore_ascii_case("docker") && k.eq_ignore_ascii_case("pushed") => pushed(payload),
        (Some(d), Some(k)) => ignored("unsupported_event", format!("event '{}'", shorten(&format!("{d}.{k}")))),
        _ => ignored("missing_event", "no 'domain' and 'event_type' in the body".into()),
    };
    let event = match (domain, kind) {
        (Some(d), Some(k)) => Some(format!("{d}.{k}")),
        (d, k) => d.or(k),
    };
    Delivery::one(event, None, verdict)
}

/// "Docker Tag was Pushed".
fn pushed(payload: &Value) -> Verdict {
    let Some(data) = object(payload, &["data"]) else {
        return ignored("missing_package", "no 'data' object in the body".into());
    };
    let checksum = text(&data, &["sha256"]).map(|s| s.to_ascii_lowercase());
    let hex = checksum.as_deref().map(|s| s.strip_prefix("sha256:").unwrap_or(s));
    if hex.is_some_and(|h| h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Verdict::Ping { hook_id: None };
    }
    if let Some(kind) = text(&data, &["image_type"]).map(|k| k.to_ascii_lowercase()) {
        if kind.contains("helm") || kind.contains("chart") {
            return ignored("helm_chart", format!("image type '{}'", shorten(&kind)));
        }
        if kind != "docker" && kind != "oci" {
            return ignored("not_a_container", format!("image type '{}'", shorten(&kind)));
        }
    }
    // `path` is `<image>/<tag>/<manifest file>` inside the repository.
    let image_name = text(&data, &["image_name"]).or_else(|| {
        let path = text(&data, &["path"])?;
        let mut parts = path.trim_matches('/').rsplitn(3, '/');
        let (_file, _tag) = (parts.next()?, parts.next()?);
        parts.next().map(str::to_string)
    });
    let image_name = image_name.unwrap_or_default();
    let Some(repo_key) = text(&data, &["repo_key"]) else {
        return ignored(
            "missing_registry",
            format!("no 'repo_key' for '{}'", shorten(&image_name)),
        );
    };
    let host = text(payload, &["jpd_origin"]);
    let tag = text(&data, &["tag"]);
    // The checksum is the manifest's digest only when `name` says it is a manifest.
    let is_manifest = text(&data, &["name"]).is_some_and(|n| n.to_ascii_lowercase().ends_with("manifest.json"));
    let digest = hex.filter(|_| is_manifest).map(|h| format!("sha256:{h}"));
    image::event(
        host.as_deref(),
        &format!("{repo_key}/{image_name}"),
        tag.as_deref(),
        digest.as_deref(),
    )
}

#[cfg(test)]
#[path = "jfrog_tests.rs"]
mod tests;
