//! A task's spec: the whole plan, fixed when the task is created (a retry copies it), and
//! the two words it is made of besides units: the systemd manager (`Scope`) and how the
//! units are updated (`Mode`).

use serde::{Deserialize, Serialize};

text_enum! {
    /// Which systemd manager podup talks to; `User` adds `--user` to every `systemctl`,
    /// `systemd-run` and `journalctl` call.
    pub enum Scope ("systemd scope") {
        System = "system",
        User = "user",
    }
}

text_enum! {
    /// How a task updates its units.
    #[derive(Default)]
    pub enum Mode ("task mode") {
        /// podup's verified deploy, unit by unit.
        #[default]
        Deploy = "deploy",
        /// `podman auto-update`, then podup's stay-active check.
        AutoUpdate = "auto-update",
        /// Maintenance: prune old history.
        Prune = "prune",
        /// Maintenance: repair what a lost worker left (`recovers` names its task).
        Recover = "recover",
        /// Maintenance: send a test notification (`sink` names the sink, or every one).
        NotifyTest = "notify-test",
        /// An update check of `units` (docs/updates.md): registries are asked, nothing
        /// changes on the host.
        Check = "check",
    }
}

text_enum! {
    /// What an `auto-update` task runs (`PODUP_AUTO_UPDATE_ENGINE`, docs/tasks.md).
    #[derive(Default)]
    pub enum Engine ("auto-update engine") {
        /// `podman auto-update --format json`, then podup's stay-active check.
        #[default]
        Podman = "podman",
        /// podup finds the labelled units, asks the registries, and deploys those with a
        /// new image by its verified deploy.
        Podup = "podup",
    }
}

impl Engine {
    /// Specs written before the engine existed (and every podman one) leave it out.
    pub fn is_podman(&self) -> bool {
        *self == Engine::Podman
    }
}

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
    /// `Follow=semver`/`regex`: the reference with the new tag the unit moves to
    /// (`ghcr.io/acme/app:1.5.0`), while `image` is the one it runs and `digest` the new
    /// tag's digest. The deploy points the unit's image file (`host::image_dropin`) at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retag: Option<String>,
}

/// What a task does, fixed at creation (a retry copies it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    pub units: Vec<UnitSpec>,
    /// The manager the units belong to; None (stored as `""`) for maintenance, which runs
    /// no unit.
    #[serde(with = "scope_or_empty")]
    pub scope: Option<Scope>,
    pub verify_secs: u64,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub mode: Mode,
    /// For `Mode::Recover`: the lost task whose units this task repairs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovers: Option<i64>,
    /// For `Mode::NotifyTest`: the key of the sink to test; None tests every sink.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sink: Option<String>,
    /// For `Mode::Check`: ask the registries even when a cached answer is fresh.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fresh: bool,
    /// For `Mode::Check`: the units whose policy follows version tags (`Follow=`), with
    /// its spelling (`semver:minor`); the check lists their tags (docs/policy.md).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub follow: std::collections::BTreeMap<String, String>,
    /// How many pulls a deploy of several units runs at once (`PODUP_PULL_PARALLEL`);
    /// written when it is not the default, which specs written before it read as.
    #[serde(default = "default_pull_parallel", skip_serializing_if = "is_default_pull_parallel")]
    pub pull_parallel: u32,
    /// For `Mode::AutoUpdate`: who finds and updates the labelled units (absent: podman).
    #[serde(default, skip_serializing_if = "Engine::is_podman")]
    pub engine: Engine,
}

/// `PODUP_PULL_PARALLEL`'s default.
pub const DEFAULT_PULL_PARALLEL: u32 = 4;

fn default_pull_parallel() -> u32 {
    DEFAULT_PULL_PARALLEL
}

fn is_default_pull_parallel(n: &u32) -> bool {
    *n == DEFAULT_PULL_PARALLEL
}

/// `Option<Scope>` spelled as the scope's text, or `""` for none.
mod scope_or_empty {
    use super::Scope;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::borrow::Cow;

    pub fn serialize<S: Serializer>(scope: &Option<Scope>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(scope.map_or("", Scope::as_str))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Scope>, D::Error> {
        let text = Cow::<'de, str>::deserialize(d)?;
        if text.is_empty() {
            return Ok(None);
        }
        Scope::from_text(&text).map(Some).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::text::assert_spellings;

    #[test]
    fn scopes_and_modes_keep_their_stored_spellings() {
        assert_spellings(&[(Scope::System, "system"), (Scope::User, "user")], &Scope::ALL);
        assert_spellings(
            &[
                (Mode::Deploy, "deploy"),
                (Mode::AutoUpdate, "auto-update"),
                (Mode::Prune, "prune"),
                (Mode::Recover, "recover"),
                (Mode::NotifyTest, "notify-test"),
                (Mode::Check, "check"),
            ],
            &Mode::ALL,
        );
        assert_spellings(&[(Engine::Podman, "podman"), (Engine::Podup, "podup")], &Engine::ALL);
    }

    #[test]
    fn a_spec_serializes_as_it_did_with_strings() {
        let spec = TaskSpec {
            units: vec![UnitSpec {
                unit: "app.service".into(),
                image: Some("r/a:t".into()),
                digest: None,
                retag: None,
            }],
            scope: Some(Scope::User),
            verify_secs: 10,
            dry_run: false,
            mode: Mode::AutoUpdate,
            recovers: None,
            sink: None,
            fresh: false,
            follow: Default::default(),
            pull_parallel: crate::model::DEFAULT_PULL_PARALLEL,
            engine: Engine::Podman,
        };
        let text = r#"{"units":[{"unit":"app.service","image":"r/a:t","digest":null}],"scope":"user","verify_secs":10,"dry_run":false,"mode":"auto-update"}"#;
        assert_eq!(serde_json::to_string(&spec).unwrap(), text);
        assert_eq!(serde_json::from_str::<TaskSpec>(text).unwrap(), spec);
        let maintenance = TaskSpec {
            units: Vec::new(),
            scope: None,
            verify_secs: 0,
            dry_run: false,
            mode: Mode::Prune,
            recovers: None,
            sink: None,
            fresh: false,
            follow: Default::default(),
            pull_parallel: crate::model::DEFAULT_PULL_PARALLEL,
            engine: Engine::Podman,
        };
        let text = r#"{"units":[],"scope":"","verify_secs":0,"dry_run":false,"mode":"prune"}"#;
        assert_eq!(serde_json::to_string(&maintenance).unwrap(), text);
        assert_eq!(serde_json::from_str::<TaskSpec>(text).unwrap(), maintenance);
        // A unit that Follow= moves to a new tag says so; others are written as before.
        let moving = r#"{"unit":"app.service","image":"r/a:1.4.2","digest":null,"retag":"r/a:1.5.0"}"#;
        let unit: UnitSpec = serde_json::from_str(moving).unwrap();
        assert_eq!(unit.retag.as_deref(), Some("r/a:1.5.0"));
        assert_eq!(serde_json::to_string(&unit).unwrap(), moving);
        // Specs written before `mode` existed deploy.
        let old = r#"{"units":[],"scope":"system","verify_secs":5}"#;
        assert_eq!(serde_json::from_str::<TaskSpec>(old).unwrap().mode, Mode::Deploy);
        // ... and pull as many at once as the default says; another bound is written.
        assert_eq!(serde_json::from_str::<TaskSpec>(old).unwrap().pull_parallel, 4);
        let two = TaskSpec {
            pull_parallel: 2,
            ..maintenance.clone()
        };
        let text = serde_json::to_string(&two).unwrap();
        assert!(text.ends_with(r#""mode":"prune","pull_parallel":2}"#), "{text}");
        assert_eq!(serde_json::from_str::<TaskSpec>(&text).unwrap(), two);
        assert!(serde_json::from_str::<TaskSpec>(r#"{"units":[],"scope":"cluster","verify_secs":5}"#).is_err());
        // Specs written before `engine` existed run podman auto-update; podup's says so.
        assert_eq!(serde_json::from_str::<TaskSpec>(old).unwrap().engine, Engine::Podman);
        let podup = TaskSpec {
            engine: Engine::Podup,
            ..spec
        };
        let text = serde_json::to_string(&podup).unwrap();
        assert!(text.ends_with(r#""mode":"auto-update","engine":"podup"}"#), "{text}");
        assert_eq!(serde_json::from_str::<TaskSpec>(&text).unwrap(), podup);
        assert!(
            serde_json::from_str::<TaskSpec>(r#"{"units":[],"scope":"","verify_secs":0,"engine":"docker"}"#).is_err()
        );
    }
}
