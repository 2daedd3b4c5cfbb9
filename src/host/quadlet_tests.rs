//! Tests of the Quadlet lookup rules, with files in a temp dir.

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
fn files_for_a_service_are_its_quadlet_file_then_dropins_in_order() {
    let root = tree(
        "files",
        &[
            ("first/web.kube", "[Kube]\nYaml=web.yaml\n"),
            ("second/web.kube.d/20-b.conf", "[X-PodUp]\nPolicy=manual\n"),
            ("first/kube.d/10-a.conf", "[X-PodUp]\nPolicy=notify\n"),
            (
                "first/api.container",
                "[Container]\nImage=reg/api:1\nServiceName=backend\n",
            ),
            ("second/api.kube", "[Kube]\nYaml=api.yaml\n"),
        ],
    );
    let d = dirs(&root);
    let names = |service: &str| -> Option<Vec<String>> {
        files_for_service(service, &d).unwrap().map(|paths| {
            paths
                .iter()
                .map(|p| p.strip_prefix(&root).unwrap().display().to_string())
                .collect()
        })
    };
    assert_eq!(
        names("web.service").unwrap(),
        [
            "first/web.kube",
            "first/kube.d/10-a.conf",
            "second/web.kube.d/20-b.conf"
        ]
    );
    assert_eq!(names("backend.service").unwrap(), ["first/api.container"]);
    // api.container makes backend.service, so api.service comes from api.kube
    assert_eq!(
        names("api.service").unwrap(),
        ["second/api.kube", "first/kube.d/10-a.conf"]
    );
    assert_eq!(names("gone.service"), None);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_plain_instance_falls_back_to_its_template_with_its_own_dropins() {
    let root = tree(
        "units",
        &[
            ("first/job@.service", "[Service]\nExecStart=/bin/true\n"),
            ("second/job@.service.d/10-all.conf", "[X-PodUp]\nTimer=no\n"),
            ("first/job@nightly.service.d/20-one.conf", "[X-PodUp]\nPolicy=manual\n"),
            ("second/job@weekly.service", "[Service]\nExecStart=/bin/false\n"),
        ],
    );
    let d = dirs(&root);
    let names = |unit: &str| -> Vec<String> {
        unit_files(unit, &d)
            .unwrap()
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(&root).unwrap().display().to_string())
            .collect()
    };
    assert_eq!(
        names("job@nightly.service"),
        [
            "first/job@.service",
            "second/job@.service.d/10-all.conf",
            "first/job@nightly.service.d/20-one.conf"
        ]
    );
    assert_eq!(
        names("job@weekly.service"),
        ["second/job@weekly.service", "second/job@.service.d/10-all.conf"]
    );
    assert_eq!(unit_files("none.service", &d).unwrap(), None);
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
fn an_unreadable_file_is_an_error_naming_it() {
    let root = tree("unreadable", &[]);
    std::fs::create_dir_all(root.join("first")).unwrap();
    std::fs::write(root.join("first/bad.container"), [0xff, 0xfe, b'\n']).unwrap();
    let e = image_for_service("bad.service", &dirs(&root)).unwrap_err();
    assert_eq!(e.kind, "unit_file_unreadable");
    assert!(e.message.contains("first/bad.container"), "{e}");
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
