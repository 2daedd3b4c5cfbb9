//! A service's update policy (docs/policy.md), read from where it is written: `[X-PodUp]` in
//! the service's unit file or Quadlet file and their drop-ins, or its section of
//! `PODUP_POLICY_FILE` (`read`). Parsing the values is `keys`' and `spans`'; whether a time
//! is inside a `Window=` is `window`'s. A service whose files have an error keeps its last
//! good policy, which `stored` keeps in the state database. Acting on a policy (approvals,
//! schedules, following versions) belongs to the modules that do those things.

pub mod follow;
pub mod keys;
mod read;
pub mod spans;
mod stored;
pub mod window;

pub use read::{SECTION, read};

use crate::config::Config;
use crate::model::Policy;
use rusqlite::Connection;
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};
use std::fmt;

/// Where each key's value came from: every key of `keys::KEYS`, in that order.
pub type Sources = Vec<(&'static str, Source)>;

/// Where a key's value came from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Source {
    /// Never set (or reset): the default.
    #[default]
    Default,
    /// The assignment on `line` (1-based) of `path`.
    File { path: String, line: usize },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File { path, line } => write!(f, "{path}:{line}"),
        }
    }
}

impl Serialize for Source {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Source::Default => s.serialize_str("default"),
            Source::File { path, line } => {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("file", path)?;
                m.serialize_entry("line", line)?;
                m.end()
            }
        }
    }
}

/// A policy key that could not be used, or a file that could not be read (`line` 0, `key`
/// empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub path: String,
    pub line: usize,
    pub key: String,
    pub message: String,
}

impl PolicyError {
    fn whole_file(path: &str, message: String) -> PolicyError {
        PolicyError {
            path: path.to_string(),
            line: 0,
            key: String::new(),
            message,
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.path.is_empty(), self.line, self.key.is_empty()) {
            (true, _, _) => f.write_str(&self.message),
            (false, 0, _) => write!(f, "{}: {}", self.path, self.message),
            (false, line, true) => write!(f, "{}:{line}: {}", self.path, self.message),
            (false, line, false) => write!(f, "{}:{line}: {}=: {}", self.path, self.key, self.message),
        }
    }
}

/// The policy that counts for a service, where each key came from, and what is wrong in its
/// files.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    pub unit: String,
    pub policy: Policy,
    pub sources: Sources,
    pub errors: Vec<PolicyError>,
    /// True when errors made the service keep the policy last read without one.
    pub last_good: bool,
}

impl Serialize for Effective {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct SourceMap<'a>(&'a [(&'static str, Source)]);
        impl Serialize for SourceMap<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (key, source) in self.0 {
                    m.serialize_entry(key, source)?;
                }
                m.end()
            }
        }
        let errors: Vec<String> = self.errors.iter().map(ToString::to_string).collect();
        let mut st = s.serialize_struct("Effective", 5)?;
        st.serialize_field("unit", &self.unit)?;
        st.serialize_field("policy", &self.policy)?;
        st.serialize_field("sources", &SourceMap(&self.sources))?;
        st.serialize_field("errors", &errors)?;
        st.serialize_field("last_good", &self.last_good)?;
        st.end()
    }
}

/// `unit`'s policy now: as its files say when they have no error (and then kept as its last
/// good policy in `conn`); else the last good one, or the default when there was none.
pub fn effective(conn: Option<&Connection>, config: &Config, unit: &str, now_ms: i64) -> Effective {
    let (policy, sources, errors) = read(config, unit);
    let mut e = Effective {
        unit: unit.to_string(),
        policy,
        sources,
        errors,
        last_good: false,
    };
    let Some(conn) = conn else {
        if !e.errors.is_empty() {
            e.policy = Policy::default();
            e.sources = defaults();
        }
        return e;
    };
    if e.errors.is_empty() {
        if let Err(err) = stored::save(conn, unit, &e.policy, &e.sources, now_ms) {
            log::warn!(unit = unit; "cannot keep the policy of '{unit}' as its last good one: {err}");
        }
        return e;
    }
    match stored::load(conn, unit) {
        Ok(Some((policy, sources))) => {
            e.policy = policy;
            e.sources = sources;
            e.last_good = true;
        }
        Ok(None) => {
            e.policy = Policy::default();
            e.sources = defaults();
        }
        Err(err) => {
            log::warn!(unit = unit; "cannot read the last good policy of '{unit}': {err}");
            e.policy = Policy::default();
            e.sources = defaults();
        }
    }
    e
}

/// Every key from the default.
fn defaults() -> Sources {
    keys::KEYS.into_iter().map(|k| (k, Source::Default)).collect()
}

#[cfg(test)]
mod tests;
