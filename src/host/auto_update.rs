//! `podman auto-update --format json [--dry-run]`: running it and reading its report.
//!
//! Facts that shape this (podman 4.3.1, measured in the test bed and read in podman's source):
//! stdout is a JSON array of string-only objects, or nothing at all when no container carries
//! an auto-update label; pull progress goes to stderr; `Updated` is a string (`"true"`,
//! `"false"`, `"pending"`, `"failed"`, `"rolled back"`); and podman exits 125 *after* printing
//! the rows when one container could not be handled, so a failed run still says what happened
//! to the others. It exits 0 for `failed` and `rolled back` rows: read the rows, not the code.

use super::{CommandRecord, Host, HostError, ParseError};
use serde::Deserialize;
use std::time::Duration;

/// auto-update pulls every labelled image and restarts every changed unit, one after another.
pub const AUTO_UPDATE_TIMEOUT_SECS: u64 = 1800;

/// What podman says happened to one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateStatus {
    /// `"true"`: a newer image was pulled and the unit restarted (it may still crash later).
    Updated,
    /// `"false"`: the image is current.
    Unchanged,
    /// `"pending"`: with `--dry-run`, a newer image exists.
    Pending,
    /// `"failed"`: the update failed and was not (or could not be) rolled back.
    Failed,
    /// `"rolled back"`: the restart failed and the unit runs the previous image again.
    RolledBack,
    /// A value this podup does not know, kept verbatim.
    Other(String),
}

impl UpdateStatus {
    pub fn from_podman(value: &str) -> UpdateStatus {
        match value {
            "true" => UpdateStatus::Updated,
            "false" => UpdateStatus::Unchanged,
            "pending" => UpdateStatus::Pending,
            "failed" => UpdateStatus::Failed,
            "rolled back" => UpdateStatus::RolledBack,
            other => UpdateStatus::Other(other.to_string()),
        }
    }

    /// The word podman printed.
    pub fn as_podman_str(&self) -> &str {
        match self {
            UpdateStatus::Updated => "true",
            UpdateStatus::Unchanged => "false",
            UpdateStatus::Pending => "pending",
            UpdateStatus::Failed => "failed",
            UpdateStatus::RolledBack => "rolled back",
            UpdateStatus::Other(s) => s,
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoUpdateRow {
    /// The systemd unit podman restarts (`PODMAN_SYSTEMD_UNIT`).
    pub unit: String,
    /// `"<12-hex id> (<name>)"`.
    pub container: String,
    pub container_name: String,
    /// The full id of the container as it was *before* the update.
    pub container_id: String,
    /// The image name the container was created with.
    pub image: String,
    /// `registry` or `local`.
    pub policy: String,
    pub updated: UpdateStatus,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawRow {
    unit: String,
    #[serde(default)]
    container: String,
    #[serde(default)]
    container_name: String,
    #[serde(rename = "ContainerID", default)]
    container_id: String,
    image: String,
    #[serde(default)]
    policy: String,
    updated: String,
}

/// Reads the report from stdout alone. Empty stdout means no labelled containers: no rows.
pub fn parse_auto_update(stdout: &str) -> Result<Vec<AutoUpdateRow>, ParseError> {
    if stdout.trim().is_empty() {
        return Ok(Vec::new());
    }
    let raw: Vec<RawRow> =
        serde_json::from_str(stdout).map_err(|e| ParseError(format!("not a podman auto-update JSON report: {e}")))?;
    Ok(raw
        .into_iter()
        .map(|r| AutoUpdateRow {
            unit: r.unit,
            container: r.container,
            container_name: r.container_name,
            container_id: r.container_id,
            image: r.image,
            policy: r.policy,
            updated: UpdateStatus::from_podman(&r.updated),
        })
        .collect())
}

/// A run that printed a report.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoUpdateReport {
    pub rows: Vec<AutoUpdateRow>,
    /// podman's complaint when it exited non-zero after printing rows (exit 125: at least one
    /// container could not be handled); the rows still stand for the others.
    pub error: Option<HostError>,
    pub record: CommandRecord,
}

impl Host {
    /// Runs `podman auto-update --format json [--dry-run]`. It is an error when podman could
    /// not run, timed out, printed something unreadable, or failed without printing any row;
    /// a failure after printing rows comes back as `Ok` with `error` set.
    pub fn auto_update(&self, dry_run: bool) -> Result<AutoUpdateReport, HostError> {
        let args = super::podman::args::auto_update(dry_run);
        let timeout = Duration::from_secs(AUTO_UPDATE_TIMEOUT_SECS);
        let record = self.exec(&self.programs.podman, &args, timeout)?;
        match (record.success(), parse_auto_update(&record.stdout)) {
            (true, Ok(rows)) => Ok(AutoUpdateReport {
                rows,
                error: None,
                record,
            }),
            (true, Err(e)) => Err(HostError::unexpected(record, e)),
            (false, Ok(rows)) if !rows.is_empty() => Ok(AutoUpdateReport {
                rows,
                error: Some(HostError::failed(record.clone())),
                record,
            }),
            (false, _) => Err(HostError::failed(record)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/podman/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn statuses(name: &str) -> Vec<UpdateStatus> {
        parse_auto_update(&fixture(name))
            .unwrap()
            .into_iter()
            .map(|r| r.updated)
            .collect()
    }

    #[test]
    fn captured_reports_give_each_status() {
        use UpdateStatus::*;
        assert_eq!(statuses("auto-update-dry-run-pending.json"), [Pending]);
        assert_eq!(statuses("auto-update-updated.json"), [Updated]);
        assert_eq!(statuses("auto-update-unchanged.json"), [Unchanged]);
        assert_eq!(statuses("auto-update-rolled-back.json"), [RolledBack]);
        assert_eq!(statuses("auto-update-failed-no-rollback.json"), [Failed]);
        assert_eq!(statuses("auto-update-exit125-with-report.json"), [Updated]);
    }

    #[test]
    fn a_captured_row_has_every_field() {
        let rows = parse_auto_update(&fixture("auto-update-updated.json")).unwrap();
        assert_eq!(
            rows,
            vec![AutoUpdateRow {
                unit: "container-app.service".into(),
                container: "565d746347e8 (app)".into(),
                container_name: "app".into(),
                container_id: "565d746347e8944ad8e3590573755d646d7f5570b732c713b3aceb70465df68b".into(),
                image: "localhost:36581/podup/app:latest".into(),
                policy: "registry".into(),
                updated: UpdateStatus::Updated,
            }]
        );
    }

    #[test]
    fn no_labelled_containers_prints_nothing_and_means_no_rows() {
        assert_eq!(fixture("auto-update-none.stdout"), "");
        assert_eq!(parse_auto_update("").unwrap(), vec![]);
        assert_eq!(parse_auto_update("[]\n").unwrap(), vec![]);
    }

    #[test]
    fn the_documented_shape_with_several_units_and_policies_parses() {
        let rows = parse_auto_update(&fixture("auto-update-documented-mixed.json")).unwrap();
        let seen: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|r| (r.unit.as_str(), r.policy.as_str(), r.updated.as_podman_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("pod-web.service", "registry", "rolled back"),
                ("pod-web.service", "registry", "rolled back"),
                ("container-cache.service", "local", "true"),
                ("db.service", "registry", "false"),
                ("worker.service", "registry", "failed"),
            ]
        );
        assert_eq!(rows[1].container, "9a8b7c6d5e4f (web-sidecar)");
    }

    #[test]
    fn unknown_statuses_are_kept_and_bad_reports_refused() {
        let json = r#"[{"Unit":"a.service","Image":"x/y:1","Updated":"skipped","Extra":"ignored"}]"#;
        let row = &parse_auto_update(json).unwrap()[0];
        assert_eq!(row.updated, UpdateStatus::Other("skipped".into()));
        assert_eq!(row.updated.as_podman_str(), "skipped");
        assert_eq!(row.container_id, "");
        let e = parse_auto_update("Error: no such file").unwrap_err();
        assert!(e.0.starts_with("not a podman auto-update JSON report"), "{e}");
        assert!(
            parse_auto_update(r#"[{"Unit":"a.service","Updated":true}]"#).is_err(),
            "Updated is a string"
        );
    }
}
