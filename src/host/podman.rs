//! podman through its CLI: the containers a unit runs (`ps --format json`), the image a
//! container was created from (`inspect`), and pulling, tagging, inspecting and removing
//! images. JSON is deserialized into partial structs holding only the fields podup reads, with
//! the names podman 4.3.1 prints (`tests/fixtures/podman/README.md`); `auto_update` has its own
//! module.

use super::{Host, HostError, ParseError, check_operand};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::time::Duration;

/// A pull downloads layers: allow a slow registry five minutes.
pub const PULL_TIMEOUT_SECS: u64 = 300;
/// Local queries (ps, inspect, tag, rmi) touch only local storage.
const LOCAL_TIMEOUT_SECS: u64 = 60;

/// One container of `podman ps -a --format json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Container {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(rename = "Names", default, deserialize_with = "null_as_default")]
    pub names: Vec<String>,
    /// The image name as the container was run (`registry/repo:tag`), not resolved.
    #[serde(rename = "Image", default)]
    pub image: String,
    #[serde(rename = "ImageID", default)]
    pub image_id: String,
    /// `created`, `running`, `exited`, `paused`, ...
    #[serde(rename = "State", default)]
    pub state: String,
    #[serde(rename = "Labels", default, deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
}

/// The image of one container, from `podman inspect --type container`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ContainerImage {
    /// The full image id (`Image`).
    #[serde(rename = "Image")]
    pub image_id: String,
    /// The name it was run as (`ImageName`), e.g. `localhost:5000/podup/app:latest`.
    #[serde(rename = "ImageName", default)]
    pub image_name: String,
    /// The manifest digest (`ImageDigest`), `sha256:...`.
    #[serde(rename = "ImageDigest", default)]
    pub image_digest: String,
}

/// A container's health check verdict, from the same `podman inspect --type container`:
/// `State.Health.Status` is `starting`, `healthy` or `unhealthy`, and empty when the
/// container has no health check (podman 4.3.1 and 5.4 alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// The container has no health check.
    None,
    /// The check has not passed yet (podman's `starting`).
    Starting,
    Healthy,
    Unhealthy,
    /// A status this version of podup does not know, kept verbatim.
    Other(String),
}

impl Health {
    fn from_status(status: &str) -> Health {
        match status {
            "" => Health::None,
            "starting" => Health::Starting,
            "healthy" => Health::Healthy,
            "unhealthy" => Health::Unhealthy,
            other => Health::Other(other.to_string()),
        }
    }

    /// The word podman prints, for logs and messages.
    pub fn as_str(&self) -> &str {
        match self {
            Health::None => "none",
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
            Health::Other(s) => s,
        }
    }
}

#[derive(Deserialize)]
struct HealthInspect {
    #[serde(rename = "State", default)]
    state: HealthState,
}

#[derive(Deserialize, Default)]
struct HealthState {
    #[serde(rename = "Health", default)]
    health: Option<HealthStatus>,
}

#[derive(Deserialize)]
struct HealthStatus {
    #[serde(rename = "Status", default)]
    status: String,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Reads `podman ps --format json`: a JSON array (`[]` when nothing matches; empty output is
/// taken as `[]` too).
pub fn parse_ps(json: &str) -> Result<Vec<Container>, ParseError> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(json).map_err(|e| ParseError(format!("not a podman ps JSON array: {e}")))
}

/// Reads `podman inspect --type container --format json ID`: an array of exactly one object.
pub fn parse_container_inspect(json: &str) -> Result<ContainerImage, ParseError> {
    let mut all: Vec<ContainerImage> =
        serde_json::from_str(json).map_err(|e| ParseError(format!("not a podman inspect JSON array: {e}")))?;
    match all.len() {
        1 => Ok(all.remove(0)),
        n => Err(ParseError(format!("expected one container, got {n}"))),
    }
}

/// Reads the health verdict out of `podman inspect --type container --format json ID`.
pub fn parse_container_health(json: &str) -> Result<Health, ParseError> {
    let mut all: Vec<HealthInspect> =
        serde_json::from_str(json).map_err(|e| ParseError(format!("not a podman inspect JSON array: {e}")))?;
    match all.len() {
        1 => Ok(Health::from_status(
            &all.remove(0).state.health.map(|h| h.status).unwrap_or_default(),
        )),
        n => Err(ParseError(format!("expected one container, got {n}"))),
    }
}

/// Reads `podman pull -q`: the image id is the last line (more lines only with --all-tags).
pub fn parse_pull(stdout: &str) -> Result<String, ParseError> {
    let id = stdout.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or("");
    if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(id.to_string())
    } else {
        Err(ParseError(format!(
            "expected a 64-digit image id, got '{}'",
            id.escape_debug()
        )))
    }
}

/// The arguments of each podman operation, without the program name: what the
/// methods below run and what a dry-run plan shows, from one place.
pub mod args;
/// What an update check reads: units' containers and their images' digests.
pub mod images;

impl Host {
    /// The containers, in any state, that carry `PODMAN_SYSTEMD_UNIT=<unit>`: those a
    /// `podman generate systemd --new` or Quadlet unit started.
    pub fn unit_containers(&self, unit: &str) -> Result<Vec<Container>, HostError> {
        check_operand("unit", unit)?;
        let record = self.podman(&args::unit_containers(unit), LOCAL_TIMEOUT_SECS)?;
        parse_ps(&record.stdout).map_err(|e| HostError::unexpected(record, e))
    }

    /// Running containers labelled `io.containers.autoupdate` (what discovery takes).
    pub fn labelled_running(&self) -> Result<Vec<Container>, HostError> {
        let record = self.podman(&args::labelled_running(), LOCAL_TIMEOUT_SECS)?;
        parse_ps(&record.stdout).map_err(|e| HostError::unexpected(record, e))
    }

    /// Every container, in any state, labelled `io.containers.autoupdate`.
    pub fn labelled_all(&self) -> Result<Vec<Container>, HostError> {
        let record = self.podman(&args::labelled_all(), LOCAL_TIMEOUT_SECS)?;
        parse_ps(&record.stdout).map_err(|e| HostError::unexpected(record, e))
    }

    /// The image container `id` (id or name) was created from.
    pub fn container_image(&self, id: &str) -> Result<ContainerImage, HostError> {
        check_operand("container", id)?;
        let record = self.podman(&args::container_image(id), LOCAL_TIMEOUT_SECS)?;
        parse_container_inspect(&record.stdout).map_err(|e| HostError::unexpected(record, e))
    }

    /// The health check verdict of container `id` (id or name), [`Health::None`] when it
    /// has no health check.
    pub fn container_health(&self, id: &str) -> Result<Health, HostError> {
        check_operand("container", id)?;
        let record = self.podman(&args::container_image(id), LOCAL_TIMEOUT_SECS)?;
        parse_container_health(&record.stdout).map_err(|e| HostError::unexpected(record, e))
    }

    /// Pulls `reference` (`repo:tag` or `repo@sha256:...`) and returns the image id.
    pub fn pull(&self, reference: &str) -> Result<String, HostError> {
        check_operand("image reference", reference)?;
        let record = self.podman(&args::pull(reference), PULL_TIMEOUT_SECS)?;
        parse_pull(&record.stdout).map_err(|e| HostError::unexpected(record, e))
    }

    /// The manifest digest (`sha256:...`) of a local image, by name or id.
    pub fn image_digest(&self, image: &str) -> Result<String, HostError> {
        check_operand("image", image)?;
        let record = self.podman(&args::image_digest(image), LOCAL_TIMEOUT_SECS)?;
        let digest = record.stdout.trim().to_string();
        if digest.contains(':') && !digest.contains(char::is_whitespace) {
            Ok(digest)
        } else {
            let e = ParseError(format!(
                "expected one digest such as 'sha256:...', got '{}'",
                digest.escape_debug()
            ));
            Err(HostError::unexpected(record, e))
        }
    }

    /// The id of the local image `reference` (a tag) names.
    pub fn image_id(&self, reference: &str) -> Result<String, HostError> {
        check_operand("image reference", reference)?;
        let record = self.podman(&args::image_id(reference), LOCAL_TIMEOUT_SECS)?;
        let id = record.stdout.trim().to_string();
        if !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(id)
        } else {
            let e = ParseError(format!("expected one image id, got '{}'", id.escape_debug()));
            Err(HostError::unexpected(record, e))
        }
    }

    /// Gives local image `image` the additional name `reference`.
    pub fn tag(&self, image: &str, reference: &str) -> Result<(), HostError> {
        check_operand("image", image)?;
        check_operand("image reference", reference)?;
        self.podman(&args::tag(image, reference), LOCAL_TIMEOUT_SECS).map(drop)
    }

    /// How many containers, in any state, were created from `image_id` or an image built on it.
    pub fn image_users(&self, image_id: &str) -> Result<usize, HostError> {
        check_operand("image id", image_id)?;
        let record = self.podman(&args::image_users(image_id), LOCAL_TIMEOUT_SECS)?;
        Ok(record.stdout.lines().filter(|l| !l.trim().is_empty()).count())
    }

    /// Removes a local image. Without force: podman refuses an image a container uses or that
    /// has several names, and podup never removes containers to free an image.
    pub fn rmi(&self, image_id: &str) -> Result<(), HostError> {
        check_operand("image id", image_id)?;
        self.podman(&args::rmi(image_id), LOCAL_TIMEOUT_SECS).map(drop)
    }

    fn podman(&self, args: &[String], timeout_secs: u64) -> Result<super::CommandRecord, HostError> {
        self.run_for(&self.programs.podman, args, Duration::from_secs(timeout_secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from podman 4.3.1 on this machine (tests/fixtures/podman/README.md).
    const PS_ONE: &str = include_str!("../../tests/fixtures/podman/ps-one-running.json");
    const PS_THREE: &str = include_str!("../../tests/fixtures/podman/ps-three-states.json");
    const PS_NONE: &str = include_str!("../../tests/fixtures/podman/ps-none.json");
    const INSPECT: &str = include_str!("../../tests/fixtures/podman/container-inspect.json");
    const PULL: &str = include_str!("../../tests/fixtures/podman/pull-quiet.stdout");

    #[test]
    fn parse_ps_reads_a_unit_container() {
        let all = parse_ps(PS_ONE).unwrap();
        assert_eq!(all.len(), 1);
        let c = &all[0];
        assert_eq!(c.id, "565d746347e8944ad8e3590573755d646d7f5570b732c713b3aceb70465df68b");
        assert_eq!(c.names, vec!["app".to_string()]);
        assert_eq!(c.image, "localhost:36581/podup/app:latest");
        assert_eq!(
            c.image_id,
            "7071f2cc7d22c669c7b237ffe9d3673cbf15b02881406ba995da3bf78e28797b"
        );
        assert_eq!(c.state, "running");
        assert_eq!(c.labels["PODMAN_SYSTEMD_UNIT"], "container-app.service");
        assert_eq!(c.labels["io.containers.autoupdate"], "registry");
    }

    #[test]
    fn parse_ps_reads_every_state_and_the_empty_answers() {
        let states: Vec<(String, String)> = parse_ps(PS_THREE)
            .unwrap()
            .into_iter()
            .map(|c| (c.names[0].clone(), c.state))
            .collect();
        assert_eq!(
            states,
            [
                ("app", "running"),
                ("app-oneshot", "exited"),
                ("app-created", "created")
            ]
            .map(|(n, s)| (n.to_string(), s.to_string()))
        );
        assert_eq!(parse_ps(PS_NONE).unwrap(), vec![]);
        assert_eq!(parse_ps("\n").unwrap(), vec![]);
    }

    #[test]
    fn parse_ps_tolerates_null_labels_and_names_but_not_garbage() {
        let json = r#"[{"Id":"abc","Names":null,"Image":"x/y:1","ImageID":"def","State":"exited","Labels":null}]"#;
        let c = &parse_ps(json).unwrap()[0];
        assert!(c.names.is_empty() && c.labels.is_empty());
        assert!(
            parse_ps("Error: something")
                .unwrap_err()
                .0
                .starts_with("not a podman ps JSON array")
        );
        assert!(parse_ps(r#"[{"Names":["x"]}]"#).is_err(), "Id is required");
    }

    #[test]
    fn parse_container_inspect_reads_image_id_name_and_digest() {
        let image = parse_container_inspect(INSPECT).unwrap();
        assert_eq!(
            image,
            ContainerImage {
                image_id: "7071f2cc7d22c669c7b237ffe9d3673cbf15b02881406ba995da3bf78e28797b".into(),
                image_name: "localhost:36581/podup/app:latest".into(),
                image_digest: "sha256:1071616389e98e746e97935c674e3cf84589382d0487d33665f9f52a700de6a5".into(),
            }
        );
        // podman 4.3.1 prints `[]` (and exits 125) for an unknown container
        assert_eq!(
            parse_container_inspect("[]\n").unwrap_err().0,
            "expected one container, got 0"
        );
    }

    #[test]
    fn parse_container_health_reads_each_verdict_and_no_check() {
        // podman 4.3.1: no health check is an empty status.
        assert_eq!(parse_container_health(INSPECT).unwrap(), Health::None);
        // podman 5.4.2, a Quadlet container with HealthCmd=, captured on the trixie bed.
        let healthy = include_str!("../../tests/fixtures/podman/container-inspect-healthy.json");
        assert_eq!(parse_container_health(healthy).unwrap(), Health::Healthy);
        let unhealthy = include_str!("../../tests/fixtures/podman/container-inspect-unhealthy.json");
        assert_eq!(parse_container_health(unhealthy).unwrap(), Health::Unhealthy);
        let with = |status: &str| format!(r#"[{{"State":{{"Health":{{"Status":"{status}"}}}}}}]"#);
        assert_eq!(parse_container_health(&with("starting")).unwrap(), Health::Starting);
        assert_eq!(
            parse_container_health(&with("odd")).unwrap(),
            Health::Other("odd".into())
        );
        assert_eq!(parse_container_health(r#"[{"State":{}}]"#).unwrap(), Health::None);
        assert_eq!(parse_container_health(r#"[{"Image":"x"}]"#).unwrap(), Health::None);
        assert!(parse_container_health("[]").is_err());
        assert!(parse_container_health("Error: no such container").is_err());
        // the argv is the inspect that container_image runs
        assert_eq!(
            args::container_image("app"),
            ["inspect", "--type", "container", "--format", "json", "app"]
        );
    }

    #[test]
    fn the_image_digest_equals_the_container_image_digest() {
        // What `image_digest` ({{.Digest}}) reads, captured for the image the container runs.
        let image: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/podman/image-inspect.json")).unwrap();
        let container = parse_container_inspect(INSPECT).unwrap();
        assert_eq!(image[0]["Id"], container.image_id.as_str());
        assert_eq!(image[0]["Digest"], container.image_digest.as_str());
    }

    #[test]
    fn parse_pull_takes_the_last_line_as_the_id() {
        assert_eq!(
            parse_pull(PULL).unwrap(),
            "458894292f81ca5b90b9695a824c6b450e1aae85a87dd6e53a4103b51fac7097"
        );
        let two = format!("{}\n{}\n", "a".repeat(64), "b".repeat(64));
        assert_eq!(parse_pull(&two).unwrap(), "b".repeat(64));
        assert!(parse_pull("").is_err());
        assert!(parse_pull("Writing manifest to image destination\n").is_err());
    }
}
