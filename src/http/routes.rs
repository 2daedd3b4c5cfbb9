//! Routing: `handle` maps a framed request to a `Response`. It never touches the
//! socket and never writes the event row; the driver does both. `ROUTES` is every
//! route: its method and path, its action (the event row's `action`), what it needs
//! (`Guard`), and its handler. The router matches a row (or answers 404 / 405),
//! authorizes once, and calls the handler with the identity; handlers return
//! `Result<Response, Refusal>`.

use super::answer::{db_unavailable, method_not_allowed};
use super::authorize::authorize;
use super::context::{Call, Ctx};
use super::refusal::Refusal;
use super::{
    Request, Response, api, dbinfo, event_log, health, hooks, metrics, notify, ops, overview, session, tasks, updates,
    webhooks,
};
use crate::auth::Need;

/// What a route needs before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Nothing, not even the database (`/health` reports on it).
    Open,
    /// The sender's credential (a signature, a header, a path secret), which the
    /// handler checks first, before it parses anything.
    Signature,
    /// Nothing: signing in and out with a session is what the route does.
    SessionOnly,
    /// A bearer token or a panel session (its changes with the CSRF token and our
    /// origin) with this right.
    Role(Need),
    /// A read right, as `Role(Read)`, unless `PODUP_METRICS_OPEN=1` opens the route to
    /// anyone (a trusted network; docs/operations.md, "Metrics").
    Scrape,
}

/// A route's handler.
pub type Handler = fn(&mut Ctx<'_>, &Call<'_>) -> Result<Response, Refusal>;

/// One row of `ROUTES`.
pub struct Route {
    pub method: &'static str,
    /// Literal segments and `{name}` ones (any one segment; `{id}` a task id).
    pub pattern: &'static str,
    pub action: &'static str,
    pub guard: Guard,
    pub handler: Handler,
    /// Deprecated for the route named here (docs/api.md): its answers say so.
    pub successor: Option<&'static str>,
}

const fn row(
    method: &'static str,
    pattern: &'static str,
    action: &'static str,
    guard: Guard,
    handler: Handler,
) -> Route {
    Route {
        method,
        pattern,
        action,
        guard,
        handler,
        successor: None,
    }
}

const fn deprecated(mut r: Route, successor: &'static str) -> Route {
    r.successor = Some(successor);
    r
}

use Guard::{Open, Role, Scrape, SessionOnly, Signature};
use Need::{Admin, Read, Trigger};

/// Every route. A path that matches none is `404 unknown_route`; one that matches a
/// pattern under another method is 404 too, except for the paths in `NOT_ALLOWED`.
pub static ROUTES: &[Route] = &[
    row("GET", "/health", "health", Open, health::health),
    row("HEAD", "/health", "health", Open, health::health),
    row("POST", "/hooks/github", "github_webhook", Signature, hooks::delivery),
    row(
        "POST",
        "/hooks/github/{service}",
        "github_webhook",
        Signature,
        hooks::delivery,
    ),
    row("POST", "/hooks/gitea", "gitea_webhook", Signature, hooks::delivery),
    row(
        "POST",
        "/hooks/gitea/{service}",
        "gitea_webhook",
        Signature,
        hooks::delivery,
    ),
    row("POST", "/hooks/forgejo", "forgejo_webhook", Signature, hooks::delivery),
    row(
        "POST",
        "/hooks/forgejo/{service}",
        "forgejo_webhook",
        Signature,
        hooks::delivery,
    ),
    row("POST", "/hooks/harbor", "harbor_webhook", Signature, hooks::delivery),
    row(
        "POST",
        "/hooks/harbor/{service}",
        "harbor_webhook",
        Signature,
        hooks::delivery,
    ),
    row(
        "POST",
        "/hooks/registry",
        "registry_webhook",
        Signature,
        hooks::delivery,
    ),
    row(
        "POST",
        "/hooks/registry/{service}",
        "registry_webhook",
        Signature,
        hooks::delivery,
    ),
    row("POST", "/hooks/acr", "acr_webhook", Signature, hooks::delivery),
    row(
        "POST",
        "/hooks/acr/{service}",
        "acr_webhook",
        Signature,
        hooks::delivery,
    ),
    row("POST", "/hooks/jfrog", "jfrog_webhook", Signature, hooks::delivery),
    row(
        "POST",
        "/hooks/jfrog/{service}",
        "jfrog_webhook",
        Signature,
        hooks::delivery,
    ),
    // Without its secret segment: answered 401 credential_missing, not 405.
    row("POST", "/hooks/quay", "quay_webhook", Signature, hooks::delivery),
    row(
        "POST",
        "/hooks/quay/{secret}",
        "quay_webhook",
        Signature,
        hooks::delivery,
    ),
    row(
        "POST",
        "/hooks/quay/{secret}/{service}",
        "quay_webhook",
        Signature,
        hooks::delivery,
    ),
    // Without its secret segment: answered 401 credential_missing, not 405.
    row(
        "POST",
        "/hooks/dockerhub",
        "dockerhub_webhook",
        Signature,
        hooks::delivery,
    ),
    row(
        "POST",
        "/hooks/dockerhub/{secret}",
        "dockerhub_webhook",
        Signature,
        hooks::delivery,
    ),
    row(
        "POST",
        "/hooks/dockerhub/{secret}/{service}",
        "dockerhub_webhook",
        Signature,
        hooks::delivery,
    ),
    row("GET", "/api/v1/services", "list_services", Role(Read), api::services),
    row(
        "POST",
        "/api/v1/services/{service}/update",
        "update_service",
        Role(Trigger),
        api::update_service,
    ),
    row(
        "POST",
        "/api/v1/update-all",
        "update_all",
        Role(Trigger),
        api::update_all,
    ),
    row(
        "POST",
        "/api/v1/updates/check",
        "check_updates",
        Role(Trigger),
        updates::check,
    ),
    row("GET", "/api/v1/tasks", "list_tasks", Role(Read), tasks::list_tasks),
    row("GET", "/api/v1/tasks/{id}", "get_task", Role(Read), tasks::get_task),
    row(
        "POST",
        "/api/v1/tasks/{id}/stop",
        "task_action",
        Role(Admin),
        tasks::task_action,
    ),
    row(
        "POST",
        "/api/v1/tasks/{id}/force-stop",
        "task_action",
        Role(Admin),
        tasks::task_action,
    ),
    row(
        "POST",
        "/api/v1/tasks/{id}/retry",
        "task_action",
        Role(Admin),
        tasks::task_action,
    ),
    row(
        "POST",
        "/api/v1/tasks/{id}/approve",
        "task_decision",
        Role(Admin),
        tasks::task_decision,
    ),
    row(
        "POST",
        "/api/v1/tasks/{id}/reject",
        "task_decision",
        Role(Admin),
        tasks::task_decision,
    ),
    deprecated(
        row(
            "GET",
            "/api/v1/webhooks/status",
            "webhooks_status",
            Role(Read),
            ops::webhooks_status,
        ),
        "/api/v1/webhooks",
    ),
    deprecated(
        row("GET", "/api/v1/locks", "locks", Role(Read), ops::locks),
        "/api/v1/maintenance",
    ),
    row(
        "DELETE",
        "/api/v1/locks/{unit}",
        "clear_lock",
        Role(Admin),
        ops::clear_lock,
    ),
    row("POST", "/api/v1/discover", "discover", Role(Admin), ops::discover),
    row("POST", "/api/v1/maintenance/prune", "prune", Role(Admin), ops::prune),
    // The panel: sign-in, and the data of its pages (docs/panel.md).
    row("GET", "/api/v1/session", "session", SessionOnly, session::show),
    row("POST", "/api/v1/session", "session", SessionOnly, session::sign_in),
    row("DELETE", "/api/v1/session", "session", SessionOnly, session::sign_out),
    row("GET", "/api/v1/events", "list_events", Role(Read), event_log::list),
    row("GET", "/api/v1/overview", "overview", Role(Read), overview::overview),
    row("GET", "/api/v1/settings", "settings", Role(Read), overview::settings),
    row("GET", "/api/v1/webhooks", "webhooks", Role(Read), webhooks::status),
    row(
        "POST",
        "/api/v1/webhooks/test",
        "webhook_test",
        Role(Admin),
        webhooks::test_delivery,
    ),
    row(
        "GET",
        "/api/v1/maintenance",
        "maintenance",
        Role(Read),
        dbinfo::maintenance,
    ),
    row("GET", "/api/v1/notify", "notify_sinks", Role(Read), notify::list),
    row("POST", "/api/v1/notify/test", "notify_test", Role(Admin), notify::test),
    row("GET", "/metrics", "metrics", Scrape, metrics::metrics),
];

/// Paths (a trailing `/**`: and everything below) that answer another method with
/// `405` and `Allow` rather than 404: (pattern, action, allow). (`Open` rows' paths
/// always do, with their methods.)
pub static NOT_ALLOWED: &[(&str, &str, &str)] = &[
    ("/hooks/github/**", "github_webhook", "POST"),
    ("/hooks/gitea/**", "gitea_webhook", "POST"),
    ("/hooks/forgejo/**", "forgejo_webhook", "POST"),
    ("/hooks/harbor/**", "harbor_webhook", "POST"),
    ("/hooks/registry/**", "registry_webhook", "POST"),
    ("/hooks/acr/**", "acr_webhook", "POST"),
    ("/hooks/jfrog/**", "jfrog_webhook", "POST"),
    ("/hooks/quay/**", "quay_webhook", "POST"),
    ("/hooks/dockerhub/**", "dockerhub_webhook", "POST"),
    ("/api/v1/session", "session", "GET, POST, DELETE"),
];

/// The segments of `path` as routes see them (outer slashes dropped).
fn segments(path: &str) -> Vec<&str> {
    path.trim_matches('/').split('/').collect()
}

/// The `{name}` values of `pattern` in `path`, or None when it does not match.
fn matches<'r>(pattern: &'static str, path: &[&'r str]) -> Option<Vec<(&'static str, &'r str)>> {
    let pat = segments(pattern);
    if let Some(prefix) = pat.strip_suffix(&["**"]) {
        let ok = path.len() > prefix.len() - 1 && prefix.iter().zip(path).all(|(p, s)| p == s);
        return ok.then(Vec::new);
    }
    if pat.len() != path.len() {
        return None;
    }
    let mut params = Vec::new();
    for (p, s) in pat.iter().zip(path) {
        match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) => params.push((name, *s)),
            None if p == s => {}
            None => return None,
        }
    }
    Some(params)
}

pub fn handle(ctx: &mut Ctx<'_>, req: &Request) -> Response {
    // Repeated security headers and a Host that is not ours: before any credential.
    if let Some(refused) = super::guard::check(ctx.config, req) {
        return refused;
    }
    let path = segments(&req.path);
    // `Open` rows match the exact path, before the panel and while the database is
    // down; another method on that path is 405.
    let open = |r: &&Route| r.guard == Open && r.pattern == req.path;
    if let Some(route) = ROUTES.iter().filter(open).find(|r| r.method == req.method) {
        return call(ctx, req, route, Vec::new());
    }
    if let Some(route) = ROUTES.iter().find(open) {
        let allow: Vec<&str> = ROUTES.iter().filter(open).map(|r| r.method).collect();
        return method_not_allowed(route.action, &allow.join(", "));
    }
    // The panel's pages and files answer even while the database is down.
    if let Some(r) = super::panel::serve(req) {
        return r;
    }
    if let Err(e) = ctx.db.get() {
        return db_unavailable("request", e);
    }
    let found = ROUTES.iter().filter(|r| r.guard != Open && r.method == req.method);
    if let Some((route, params)) = found.filter_map(|r| Some((r, matches(r.pattern, &path)?))).next() {
        return call(ctx, req, route, params);
    }
    if let Some((_, action, allow)) = NOT_ALLOWED.iter().find(|(p, ..)| matches(p, &path).is_some()) {
        return method_not_allowed(action, allow);
    }
    Response::error(
        404,
        "not_found",
        "unknown_route",
        format!("there is no route for {} '{}'", req.method, req.path),
    )
}

/// Checks the route's task id and guard, then runs its handler.
fn call<'r>(ctx: &mut Ctx<'_>, req: &'r Request, route: &Route, params: Vec<(&'static str, &'r str)>) -> Response {
    let mut call = Call::new(req, route.action, params);
    let answer = (|| {
        if let Some(id) = call.param("id") {
            if !id.parse::<i64>().is_ok_and(|n| n > 0) {
                return Err(Refusal::Answer(Box::new(Response::error(
                    404,
                    "get_task",
                    "unknown_task",
                    format!("'{id}' is not a task id"),
                ))));
            }
        }
        match route.guard {
            Guard::Role(need) => call.who = Some(authorize(ctx, req, need, route.action)?),
            Guard::Scrape if !ctx.config.metrics_open => call.who = Some(authorize(ctx, req, Read, route.action)?),
            _ => {}
        }
        (route.handler)(ctx, &call)
    })();
    let answer = answer.unwrap_or_else(|r| r.into_response(route.action));
    match route.successor {
        Some(s) => super::answer::deprecated(answer, s),
        None => answer,
    }
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
