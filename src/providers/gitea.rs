//! Gitea's and Forgejo's `package` event (Gitea's `modules/structs/hook.go`,
//! `PackagePayload`; Forgejo keeps the same shape): `action` `created` or `deleted`
//! and a `package` with `type`, `owner.login`, `name`, `version` and `html_url`. A
//! container push makes one package version per tag, and one named by its digest
//! for each manifest pushed without a tag. The payload names no registry host: the
//! registry is served by the instance itself, so the host of `html_url` is it. No
//! digest either: the deploy resolves the tag at pull time.

use super::image::{self, ignored};
use super::json::{shorten, text};
use super::{Delivery, Headers, Sender};
use serde_json::Value;

/// Reads a delivery on `/hooks/gitea` or `/hooks/forgejo`.
pub fn read(sender: Sender, header: Headers<'_>, payload: &Value) -> Delivery {
    let first = |names: &[&str]| names.iter().find_map(|n| header(n)).map(str::trim).map(str::to_string);
    let (event, id) = if sender == Sender::Forgejo {
        (
            first(&["x-forgejo-event", "x-gitea-event"]),
            first(&["x-forgejo-delivery", "x-gitea-delivery"]),
        )
    } else {
        (first(&["x-gitea-event"]), first(&["x-gitea-delivery"]))
    };
    let verdict = match event.as_deref().map(str::to_ascii_lowercase) {
        Some(e) if e == "package" => package(payload),
        Some(e) => ignored("unsupported_event", format!("event '{}'", shorten(&e))),
        // No event header (a proxy dropped it): the body's shape decides.
        None if payload.get("package").is_some_and(Value::is_object) => package(payload),
        None => ignored("missing_event", format!("no 'X-{}-Event' header", sender.title())),
    };
    Delivery::one(event, id, verdict)
}

fn package(payload: &Value) -> super::Verdict {
    let action = text(payload, &["action"]).unwrap_or_default();
    if !action.eq_ignore_ascii_case("created") {
        return ignored("unsupported_action", format!("action '{}'", shorten(&action)));
    }
    if !payload.get("package").is_some_and(Value::is_object) {
        return ignored("missing_package", "no 'package' object in the body".into());
    }
    let kind = text(payload, &["package", "type"]).unwrap_or_default();
    if !kind.eq_ignore_ascii_case("container") {
        return ignored("not_a_container", format!("package type '{}'", shorten(&kind)));
    }
    let name = text(payload, &["package", "name"]).unwrap_or_default();
    let owner = text(payload, &["package", "owner", "login"])
        .or_else(|| text(payload, &["package", "owner", "username"]))
        .unwrap_or_default();
    let host = text(payload, &["package", "html_url"])
        .or_else(|| text(payload, &["repository", "html_url"]))
        .or_else(|| text(payload, &["sender", "html_url"]));
    let path = if owner.is_empty() {
        name
    } else {
        format!("{owner}/{name}")
    };
    let version = text(payload, &["package", "version"]);
    image::event(host.as_deref(), &path, version.as_deref(), None)
}
