//! The one file podup writes for a unit whose `Follow=` moves it to another tag: the
//! unit's own files stay the admin's, and what podup changed is one file it can name,
//! rewrite and take back on rollback.
//!
//! Which file ([`image_target`]): for a Quadlet unit, the drop-in
//! `<name>.container.d/90-podup-image.conf` beside the `.container` file, setting
//! `[Container] Image=` (Quadlet merges drop-ins in file-name order, so a later-sorting
//! drop-in that sets `Image=` would win: [`ImageTarget::takes_effect`] tells). For a plain
//! unit, only when its image already comes from a file podup owns: an `EnvironmentFile=`
//! of exactly `<images_dir>/<unit>.env` (`dirs::images_dir`), whose `PODUP_IMAGE=` line
//! podup rewrites, used in `ExecStart=` as `${PODUP_IMAGE}`. podup never edits a unit
//! file itself; any other plain unit is refused with the reason.
//!
//! Writes are atomic (a temp file in the same directory, fsync, rename, fsync of the
//! directory), so a crash leaves the old file or the new one, never half of either.

use super::HostError;
use super::quadlet::{self, read_file};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The drop-in's file name: late in the order, so that it overrides the admin's usual
/// `10-*.conf` drop-ins, with room after it for one that must win over podup.
pub const DROPIN_NAME: &str = "90-podup-image.conf";
/// The variable a plain unit's environment file holds the image in.
pub const IMAGE_VAR: &str = "PODUP_IMAGE";

/// What podup needs to know of the host to find a unit's image file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Places {
    /// Where Quadlet reads `.container` files (`dirs::quadlet_dirs`).
    pub quadlet_dirs: Vec<PathBuf>,
    /// systemd's unit search path (`dirs::unit_dirs`).
    pub unit_dirs: Vec<PathBuf>,
    /// `dirs::images_dir`; None when the scope has none (a user manager without a home).
    pub images_dir: Option<PathBuf>,
}

/// The file that says which image a unit runs, and that podup may write.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageTarget {
    /// A Quadlet unit: the drop-in at `path`; `image` is what its files say now.
    QuadletDropin { path: PathBuf, image: String },
    /// A plain unit whose image is `var` in the environment file at `path`.
    EnvFile { path: PathBuf, var: String },
}

/// `<dir>/<name>.d/90-podup-image.conf` for the Quadlet file `<dir>/<name>`
/// (`app.container` → `app.container.d/90-podup-image.conf`).
pub fn quadlet_dropin_path(quadlet_file_dir: &Path, quadlet_file_name: &str) -> PathBuf {
    quadlet_file_dir
        .join(format!("{quadlet_file_name}.d"))
        .join(DROPIN_NAME)
}

/// Where `unit`'s image can be set, or why podup will not set it (one sentence).
pub fn image_target(places: &Places, unit: &str) -> Result<ImageTarget, String> {
    if let Some((file, merged)) = quadlet::container_file(unit, &places.quadlet_dirs).map_err(|e| e.to_string())? {
        let image = merged.get("Container", "Image").unwrap_or("").to_string();
        if image.is_empty() || image.ends_with(".image") || image.ends_with(".build") {
            return Err(format!(
                "Follow= cannot move '{unit}' to another tag: '{}' names no image reference in Image= ('{image}')",
                file.display()
            ));
        }
        let dir = file.parent().unwrap_or(Path::new("/"));
        let name = file.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        let path = quadlet_dropin_path(dir, &name);
        return Ok(ImageTarget::QuadletDropin { path, image });
    }
    let Some(expected) = places.images_dir.as_ref().map(|d| d.join(format!("{unit}.env"))) else {
        return Err(format!(
            "Follow= on a plain unit needs its image in an environment file podup owns, and this \
             user manager has no place for one (neither XDG_CONFIG_HOME nor HOME is set); '{unit}' has none"
        ));
    };
    let refused = || {
        format!(
            "Follow= on a plain unit needs its image in an environment file podup owns ({}); '{unit}' has none",
            expected.display()
        )
    };
    let file = quadlet::load(unit, &places.unit_dirs).map_err(|e| e.to_string())?;
    let Some(file) = file else {
        return Err(refused());
    };
    let owned = file
        .get_all("Service", "EnvironmentFile")
        .iter()
        .any(|f| Path::new(f.strip_prefix('-').unwrap_or(f)) == expected);
    if !owned {
        return Err(refused());
    }
    let uses = file
        .get_all("Service", "ExecStart")
        .iter()
        .any(|e| e.contains(&format!("${{{IMAGE_VAR}}}")) || e.contains(&format!("${IMAGE_VAR}")));
    if !uses {
        return Err(format!(
            "Follow= on '{unit}' would rewrite {IMAGE_VAR}= in {}, but its ExecStart= does not use ${{{IMAGE_VAR}}}",
            expected.display()
        ));
    }
    Ok(ImageTarget::EnvFile {
        path: expected,
        var: IMAGE_VAR.to_string(),
    })
}

impl ImageTarget {
    pub fn path(&self) -> &Path {
        match self {
            ImageTarget::QuadletDropin { path, .. } | ImageTarget::EnvFile { path, .. } => path,
        }
    }

    /// Whether the manager must reload for a change to count: Quadlet's services are
    /// generated from its files at `daemon-reload`; an environment file is read at each start.
    pub fn needs_daemon_reload(&self) -> bool {
        matches!(self, ImageTarget::QuadletDropin { .. })
    }

    /// The file's content now (None: there is none), to put back on rollback.
    pub fn current(&self) -> Result<Option<String>, HostError> {
        read_file(self.path())
    }

    /// Points the unit at `image_ref` (`ghcr.io/acme/app:1.5.0`).
    pub fn point_at(&self, image_ref: &str) -> Result<(), HostError> {
        match self {
            ImageTarget::QuadletDropin { path, .. } => write_image_dropin(path, image_ref),
            ImageTarget::EnvFile { path, var } => {
                let previous = read_file(path)?;
                write_atomic(path, &env_text(previous.as_deref(), var, image_ref))
            }
        }
    }

    /// Puts back what [`ImageTarget::current`] returned: the old content, or no file.
    pub fn restore(&self, previous: Option<&str>) -> Result<(), HostError> {
        match (self, previous) {
            (_, Some(text)) => write_atomic(self.path(), text),
            (ImageTarget::QuadletDropin { path, .. }, None) => remove_image_dropin(path),
            (ImageTarget::EnvFile { path, .. }, None) => remove_file(path),
        }
    }

    /// After [`ImageTarget::point_at`]: whether the unit's files now name `image_ref`
    /// (a Quadlet drop-in sorting after podup's may set `Image=` again); why not, if not.
    pub fn takes_effect(&self, places: &Places, unit: &str, image_ref: &str) -> Result<(), String> {
        if let ImageTarget::QuadletDropin { .. } = self {
            let now = quadlet::image_for_service(unit, &places.quadlet_dirs).map_err(|e| e.to_string())?;
            if now.as_deref() != Some(image_ref) {
                return Err(format!(
                    "'{unit}' still runs Image={} after podup's {DROPIN_NAME}: a drop-in sorting after it sets Image=",
                    now.unwrap_or_default()
                ));
            }
        }
        Ok(())
    }
}

/// The drop-in's text: a comment saying whose it is, and the image.
pub fn dropin_text(image_ref: &str) -> String {
    format!(
        "# Written by podup for Follow=: it rewrites this file when it moves the unit to a new tag\n\
         # and removes it on rollback. Set the image in the .container file, not here.\n\
         [Container]\nImage={image_ref}\n"
    )
}

/// Writes the drop-in at `path` (creating its `.d` directory), atomically.
pub fn write_image_dropin(path: &Path, image_ref: &str) -> Result<(), HostError> {
    write_atomic(path, &dropin_text(image_ref))
}

/// Removes the drop-in (a missing one is fine), and its `.d` directory when that is left
/// empty, as it was before podup wrote into it.
pub fn remove_image_dropin(path: &Path) -> Result<(), HostError> {
    remove_file(path)?;
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir(dir); // fails, as it should, when other drop-ins are there
    }
    Ok(())
}

/// `previous` with its `var=` lines replaced by one naming `image_ref` (added at the end
/// when there was none); every other line kept as it was.
pub fn env_text(previous: Option<&str>, var: &str, image_ref: &str) -> String {
    let assignment = format!("{var}={image_ref}");
    let is_var = |line: &str| {
        line.trim_start()
            .strip_prefix(var)
            .is_some_and(|r| r.trim_start().starts_with('='))
    };
    let mut out = Vec::new();
    let mut placed = false;
    for line in previous.unwrap_or("").lines() {
        match is_var(line) {
            true if placed => {}
            true => {
                out.push(assignment.clone());
                placed = true;
            }
            false => out.push(line.to_string()),
        }
    }
    if !placed {
        out.push(assignment);
    }
    out.join("\n") + "\n"
}

/// Replaces `path` with `text`: a temp file beside it, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), HostError> {
    let failed = |e: std::io::Error| unwritable(path, e);
    let dir = path.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir).map_err(failed)?;
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.podup-{}", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.map_err(failed)
}

fn remove_file(path: &Path) -> Result<(), HostError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(unwritable(path, e)),
        _ => Ok(()),
    }
}

fn unwritable(path: &Path, e: std::io::Error) -> HostError {
    HostError {
        kind: "image_file_unwritable",
        message: format!("cannot write '{}': {e}", path.display()),
        record: None,
    }
}

#[cfg(test)]
mod tests;
