//! Turning provider payloads into one normalized [`ImageEvent`]: "image
//! `repository:tag` now points at `digest`". Each provider module owns its headers,
//! signature scheme and payload shapes; `reference` owns the OCI reference grammar
//! every event is checked against. Deciding which units an event restarts, and
//! recording it, is left to the callers.

pub mod acr;
pub mod delivery;
pub mod dockerhub;
pub mod gitea;
pub mod github;
pub mod harbor;
pub mod image;
pub mod jfrog;
pub mod json;
pub mod proof;
pub mod quay;
pub mod reference;
pub mod registry;
pub mod sender;

#[cfg(test)]
mod robustness_tests;

pub use delivery::{Delivery, Item};
pub use github::PayloadError;
pub use sender::Sender;

/// A request header by lower-case name.
pub type Headers<'a> = &'a dyn Fn(&str) -> Option<&'a str>;

/// Reads one delivery that `sender`'s credential verified: `Err` only for a body that
/// is not a JSON object (also as a form's `payload` field); anything a real sender
/// sends that is not a tagged container image push is an item `Ignored` with a reason.
pub fn read(sender: Sender, header: Headers<'_>, body: &[u8]) -> Result<Delivery, PayloadError> {
    let payload = serde_json::Value::Object(github::body::decode(header("content-type"), body)?);
    Ok(match sender {
        Sender::Github => {
            let verdict = github::classify(header("x-github-event"), header("content-type"), body)?;
            Delivery::one(
                header("x-github-event").map(str::to_string),
                header("x-github-delivery").map(str::to_string),
                verdict,
            )
        }
        Sender::Gitea | Sender::Forgejo => gitea::read(sender, header, &payload),
        Sender::Harbor => harbor::read(header, &payload),
        Sender::Registry => registry::read(header, &payload),
        Sender::Acr => acr::read(header, &payload),
        Sender::Jfrog => jfrog::read(header, &payload),
        Sender::Quay => quay::read(header, &payload),
        Sender::Dockerhub => dockerhub::read(header, &payload),
    })
}

/// What one event of a verified delivery asks of podup.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A sender's hello when a hook is created or tested (GitHub's `ping`).
    Ping { hook_id: Option<i64> },
    /// A tagged container image was pushed.
    Image(ImageEvent),
    /// Nothing to do. `reason` is a stable snake_case tag for the event log
    /// (docs/api.md lists them); `detail` says what was seen (at most about 100
    /// characters of it).
    Ignored { reason: &'static str, detail: String },
}

/// A normalized "image `repository:tag` now points at `digest`".
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImageEvent {
    /// Registry host (and port, if any), lower case: `ghcr.io`.
    pub registry: String,
    /// Account that owns the package, lower case.
    pub owner: String,
    /// Package name, lower case; may itself contain `/`.
    pub name: String,
    /// Full image name without tag: `ghcr.io/owner/name`, lower case. For legacy
    /// `docker.pkg.github.com` events it is the path the payload gives
    /// (`docker.pkg.github.com/owner/repository/name`).
    pub repository: String,
    /// Never empty; case is kept (tags are case-sensitive).
    pub tag: String,
    /// `sha256:<64 lowercase hex>` when the payload carries a valid one.
    pub digest: Option<String>,
}

impl ImageEvent {
    /// `repository:tag`, the reference a unit's `Image=` names.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }

    /// `repository@digest`, what the tests expect an event to pin (the worker builds
    /// its pull reference from the unit's image, `tasks::deploy`).
    #[cfg(test)]
    pub fn pinned(&self) -> Option<String> {
        self.digest.as_ref().map(|d| format!("{}@{d}", self.repository))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(digest: Option<&str>) -> ImageEvent {
        ImageEvent {
            registry: "ghcr.io".into(),
            owner: "acme".into(),
            name: "web".into(),
            repository: "ghcr.io/acme/web".into(),
            tag: "v1".into(),
            digest: digest.map(String::from),
        }
    }

    #[test]
    fn reference_and_pinned() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let e = event(Some(&digest));
        assert_eq!(e.reference(), "ghcr.io/acme/web:v1");
        assert_eq!(e.pinned(), Some(format!("ghcr.io/acme/web@{digest}")));
        assert_eq!(event(None).pinned(), None);
    }

    #[test]
    fn serializes_every_field() {
        let v = serde_json::to_value(event(None)).unwrap();
        assert_eq!(v["repository"], "ghcr.io/acme/web");
        assert_eq!(v["digest"], serde_json::Value::Null);
    }
}
