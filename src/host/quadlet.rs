//! Quadlet files (`app.container` → `app.service`): which image a Quadlet-generated service
//! runs, and which files define it (the file syntax is `unit_file`'s; the directories Quadlet
//! reads are `dirs`'). Pure parsing plus file reads; nothing here runs a program. Debian 12's
//! podman 4.3.1 ships no Quadlet, so this follows podman-systemd.unit(5) and Quadlet's
//! source, and is tested with files in a temp dir.
//!
//! Lookup rules, as Quadlet applies them: a file name found in an earlier directory hides the
//! same name in later ones; a `.container` file becomes `<stem>.service` unless
//! `[Container] ServiceName=` names another (a `.kube` file likewise, with `[Kube]`); a
//! template instance `foo@bar.service` comes from `foo@bar.container` or else
//! `foo@.container`; drop-ins (`*.conf`) are collected from every directory in
//! `<name>.container.d`, `foo@.container.d` (instances), `foo-.container.d` (dash prefixes)
//! and `container.d`, the first file of each name winning, then merged in file-name order,
//! so a later file overrides an earlier one. systemd finds a plain unit's drop-ins by the
//! same rules. Specifiers (`%i`) are not expanded.

use super::HostError;
pub use super::unit_file::{UnitFile, parse_unit};
use std::io;
use std::path::{Path, PathBuf};

/// The image the Quadlet-generated `service` runs: `[Container] Image=` after drop-ins, with
/// `x.image` and `x.build` references resolved through those files. `None` when no
/// `.container` file makes that service, or it names no image.
pub fn image_for_service(service: &str, dirs: &[PathBuf]) -> Result<Option<String>, HostError> {
    let Some(stem) = service.strip_suffix(".service").filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let Some(unit) = container_for(stem, dirs)? else {
        return Ok(None);
    };
    let Some(image) = unit.get("Container", "Image") else {
        return Ok(None);
    };
    let group = match image.rsplit_once('.') {
        Some((_, "image")) => "Image",
        Some((_, "build")) => "Build",
        _ => return Ok(Some(image.to_string())),
    };
    let Some(referenced) = load(image, dirs)? else {
        let searched: Vec<String> = dirs.iter().map(|d| format!("'{}'", d.display())).collect();
        return Err(HostError {
            kind: "quadlet_invalid",
            message: format!(
                "'{service}' runs image '{image}', but no file '{image}' is in {}",
                searched.join(", ")
            ),
            record: None,
        });
    };
    let resolved = if group == "Image" {
        // ImageTag= names the image when Image= is an archive or a directory
        referenced
            .get("Image", "ImageTag")
            .or_else(|| referenced.get("Image", "Image"))
    } else {
        // the first ImageTag= names the built image
        referenced.get_all("Build", "ImageTag").first().copied()
    };
    Ok(resolved.map(str::to_string))
}

/// The Quadlet file that makes `service` (a `.container`, else a `.kube` file) and its
/// drop-ins: the paths in the order they apply, so a later one overrides an earlier one.
/// `None` when no Quadlet file makes that service.
pub fn files_for_service(service: &str, dirs: &[PathBuf]) -> Result<Option<Vec<PathBuf>>, HostError> {
    let Some(stem) = service.strip_suffix(".service").filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    for (ext, section) in [("container", "Container"), ("kube", "Kube")] {
        if let Some((name, _)) = quadlet_for(stem, ext, section, dirs)? {
            return files(&name, dirs);
        }
    }
    Ok(None)
}

/// The `.container` file that makes `service` (the first of its name in `dirs`, the one
/// Quadlet reads), and that file with its drop-ins applied. None when no file makes it.
pub fn container_file(service: &str, dirs: &[PathBuf]) -> Result<Option<(PathBuf, UnitFile)>, HostError> {
    let Some(stem) = service.strip_suffix(".service").filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let Some((name, unit)) = quadlet_for(stem, "container", "Container", dirs)? else {
        return Ok(None);
    };
    let path = dirs.iter().map(|d| d.join(&name)).find(|p| p.is_file());
    Ok(path.map(|p| (p, unit)))
}

/// The `.container` file (with drop-ins) whose service is `<stem>.service`.
fn container_for(stem: &str, dirs: &[PathBuf]) -> Result<Option<UnitFile>, HostError> {
    Ok(quadlet_for(stem, "container", "Container", dirs)?.map(|(_, unit)| unit))
}

/// The Quadlet file of kind `ext` (`container`, `kube`) whose service is `<stem>.service`:
/// its name and its contents with drop-ins. `section` holds its `ServiceName=`.
fn quadlet_for(
    stem: &str,
    ext: &str,
    section: &str,
    dirs: &[PathBuf],
) -> Result<Option<(String, UnitFile)>, HostError> {
    let mut candidates = vec![format!("{stem}.{ext}")];
    if let Some((base, _)) = stem.split_once('@').filter(|(_, instance)| !instance.is_empty()) {
        candidates.push(format!("{base}@.{ext}"));
    }
    for name in &candidates {
        if let Some(unit) = load(name, dirs)? {
            let own = name.trim_end_matches(&format!(".{ext}"));
            match unit.get(section, "ServiceName") {
                None => return Ok(Some((name.clone(), unit))),
                Some(s) if s == stem || s == own => return Ok(Some((name.clone(), unit))),
                Some(_) => {} // renamed: this file makes another service
            }
        }
    }
    // Some other file may name its service after `stem`.
    let mut seen = Vec::new();
    for dir in dirs {
        for name in read_names(dir, &format!(".{ext}"))? {
            if seen.contains(&name) || candidates.contains(&name) {
                continue;
            }
            seen.push(name.clone());
            if let Some(unit) = load(&name, dirs)? {
                if unit.get(section, "ServiceName") == Some(stem) {
                    return Ok(Some((name, unit)));
                }
            }
        }
    }
    Ok(None)
}

/// The first file called `name` in `dirs`, parsed, with its drop-ins applied.
pub fn load(name: &str, dirs: &[PathBuf]) -> Result<Option<UnitFile>, HostError> {
    let Some(paths) = files(name, dirs)? else {
        return Ok(None);
    };
    let mut unit = UnitFile::default();
    for path in paths {
        if let Some(text) = read_file(&path)? {
            unit.merge(parse_unit(&text));
        }
    }
    Ok(Some(unit))
}

/// The first file called `name` in `dirs`, then its drop-ins (`*.conf` in every directory's
/// drop-in directories for `name`, the first file of each name winning) sorted by file name:
/// the order in which they apply. `None` when no directory has that file.
pub fn files(name: &str, dirs: &[PathBuf]) -> Result<Option<Vec<PathBuf>>, HostError> {
    files_as(&[name.to_string()], name, dirs)
}

/// A plain systemd unit's files, as [`files`]: for an instance `foo@bar.service` without a
/// file of its own, the template `foo@.service`, with the instance's drop-ins.
pub fn unit_files(unit: &str, dirs: &[PathBuf]) -> Result<Option<Vec<PathBuf>>, HostError> {
    let mut names = vec![unit.to_string()];
    if let Some((base, rest)) = unit.split_once('@') {
        if let Some((_, ext)) = rest.rsplit_once('.').filter(|(instance, _)| !instance.is_empty()) {
            names.push(format!("{base}@.{ext}"));
        }
    }
    files_as(&names, unit, dirs)
}

/// The first of `names` found in `dirs` (earlier names first), then the drop-ins of `unit`.
fn files_as(names: &[String], unit: &str, dirs: &[PathBuf]) -> Result<Option<Vec<PathBuf>>, HostError> {
    let Some(main) = names
        .iter()
        .find_map(|name| dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()))
    else {
        return Ok(None);
    };
    let mut dropins: Vec<(String, PathBuf)> = Vec::new();
    for dir in dirs {
        for sub in dropin_dirs(unit) {
            for conf in read_names(&dir.join(&sub), ".conf")? {
                if !dropins.iter().any(|(n, _)| *n == conf) {
                    dropins.push((conf.clone(), dir.join(&sub).join(conf)));
                }
            }
        }
    }
    dropins.sort();
    let mut paths = vec![main];
    paths.extend(dropins.into_iter().map(|(_, path)| path));
    Ok(Some(paths))
}

/// Drop-in directory names for unit file `name`, most specific first.
fn dropin_dirs(name: &str) -> Vec<String> {
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return Vec::new();
    };
    let mut dirs = vec![format!("{name}.d")];
    if let Some((base, _)) = stem.split_once('@').filter(|(_, instance)| !instance.is_empty()) {
        dirs.push(format!("{base}@.{ext}.d"));
    }
    let parts: Vec<&str> = stem.split('-').collect();
    for n in (1..parts.len()).rev() {
        dirs.push(format!("{}-.{ext}.d", parts[..n].join("-")));
    }
    dirs.push(format!("{ext}.d"));
    dirs
}

/// The file's text; `None` when it does not exist or is not a file.
pub fn read_file(path: &Path) -> Result<Option<String>, HostError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::IsADirectory
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(unreadable(path, e)),
    }
}

/// Names of the entries of `dir` ending in `suffix`, sorted; none when `dir` does not exist.
pub fn read_names(dir: &Path, suffix: &str) -> Result<Vec<String>, HostError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => return Ok(Vec::new()),
        Err(e) => return Err(unreadable(dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let name = entry
            .map_err(|e| unreadable(dir, e))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(suffix) && name.len() > suffix.len() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

fn unreadable(path: &Path, e: io::Error) -> HostError {
    HostError {
        kind: "unit_file_unreadable",
        message: format!("cannot read '{}': {e}", path.display()),
        record: None,
    }
}

#[cfg(test)]
#[path = "quadlet_tests.rs"]
mod tests;
