use super::*;

/// A fresh directory tree: `files` maps relative paths to contents.
fn tree(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let root = crate::testing::scratch_dir(&format!("image-dropin-{name}"));
    for (rel, text) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    root
}

fn places(root: &Path) -> Places {
    Places {
        quadlet_dirs: vec![root.join("quadlet")],
        unit_dirs: vec![root.join("units")],
        images_dir: Some(root.join("etc/podup/images")),
    }
}

#[test]
fn the_dropin_path_is_beside_the_quadlet_file() {
    assert_eq!(
        quadlet_dropin_path(Path::new("/etc/containers/systemd"), "app.container"),
        Path::new("/etc/containers/systemd/app.container.d/90-podup-image.conf")
    );
}

#[test]
fn a_quadlet_unit_gets_a_dropin_that_takes_effect_and_goes_again() {
    let root = tree(
        "quadlet",
        &[("quadlet/app.container", "[Container]\nImage=ghcr.io/acme/app:1.4.2\n")],
    );
    let p = places(&root);
    let target = image_target(&p, "app.service").unwrap();
    let dropin = root.join("quadlet/app.container.d/90-podup-image.conf");
    assert_eq!(
        target,
        ImageTarget::QuadletDropin {
            path: dropin.clone(),
            image: "ghcr.io/acme/app:1.4.2".into()
        }
    );
    assert!(target.needs_daemon_reload());
    assert_eq!(target.current().unwrap(), None);
    target.point_at("ghcr.io/acme/app:1.5.0").unwrap();
    let text = std::fs::read_to_string(&dropin).unwrap();
    assert!(text.starts_with("# Written by podup for Follow=: "), "{text}");
    assert!(text.ends_with("[Container]\nImage=ghcr.io/acme/app:1.5.0\n"), "{text}");
    target
        .takes_effect(&p, "app.service", "ghcr.io/acme/app:1.5.0")
        .unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(dropin.parent().unwrap()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temp file is left behind");
    target.restore(None).unwrap();
    assert!(
        !dropin.exists() && !dropin.parent().unwrap().exists(),
        "the empty .d goes too"
    );
    target.restore(None).unwrap(); // missing is fine
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_dropin_directory_with_other_files_stays_and_a_later_dropin_is_noticed() {
    let root = tree(
        "later",
        &[
            ("quadlet/app.container", "[Container]\nImage=r/app:1\n"),
            (
                "quadlet/app.container.d/99-pin.conf",
                "[Container]\nImage=r/app:pinned\n",
            ),
        ],
    );
    let p = places(&root);
    let target = image_target(&p, "app.service").unwrap();
    target.point_at("r/app:2").unwrap();
    let e = target.takes_effect(&p, "app.service", "r/app:2").unwrap_err();
    assert!(
        e.contains("Image=r/app:pinned") && e.contains("sorting after it"),
        "{e}"
    );
    target.restore(None).unwrap();
    assert!(root.join("quadlet/app.container.d/99-pin.conf").exists());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn restore_puts_back_what_was_there() {
    let root = tree("restore", &[("quadlet/app.container", "[Container]\nImage=r/app:1\n")]);
    let target = image_target(&places(&root), "app.service").unwrap();
    target.point_at("r/app:2").unwrap();
    let before = target.current().unwrap();
    target.point_at("r/app:3").unwrap();
    target.restore(before.as_deref()).unwrap();
    assert_eq!(std::fs::read_to_string(target.path()).unwrap(), dropin_text("r/app:2"));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_quadlet_image_or_build_reference_is_refused() {
    let root = tree(
        "refs",
        &[
            ("quadlet/a.container", "[Container]\nImage=base.image\n"),
            ("quadlet/base.image", "[Image]\nImage=r/base:1\n"),
        ],
    );
    let e = image_target(&places(&root), "a.service").unwrap_err();
    assert!(
        e.contains("names no image reference") && e.contains("base.image"),
        "{e}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

const OWNED_UNIT: &str = "[Service]\nEnvironmentFile=-ROOT/etc/podup/images/web.service.env\n\
    ExecStart=/usr/bin/podman run --rm --name web ${PODUP_IMAGE}\n";

#[test]
fn a_plain_unit_qualifies_only_with_the_environment_file_podup_owns() {
    let root = tree("plain", &[]);
    let owned = OWNED_UNIT.replace("ROOT", root.to_str().unwrap());
    std::fs::create_dir_all(root.join("units")).unwrap();
    std::fs::write(root.join("units/web.service"), owned).unwrap();
    std::fs::write(
        root.join("units/other.service"),
        "[Service]\nExecStart=/usr/bin/podman run r/x:1\n",
    )
    .unwrap();
    std::fs::write(
        root.join("units/unused.service"),
        format!(
            "[Service]\nEnvironmentFile={}/etc/podup/images/unused.service.env\nExecStart=/usr/bin/podman run r/x:1\n",
            root.display()
        ),
    )
    .unwrap();
    let p = places(&root);
    let env = root.join("etc/podup/images/web.service.env");
    assert_eq!(
        image_target(&p, "web.service").unwrap(),
        ImageTarget::EnvFile {
            path: env.clone(),
            var: "PODUP_IMAGE".into()
        }
    );
    let e = image_target(&p, "other.service").unwrap_err();
    assert_eq!(
        e,
        format!(
            "Follow= on a plain unit needs its image in an environment file podup owns ({}); 'other.service' has none",
            root.join("etc/podup/images/other.service.env").display()
        )
    );
    assert!(
        image_target(&p, "missing.service")
            .unwrap_err()
            .contains("'missing.service' has none")
    );
    let e = image_target(&p, "unused.service").unwrap_err();
    assert!(e.contains("does not use ${PODUP_IMAGE}"), "{e}");
    let homeless = Places {
        images_dir: None,
        ..p.clone()
    };
    assert!(image_target(&homeless, "web.service").unwrap_err().contains("no place"));

    // The file is written, rewritten keeping other lines, and put back.
    let target = image_target(&p, "web.service").unwrap();
    assert!(!target.needs_daemon_reload());
    assert_eq!(target.current().unwrap(), None);
    target.point_at("r/web:1.5.0").unwrap();
    assert_eq!(std::fs::read_to_string(&env).unwrap(), "PODUP_IMAGE=r/web:1.5.0\n");
    std::fs::write(&env, "# mine\nPORT=8080\nPODUP_IMAGE=r/web:1.4.2\n").unwrap();
    let before = target.current().unwrap();
    target.point_at("r/web:1.5.0").unwrap();
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        "# mine\nPORT=8080\nPODUP_IMAGE=r/web:1.5.0\n"
    );
    target.restore(before.as_deref()).unwrap();
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        "# mine\nPORT=8080\nPODUP_IMAGE=r/web:1.4.2\n"
    );
    target.restore(None).unwrap();
    assert!(!env.exists());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn env_text_replaces_the_variable_once_and_keeps_the_rest() {
    assert_eq!(env_text(None, "PODUP_IMAGE", "r/a:2"), "PODUP_IMAGE=r/a:2\n");
    assert_eq!(
        env_text(
            Some("A=1\n PODUP_IMAGE = r/a:1\nPODUP_IMAGE=dup\nPODUP_IMAGES=x"),
            "PODUP_IMAGE",
            "r/a:2"
        ),
        "A=1\nPODUP_IMAGE=r/a:2\nPODUP_IMAGES=x\n"
    );
}

#[test]
fn a_write_that_cannot_happen_is_an_error_naming_the_file() {
    let root = tree("unwritable", &[("file", "x")]);
    let e = write_image_dropin(&root.join("file/sub/90-podup-image.conf"), "r/a:1").unwrap_err();
    assert_eq!(e.kind, "image_file_unwritable");
    assert!(e.message.contains("file/sub/90-podup-image.conf"), "{e}");
    std::fs::remove_dir_all(&root).unwrap();
}
