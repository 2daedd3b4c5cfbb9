//! The three scans of discovery, each returning what it found and the failures
//! (naming the file or command and its error) without stopping at the first.

use super::Found;
use crate::host::Host;
use crate::host::quadlet::{self, load, read_names};
use crate::host::unit_file::UnitFile;
use crate::services::valid_unit;
use std::path::PathBuf;

/// The `X-PodUp-Webhook=` marker of a unit file: Some(true) yes, Some(false) no.
pub fn marker(unit: &UnitFile) -> Option<bool> {
    let v = unit.get("Unit", "X-PodUp-Webhook")?.trim().to_ascii_lowercase();
    match v.as_str() {
        "yes" | "true" | "1" | "on" => Some(true),
        "no" | "false" | "0" | "off" => Some(false),
        _ => None,
    }
}

/// Whether a Quadlet file is webhook-capable: the marker decides when present,
/// else `AutoUpdate=registry` in its main section.
pub fn quadlet_wanted(unit: &UnitFile, section: &str) -> bool {
    match marker(unit) {
        Some(m) => m,
        None => unit.get(section, "AutoUpdate").is_some_and(|v| v.trim() == "registry"),
    }
}

/// The first `image:` in a Kubernetes YAML (what a `.kube` unit runs).
pub fn kube_image(yaml: &str) -> Option<String> {
    yaml.lines()
        .filter_map(|l| l.trim().trim_start_matches("- ").strip_prefix("image:"))
        .map(|v| v.trim().trim_matches(['"', '\'']).to_string())
        .find(|v| !v.is_empty())
}

pub fn quadlet(dirs: &[PathBuf]) -> (Vec<Found>, Vec<String>) {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    let mut names: Vec<(String, &'static str)> = Vec::new();
    for dir in dirs {
        for (suffix, section) in [(".container", "Container"), (".kube", "Kube")] {
            match read_names(dir, suffix) {
                Ok(list) => names.extend(
                    list.into_iter()
                        .filter(|n| !names.iter().any(|(m, _)| m == n))
                        .map(|n| (n, section))
                        .collect::<Vec<_>>(),
                ),
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    for (name, section) in names {
        let unit = match load(&name, dirs) {
            Ok(Some(u)) => u,
            Ok(None) => continue,
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        };
        if !quadlet_wanted(&unit, section) {
            continue;
        }
        let stem = name.rsplit_once('.').map_or(name.as_str(), |(s, _)| s);
        let service = unit
            .get(section, "ServiceName")
            .map(|s| format!("{}.service", s.trim_end_matches(".service")))
            .unwrap_or_else(|| format!("{stem}.service"));
        if !valid_unit(&service) || service.contains("@.") {
            continue;
        }
        let image = if section == "Container" {
            unit.get("Container", "Image").map(str::to_string)
        } else {
            unit.get("Kube", "Yaml").and_then(|y| {
                let path = dirs.iter().map(|d| d.join(y)).find(|p| p.is_file())?;
                quadlet::read_file(&path).ok().flatten().and_then(|t| kube_image(&t))
            })
        };
        found.push(Found {
            unit: service,
            source: "quadlet",
            image,
            detail: name,
        });
    }
    (found, errors)
}

pub fn unit_files(dirs: &[PathBuf]) -> (Vec<Found>, Vec<String>) {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for dir in dirs {
        let names = match read_names(dir, ".service") {
            Ok(n) => n,
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        };
        for name in names {
            if seen.contains(&name) || !valid_unit(&name) || name.ends_with("@.service") {
                continue;
            }
            seen.push(name.clone());
            let unit = match load(&name, std::slice::from_ref(dir)) {
                Ok(Some(u)) => u,
                Ok(None) => continue,
                Err(e) => {
                    errors.push(e.to_string());
                    continue;
                }
            };
            if marker(&unit) == Some(true) {
                let image = unit.get("Unit", "X-PodUp-Image").map(str::to_string);
                found.push(Found {
                    unit: name.clone(),
                    source: "unit-file",
                    image,
                    detail: dir.join(&name).display().to_string(),
                });
            }
        }
    }
    (found, errors)
}

pub fn containers(host: &Host) -> (Vec<Found>, Vec<String>) {
    match host.labelled_running() {
        Ok(list) => {
            let found = list
                .into_iter()
                .filter_map(|c| {
                    let unit = c.labels.get("PODMAN_SYSTEMD_UNIT")?.clone();
                    valid_unit(&unit).then(|| Found {
                        unit,
                        source: "container",
                        image: Some(c.image.clone()).filter(|i| !i.is_empty()),
                        detail: c.names.first().cloned().unwrap_or(c.id),
                    })
                })
                .collect();
            (found, Vec::new())
        }
        Err(e) => (Vec::new(), vec![e.to_string()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &std::path::Path, name: &str, text: &str) {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn quadlet_markers_autoupdate_and_dropins() {
        let d = crate::testing::scratch_dir("discover");
        write(
            &d,
            "auto.container",
            "[Container]\nImage=ghcr.io/a/auto:1\nAutoUpdate=registry\n",
        );
        write(
            &d,
            "marked.container",
            "[Unit]\nX-PodUp-Webhook=yes\n[Container]\nImage=ghcr.io/a/marked:1\n",
        );
        write(
            &d,
            "optout.container",
            "[Unit]\nX-PodUp-Webhook=no\n[Container]\nImage=ghcr.io/a/o:1\nAutoUpdate=registry\n",
        );
        write(&d, "plain.container", "[Container]\nImage=ghcr.io/a/plain:1\n");
        // A drop-in turns plain into auto-updating and changes its image.
        write(
            &d,
            "plain.container.d/10-auto.conf",
            "[Container]\nAutoUpdate=registry\nImage=ghcr.io/a/plain:2\n",
        );
        write(
            &d,
            "named.container",
            "[Container]\nImage=ghcr.io/a/n:1\nAutoUpdate=registry\nServiceName=web\n",
        );
        write(&d, "app.kube", "[Kube]\nYaml=app.yaml\nAutoUpdate=registry\n");
        write(
            &d,
            "app.yaml",
            "spec:\n  containers:\n    - name: x\n      image: \"ghcr.io/a/kube:3\"\n",
        );
        let (found, errors) = quadlet(std::slice::from_ref(&d));
        assert!(errors.is_empty(), "{errors:?}");
        let got: Vec<(&str, Option<&str>)> = found.iter().map(|f| (f.unit.as_str(), f.image.as_deref())).collect();
        assert_eq!(
            got,
            vec![
                ("auto.service", Some("ghcr.io/a/auto:1")),
                ("marked.service", Some("ghcr.io/a/marked:1")),
                ("web.service", Some("ghcr.io/a/n:1")),
                ("plain.service", Some("ghcr.io/a/plain:2")),
                ("app.service", Some("ghcr.io/a/kube:3")),
            ]
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn plain_unit_files_need_the_marker() {
        let d = crate::testing::scratch_dir("discover-units");
        write(
            &d,
            "a.service",
            "[Unit]\nX-PodUp-Webhook=yes\nX-PodUp-Image=ghcr.io/a/a:1\n[Service]\nExecStart=/bin/true\n",
        );
        write(
            &d,
            "b.service",
            "[Unit]\nDescription=b\n[Service]\nExecStart=/bin/true\n",
        );
        write(&d, "c.service", "[Unit]\nX-PodUp-Webhook=no\n");
        let (found, errors) = unit_files(std::slice::from_ref(&d));
        assert!(errors.is_empty());
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].unit.as_str(), found[0].image.as_deref()),
            ("a.service", Some("ghcr.io/a/a:1"))
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn an_unreadable_file_is_reported_and_the_rest_still_found() {
        let d = crate::testing::scratch_dir("discover-bad");
        write(
            &d,
            "good.container",
            "[Container]\nImage=ghcr.io/a/g:1\nAutoUpdate=registry\n",
        );
        std::fs::create_dir_all(d.join("broken.container")).unwrap(); // a directory where a file should be
        let (found, _errors) = quadlet(std::slice::from_ref(&d));
        assert_eq!(found.len(), 1);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
