//! The package events (`package`, `registry_package`, the 2021 beta `package_v2`)
//! read into an [`ImageEvent`]. Real deliveries disagree with themselves: the type
//! fields may contradict each other, `registry.url` of a container names the
//! non-existent host `CONTAINER.pkg.github.com`, the tag may be empty (one delivery
//! per platform manifest), and old events put the tag in `package_version.version`.
//! Each rule below says which field wins and why.

use serde_json::{Map, Value};

use super::{Verdict, ignored, shorten};
use crate::providers::{ImageEvent, reference};

const ACTIONS: &[&str] = &["published", "updated", "create"];
const DEFAULT_REGISTRY: &str = "ghcr.io";
/// What GitHub writes into `registry.url` for container packages (seen in real
/// deliveries, 2025); the images are served by ghcr.io.
const PLACEHOLDER_CONTAINER_HOST: &str = "container.pkg.github.com";
/// The retired Docker registry of GitHub Packages; its image paths carry the
/// repository: `docker.pkg.github.com/owner/repository/name`.
const LEGACY_DOCKER_HOST: &str = "docker.pkg.github.com";

/// Classifies a package event whose name is `event` (lower case).
pub fn classify(event: &str, payload: &Map<String, Value>) -> Verdict {
    let action = text(payload.get("action"));
    if !ACTIONS.contains(&action) {
        return ignored("unsupported_action", format!("action '{}'", shorten(action)));
    }
    // The body key is the event name; accept either known key in case a variant
    // (package_v2) used the other one.
    let package = [event, "package", "registry_package"]
        .into_iter()
        .find_map(|key| payload.get(key).and_then(Value::as_object));
    let Some(package) = package else {
        return ignored("missing_package", format!("no '{event}' object in the body"));
    };
    if let Err(types) = container_check(package) {
        return ignored("not_a_container", types.to_string());
    }
    let version = package.get("package_version");
    let name = text(package.get("name"));
    let tag = tag(version);
    if tag.is_empty() {
        return ignored("untagged", format!("package '{}' version has no tag", shorten(name)));
    }
    let owner = owner(package);
    let (host, base) = registry(package, version);
    let base = base.filter(|b| !b.is_empty()).unwrap_or(owner);
    let path = format!("{base}/{name}");
    match image_event(&host, owner, name, &path, tag, digest(version)) {
        Some(image) => Verdict::Image(image),
        None => ignored(
            "invalid_reference",
            format!("'{}'", shorten(&format!("{host}/{path}:{tag}"))),
        ),
    }
}

/// Container or not. `package_type` and `registry.type` are trusted and either one
/// saying `container` or `docker` is enough: octokit's container example has
/// `package_type: npm` with `registry.type: CONTAINER`. `ecosystem` only decides
/// when both are absent, since octokit's npm example says `ecosystem: docker`.
fn container_check(package: &Map<String, Value>) -> Result<(), NotAContainer> {
    let is_container = |t: &str| t.eq_ignore_ascii_case("container") || t.eq_ignore_ascii_case("docker");
    let package_type = text(package.get("package_type"));
    let registry_type = text(at(package.get("registry"), &["type"]));
    let ecosystem = text(package.get("ecosystem"));
    let container = if package_type.is_empty() && registry_type.is_empty() {
        is_container(ecosystem)
    } else {
        is_container(package_type) || is_container(registry_type)
    };
    if container {
        return Ok(());
    }
    let seen = format!("package_type '{package_type}', registry.type '{registry_type}', ecosystem '{ecosystem}'");
    Err(NotAContainer(shorten(&seen)))
}

/// What a package that is not a container said it is (its three type fields, shortened).
#[derive(Debug, Clone, PartialEq)]
struct NotAContainer(String);

impl std::fmt::Display for NotAContainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `container_metadata.tag.name` when the payload has it (an empty one means an
/// untagged manifest, with no fallback); otherwise, in old events,
/// `package_version.version` unless it is a digest.
fn tag(version: Option<&Value>) -> &str {
    match at(version, &["container_metadata", "tag", "name"]).and_then(Value::as_str) {
        Some(name) => name,
        None => Some(text(at(version, &["version"])))
            .filter(|v| !v.contains(':'))
            .unwrap_or(""),
    }
}

/// The first valid digest among the tag's, `version` and `name`; malformed ones
/// (octokit's example has a 40-hex "sha256") count as absent.
fn digest(version: Option<&Value>) -> Option<String> {
    [&["container_metadata", "tag", "digest"][..], &["version"], &["name"]]
        .into_iter()
        .map(|path| text(at(version, path)))
        .find(|d| reference::is_valid_digest(d))
        .map(String::from)
}

/// `owner.login`, else the first segment of `namespace` (`owner` or `owner/repository`).
fn owner(package: &Map<String, Value>) -> &str {
    Some(text(at(package.get("owner"), &["login"])))
        .filter(|login| !login.is_empty())
        .unwrap_or_else(|| text(package.get("namespace")).split('/').next().unwrap_or(""))
}

/// The registry host as the payload gives it, and for legacy Docker packages the
/// path the image lives under. `package_url` (`ghcr.io/owner/name:tag`) is the pull
/// reference itself and wins; then `registry.url`; then ghcr.io.
fn registry<'a>(package: &'a Map<String, Value>, version: Option<&'a Value>) -> (String, Option<&'a str>) {
    let package_url = [at(version, &["package_url"]), package.get("package_url")]
        .into_iter()
        .map(text)
        .find_map(|url| split_url(url).map(|(host, _)| host))
        .filter(|host| host.contains('.') || host.contains(':') || *host == "localhost");
    if let Some(host) = package_url {
        return (host.to_string(), None);
    }
    match split_url(text(at(package.get("registry"), &["url"]))) {
        Some((host, _)) if host.eq_ignore_ascii_case(PLACEHOLDER_CONTAINER_HOST) => {
            (DEFAULT_REGISTRY.to_string(), None)
        }
        Some((host, path)) if host.eq_ignore_ascii_case(LEGACY_DOCKER_HOST) => (host.to_string(), Some(path)),
        Some((host, _)) => (host.to_string(), None),
        None => (DEFAULT_REGISTRY.to_string(), None),
    }
}

/// `https://host/path/` → (`host`, `path`); `host/path:tag` → (`host`, `path:tag`).
fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = ["https://", "http://"]
        .into_iter()
        .find_map(|scheme| {
            url.get(..scheme.len())
                .filter(|s| s.eq_ignore_ascii_case(scheme))
                .map(|s| s.len())
        })
        .and_then(|cut| url.get(cut..))
        .unwrap_or(url);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    (!host.is_empty()).then_some((host, path.trim_matches('/')))
}

/// The event, lower-cased and checked against the OCI reference grammar; `None` when
/// no lower-casing makes it valid.
fn image_event(
    host: &str,
    owner: &str,
    name: &str,
    path: &str,
    tag: &str,
    digest: Option<String>,
) -> Option<ImageEvent> {
    let registry = reference::normalize_host(host)?;
    let path = reference::normalize_path(path)?;
    let owner = reference::normalize_path(owner).filter(|o| !o.contains('/'))?;
    let name = reference::normalize_path(name)?;
    let repository = format!("{registry}/{path}");
    let fits = repository.len() <= reference::MAX_NAME_CHARS;
    (fits && reference::is_valid_tag(tag)).then(|| ImageEvent {
        registry,
        owner,
        name,
        repository,
        tag: tag.to_string(),
        digest,
    })
}

/// The value at `path` below `value`, if every step is an object that has it.
fn at<'a>(value: Option<&'a Value>, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value?, |v, key| v.get(key))
}

/// A string value, or "" for anything else.
fn text(value: Option<&Value>) -> &str {
    value.and_then(Value::as_str).unwrap_or("")
}
