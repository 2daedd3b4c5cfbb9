use super::*;
use crate::support::registry::{Registry, RegistryAuth, available};

const USER: &str = "podup-ci";
const PASSWORD: &str = "registry-password-for-checks";

#[test]
fn basic_credentials_come_from_the_auth_file_and_never_show() {
    if !available("checks-basic") {
        return;
    }
    let r = Registry::start(RegistryAuth::Htpasswd {
        user: USER.into(),
        password: PASSWORD.into(),
    });
    let d1 = r.push_image("acme/app", "latest", "v1");
    let services = [format!("app.service={}", image(&r, "acme/app"))];
    let (fakes, podup) = checker("checks-basic", &services, &insecure(&[r.host()]), &r.auth_json());
    runs(&fakes, &[("app.service", "img1", &d1, &[at(&r, "acme/app", &d1)])]);
    let (out, v) = check(&podup, &["--fresh"]);
    assert!(out.status.success(), "{v:#}");
    assert_eq!(verdict(&v, "app.service")["status"], "up_to_date", "{v:#}");
    let everything = format!(
        "{}{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&podup.run(&["task", &v["task_id"].to_string()]).stdout)
    );
    assert!(!everything.contains(PASSWORD), "the password shows: {everything}");

    // Without credentials: unknown, unauthorized.
    let (fakes, podup) = checker("checks-basic-none", &services, &insecure(&[r.host()]), "{}");
    runs(&fakes, &[("app.service", "img1", &d1, &[at(&r, "acme/app", &d1)])]);
    let (out, v) = check(&podup, &["--fresh"]);
    assert_eq!(out.status.code(), Some(1));
    let app = verdict(&v, "app.service");
    assert_eq!(
        (app["status"].as_str(), app["reason"].as_str()),
        (Some("unknown"), Some("unauthorized")),
        "{v:#}"
    );
}

/// `auth: token`: podup follows `WWW-Authenticate: Bearer`, asks the token service with
/// the auth file's credentials, and uses one token per repository for the whole run.
#[test]
fn the_bearer_token_flow_fetches_one_token_per_repository() {
    if !available("checks-token") {
        return;
    }
    let r = Registry::start(RegistryAuth::Token {
        login: Some((USER.into(), PASSWORD.into())),
    });
    let a1 = r.push_image("acme/app", "latest", "a1");
    let a2 = r.push_image("acme/app", "stable", "a2");
    let b1 = r.push_image("acme/db", "latest", "b1");
    let services = [
        format!("app.service={}", image(&r, "acme/app")),
        format!("app-stable.service={}/acme/app:stable", r.host()),
        format!("db.service={}", image(&r, "acme/db")),
    ];
    let (fakes, podup) = checker("checks-token", &services, &insecure(&[r.host()]), &r.auth_json());
    runs(
        &fakes,
        &[
            ("app.service", "img-a1", &a1, &[at(&r, "acme/app", &a1)]),
            ("app-stable.service", "img-a2", &a1, &[at(&r, "acme/app", &a1)]),
            ("db.service", "img-b1", &b1, &[at(&r, "acme/db", &b1)]),
        ],
    );
    let (out, v) = check(&podup, &["--fresh"]);
    assert!(out.status.success(), "{v:#}");
    assert_eq!(verdict(&v, "app.service")["status"], "up_to_date", "{v:#}");
    assert_eq!(verdict(&v, "app-stable.service")["status"], "available", "{v:#}");
    assert_eq!(verdict(&v, "app-stable.service")["remote_digest"], a2.as_str());
    assert_eq!(verdict(&v, "db.service")["status"], "up_to_date", "{v:#}");
    let asked = r.tokens().requests();
    let mut scopes: Vec<String> = asked.iter().map(|(s, _)| s.clone()).collect();
    scopes.sort();
    assert_eq!(
        scopes,
        vec![
            "repository:acme/app:pull".to_string(),
            "repository:acme/db:pull".to_string()
        ],
        "one token per repository and scope: {asked:?}"
    );
    assert!(asked.iter().all(|(_, user)| user.as_deref() == Some(USER)), "{asked:?}");
    assert_eq!(r.count("GET", "/manifests/"), 0);
    let log = String::from_utf8_lossy(&podup.run(&["task", &v["task_id"].to_string()]).stdout).to_string();
    assert!(log.contains("2 token"), "the request count is in the task's log: {log}");
    assert!(!log.contains(PASSWORD));
}
