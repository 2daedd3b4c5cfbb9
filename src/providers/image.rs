//! Building an [`ImageEvent`] from the parts a sender gives (a registry host, a
//! repository path, a tag, maybe a digest) under the rules every sender shares: no tag
//! is never `latest`, no host is never guessed, names are lower-cased as OCI requires,
//! Docker Hub's official images live under `library/`, and a "tag" that is a digest
//! is an untagged push.

use super::{ImageEvent, Verdict, json::shorten, reference};

/// Docker Hub's canonical host, and the names it is also reached by.
pub const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_ALIASES: &[&str] = &[
    "index.docker.io",
    "registry-1.docker.io",
    "registry.hub.docker.com",
    "hub.docker.com",
];

/// `host` as an image reference names it: no scheme, no path, no trailing dot, Docker
/// Hub's aliases as `docker.io`; `None` when it is not a host name.
pub fn host_of(host: &str) -> Option<String> {
    let host = host.trim();
    let host = host
        .strip_prefix("https://")
        .or_else(|| host.strip_prefix("http://"))
        .unwrap_or(host);
    let host = host.split('/').next().unwrap_or_default().trim_end_matches('.');
    let host = reference::normalize_host(host)?;
    let bare = host.strip_suffix(":443").unwrap_or(&host);
    Some(if DOCKER_HUB_ALIASES.contains(&bare) || bare == DOCKER_HUB {
        DOCKER_HUB.to_string()
    } else {
        host
    })
}

/// The image event for `host/path:tag` (with `digest` when it is a valid one), or the
/// `Ignored` verdict that says why there is none.
pub fn event(host: Option<&str>, path: &str, tag: Option<&str>, digest: Option<&str>) -> Verdict {
    let what = || shorten(&format!("{}/{path}:{}", host.unwrap_or("?"), tag.unwrap_or("")));
    let Some(host) = host.and_then(host_of) else {
        return ignored("missing_registry", format!("no registry host for '{}'", shorten(path)));
    };
    let tag = tag.map(str::trim).unwrap_or_default();
    if tag.is_empty() || tag.starts_with("sha256:") || tag.contains('@') {
        return ignored("untagged", format!("'{}' was pushed without a tag", shorten(path)));
    }
    let path = path.trim().trim_matches('/');
    let path = path.strip_prefix(&format!("{host}/")).unwrap_or(path);
    let path = if host == DOCKER_HUB && !path.contains('/') {
        format!("library/{path}")
    } else {
        path.to_string()
    };
    let (Some(path), true) = (reference::normalize_path(&path), reference::is_valid_tag(tag)) else {
        return ignored("invalid_reference", format!("'{}'", what()));
    };
    if host.len() + 1 + path.len() > reference::MAX_NAME_CHARS {
        return ignored("invalid_reference", format!("'{}'", what()));
    }
    let (owner, name) = match path.split_once('/') {
        Some((o, n)) => (o.to_string(), n.to_string()),
        None => (String::new(), path.clone()),
    };
    let digest = digest
        .map(|d| d.trim().to_ascii_lowercase())
        .filter(|d| reference::is_valid_digest(d));
    Verdict::Image(ImageEvent {
        repository: format!("{host}/{path}"),
        registry: host,
        owner,
        name,
        tag: tag.to_string(),
        digest,
    })
}

pub fn ignored(reason: &'static str, detail: String) -> Verdict {
    Verdict::Ignored { reason, detail }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(v: Verdict) -> ImageEvent {
        match v {
            Verdict::Image(e) => e,
            other => panic!("not an image: {other:?}"),
        }
    }

    fn reason(v: Verdict) -> &'static str {
        match v {
            Verdict::Ignored { reason, .. } => reason,
            other => panic!("not ignored: {other:?}"),
        }
    }

    #[test]
    fn references_follow_oci() {
        let d = format!("sha256:{}", "ab".repeat(32));
        let e = image(event(Some("Harbor.Example.com"), "Library/App", Some("V1"), Some(&d)));
        assert_eq!(e.reference(), "harbor.example.com/library/app:V1");
        assert_eq!(e.digest.as_deref(), Some(d.as_str()));
        assert_eq!((e.owner.as_str(), e.name.as_str()), ("library", "app"));
        let e = image(event(
            Some("https://registry-1.docker.io/v2/"),
            "nginx",
            Some("1.27"),
            None,
        ));
        assert_eq!(e.reference(), "docker.io/library/nginx:1.27");
        assert_eq!(e.digest, None);
        let e = image(event(
            Some("localhost:5000"),
            "localhost:5000/app",
            Some("v2"),
            Some("sha256:short"),
        ));
        assert_eq!((e.reference().as_str(), e.digest), ("localhost:5000/app:v2", None));
        assert_eq!(e.owner, "");
    }

    #[test]
    fn what_is_not_a_tagged_image() {
        assert_eq!(reason(event(None, "app", Some("v1"), None)), "missing_registry");
        assert_eq!(reason(event(Some("r.io"), "app", None, None)), "untagged");
        assert_eq!(reason(event(Some("r.io"), "app", Some(""), None)), "untagged");
        let d = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(reason(event(Some("r.io"), "app", Some(&d), None)), "untagged");
        assert_eq!(
            reason(event(Some("r.io"), "a b", Some("v1"), None)),
            "invalid_reference"
        );
        assert_eq!(
            reason(event(Some("r.io"), "app", Some("-x"), None)),
            "invalid_reference"
        );
        assert_eq!(
            reason(event(Some("not a host"), "app", Some("v1"), None)),
            "missing_registry"
        );
    }
}
