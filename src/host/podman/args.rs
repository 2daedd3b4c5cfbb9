//! The arguments of each podman operation, without the program name: what the
//! methods of `Host` in `podman` run and what a dry-run plan shows, from one place.

fn own(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

pub fn unit_containers(unit: &str) -> Vec<String> {
    own(&[
        "ps",
        "-a",
        "--filter",
        &format!("label=PODMAN_SYSTEMD_UNIT={unit}"),
        "--format",
        "json",
    ])
}

pub fn container_image(id: &str) -> Vec<String> {
    own(&["inspect", "--type", "container", "--format", "json", id])
}

pub fn pull(reference: &str) -> Vec<String> {
    own(&["pull", "-q", reference])
}

pub fn image_digest(image: &str) -> Vec<String> {
    own(&["image", "inspect", "--format", "{{.Digest}}", image])
}

pub fn image_id(reference: &str) -> Vec<String> {
    own(&["image", "inspect", "--format", "{{.Id}}", reference])
}

pub fn tag(image: &str, reference: &str) -> Vec<String> {
    own(&["tag", image, reference])
}

pub fn image_users(image_id: &str) -> Vec<String> {
    own(&["ps", "-a", "-q", "--filter", &format!("ancestor={image_id}")])
}

pub fn rmi(image_id: &str) -> Vec<String> {
    own(&["rmi", image_id])
}

pub fn labelled_running() -> Vec<String> {
    own(&["ps", "--filter", "label=io.containers.autoupdate", "--format", "json"])
}

/// Every container, in any state, with an auto-update policy: what podup's own
/// auto-update engine reads, in one call.
pub fn labelled_all() -> Vec<String> {
    own(&[
        "ps",
        "-a",
        "--filter",
        "label=io.containers.autoupdate",
        "--format",
        "json",
    ])
}

pub fn auto_update(dry_run: bool) -> Vec<String> {
    let mut a = own(&["auto-update", "--format", "json"]);
    if dry_run {
        a.push("--dry-run".into());
    }
    a
}
