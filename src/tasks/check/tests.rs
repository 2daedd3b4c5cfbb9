use super::remote::{Found, Got};
use super::*;
use crate::host::{Programs, Scope};
use std::os::unix::fs::PermissionsExt;

const D_LOCAL: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D_INDEX: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const D_NEW: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";

fn unit(image: Option<&str>) -> UnitSpec {
    UnitSpec {
        unit: "app.service".into(),
        image: image.map(String::from),
        digest: None,
        retag: None,
    }
}

fn got(digest: &str) -> Option<Found> {
    Some(Found::Digest(Got {
        digest: digest.into(),
        created: None,
        endpoint: "localhost:5000/acme/app:latest".into(),
        fetched_ms: 5,
    }))
}

/// A multi-arch image pulled by tag is known by its platform manifest's digest and by
/// the index's: the registry's answer for the tag is the index, and that is no update.
#[test]
fn any_digest_the_image_is_known_by_counts_as_the_running_one() {
    let local = ("id".to_string(), vec![D_LOCAL.to_string(), D_INDEX.to_string()]);
    let img = Some("localhost:5000/acme/app:latest");
    let v = judge(&unit(img), Some(&local), got(D_INDEX), 10, 1);
    assert_eq!(v.status, UpdateStatus::UpToDate);
    let v = judge(&unit(img), Some(&local), got(D_LOCAL), 10, 1);
    assert_eq!(v.status, UpdateStatus::UpToDate);
    let v = judge(&unit(img), Some(&local), got(D_NEW), 10, 1);
    assert_eq!(v.status, UpdateStatus::Available);
    assert_eq!(v.remote_digest.as_deref(), Some(D_NEW));
    assert_eq!(v.fetched_ms, Some(5));
    assert_eq!(v.checked_ms, 10);
}

#[test]
fn what_cannot_be_compared_is_unknown_with_a_reason() {
    let img = Some("localhost:5000/acme/app:latest");
    let v = judge(&unit(img), None, got(D_NEW), 10, 1);
    assert_eq!(
        (v.status, v.reason.as_deref()),
        (UpdateStatus::Unknown, Some("not_running"))
    );
    assert_eq!(
        v.remote_digest.as_deref(),
        Some(D_NEW),
        "what the registry said is kept"
    );
    let v = judge(&unit(None), None, None, 10, 1);
    assert_eq!(v.reason.as_deref(), Some("no_image"));
    let miss = Some(Found::Miss {
        reason: "rate_limited",
        message: "rate limited until 2026-12-07 17:00:00 UTC by r.example".into(),
    });
    let local = ("id".to_string(), vec![D_LOCAL.to_string()]);
    let v = judge(&unit(img), Some(&local), miss, 10, 1);
    assert_eq!(
        (v.status, v.reason.as_deref()),
        (UpdateStatus::Unknown, Some("rate_limited"))
    );
    assert!(v.message.unwrap().contains("rate limited until"));
}

/// A fake `podman` answering `ps` and `images` from files, as captured.
fn host_with_podman(dir: &std::path::Path, ps: &str, images: &str) -> Host {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("ps.json"), ps).unwrap();
    std::fs::write(dir.join("images.json"), images).unwrap();
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{d}/calls'\ncase \"$1\" in ps) /bin/cat '{d}/ps.json';; images) /bin/cat '{d}/images.json';; esac\n",
        d = dir.display()
    );
    let p = dir.join("podman");
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    let env = [("PATH".to_string(), dir.display().to_string())];
    Host::with_env(
        Scope::User,
        Programs::default(),
        env.into_iter().map(|(k, v)| (k.into(), v.into())),
    )
}

#[test]
fn two_podman_calls_find_every_unit_and_a_running_container_wins() {
    let dir = crate::testing::scratch_dir("check-running");
    let ps = r#"[
      {"Id":"c3","Names":["new"],"Image":"r/a:1","ImageID":"img-new","State":"exited","Labels":{"PODMAN_SYSTEMD_UNIT":"app.service"}},
      {"Id":"c2","Names":["cur"],"Image":"r/a:1","ImageID":"img-cur","State":"running","Labels":{"PODMAN_SYSTEMD_UNIT":"app.service"}},
      {"Id":"c1","Names":["db"],"Image":"r/d:1","ImageID":"img-db","State":"exited","Labels":{"PODMAN_SYSTEMD_UNIT":"db.service"}},
      {"Id":"c0","Names":["x"],"Image":"r/x:1","ImageID":"img-x","State":"running","Labels":null}
    ]"#;
    let images = format!(
        r#"[{{"Id":"img-cur","Digest":"{D_LOCAL}","RepoDigests":["r/a@{D_LOCAL}","r/a@{D_INDEX}"]}},
           {{"Id":"img-db","Digest":"{D_NEW}","RepoDigests":null}}]"#
    );
    let host = host_with_podman(&dir, ps, &images);
    let got = running(&host).unwrap();
    assert_eq!(
        got["app.service"],
        ("img-cur".to_string(), vec![D_LOCAL.to_string(), D_INDEX.to_string()])
    );
    assert_eq!(got["db.service"], ("img-db".to_string(), vec![D_NEW.to_string()]));
    assert_eq!(got.len(), 2);
    let calls = std::fs::read_to_string(dir.join("calls")).unwrap();
    let mut calls: Vec<&str> = calls.lines().collect();
    calls.sort();
    assert_eq!(
        calls,
        vec![
            "images --format json",
            "ps -a --filter label=PODMAN_SYSTEMD_UNIT --format json"
        ]
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_podman_answer_that_is_not_json_is_an_error_not_a_panic() {
    let dir = crate::testing::scratch_dir("check-garbage");
    let host = host_with_podman(&dir, "[{\"Id\": 5", "");
    assert!(running(&host).is_err());
    std::fs::remove_dir_all(dir).unwrap();
}
