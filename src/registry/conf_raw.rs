//! One `registries.conf` file as written: the V2 format's tables, and the V1 tables
//! (`[registries.search]`, `[registries.insecure]`, `[registries.block]`) that podman
//! still converts in a main file. Each file is checked as containers/image checks it
//! (`pkg/sysregistriesv2`: `loadConfigFile`, `postProcessRegistries`, `ConvertToV2`;
//! `shortnames.go` for aliases). Keys podup does not use (`credential-helpers`,
//! `additional-layer-store-auth-helper`, anything unknown) are ignored.

use super::conf::{ConfError, is_host, normalize};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A `[[registry]]` after checks: `prefix` is set (it defaults to `location`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Registry {
    pub prefix: String,
    /// Empty only for a `*.example.com` prefix: ask the name's own host.
    pub location: String,
    pub insecure: bool,
    pub blocked: bool,
    pub mirror_by_digest_only: bool,
    pub mirrors: Vec<Mirror>,
    /// The file it came from, for messages.
    pub origin: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Mirror {
    pub location: String,
    pub insecure: bool,
    pub pull_from: PullFrom,
}

/// `pull-from-mirror`: which references a mirror serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PullFrom {
    All,
    DigestOnly,
    TagOnly,
}

/// What one file contributes to the merge.
#[derive(Debug, Default)]
pub(super) struct File {
    pub registries: Vec<Registry>,
    pub aliases: Vec<(String, Option<String>)>,
    pub unqualified_search: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case", default)]
struct RawFile {
    registry: Option<Vec<RawRegistry>>,
    unqualified_search_registries: Option<Vec<String>>,
    short_name_mode: Option<String>,
    credential_helpers: Option<Vec<String>>,
    aliases: Option<BTreeMap<String, String>>,
    /// The V1 tables.
    registries: Option<RawV1>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case", default)]
struct RawRegistry {
    prefix: String,
    location: String,
    insecure: bool,
    blocked: bool,
    mirror_by_digest_only: bool,
    pull_from_mirror: String,
    mirror: Vec<RawMirror>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "kebab-case", default)]
struct RawMirror {
    location: String,
    insecure: bool,
    pull_from_mirror: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawV1 {
    search: Option<V1List>,
    insecure: Option<V1List>,
    block: Option<V1List>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct V1List {
    registries: Vec<String>,
}

/// Parses and checks one file; `main` allows the V1 format (drop-ins must be V2).
pub(super) fn parse_file(path: &Path, text: &str, main: bool) -> Result<File, ConfError> {
    let raw: RawFile = toml::from_str(text).map_err(|e| ConfError::Syntax {
        path: path.to_path_buf(),
        line: e.span().map(|s| line_of(text, s.start)),
        message: e.message().trim().to_string(),
    })?;
    let invalid = |message: String| ConfError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let v1 = raw
        .registries
        .filter(|v1| v1.search.is_some() || v1.insecure.is_some() || v1.block.is_some());
    if let Some(v1) = v1 {
        if !main {
            return Err(invalid(
                "a drop-in must use the version 2 format ([[registry]]), not [registries.*] tables".into(),
            ));
        }
        let v2_set = raw.registry.is_some()
            || raw.unqualified_search_registries.is_some()
            || raw.short_name_mode.is_some()
            || raw.credential_helpers.is_some()
            || raw.aliases.is_some();
        if v2_set {
            return Err(invalid(
                "the version 1 [registries.*] tables and version 2 keys are mixed".into(),
            ));
        }
        return from_v1(path, v1).map_err(invalid);
    }
    if let Some(mode) = &raw.short_name_mode {
        if !matches!(mode.as_str(), "enforcing" | "permissive" | "disabled") {
            return Err(invalid(format!(
                "short-name-mode '{mode}' is not enforcing, permissive or disabled"
            )));
        }
    }
    let mut file = File {
        unqualified_search: raw.unqualified_search_registries,
        ..File::default()
    };
    for (short, target) in raw.aliases.unwrap_or_default() {
        let target = alias(&short, &target).map_err(invalid)?;
        file.aliases.push((short, target));
    }
    for r in raw.registry.unwrap_or_default() {
        let registry = checked(path, r).map_err(invalid)?;
        let same_place = |o: &&Registry| {
            (o.location.is_empty() && registry.location.is_empty() && o.prefix == registry.prefix)
                || (!registry.location.is_empty() && o.location == registry.location)
        };
        if let Some(other) = file.registries.iter().find(same_place) {
            if other.insecure != registry.insecure || other.blocked != registry.blocked {
                return Err(invalid(format!(
                    "registry '{}' is defined twice with different 'insecure' or 'blocked'",
                    registry.location
                )));
            }
        }
        // The first of several entries with one prefix wins; the rest are ignored.
        if !file.registries.iter().any(|o| o.prefix == registry.prefix) {
            file.registries.push(registry);
        }
    }
    Ok(file)
}

fn checked(path: &Path, r: RawRegistry) -> Result<Registry, String> {
    let location = location(&r.location)?;
    let prefix = if r.prefix.is_empty() {
        if location.is_empty() {
            return Err("a [[registry]] has neither prefix nor location".into());
        }
        location.clone()
    } else {
        let prefix = self::location(&r.prefix)?;
        let wildcard = prefix.starts_with("*.");
        if wildcard && prefix.contains(['/', '@', ':']) {
            return Err(format!("wildcard prefix '{prefix}' must be of the form *.example.com"));
        }
        if !wildcard && location.is_empty() {
            return Err(format!(
                "prefix '{prefix}' has no location (only *.example.com prefixes may omit it)"
            ));
        }
        prefix
    };
    if !r.pull_from_mirror.is_empty() {
        return Err(format!(
            "pull-from-mirror is set on registry '{prefix}'; it belongs in a mirror"
        ));
    }
    let mut mirrors = Vec::new();
    for m in r.mirror {
        let mirror_location = self::location(&m.location)?;
        if mirror_location.is_empty() {
            return Err(format!("a mirror of '{prefix}' has no location"));
        }
        if r.mirror_by_digest_only && !m.pull_from_mirror.is_empty() {
            return Err(format!(
                "'{prefix}' sets mirror-by-digest-only and its mirror '{mirror_location}' sets pull-from-mirror"
            ));
        }
        let pull_from = match m.pull_from_mirror.as_str() {
            "" | "all" => PullFrom::All,
            "digest-only" => PullFrom::DigestOnly,
            "tag-only" => PullFrom::TagOnly,
            other => {
                return Err(format!(
                    "pull-from-mirror '{other}' of mirror '{mirror_location}' is not all, digest-only or tag-only"
                ));
            }
        };
        mirrors.push(Mirror {
            location: mirror_location,
            insecure: m.insecure,
            pull_from,
        });
    }
    Ok(Registry {
        prefix,
        location,
        insecure: r.insecure,
        blocked: r.blocked,
        mirror_by_digest_only: r.mirror_by_digest_only,
        mirrors,
        origin: path.to_path_buf(),
    })
}

/// A location or prefix without trailing slashes; a URL scheme is refused.
fn location(input: &str) -> Result<String, String> {
    let trimmed = input.trim_end_matches('/');
    if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
        return Err(format!("location '{input}' has a URL scheme; write host[:port][/path]"));
    }
    Ok(trimmed.to_string())
}

/// An alias `short = "registry/repository"`: `None` for `""` (a removal).
fn alias(short: &str, target: &str) -> Result<Option<String>, String> {
    let plain = |s: &str| !s.is_empty() && !s.contains(['@', ' ']) && !s.rsplit('/').next().unwrap_or(s).contains(':');
    let first = short.split('/').next().unwrap_or(short);
    if !plain(short) || (short.contains('/') && is_host(first)) {
        return Err(format!(
            "alias '{short}' is not a short name (no registry, tag or digest)"
        ));
    }
    if target.is_empty() {
        return Ok(None);
    }
    match target.split_once('/') {
        Some((host, path)) if is_host(host) && plain(path) => Ok(Some(normalize(host, path))),
        _ => Err(format!(
            "alias '{short}' = '{target}' must name a registry and repository, without tag or digest"
        )),
    }
}

/// The V1 tables as V2 entries: one per location, blocked and/or insecure.
fn from_v1(path: &Path, v1: RawV1) -> Result<File, String> {
    let mut file = File {
        unqualified_search: v1.search.map(|s| s.registries),
        ..File::default()
    };
    let listed = |list: Option<V1List>| list.map(|l| l.registries).unwrap_or_default();
    let marks = listed(v1.block)
        .into_iter()
        .map(|l| (l, true))
        .chain(listed(v1.insecure).into_iter().map(|l| (l, false)));
    for (raw, blocked) in marks {
        let location = location(&raw)?;
        if location.is_empty() {
            return Err("an empty registry in [registries.block] or [registries.insecure]".into());
        }
        let index = match file.registries.iter().position(|r| r.location == location) {
            Some(i) => i,
            None => {
                file.registries.push(Registry {
                    prefix: location.clone(),
                    location,
                    insecure: false,
                    blocked: false,
                    mirror_by_digest_only: false,
                    mirrors: Vec::new(),
                    origin: path.to_path_buf(),
                });
                file.registries.len() - 1
            }
        };
        let registry = &mut file.registries[index];
        if blocked {
            registry.blocked = true;
        } else {
            registry.insecure = true;
        }
    }
    Ok(file)
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}
