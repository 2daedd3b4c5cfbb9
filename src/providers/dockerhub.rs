//! Docker Hub's repository webhooks. Every delivery is a push: `push_data.tag` (the
//! tag pushed) and `repository.repo_name` (`namespace/name`; official images are
//! `library/x`, or `x` alone). No host (the registry is docker.io), no digest
//! (`push_data.images` has been `[]` for years: the deploy resolves the tag at pull
//! time), no event header, no signature and no delivery id: `callback_url` names the
//! webhook (`…/hook/<id>/`), not the delivery, so it is not used as one. One multi-arch
//! build can send several identical deliveries (docker/hub-feedback#2148).

use super::image::{self, DOCKER_HUB, ignored};
use super::json::{object, text};
use super::{Delivery, Headers};
use serde_json::Value;

/// The event name recorded: Docker Hub sends no name, and pushes are all it sends.
const EVENT: &str = "push";

/// Reads a delivery on `/hooks/dockerhub/<secret>`.
pub fn read(_header: Headers<'_>, payload: &Value) -> Delivery {
    let Some(push) = object(payload, &["push_data"]) else {
        let detail = "no 'push_data' object in the body".to_string();
        return Delivery::one(None, None, ignored("unsupported_event", detail));
    };
    let verdict = match repository(payload) {
        Some(path) => image::event(Some(DOCKER_HUB), &path, text(&push, &["tag"]).as_deref(), None),
        None => ignored("invalid_reference", "no repository name in the body".into()),
    };
    Delivery::one(Some(EVENT.to_string()), None, verdict)
}

/// `repository.repo_name`, else `namespace/name` (or `name`) of the repository object,
/// else the repository given as its name alone.
fn repository(payload: &Value) -> Option<String> {
    let Some(repo) = object(payload, &["repository"]) else {
        return text(payload, &["repository"]);
    };
    text(&repo, &["repo_name"]).or_else(|| {
        let name = text(&repo, &["name"])?;
        Some(match text(&repo, &["namespace"]) {
            Some(namespace) => format!("{namespace}/{name}"),
            None => name,
        })
    })
}

#[cfg(test)]
#[path = "dockerhub_tests.rs"]
mod tests;
