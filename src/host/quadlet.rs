//! Quadlet files (`app.container` → `app.service`): which image a Quadlet-generated service
//! runs (the file syntax is `unit_file`'s; the directories Quadlet reads are `dirs`').
//! Pure parsing plus file reads; nothing here runs a program. Debian 12's podman 4.3.1 ships
//! no Quadlet, so this follows podman-systemd.unit(5) and Quadlet's source, and is tested
//! with files in a temp dir.
//!
//! Lookup rules, as Quadlet applies them: a file name found in an earlier directory hides the
//! same name in later ones; a `.container` file becomes `<stem>.service` unless
//! `[Container] ServiceName=` names another; a template instance `foo@bar.service` comes from
//! `foo@bar.container` or else `foo@.container`; drop-ins (`*.conf`) are collected from every
//! directory in `<name>.container.d`, `foo@.container.d` (instances), `foo-.container.d`
//! (dash prefixes) and `container.d`, the first file of each name winning, then merged in
//! file-name order, so a later file overrides an earlier one. Specifiers (`%i`) are not expanded.

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
    let Some((_, unit)) = container_for(stem, dirs)? else {
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

/// The `.container` file that makes `service` (the first of its name in `dirs`, the one
/// Quadlet reads), and that file with its drop-ins applied. None when no file makes it.
pub fn container_file(service: &str, dirs: &[PathBuf]) -> Result<Option<(PathBuf, UnitFile)>, HostError> {
    let Some(stem) = service.strip_suffix(".service").filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let Some((name, unit)) = container_for(stem, dirs)? else {
        return Ok(None);
    };
    let path = dirs.iter().map(|d| d.join(&name)).find(|p| p.is_file());
    Ok(path.map(|p| (p, unit)))
}

/// The `.container` file (its name, and it with drop-ins) whose service is `<stem>.service`.
fn container_for(stem: &str, dirs: &[PathBuf]) -> Result<Option<(String, UnitFile)>, HostError> {
    let mut candidates = vec![format!("{stem}.container")];
    if let Some((base, _)) = stem.split_once('@').filter(|(_, instance)| !instance.is_empty()) {
        candidates.push(format!("{base}@.container"));
    }
    for name in &candidates {
        if let Some(unit) = load(name, dirs)? {
            let own = name.trim_end_matches(".container");
            match unit.get("Container", "ServiceName") {
                None => return Ok(Some((name.clone(), unit))),
                Some(s) if s == stem || s == own => return Ok(Some((name.clone(), unit))),
                Some(_) => {} // renamed: this file makes another service
            }
        }
    }
    // Some other file may name its service after `stem`.
    let mut seen = Vec::new();
    for dir in dirs {
        for name in read_names(dir, ".container")? {
            if seen.contains(&name) || candidates.contains(&name) {
                continue;
            }
            seen.push(name.clone());
            if let Some(unit) = load(&name, dirs)? {
                if unit.get("Container", "ServiceName") == Some(stem) {
                    return Ok(Some((name, unit)));
                }
            }
        }
    }
    Ok(None)
}

/// The first file called `name` in `dirs`, parsed, with its drop-ins applied.
pub fn load(name: &str, dirs: &[PathBuf]) -> Result<Option<UnitFile>, HostError> {
    for dir in dirs {
        let Some(text) = read_file(&dir.join(name))? else {
            continue;
        };
        let mut unit = parse_unit(&text);
        let mut dropins: Vec<(String, PathBuf)> = Vec::new();
        for dir in dirs {
            for sub in dropin_dirs(name) {
                for conf in read_names(&dir.join(&sub), ".conf")? {
                    if !dropins.iter().any(|(n, _)| *n == conf) {
                        dropins.push((conf.clone(), dir.join(&sub).join(conf)));
                    }
                }
            }
        }
        dropins.sort();
        for (_, dropin) in dropins {
            if let Some(text) = read_file(&dropin)? {
                unit.merge(parse_unit(&text));
            }
        }
        return Ok(Some(unit));
    }
    Ok(None)
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
mod tests {
    use super::*;

    /// A fresh directory tree: `files` maps relative paths to contents.
    fn tree(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let root = crate::testing::scratch_dir(&format!("quadlet-{name}"));
        for (rel, text) in files {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        root
    }

    fn dirs(root: &Path) -> Vec<PathBuf> {
        vec![root.join("first"), root.join("second")]
    }

    #[test]
    fn image_comes_from_the_first_directory_with_dropins_in_name_order() {
        let root = tree(
            "dropins",
            &[
                ("first/app.container", "[Container]\nImage=reg/app:1\n"),
                ("second/app.container", "[Container]\nImage=reg/hidden:1\n"),
                ("second/app.container.d/20-tag.conf", "[Container]\nImage=reg/app:20\n"),
                ("first/app.container.d/10-tag.conf", "[Container]\nImage=reg/app:10\n"),
                ("first/container.d/30-all.conf", "[Container]\nImage=reg/app:30\n"),
                // for app.container the specific 10-tag.conf hides this one; other.container gets it
                ("first/container.d/10-tag.conf", "[Container]\nImage=reg/all:10\n"),
                (
                    "first/app.container.d/notes.txt",
                    "[Container]\nImage=reg/not-a-conf:1\n",
                ),
                ("first/other.container", "[Container]\nImage=reg/other:1\n"),
            ],
        );
        assert_eq!(
            image_for_service("app.service", &dirs(&root)).unwrap().as_deref(),
            Some("reg/app:30")
        );
        std::fs::remove_file(root.join("first/container.d/30-all.conf")).unwrap();
        assert_eq!(
            image_for_service("app.service", &dirs(&root)).unwrap().as_deref(),
            Some("reg/app:20")
        );
        assert_eq!(
            image_for_service("other.service", &dirs(&root)).unwrap().as_deref(),
            Some("reg/all:10")
        );
        assert_eq!(image_for_service("missing.service", &dirs(&root)).unwrap(), None);
        assert_eq!(image_for_service("app.socket", &dirs(&root)).unwrap(), None);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn dash_prefix_and_template_dropins_apply() {
        let root = tree(
            "template",
            &[
                ("first/web-api.container", "[Container]\nImage=reg/api:1\n"),
                ("first/web-.container.d/10.conf", "[Container]\nImage=reg/api:dash\n"),
                ("first/sleep@.container", "[Container]\nImage=reg/sleep:1\n"),
                ("first/sleep@10.container", "[Container]\nImage=reg/sleep:1\n"),
                (
                    "first/sleep@10.container.d/10-image.conf",
                    "[Container]\nImage=reg/sleep:10\n",
                ),
            ],
        );
        let d = dirs(&root);
        assert_eq!(
            image_for_service("web-api.service", &d).unwrap().as_deref(),
            Some("reg/api:dash")
        );
        assert_eq!(
            image_for_service("sleep@10.service", &d).unwrap().as_deref(),
            Some("reg/sleep:10")
        );
        assert_eq!(
            image_for_service("sleep@50.service", &d).unwrap().as_deref(),
            Some("reg/sleep:1")
        );
        assert_eq!(
            dropin_dirs("a-b-c@x.container"),
            [
                "a-b-c@x.container.d",
                "a-b-c@.container.d",
                "a-b-.container.d",
                "a-.container.d",
                "container.d"
            ]
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn service_name_moves_the_container_to_another_service() {
        let root = tree(
            "servicename",
            &[
                (
                    "first/web.container",
                    "[Container]\nImage=reg/web:1\nServiceName=frontend\n",
                ),
                ("second/web.container.d/name.conf", "[Container]\nImage=reg/web:2\n"),
            ],
        );
        let d = dirs(&root);
        assert_eq!(
            image_for_service("frontend.service", &d).unwrap().as_deref(),
            Some("reg/web:2")
        );
        assert_eq!(image_for_service("web.service", &d).unwrap(), None);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn image_and_build_references_resolve_through_their_files() {
        let root = tree(
            "refs",
            &[
                ("first/a.container", "[Container]\nImage=base.image\n"),
                ("second/base.image", "[Image]\nImage=reg/base:7\n"),
                ("first/b.container", "[Container]\nImage=arch.image\n"),
                (
                    "first/arch.image",
                    "[Image]\nImage=docker-archive:/a.tar\nImageTag=reg/arch:1\n",
                ),
                ("first/c.container", "[Container]\nImage=local.build\n"),
                (
                    "first/local.build",
                    "[Build]\nImageTag=localhost/built:1\nImageTag=localhost/built:alias\n",
                ),
                ("first/d.container", "[Container]\nImage=gone.image\n"),
                ("first/e.container", "[Container]\nRootfs=/srv/root\n"),
            ],
        );
        let d = dirs(&root);
        assert_eq!(
            image_for_service("a.service", &d).unwrap().as_deref(),
            Some("reg/base:7")
        );
        assert_eq!(
            image_for_service("b.service", &d).unwrap().as_deref(),
            Some("reg/arch:1")
        );
        assert_eq!(
            image_for_service("c.service", &d).unwrap().as_deref(),
            Some("localhost/built:1")
        );
        assert_eq!(image_for_service("d.service", &d).unwrap_err().kind, "quadlet_invalid");
        assert_eq!(image_for_service("e.service", &d).unwrap(), None);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn the_file_that_makes_a_service_is_the_first_of_its_name() {
        let root = tree(
            "container-file",
            &[
                ("first/app.container", "[Container]\nImage=reg/app:1\n"),
                ("second/app.container", "[Container]\nImage=reg/hidden:1\n"),
                (
                    "second/web.container",
                    "[Container]\nImage=reg/web:1\nServiceName=front\n",
                ),
            ],
        );
        let d = dirs(&root);
        let (path, unit) = container_file("app.service", &d).unwrap().unwrap();
        assert_eq!(path, root.join("first/app.container"));
        assert_eq!(unit.get("Container", "Image"), Some("reg/app:1"));
        let (path, _) = container_file("front.service", &d).unwrap().unwrap();
        assert_eq!(path, root.join("second/web.container"));
        assert_eq!(container_file("web.service", &d).unwrap(), None);
        assert_eq!(container_file("app.socket", &d).unwrap(), None);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn an_unreadable_file_is_an_error_naming_it() {
        let root = tree("unreadable", &[]);
        std::fs::create_dir_all(root.join("first")).unwrap();
        std::fs::write(root.join("first/bad.container"), [0xff, 0xfe, b'\n']).unwrap();
        let e = image_for_service("bad.service", &dirs(&root)).unwrap_err();
        assert_eq!(e.kind, "unit_file_unreadable");
        assert!(e.message.contains("first/bad.container"), "{e}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
