//! Which files hold a service's policy, and which assignment of each key wins.
//!
//! The service's own files come first: its Quadlet file (`.container`, `.kube`) and their
//! drop-ins when Quadlet makes it, else its plain unit file and drop-ins, each read for an
//! `[X-PodUp]` section in the order systemd applies them. Then `PODUP_POLICY_FILE`'s
//! section named after the service. A key set anywhere in the service's own files is taken
//! from them alone; otherwise from the policy file; otherwise it is the default. Within
//! those, as in systemd, a later assignment overrides an earlier one, an empty one resets
//! the key to its default, and `Window=` lines add up until an empty one. Every value is
//! checked, also one that a later line overrides: a typo should not wait to matter.

use super::keys::{self, KEYS};
use super::spans::{self, Line};
use super::{PolicyError, Source, Sources};
use crate::config::Config;
use crate::host::quadlet;
use crate::host::unit_file::assignments;
use crate::model::{Policy, Window};
use std::path::{Path, PathBuf};

/// The section of a unit or Quadlet file that podup reads (systemd and Quadlet ignore
/// sections starting with `X-`).
pub const SECTION: &str = "X-PodUp";

/// One assignment of a known key, and where it is.
struct Assigned {
    key: &'static str,
    value: String,
    path: String,
    line: usize,
}

impl Assigned {
    fn source(&self) -> Source {
        Source::File {
            path: self.path.clone(),
            line: self.line,
        }
    }

    fn error(&self, message: String) -> PolicyError {
        PolicyError {
            path: self.path.clone(),
            line: self.line,
            key: self.key.to_string(),
            message,
        }
    }
}

/// `unit`'s policy as its files say, where each key came from (every key of [`KEYS`], in
/// that order), and every error found. With errors the policy is what the good lines
/// make; `effective` decides what counts then.
pub fn read(config: &Config, unit: &str) -> (Policy, Sources, Vec<PolicyError>) {
    let mut errors = Vec::new();
    let mut own = Vec::new();
    let mut order = Vec::new(); // the files in the order they apply, to sort the errors by
    match own_files(config, unit) {
        Ok(paths) => {
            for path in paths {
                order.push(path.display().to_string());
                if let Some(text) = read_text(&path, false, &mut errors) {
                    collect(&path, &text, SECTION, &mut own, &mut errors);
                }
            }
        }
        Err(e) => errors.push(PolicyError::whole_file("", e.message)),
    }
    let mut shared = Vec::new();
    if let Some(path) = &config.policy_file {
        order.push(path.display().to_string());
        if let Some(text) = read_text(path, true, &mut errors) {
            collect(path, &text, unit, &mut shared, &mut errors);
        }
    }
    let (policy, sources) = resolve(&own, &shared, &mut errors);
    errors.sort_by_key(|e| (order.iter().position(|p| *p == e.path), e.line));
    (policy, sources, errors)
}

/// The service's own files in the order they apply: Quadlet's when Quadlet makes it, else
/// the plain unit's; none when podup finds neither.
fn own_files(config: &Config, unit: &str) -> Result<Vec<PathBuf>, crate::host::HostError> {
    if let Some(paths) = quadlet::files_for_service(unit, &config.quadlet_dirs)? {
        return Ok(paths);
    }
    Ok(quadlet::unit_files(unit, &config.unit_dirs)?.unwrap_or_default())
}

/// The file's text; a missing file is an error only when it was `required` (the policy
/// file: a drop-in may vanish between listing and reading).
fn read_text(path: &Path, required: bool, errors: &mut Vec<PolicyError>) -> Option<String> {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            errors.push(PolicyError::whole_file(
                &name,
                "the file named by PODUP_POLICY_FILE does not exist".into(),
            ));
            None
        }
        Err(e) => {
            errors.push(PolicyError::whole_file(&name, format!("cannot read it: {e}")));
            None
        }
    }
}

/// The assignments in `section` of `text`: known keys into `out`, others as errors.
fn collect(path: &Path, text: &str, section: &str, out: &mut Vec<Assigned>, errors: &mut Vec<PolicyError>) {
    let path = path.display().to_string();
    for a in assignments(text).into_iter().filter(|a| a.section == section) {
        match keys::known(&a.key) {
            Ok(key) => out.push(Assigned {
                key,
                value: a.value,
                path: path.clone(),
                line: a.line,
            }),
            Err(message) => errors.push(PolicyError {
                path: path.clone(),
                line: a.line,
                key: a.key,
                message,
            }),
        }
    }
}

/// Each key from the service's own files when they set it, else from the policy file.
fn resolve(own: &[Assigned], shared: &[Assigned], errors: &mut Vec<PolicyError>) -> (Policy, Sources) {
    let mut p = Policy::default();
    let (action, action_at) = single(own, shared, "Policy", keys::action, errors);
    let (min_age, min_age_at) = single(own, shared, "MinAge", keys::min_age, errors);
    let (window, window_at) = window(own, errors).or(window(shared, errors)).unwrap_or_default();
    let (timer, timer_at) = single(own, shared, "Timer", keys::timer, errors);
    let (follow, follow_at) = single(own, shared, "Follow", keys::follow, errors);
    p.policy = action.unwrap_or(p.policy);
    p.min_age_secs = min_age.unwrap_or(p.min_age_secs);
    p.window = window;
    p.timer = timer.unwrap_or(p.timer);
    p.follow = follow.unwrap_or(p.follow);
    let sources = KEYS
        .into_iter()
        .zip([action_at, min_age_at, window_at, timer_at, follow_at])
        .collect();
    (p, sources)
}

/// A single-valued key: the last good assignment in the layer that sets it (`None`: reset
/// to the default, or never set).
fn single<T>(
    own: &[Assigned],
    shared: &[Assigned],
    key: &'static str,
    parse: fn(&str) -> Result<T, String>,
    errors: &mut Vec<PolicyError>,
) -> (Option<T>, Source) {
    let mut layer = |list: &[Assigned]| {
        let mut got = None;
        for a in list.iter().filter(|a| a.key == key) {
            if a.value.is_empty() {
                got = Some((None, a.source()));
                continue;
            }
            match parse(&a.value) {
                Ok(v) => got = Some((Some(v), a.source())),
                Err(message) => errors.push(a.error(message)),
            }
        }
        got
    };
    let mine = layer(own);
    let theirs = layer(shared);
    mine.or(theirs).unwrap_or((None, Source::Default))
}

/// `Window=` in one layer: the lines since the last empty one, as one window in one zone.
/// `None` when the layer has no `Window=` at all.
fn window(list: &[Assigned], errors: &mut Vec<PolicyError>) -> Option<(Option<Window>, Source)> {
    let mut lines: Vec<Line> = Vec::new();
    let mut at = None;
    for a in list.iter().filter(|a| a.key == "Window") {
        if a.value.is_empty() {
            lines.clear();
            at = Some(a.source());
            continue;
        }
        let parsed = spans::line(&a.value).and_then(|l| match (&l.tz, lines.iter().find_map(|x| x.tz.as_ref())) {
            (Some(mine), Some(earlier)) if mine != earlier => Err(format!(
                "TZ={mine} differs from TZ={earlier} on an earlier Window= line: a window has one zone"
            )),
            _ => Ok(l),
        });
        match parsed {
            Ok(l) => {
                lines.push(l);
                at = Some(a.source());
            }
            Err(message) => errors.push(a.error(message)),
        }
    }
    let at = at?;
    Some(((!lines.is_empty()).then(|| spans::combine(&lines)), at))
}
