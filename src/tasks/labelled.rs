//! Which units podup's own auto-update engine looks at, from one
//! `podman ps -a --filter label=io.containers.autoupdate --format json`: each running
//! container's unit (`PODMAN_SYSTEMD_UNIT`), the image it was created with and runs, and
//! its policy. Quadlet's `AutoUpdate=` sets the same label (podman-auto-update(1), "the
//! io.containers.autoupdate label or the AutoUpdate field in podman-systemd.unit(5)").
//! As podman auto-update does, only running containers count; several of one unit (a
//! pod, a `.kube`) make one unit.

use crate::host::podman::Container;
use crate::host::podman::images::UNIT_LABEL;

/// The label that carries a container's auto-update policy.
pub const POLICY_LABEL: &str = "io.containers.autoupdate";

/// How a labelled container's image is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Ask the registry for the tag's digest (`registry`, or its old name `image`).
    Registry,
    /// Compare with the image the tag names in local storage.
    Local,
}

impl Policy {
    pub fn parse(value: &str) -> Option<Policy> {
        match value {
            "registry" | "image" => Some(Policy::Registry),
            "local" => Some(Policy::Local),
            _ => None,
        }
    }
}

/// One image a unit runs, with its policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Runs {
    /// The reference the container was created with (`registry/repo:tag`).
    pub image: String,
    /// The id of the image it runs.
    pub image_id: String,
    /// Its policy; `Err` holds a label value podup does not know.
    pub policy: Result<Policy, String>,
}

/// A unit with labelled running containers, and what they run (each image once).
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    pub unit: String,
    pub runs: Vec<Runs>,
}

/// What was found: the units, in the order of their names, and a sentence for each
/// container that was left out (no unit label; not running).
#[derive(Debug, Default, PartialEq)]
pub struct Found {
    pub units: Vec<Labelled>,
    pub left_out: Vec<String>,
}

pub fn units(containers: &[Container]) -> Found {
    let mut found = Found::default();
    let mut by_unit: std::collections::BTreeMap<&str, Vec<Runs>> = Default::default();
    for c in containers {
        let name = c.names.first().map_or(short_id(&c.id), String::as_str);
        let Some(unit) = c.labels.get(UNIT_LABEL).filter(|u| !u.is_empty()) else {
            found.left_out.push(format!(
                "container '{name}' has no {UNIT_LABEL} label: no unit runs it, so it is left alone"
            ));
            continue;
        };
        if c.state != "running" {
            found
                .left_out
                .push(format!("container '{name}' of '{unit}' is {}: left alone", c.state));
            continue;
        }
        let value = c.labels.get(POLICY_LABEL).map_or("", String::as_str);
        let runs = Runs {
            image: c.image.clone(),
            image_id: c.image_id.clone(),
            policy: Policy::parse(value).ok_or_else(|| value.to_string()),
        };
        let list = by_unit.entry(unit.as_str()).or_default();
        if !list.contains(&runs) {
            list.push(runs);
        }
    }
    found.units = by_unit
        .into_iter()
        .map(|(unit, runs)| Labelled {
            unit: unit.to_string(),
            runs,
        })
        .collect();
    found
}

fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::podman::parse_ps;

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/podman/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn container(unit: Option<&str>, policy: &str, state: &str, image: &str, id: &str) -> Container {
        let mut labels = std::collections::BTreeMap::new();
        if let Some(u) = unit {
            labels.insert(UNIT_LABEL.to_string(), u.to_string());
        }
        labels.insert(POLICY_LABEL.to_string(), policy.to_string());
        Container {
            id: format!("{id}0000000000000000"),
            names: vec![format!("c-{id}")],
            image: image.into(),
            image_id: format!("img-{image}"),
            state: state.into(),
            labels,
        }
    }

    #[test]
    fn a_pod_is_one_unit_and_stray_containers_are_named() {
        let found = units(&[
            container(Some("pod-web.service"), "registry", "running", "r/web:1", "a"),
            container(Some("pod-web.service"), "registry", "running", "r/side:1", "b"),
            container(Some("pod-web.service"), "registry", "running", "r/web:1", "c"),
            container(Some("cache.service"), "local", "running", "localhost/cache:1", "d"),
            container(Some("old.service"), "registry", "exited", "r/old:1", "e"),
            container(None, "registry", "running", "r/loose:1", "f"),
            container(Some("odd.service"), "bogus", "running", "r/odd:1", "g"),
        ]);
        let seen: Vec<(&str, Vec<&str>)> = found
            .units
            .iter()
            .map(|u| (u.unit.as_str(), u.runs.iter().map(|r| r.image.as_str()).collect()))
            .collect();
        assert_eq!(
            seen,
            [
                ("cache.service", vec!["localhost/cache:1"]),
                ("odd.service", vec!["r/odd:1"]),
                ("pod-web.service", vec!["r/web:1", "r/side:1"]),
            ]
        );
        assert_eq!(found.units[0].runs[0].policy, Ok(Policy::Local));
        assert_eq!(found.units[1].runs[0].policy, Err("bogus".into()));
        assert_eq!(
            found.left_out,
            [
                "container 'c-e' of 'old.service' is exited: left alone",
                "container 'c-f' has no PODMAN_SYSTEMD_UNIT label: no unit runs it, so it is left alone",
            ]
        );
        assert_eq!(Policy::parse("image"), Some(Policy::Registry));
    }

    #[test]
    fn captured_listings_give_the_labelled_units() {
        // Each bed ran container-app.service (the image's `registry` label),
        // container-cache.service (`--label io.containers.autoupdate=local`) and a labelled
        // container no unit runs; the trixie bed also quad.service from a Quadlet file with
        // `AutoUpdate=registry` and an image without the label.
        let quadlet = ("quad.service", Some(Policy::Registry));
        for (file, version, extra) in [
            ("ps-autoupdate-podman4.json", "4.3.1", None),
            ("ps-autoupdate-podman5.json", "5.4.2", Some(quadlet)),
        ] {
            let found = units(&parse_ps(&fixture(file)).unwrap());
            let seen: Vec<(&str, Option<Policy>)> = found
                .units
                .iter()
                .map(|u| (u.unit.as_str(), u.runs[0].policy.clone().ok()))
                .collect();
            let mut expected = vec![
                ("container-app.service", Some(Policy::Registry)),
                ("container-cache.service", Some(Policy::Local)),
            ];
            expected.extend(extra);
            assert_eq!(seen, expected, "podman {version}");
            let app = &found.units[0].runs[0];
            assert!(app.image.ends_with("/podup/app:latest"), "{}", app.image);
            assert_eq!(app.image_id.len(), 64, "podman {version}");
            assert_eq!(found.units[1].runs[0].image, "localhost/podup/cache:latest");
            assert_eq!(
                found.left_out,
                ["container 'stray' has no PODMAN_SYSTEMD_UNIT label: no unit runs it, so it is left alone"],
                "podman {version}"
            );
        }
    }
}
