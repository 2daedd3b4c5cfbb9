//! Panel sign-in on the wire: `POST /api/v1/session` (a token, or a trusted proxy's
//! forward-auth header) sets the session cookie; `GET` says who is signed in and
//! hands the page its CSRF token; `DELETE` signs out. `identify` is how every API
//! route authenticates: a bearer token as before, else the session cookie, and a
//! session-authenticated change needs the CSRF header and a same-origin `Origin`.
// Helpers answer early with `Err(Response)`, as in `api`.
#![allow(clippy::result_large_err)]

use super::routes::{Ctx, db_unavailable, store_failed};
use super::{Request, Response};
use crate::auth::session::{self, COOKIE, CSRF_HEADER};
use crate::auth::tokens::{self, Role};
use crate::auth::{self, Denied, Identity, Need};
use crate::clock::now_ms;
use crate::config::Config;
use crate::config::forward::PROXY_SECRET_HEADER;
use rusqlite::Connection;
use serde::Deserialize;
use serde_json::{Value, json};

const A: &str = "session";
/// Longest forwarded user name kept.
const MAX_FORWARDED_NAME: usize = 128;

/// Authenticates a request by bearer token or session cookie and checks it may do `need`.
pub fn identify(peer: &Peer<'_>, conn: &Connection, req: &Request, need: Need, now: i64) -> Result<Identity, Denied> {
    if auth::bearer(req).is_some() {
        return auth::require(conn, req, need, now);
    }
    let value = session::cookie(req.headers_named("cookie"), COOKIE).ok_or(Denied::Missing)?;
    let s = session::lookup(conn, value, now)
        .map_err(|e| Denied::Store(e.to_string()))?
        .ok_or(Denied::Invalid)?;
    if !s.role.allows(need) {
        return Err(Denied::Forbidden { role: s.role, need });
    }
    if !matches!(req.method.as_str(), "GET" | "HEAD") {
        check_change(peer, req, value).map_err(Denied::Csrf)?;
    }
    Ok(Identity {
        name: s.name,
        role: s.role,
    })
}

/// Who sent a request, as far as the session checks care.
pub struct Peer<'a> {
    pub config: &'a Config,
    /// `Ctx::client_ip`.
    pub client_ip: &'a str,
}

impl<'a> Peer<'a> {
    pub fn of(ctx: &'a Ctx<'_>) -> Peer<'a> {
        Peer {
            config: ctx.config,
            client_ip: &ctx.client_ip,
        }
    }
}

/// A change made with a session must carry its CSRF token and come from our origin.
fn check_change(peer: &Peer<'_>, req: &Request, value: &str) -> Result<(), &'static str> {
    match req.header(CSRF_HEADER) {
        None => return Err("the X-CSRF-Token header is missing"),
        Some(t) if !session::csrf_matches(value, t) => {
            return Err("the X-CSRF-Token header does not match the session");
        }
        Some(_) => {}
    }
    origin_allowed(
        req.header("origin"),
        req.header("host"),
        is_https(peer, req),
        peer.config.public_url.as_deref(),
    )
}

/// The `Origin` of a session change must be `PODUP_PUBLIC_URL`'s origin when that is
/// set (the `Host` a DNS-rebinding page sends names the attacker's domain, so it
/// proves nothing), else this server as the browser reached it (scheme and `Host`).
/// A missing one is refused.
pub fn origin_allowed(
    origin: Option<&str>,
    host: Option<&str>,
    https: bool,
    public_url: Option<&str>,
) -> Result<(), &'static str> {
    let Some(origin) = origin.map(|o| o.trim_end_matches('/')) else {
        return Err("the Origin header is missing");
    };
    let scheme = if https { "https" } else { "http" };
    let own = host.map(|h| format!("{scheme}://{h}"));
    let public = public_url.map(|u| {
        let rest = u.split_once("://").map_or(u, |(_, r)| r);
        let end = rest.find('/').unwrap_or(rest.len());
        u[..u.len() - rest.len() + end].to_string()
    });
    let same = |o: &Option<String>| o.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(origin));
    let allowed = if public.is_some() { same(&public) } else { same(&own) };
    if allowed {
        Ok(())
    } else {
        Err("the Origin header names another site")
    }
}

/// The request came over HTTPS: a trusted proxy says `X-Forwarded-Proto: https`.
pub fn is_https(peer: &Peer<'_>, req: &Request) -> bool {
    peer.config.trusted_proxies.contains(peer.client_ip)
        && req
            .header("x-forwarded-proto")
            .and_then(|v| v.split(',').next())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

/// The user a trusted proxy names in the forward-auth header, with the configured role:
/// only from a trusted peer, and with the proxy's secret when one is configured.
fn forwarded_user(ctx: &Ctx<'_>, req: &Request) -> Option<(String, Role)> {
    let (header, role) = ctx.config.forward_auth.as_ref()?;
    if !ctx.config.trusted_proxies.contains(&ctx.client_ip) || !proxy_secret_ok(ctx.config, req) {
        return None;
    }
    let name = req.header(header)?.trim();
    let printable = name.chars().all(|c| !c.is_control());
    (!name.is_empty() && name.len() <= MAX_FORWARDED_NAME && printable).then(|| (name.to_string(), *role))
}

/// The proxy's `X-Podup-Proxy-Secret` matches one of `PODUP_FORWARD_AUTH_SECRET`
/// (constant time); with none configured (only allowed for remote proxies) any passes.
fn proxy_secret_ok(config: &Config, req: &Request) -> bool {
    let secrets = &config.forward_auth_secrets;
    if secrets.is_empty() {
        return true;
    }
    let sent = req.header(PROXY_SECRET_HEADER).unwrap_or_default().as_bytes();
    // Every secret is compared, so the time taken does not say which one matched.
    secrets
        .iter()
        .fold(false, |ok, s| auth::constant_time_eq(s.0.as_bytes(), sent) | ok)
}

/// A trusted peer sent the forward-auth header without the proxy's secret.
fn unproven_forward_auth(ctx: &Ctx<'_>, req: &Request) -> bool {
    ctx.config.forward_auth.as_ref().is_some_and(|(header, _)| {
        req.header(header).is_some()
            && ctx.config.trusted_proxies.contains(&ctx.client_ip)
            && !proxy_secret_ok(ctx.config, req)
    })
}

fn signed_in_body(ctx: &Ctx<'_>, s: &session::Session, value: &str) -> Value {
    json!({
        "signed_in": true,
        "name": s.name,
        "role": s.role,
        "via": s.via,
        "csrf_token": session::csrf_token(value),
        "expires_ms": s.expires_ms,
        "demo": ctx.host.simulated(),
    })
}

/// `GET /api/v1/session`: always 200, so a signed-out panel logs no error and shows
/// its sign-in form.
pub fn show(ctx: &mut Ctx<'_>, req: &Request) -> Response {
    let forward = forwarded_user(ctx, req).is_some();
    let demo = ctx.host.simulated();
    let conn = match ctx.db.get() {
        Ok(c) => c,
        Err(e) => return db_unavailable(A, e),
    };
    let mut stale = false;
    if let Some(value) = session::cookie(req.headers_named("cookie"), COOKIE) {
        match session::lookup(conn, value, now_ms()) {
            Ok(Some(s)) => {
                ctx.authenticated = true;
                return Response::json(200, A, "signed_in", &signed_in_body(ctx, &s, value));
            }
            Ok(None) => stale = true,
            Err(e) => return store_failed(A, &e),
        }
    }
    let tokens_configured = match tokens::list(conn) {
        Ok(l) => l.iter().any(|t| t.role != Role::Trigger),
        Err(e) => return store_failed(A, &e),
    };
    let signed_out = Response::json(
        200,
        A,
        "signed_out",
        &json!({"signed_in": false, "tokens_configured": tokens_configured, "forward_auth": forward, "demo": demo}),
    );
    if !stale {
        return signed_out;
    }
    // A cookie that does not verify is cleared. With a valid forward-auth identity in
    // the same request, the identity is what counts (the panel signs in with it): the
    // stale cookie guesses nothing. Otherwise it is a failed session, as on any other
    // route: counted, and once the source (or the proxy it came by) is over the limit,
    // answered the same signed-out 200 rather than 429 (third probe, G5): past the
    // limit the answer is the same for every cookie, so it is no oracle, and a remote
    // user's stale cookie no longer hides the sign-in form while a local process
    // exhausts the proxy-wide limit. Its row keeps the reason `auth_rate_limited`.
    let secure = is_https(&Peer::of(ctx), req);
    let signed_out = signed_out.with_header("Set-Cookie", session::clear_cookie(secure));
    if forward {
        return signed_out;
    }
    let counted = super::auth_limit::failed(ctx, req, super::auth_limit::Kind::Session, signed_out.clone());
    if counted.status != 429 {
        return counted;
    }
    let mut limited = signed_out.auth_failure();
    limited.reason = counted.reason;
    limited
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SignIn {
    token: Option<String>,
}

/// `POST /api/v1/session` with `{"token": "..."}` (admin or read), or with no token
/// from a trusted proxy that names the user.
pub fn sign_in(ctx: &mut Ctx<'_>, req: &Request) -> Response {
    // Login CSRF: a page elsewhere must not sign the browser in to a session of the
    // attacker's choosing. A browser sends `Origin` on every cross-site POST; when
    // one is there, it must be ours (only `PODUP_PUBLIC_URL`'s when set), as for any
    // session change. Without one (curl, scripts) there is no browser to fool.
    if req.header("origin").is_some() {
        let peer = Peer::of(ctx);
        let https = is_https(&peer, req);
        if let Err(why) = origin_allowed(
            req.header("origin"),
            req.header("host"),
            https,
            ctx.config.public_url.as_deref(),
        ) {
            let d = Denied::Csrf(why);
            return Response::error(d.status(), A, d.code(), format!("refused a sign-in: {why}"));
        }
    }
    let body: SignIn = if req.body.iter().all(u8::is_ascii_whitespace) {
        SignIn::default()
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(b) => b,
            Err(_) => return Response::error(400, A, "invalid_json", "the body must be {\"token\": \"<token>\"}"),
        }
    };
    let now = now_ms();
    let secure = is_https(&Peer::of(ctx), req);
    let forwarded = forwarded_user(ctx, req);
    let (ttl, remote) = (ctx.config.session_secs, ctx.client_ip.clone());
    let who = match body.token.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(token) => {
            let mut bearer = req.clone();
            bearer.headers.retain(|(n, _)| n != "authorization");
            bearer.headers.push(("authorization".into(), format!("Bearer {token}")));
            match super::api::authorize_as(ctx, &bearer, Need::Read, A, super::auth_limit::Kind::SignIn) {
                Ok(id) => (id.name, id.role, "token"),
                Err(r) => return r,
            }
        }
        None => match forwarded {
            Some((name, role)) => {
                ctx.authenticated = true;
                (name, role, "forward_auth")
            }
            None if unproven_forward_auth(ctx, req) => {
                log::warn!(error_kind = "forward_auth_unproven", client = ctx.client_ip.as_str(); "refused a forward-auth header that came without the proxy's secret");
                return Response::error(
                    401,
                    A,
                    "forward_auth_unproven",
                    "the forward-auth header came without the proxy's X-Podup-Proxy-Secret (PODUP_FORWARD_AUTH_SECRET)",
                );
            }
            None => return no_credential(ctx),
        },
    };
    let (name, role, via) = who;
    let conn = match ctx.db.get() {
        Ok(c) => c,
        Err(e) => return db_unavailable(A, e),
    };
    let value = match session::create(conn, &name, role, via, now, ttl, Some(&remote)) {
        Ok(v) => v,
        Err(e) => return Response::error(503, A, "store_failed", format!("the session could not be stored: {e}")),
    };
    let s = session::Session {
        name: name.clone(),
        role,
        via: via.into(),
        created_ms: now,
        expires_ms: crate::duration::ms_after(now, ttl),
    };
    Response::json(200, A, "signed_in", &signed_in_body(ctx, &s, &value))
        .with_header("Set-Cookie", session::set_cookie(&value, ttl, secure))
        .with_meta(json!({"name": name, "role": role, "via": via}))
}

fn no_credential(ctx: &mut Ctx<'_>) -> Response {
    let any = ctx
        .db
        .get()
        .ok()
        .and_then(|c| tokens::list(c).ok())
        .is_some_and(|l| !l.is_empty());
    if any {
        Response::error(
            401,
            A,
            "missing_credentials",
            "sign in with an admin or read token: {\"token\": \"<token>\"}",
        )
    } else {
        Response::error(
            401,
            A,
            "no_tokens",
            "no token exists yet: create one on the host with 'podup token add NAME --role admin'",
        )
    }
}

/// `DELETE /api/v1/session`: ends the session (a change: CSRF token and Origin needed).
pub fn sign_out(ctx: &mut Ctx<'_>, req: &Request) -> Response {
    let secure = is_https(&Peer::of(ctx), req);
    let Some(value) = session::cookie(req.headers_named("cookie"), COOKIE) else {
        return Response::json(200, A, "signed_out", &json!({"signed_in": false}))
            .with_header("Set-Cookie", session::clear_cookie(secure));
    };
    if let Err(why) = check_change(&Peer::of(ctx), req, value) {
        let d = Denied::Csrf(why);
        return Response::error(d.status(), A, d.code(), d.message());
    }
    let conn = match ctx.db.get() {
        Ok(c) => c,
        Err(e) => return db_unavailable(A, e),
    };
    match session::revoke(conn, value) {
        Ok(_) => Response::json(200, A, "signed_out", &json!({"signed_in": false}))
            .with_header("Set-Cookie", session::clear_cookie(secure)),
        Err(e) => store_failed(A, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::origin_allowed;

    #[test]
    fn origins() {
        let h = Some("127.0.0.1:8777");
        assert!(origin_allowed(Some("http://127.0.0.1:8777"), h, false, None).is_ok());
        assert!(origin_allowed(Some("https://127.0.0.1:8777"), h, false, None).is_err());
        assert!(origin_allowed(Some("https://127.0.0.1:8777"), h, true, None).is_ok());
        assert!(origin_allowed(Some("http://evil.example"), h, false, None).is_err());
        assert!(origin_allowed(Some("null"), h, false, None).is_err());
        assert_eq!(
            origin_allowed(None, h, false, None),
            Err("the Origin header is missing")
        );
        let public = Some("https://podup.example.com/base");
        assert!(origin_allowed(Some("https://podup.example.com"), Some("10.0.0.5:8777"), false, public).is_ok());
        assert!(origin_allowed(Some("https://podup.example.com.evil"), None, false, public).is_err());
        // With a public URL, the Host a rebound name brings is no origin of ours.
        let rebound = Some("rebind.attacker.example");
        assert!(origin_allowed(Some("http://rebind.attacker.example"), rebound, false, public).is_err());
        assert!(origin_allowed(Some("http://127.0.0.1:8777"), h, false, public).is_err());
    }
}
