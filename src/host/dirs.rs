//! Where unit files live: the directories Quadlet reads `.container` and `.kube` files
//! from, systemd's unit search path (where discovery looks for plain unit files), and the
//! directory of the image environment files podup owns (`image_dropin`). All depend only
//! on the scope and a few environment values passed in.

use super::Scope;
use std::path::{Path, PathBuf};

/// The directories Quadlet reads, earlier ones first: for `System`, /run/containers/systemd
/// (podman 5.3 and later), /etc/containers/systemd, /usr/share/containers/systemd; for `User`,
/// $XDG_RUNTIME_DIR/containers/systemd (5.3 and later), $XDG_CONFIG_HOME/containers/systemd
/// (or ~/.config/containers/systemd), /etc/containers/systemd/users/$UID and
/// /etc/containers/systemd/users. `lookup` reads XDG_RUNTIME_DIR, XDG_CONFIG_HOME and HOME;
/// unset, empty or relative values are skipped as the XDG spec says.
pub fn quadlet_dirs(scope: Scope, lookup: impl Fn(&str) -> Option<String>, uid: u32) -> Vec<PathBuf> {
    let absolute = |name: &str| lookup(name).map(PathBuf::from).filter(|p| p.is_absolute());
    match scope {
        Scope::System => [
            "/run/containers/systemd",
            "/etc/containers/systemd",
            "/usr/share/containers/systemd",
        ]
        .iter()
        .map(PathBuf::from)
        .collect(),
        Scope::User => {
            let mut dirs = Vec::new();
            dirs.extend(absolute("XDG_RUNTIME_DIR").map(|d| d.join("containers/systemd")));
            let config = absolute("XDG_CONFIG_HOME").or_else(|| absolute("HOME").map(|h| h.join(".config")));
            dirs.extend(config.map(|d| d.join("containers/systemd")));
            dirs.push(PathBuf::from(format!("/etc/containers/systemd/users/{uid}")));
            dirs.push(PathBuf::from("/etc/containers/systemd/users"));
            dirs
        }
    }
}

/// systemd's unit search path for `scope` (for plain unit files), earlier ones first;
/// for `User`, `config_home` ($XDG_CONFIG_HOME or ~/.config) comes first when known.
pub fn unit_dirs(scope: Scope, config_home: Option<&str>) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    match scope {
        Scope::User => {
            if let Some(h) = config_home {
                dirs.push(Path::new(h).join("systemd/user"));
            }
            dirs.extend(["/etc/systemd/user", "/run/systemd/user", "/usr/lib/systemd/user"].map(Into::into));
        }
        Scope::System => dirs.extend(
            [
                "/etc/systemd/system",
                "/run/systemd/system",
                "/usr/lib/systemd/system",
                "/lib/systemd/system",
            ]
            .map(Into::into),
        ),
    }
    dirs
}

/// Where podup keeps the environment files of plain units whose `Follow=` moves their tag
/// (`<dir>/<unit>.env`, holding `PODUP_IMAGE=`): /etc/podup/images for `System`;
/// `config_home`/podup/images for `User` ($XDG_CONFIG_HOME or ~/.config), None when unknown.
pub fn images_dir(scope: Scope, config_home: Option<&str>) -> Option<PathBuf> {
    match scope {
        Scope::System => Some(PathBuf::from("/etc/podup/images")),
        Scope::User => config_home
            .map(PathBuf::from)
            .filter(|h| h.is_absolute())
            .map(|h| h.join("podup/images")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn quadlet_dirs_for_both_scopes() {
        let env: BTreeMap<&str, &str> = [
            ("HOME", "/home/u"),
            ("XDG_CONFIG_HOME", "relative/ignored"),
            ("XDG_RUNTIME_DIR", "/run/user/1000"),
        ]
        .into();
        let lookup = |n: &str| env.get(n).map(|v| v.to_string());
        assert_eq!(
            quadlet_dirs(Scope::User, lookup, 1000),
            [
                "/run/user/1000/containers/systemd",
                "/home/u/.config/containers/systemd",
                "/etc/containers/systemd/users/1000",
                "/etc/containers/systemd/users"
            ]
            .map(PathBuf::from)
        );
        let xdg = |n: &str| (n == "XDG_CONFIG_HOME").then(|| "/cfg".to_string());
        assert_eq!(
            quadlet_dirs(Scope::User, xdg, 0)[0],
            PathBuf::from("/cfg/containers/systemd")
        );
        assert_eq!(
            quadlet_dirs(Scope::System, |_| None, 0),
            [
                "/run/containers/systemd",
                "/etc/containers/systemd",
                "/usr/share/containers/systemd"
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn images_dir_for_both_scopes() {
        assert_eq!(
            images_dir(Scope::System, Some("/ignored")),
            Some("/etc/podup/images".into())
        );
        assert_eq!(
            images_dir(Scope::User, Some("/home/u/.config")),
            Some("/home/u/.config/podup/images".into())
        );
        assert_eq!(images_dir(Scope::User, None), None);
        assert_eq!(images_dir(Scope::User, Some("relative")), None);
    }

    #[test]
    fn unit_dirs_for_both_scopes() {
        assert_eq!(
            unit_dirs(Scope::User, Some("/home/u/.config")),
            [
                "/home/u/.config/systemd/user",
                "/etc/systemd/user",
                "/run/systemd/user",
                "/usr/lib/systemd/user"
            ]
            .map(PathBuf::from)
        );
        assert_eq!(unit_dirs(Scope::User, None)[0], PathBuf::from("/etc/systemd/user"));
        assert_eq!(
            unit_dirs(Scope::System, Some("/ignored")),
            [
                "/etc/systemd/system",
                "/run/systemd/system",
                "/usr/lib/systemd/system",
                "/lib/systemd/system"
            ]
            .map(PathBuf::from)
        );
    }
}
