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
    // An empty value is no header (Gitea sends some empty; a proxy may blank one).
    let first = |names: &[&str]| {
        let value = |n: &&str| header(n).map(str::trim).filter(|v| !v.is_empty());
        names.iter().find_map(value).map(str::to_string)
    };
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
    let Some(name) = text(payload, &["package", "name"]) else {
        return ignored("invalid_reference", "the package has no name".into());
    };
    let package_url = text(payload, &["package", "html_url"]);
    // Every package has an owner, and the registry path begins with it: without one
    // the name alone would be another image.
    let Some(owner) = text(payload, &["package", "owner", "login"])
        .or_else(|| text(payload, &["package", "owner", "username"]))
        .or_else(|| package_url.as_deref().and_then(owner_in_url))
    else {
        return ignored(
            "invalid_reference",
            format!("no owner for package '{}'", shorten(&name)),
        );
    };
    let host = package_url
        .or_else(|| text(payload, &["repository", "html_url"]))
        .or_else(|| text(payload, &["sender", "html_url"]));
    let version = text(payload, &["package", "version"]);
    image::event(host.as_deref(), &format!("{owner}/{name}"), version.as_deref(), None)
}

/// The owner in a package's `html_url`, `<ROOT_URL><owner>/-/packages/…`: the path
/// segment before `/-/packages/` (ROOT_URL may have a path of its own).
fn owner_in_url(url: &str) -> Option<String> {
    let (before, _) = url.split_once("/-/packages/")?;
    let path = before.split_once("://").map_or(before, |(_, rest)| rest);
    let (_, owner) = path.rsplit_once('/')?;
    Some(owner.to_string()).filter(|o| !o.is_empty())
}

#[cfg(test)]
#[path = "gitea_tests.rs"]
mod tests;
