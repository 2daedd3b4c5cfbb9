//! Update checks on the real bed (docs/updates.md): the timer job's check finds a newer
//! image of a unit `podman auto-update` does not manage, "Update" deploys it, and the
//! next check says it is up to date; a fresh check asks the registry again.

use crate::harness::{setup_env, shout, wait_until};
use serde_json::Value;
use std::time::Duration;

const VERIFY_SECS: &str = "2";

fn update_of(services: &Value, unit: &str) -> Value {
    services["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["unit"] == unit)
        .unwrap_or_else(|| panic!("{unit} is not listed: {services:#}"))["update"]
        .clone()
}

on_kinds!(the_timer_check_finds_an_update_that_update_deploys);
fn the_timer_check_finds_an_update_that_update_deploys() {
    // container-web.service runs an image without the auto-update label: podup's to
    // update, never podman auto-update's.
    let web_unit = "container-web.service";
    let mut services = String::new();
    let Some((b, v1)) = setup_env("check-timer", VERIFY_SECS, false, |bed| {
        services = format!(
            "container-app.service={},{web_unit}={}",
            bed.image_ref("acme/app"),
            bed.image_ref("acme/web")
        );
        vec![("PODUP_SERVICES".to_string(), services.clone())]
    }) else {
        return;
    };
    let w1 = b.bed.push_image_unlabelled("acme/web", "w1");
    let unit = b.bed.container_unit("web", &b.bed.image_ref("acme/web"));
    assert_eq!(unit, web_unit);
    b.bed.systemctl_ok(&["start", web_unit]);
    assert_eq!(b.bed.running_digest("web"), w1);
    let w2 = b.bed.push_image_unlabelled("acme/web", "w2");

    // (1) The timer job: podman auto-update (nothing new for app), then the check.
    // The timer's service reads the same settings as podup.service (podup.env).
    b.start_timer(&[("PODUP_VERIFY_SECS", VERIFY_SECS), ("PODUP_SERVICES", &services)]);
    let checked = wait_until(Duration::from_secs(120), || {
        let r = b.podup.api("GET", "/api/v1/tasks?kind=check", "");
        r.body["tasks"]
            .as_array()
            .is_some_and(|l| l.iter().any(|t| t["status"] == "succeeded"))
    });
    let list = b.podup.api("GET", "/api/v1/tasks?limit=10", "");
    let detail: Vec<Value> = list.body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| b.podup.task(t["id"].as_i64().unwrap()))
        .collect();
    assert!(checked, "the timer job ran a check: {detail:#?}");
    let list = b.podup.api("GET", "/api/v1/tasks?kind=check", "");
    let id = list.body["tasks"][0]["id"].as_i64().unwrap();
    let t = b.podup.task(id);
    assert_eq!(t["task"]["caller"], "timer", "{t:#}");
    let services = b.podup.api("GET", "/api/v1/services", "").body;
    let web = update_of(&services, web_unit);
    assert_eq!(web["status"], "available", "{services:#}");
    assert_eq!(web["remote_digest"], w2.as_str());
    assert_eq!(web["local_digests"][0], w1.as_str());
    let app = update_of(&services, "container-app.service");
    assert_eq!(app["status"], "up_to_date", "{services:#}");
    assert_eq!(app["remote_digest"], v1.as_str());
    assert_eq!(services["updates"]["available"], 1);
    assert_eq!(b.bed.running_digest("web"), w1, "a check changes nothing");
    let budget = t["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["message"].as_str())
        .find(|m| m.starts_with("registry requests:"))
        .unwrap_or_else(|| panic!("no request count in the log: {t:#}"))
        .to_string();
    assert!(
        budget.starts_with("registry requests: 2 HEAD, 0 token, 0 GET; 0 answered from the cache; "),
        "{budget}"
    );
    shout(&format!("check: {budget}"));

    // (2) "Update": the verified deploy of the tag; the service reads up to date at once.
    let r = b
        .podup
        .api("POST", &format!("/api/v1/services/{web_unit}/update"), "{}");
    assert_eq!(r.status, 202, "{}", r.body);
    let t = b
        .podup
        .wait_task(r.body["task_id"].as_i64().unwrap(), Duration::from_secs(120));
    assert_eq!(b.status(&t), ("succeeded".into(), "ok".into()), "{t:#}");
    assert_eq!(b.bed.running_digest("web"), w2);
    let services = b.podup.api("GET", "/api/v1/services", "").body;
    assert_eq!(update_of(&services, web_unit)["status"], "up_to_date", "{services:#}");

    // (3) The next check, from the API in a task unit, fresh: the registry is asked again.
    let r = b
        .podup
        .api("POST", "/api/v1/updates/check?wait=60", r#"{"fresh": true}"#);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["task"]["status"], "succeeded", "{}", r.body);
    let services = b.podup.api("GET", "/api/v1/services", "").body;
    let web = update_of(&services, web_unit);
    assert_eq!(web["status"], "up_to_date", "{services:#}");
    assert!(
        web["local_digests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == w2.as_str())
    );
    assert_eq!(web["message"], "the running image is the registry's");
    assert_eq!(services["updates"]["available"], 0);
}
