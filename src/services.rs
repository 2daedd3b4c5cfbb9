//! The services podup may touch: `PODUP_SERVICES` (`app.service=ghcr.io/acme/app:stable,
//! worker.service`), unit-name validation, and image references normalized so that
//! an event and a declaration can be compared.

use crate::providers::reference::{is_valid_digest, is_valid_tag, normalize_host, normalize_path};
use std::fmt;

/// A declared service: its unit, and its image when the declaration names one.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub unit: String,
    pub image: Option<ImageRef>,
}

/// A normalized OCI reference: `registry/path` lower case, a tag, maybe a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub repository: String,
    pub tag: String,
    pub digest: Option<String>,
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.repository, self.tag)
    }
}

/// Why a text is not an image reference; each names the part that is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRefError {
    /// After `@`, lower-cased.
    Digest(String),
    Tag(String),
    /// The whole reference (its registry or path).
    Reference(String),
}

impl fmt::Display for ImageRefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRefError::Digest(d) => write!(f, "'{d}' is not a sha256 digest"),
            ImageRefError::Tag(t) => write!(f, "'{t}' is not a valid tag"),
            ImageRefError::Reference(s) => write!(f, "'{s}' is not a valid image reference"),
        }
    }
}

impl std::error::Error for ImageRefError {}

impl ImageRef {
    /// Parses `[registry/]path[:tag][@sha256:hex]`; Docker Hub's short forms are
    /// expanded (`app` → `docker.io/library/app`), the tag defaults to `latest`.
    /// The grammar is the one provider events are checked against.
    pub fn parse(s: &str) -> Result<ImageRef, ImageRefError> {
        let s = s.trim();
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                let d = d.to_ascii_lowercase();
                if !is_valid_digest(&d) {
                    return Err(ImageRefError::Digest(d));
                }
                (r, Some(d))
            }
            None => (s, None),
        };
        let (path, tag) = match rest.rfind(':') {
            Some(i) if !rest[i..].contains('/') => (&rest[..i], &rest[i + 1..]),
            _ => (rest, "latest"),
        };
        if !is_valid_tag(tag) {
            return Err(ImageRefError::Tag(tag.to_string()));
        }
        let (host, names) = match path.split_once('/') {
            Some((first, more)) if first.contains(['.', ':']) || first == "localhost" => (first, more.to_string()),
            Some(_) => ("docker.io", path.to_string()),
            None => ("docker.io", format!("library/{path}")),
        };
        let invalid = || ImageRefError::Reference(s.to_string());
        let host = normalize_host(host).ok_or_else(invalid)?;
        let names = normalize_path(&names).ok_or_else(invalid)?;
        Ok(ImageRef {
            repository: format!("{host}/{names}"),
            tag: tag.to_string(),
            digest,
        })
    }

    /// True when `other` names the same repository and tag.
    pub fn same_tag(&self, repository: &str, tag: &str) -> bool {
        self.repository == repository && self.tag == tag
    }
}

/// `[A-Za-z0-9:_.@-]+` ending in `.service`.
pub fn valid_unit(name: &str) -> bool {
    // A leading '-' would reach systemctl's and systemd-run's argv as an option.
    !name.starts_with('-')
        && name.len() <= 256
        && name.strip_suffix(".service").is_some_and(|stem| !stem.is_empty())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b":_.@-".contains(&b))
}

/// Parses `PODUP_SERVICES`: comma- or newline-separated `unit[=image]`.
pub fn parse_list(s: &str) -> Result<Vec<Service>, String> {
    let mut out: Vec<Service> = Vec::new();
    for item in s.split([',', '\n']).map(str::trim).filter(|i| !i.is_empty()) {
        let (unit, image) = match item.split_once('=') {
            Some((u, i)) => (u.trim(), Some(i.trim())),
            None => (item, None),
        };
        if !valid_unit(unit) {
            return Err(format!(
                "'{unit}' is not a unit name ([A-Za-z0-9:_.@-]+ ending in .service, not starting with '-')"
            ));
        }
        if out.iter().any(|s| s.unit == unit) {
            return Err(format!("'{unit}' is listed twice"));
        }
        let image = match image {
            Some(i) => Some(ImageRef::parse(i).map_err(|e| format!("{unit}: {e}"))?),
            None => None,
        };
        out.push(Service {
            unit: unit.to_string(),
            image,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_normalize() {
        let r = ImageRef::parse("ghcr.io/Acme/App:stable").unwrap();
        assert_eq!((r.repository.as_str(), r.tag.as_str()), ("ghcr.io/acme/app", "stable"));
        assert_eq!(
            ImageRef::parse("nginx").unwrap().to_string(),
            "docker.io/library/nginx:latest"
        );
        assert_eq!(
            ImageRef::parse("acme/app:1").unwrap().to_string(),
            "docker.io/acme/app:1"
        );
        assert_eq!(
            ImageRef::parse("localhost:5000/demo").unwrap().to_string(),
            "localhost:5000/demo:latest"
        );
        let d = format!("sha256:{}", "a".repeat(64));
        let r = ImageRef::parse(&format!("ghcr.io/a/b:v1@{d}")).unwrap();
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
        for bad in [
            "",
            "ghcr.io/a/b:",
            "ghcr.io/a/b@sha256:zz",
            "ghcr.io/-a/b",
            "ghcr.io/a b/c",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn unit_names() {
        for ok in ["app.service", "container-demo.service", "pod@x:y.service"] {
            assert!(valid_unit(ok), "{ok}");
        }
        for bad in [
            "app",
            ".service",
            "app.socket",
            "a b.service",
            "../x.service/",
            "a;b.service",
            "-H.service",
            "--user.service",
        ] {
            assert!(!valid_unit(bad), "{bad}");
        }
    }

    #[test]
    fn service_lists() {
        let l = parse_list("app.service=ghcr.io/acme/app:stable, worker.service\nx.service").unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].image.as_ref().unwrap().to_string(), "ghcr.io/acme/app:stable");
        assert_eq!(l[1].image, None);
        assert!(parse_list("app").unwrap_err().contains("'app'"));
        assert!(parse_list("a.service,a.service").unwrap_err().contains("twice"));
        assert!(parse_list("a.service=bad ref").unwrap_err().contains("a.service"));
        assert_eq!(parse_list(" , ").unwrap(), vec![]);
    }
}
