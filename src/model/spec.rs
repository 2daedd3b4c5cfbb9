//! A task's spec: the whole plan, fixed when the task is created (a retry copies it).

use serde::{Deserialize, Serialize};

/// One unit of a task's plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitSpec {
    pub unit: String,
    /// `repository:tag` the unit runs; None when it is found at run time.
    #[serde(default)]
    pub image: Option<String>,
    /// The digest to deploy; None: whatever the tag points at when pulled.
    #[serde(default)]
    pub digest: Option<String>,
}

/// What a task does, fixed at creation (a retry copies it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    pub units: Vec<UnitSpec>,
    /// "system" or "user".
    pub scope: String,
    pub verify_secs: u64,
    #[serde(default)]
    pub dry_run: bool,
    /// "deploy" (podup's verified deploy) or "auto-update" (podman auto-update).
    #[serde(default = "default_mode")]
    pub mode: String,
}

fn default_mode() -> String {
    "deploy".into()
}
