//! What an update check reads from podman in two calls, whatever the number of
//! units, which need not wait for each other: every container a systemd unit runs
//! (`ps -a --filter label=PODMAN_SYSTEMD_UNIT`) and every local image with every digest
//! it is known by (`images --format json`).

use super::super::{Host, HostError, ParseError};
use super::{Container, LOCAL_TIMEOUT_SECS, parse_ps};
use serde::Deserialize;

/// The label podman's and Quadlet's units put on their containers.
pub const UNIT_LABEL: &str = "PODMAN_SYSTEMD_UNIT";

/// One image of `podman images --format json` (or `image inspect`: the same names), the
/// fields a check reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ImageDigests {
    #[serde(rename = "Id")]
    pub id: String,
    /// The digest of the manifest podman pulled (for a multi-arch image pulled by
    /// tag, see docs/updates.md).
    #[serde(rename = "Digest", default)]
    pub digest: String,
    /// `repository@sha256:...`, one per name and digest the image is known by.
    #[serde(rename = "RepoDigests", default, deserialize_with = "super::null_as_default")]
    pub repo_digests: Vec<String>,
}

impl ImageDigests {
    /// Every digest the image is known by, each once: `Digest` and the digest part of
    /// each `RepoDigests` entry.
    pub fn digests(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let parts = std::iter::once(self.digest.as_str()).chain(
            self.repo_digests
                .iter()
                .filter_map(|r| r.rsplit_once('@').map(|(_, d)| d)),
        );
        for d in parts {
            if d.contains(':') && !out.iter().any(|o| o == d) {
                out.push(d.to_string());
            }
        }
        out
    }
}

/// Reads `podman images --format json`: a JSON array (`[]`, or nothing, when there is
/// no image).
pub fn parse_images(json: &str) -> Result<Vec<ImageDigests>, ParseError> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(json).map_err(|e| ParseError(format!("not a podman images JSON array: {e}")))
}

pub fn args_unit_containers() -> Vec<String> {
    [
        "ps",
        "-a",
        "--filter",
        &format!("label={UNIT_LABEL}"),
        "--format",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

pub fn args_images() -> Vec<String> {
    ["images", "--format", "json"].iter().map(|s| s.to_string()).collect()
}

impl Host {
    /// Every container, in any state, that a systemd unit runs (labelled [`UNIT_LABEL`]).
    pub fn unit_containers_all(&self) -> Result<Vec<Container>, HostError> {
        let record = self.podman(&args_unit_containers(), LOCAL_TIMEOUT_SECS)?;
        parse_ps(&record.stdout).map_err(|e| HostError::unexpected(record, e))
    }

    /// Every local image with its digests.
    pub fn image_digests(&self) -> Result<Vec<ImageDigests>, HostError> {
        let record = self.podman(&args_images(), LOCAL_TIMEOUT_SECS)?;
        parse_images(&record.stdout).map_err(|e| HostError::unexpected(record, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from podman 4.3.1 (tests/fixtures/podman/README.md).
    const ONE: &str = include_str!("../../../tests/fixtures/podman/image-inspect.json");
    const IMAGES: &str = include_str!("../../../tests/fixtures/podman/images.json");

    #[test]
    fn an_image_is_known_by_its_digest_and_repo_digests_once_each() {
        let images = parse_images(ONE).unwrap();
        assert_eq!(images.len(), 1);
        let d = images[0].digests();
        assert_eq!(
            d,
            vec!["sha256:1071616389e98e746e97935c674e3cf84589382d0487d33665f9f52a700de6a5".to_string()]
        );
    }

    #[test]
    fn podman_images_names_the_fields_as_image_inspect_does() {
        let images = parse_images(IMAGES).unwrap();
        assert_eq!(images.len(), 1);
        assert_eq!(
            images[0].id,
            "25ed512bd9b21bc53cb9ecb254714b879dd618ed119981eb364fb1ceba8b1c1d"
        );
        assert_eq!(
            images[0].digests(),
            vec!["sha256:bad8073bb178bc67722a47d561b10f936420f4562ba89e0baa7fe89ba929295a".to_string()]
        );
        assert!(parse_images("").unwrap().is_empty());
    }

    #[test]
    fn null_repo_digests_and_odd_entries_are_no_digest() {
        let json = r#"[{"Id":"ab","Digest":"","RepoDigests":null},{"Id":"cd","Digest":"sha256:1","RepoDigests":["r/a@sha256:2","garbage"]}]"#;
        let images = parse_images(json).unwrap();
        assert!(images[0].digests().is_empty());
        assert_eq!(
            images[1].digests(),
            vec!["sha256:1".to_string(), "sha256:2".to_string()]
        );
        assert!(parse_images("not json").is_err());
        assert!(parse_images("{}").is_err());
    }

    #[test]
    fn two_calls_whatever_the_number_of_units() {
        assert_eq!(
            args_unit_containers().join(" "),
            "ps -a --filter label=PODMAN_SYSTEMD_UNIT --format json"
        );
        assert_eq!(args_images().join(" "), "images --format json");
    }
}
