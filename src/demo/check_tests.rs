//! The real update check (`tasks::check`) on the simulated host: its two podman calls
//! and the simulated registries give the verdicts the seeded check shows, and once
//! the waiting release is deployed the next check finds the unit current.

use super::backend::backend;
use super::world::{RATE_LIMITED_HOST, RELEASED_AHEAD, UNITS, World, digest, image_id};
use crate::host::{Host, Programs};
use crate::model::{Scope, TaskStatus, UnitSpec, UnitStatus, UpdateStatus};
use crate::store::tasks;
use crate::store::updates::Verdict;
use crate::tasks::check;
use crate::tasks::lifecycle::Origin;
use rusqlite::Connection;
use std::sync::Arc;

fn host() -> Host {
    Host::with_env(Scope::System, Programs::default(), []).on(&backend(Arc::new(World::new())))
}

/// Runs a fresh check of every demo unit; its task id and verdicts.
fn check_all(conn: &mut Connection, host: &Host) -> (i64, Vec<Verdict>) {
    let units = UNITS
        .iter()
        .map(|u| UnitSpec {
            unit: u.unit.into(),
            image: Some(format!("{}:{}", u.repo, u.tag)),
            digest: None,
            retag: None,
        })
        .collect();
    let origin = Origin {
        source: "cli",
        caller: "test",
        reason: None,
        request_id: None,
    };
    let (id, _) = check::run_here(conn, host, &check::spec(units, true), origin).unwrap();
    (id, check::verdicts_of(conn, id).unwrap())
}

fn status_of(verdicts: &[Verdict], unit: &str) -> UpdateStatus {
    verdicts.iter().find(|v| v.unit == unit).unwrap().status
}

#[test]
fn the_two_podman_calls_of_a_check_see_every_unit_and_its_digest() {
    let host = host();
    let containers = host.unit_containers_all().unwrap();
    assert_eq!(containers.len(), UNITS.len());
    let web = containers
        .iter()
        .find(|c| c.labels.get("PODMAN_SYSTEMD_UNIT").map(String::as_str) == Some("web.service"))
        .unwrap();
    assert_eq!(web.state, "running");
    assert_eq!(web.image_id, image_id(&digest("ghcr.io/acme/web", 0)));
    let images = host.image_digests().unwrap();
    for c in &containers {
        assert!(images.iter().any(|i| i.id == c.image_id), "{} is listed", c.image_id);
    }
    let web_image = images.iter().find(|i| i.id == web.image_id).unwrap();
    assert_eq!(web_image.digests(), vec![digest("ghcr.io/acme/web", 0)]);
}

#[test]
fn a_check_finds_the_waiting_release_and_after_its_deploy_finds_it_current() {
    let host = host();
    let mut conn = crate::testing::migrated_db();
    let (id, verdicts) = check_all(&mut conn, &host);
    assert_eq!(verdicts.len(), UNITS.len());
    let api = verdicts.iter().find(|v| v.unit == RELEASED_AHEAD).unwrap();
    assert_eq!(api.status, UpdateStatus::Available, "{api:?}");
    assert_eq!(api.remote_digest, Some(digest("ghcr.io/acme/api", 1)));
    assert_eq!(status_of(&verdicts, "web.service"), UpdateStatus::UpToDate);
    let cache = verdicts.iter().find(|v| v.unit == "cache.service").unwrap();
    assert_eq!(cache.status, UpdateStatus::Unknown);
    assert!(
        cache.message.as_deref().unwrap_or("").contains(RATE_LIMITED_HOST),
        "{cache:?}"
    );
    let task = tasks::get(&conn, id).unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Succeeded);
    let rows = tasks::units(&conn, id).unwrap();
    let row = rows.iter().find(|r| r.unit == RELEASED_AHEAD).unwrap();
    assert_eq!(row.status, UnitStatus::Available);

    // What an update of api.service does: pull its tag, restart it.
    let pulled = host.pull("ghcr.io/acme/api:stable").unwrap();
    assert_eq!(
        pulled,
        image_id(&digest("ghcr.io/acme/api", 1)),
        "the pull takes the waiting release"
    );
    host.restart(RELEASED_AHEAD).unwrap();
    let (_, again) = check_all(&mut conn, &host);
    assert_eq!(status_of(&again, RELEASED_AHEAD), UpdateStatus::UpToDate);

    // A unit that is current publishes a new release when it is pulled.
    let web = host.pull("ghcr.io/acme/web:stable").unwrap();
    assert_eq!(web, image_id(&digest("ghcr.io/acme/web", 1)));
    let (_, after) = check_all(&mut conn, &host);
    assert_eq!(
        status_of(&after, "web.service"),
        UpdateStatus::Available,
        "pulled, not restarted"
    );
}
