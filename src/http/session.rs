//! Panel sign-in on the wire: `POST /api/v1/session` (a token, or a trusted proxy's
//! forward-auth header) sets the session cookie; `GET` says who is signed in and
//! hands the page its CSRF token; `DELETE` signs out. Every other API route
//! authenticates in the router (`authorize::authorize`): a bearer token as before, else
//! the session cookie, and a session-authenticated change needs the CSRF header and
//! a same-origin `Origin` (`auth::Change`).

use super::auth_limit::{self, Kind};
use super::authorize::authorize_as;
use super::context::{Call, Ctx};
use super::extract::{self, Peer, is_https, origin_allowed, session_cookie};
use super::refusal::Refusal;
use super::{Request, Response};
use crate::auth::session;
use crate::auth::tokens::{self, Role};
use crate::auth::{self, Credential, Denied, Need};
use crate::clock::now_ms;
use crate::config::Config;
use crate::config::forward::PROXY_SECRET_HEADER;
use serde::Deserialize;
use serde_json::{Value, json};

/// Longest forwarded user name kept.
const MAX_FORWARDED_NAME: usize = 128;

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
pub fn show(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let (req, a) = (call.req, call.action);
    let forward = forwarded_user(ctx, req).is_some();
    let demo = ctx.host.simulated();
    let conn = ctx.db.get()?;
    let mut stale = false;
    if let Some(value) = session_cookie(req) {
        match session::lookup(conn, value, now_ms())? {
            Some(s) => {
                ctx.authenticated = true;
                return Ok(Response::json(200, a, "signed_in", &signed_in_body(ctx, &s, value)));
            }
            None => stale = true,
        }
    }
    let tokens_configured = tokens::list(conn)?.iter().any(|t| t.role != Role::Trigger);
    let signed_out = Response::json(
        200,
        a,
        "signed_out",
        &json!({"signed_in": false, "tokens_configured": tokens_configured, "forward_auth": forward, "demo": demo}),
    );
    if !stale {
        return Ok(signed_out);
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
        return Ok(signed_out);
    }
    let counted = auth_limit::failed(ctx, req, Kind::Session, signed_out.clone());
    if counted.status != 429 {
        return Ok(counted);
    }
    let mut limited = signed_out.auth_failure();
    limited.reason = counted.reason;
    Ok(limited)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SignIn {
    token: Option<String>,
}

/// `POST /api/v1/session` with `{"token": "..."}` (admin or read), or with no token
/// from a trusted proxy that names the user.
pub fn sign_in(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let (req, a) = (call.req, call.action);
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
            return Ok(Response::error(
                d.status(),
                a,
                d.code(),
                format!("refused a sign-in: {why}"),
            ));
        }
    }
    let body: SignIn = extract::json(req)
        .map_err(|_| Refusal::invalid("invalid_json", "the body must be {\"token\": \"<token>\"}"))?;
    let now = now_ms();
    let secure = is_https(&Peer::of(ctx), req);
    let forwarded = forwarded_user(ctx, req);
    let (ttl, remote) = (ctx.config.session_secs, ctx.client_ip.clone());
    let who = match body.token.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(token) => {
            let id = authorize_as(ctx, req, &Credential::Bearer(token), Need::Read, a, Kind::SignIn)?;
            (id.name, id.role, "token")
        }
        None => match forwarded {
            Some((name, role)) => {
                ctx.authenticated = true;
                (name, role, "forward_auth")
            }
            None if unproven_forward_auth(ctx, req) => {
                log::warn!(error_kind = "forward_auth_unproven", client = ctx.client_ip.as_str(); "refused a forward-auth header that came without the proxy's secret");
                return Ok(Response::error(
                    401,
                    a,
                    "forward_auth_unproven",
                    "the forward-auth header came without the proxy's X-Podup-Proxy-Secret (PODUP_FORWARD_AUTH_SECRET)",
                ));
            }
            None => return Ok(no_credential(ctx, a)),
        },
    };
    let (name, role, via) = who;
    let conn = ctx.db.get()?;
    let value = match session::create(conn, &name, role, via, now, ttl, Some(&remote)) {
        Ok(v) => v,
        Err(e) => {
            return Ok(Response::error(
                503,
                a,
                "store_failed",
                format!("the session could not be stored: {e}"),
            ));
        }
    };
    let s = session::Session {
        name: name.clone(),
        role,
        via: via.into(),
        created_ms: now,
        expires_ms: crate::duration::ms_after(now, ttl),
    };
    Ok(Response::json(200, a, "signed_in", &signed_in_body(ctx, &s, &value))
        .with_header("Set-Cookie", session::set_cookie(&value, ttl, secure))
        .with_meta(json!({"name": name, "role": role, "via": via})))
}

fn no_credential(ctx: &mut Ctx<'_>, a: &'static str) -> Response {
    let any = ctx
        .db
        .get()
        .ok()
        .and_then(|c| tokens::list(c).ok())
        .is_some_and(|l| !l.is_empty());
    if any {
        Response::error(
            401,
            a,
            "missing_credentials",
            "sign in with an admin or read token: {\"token\": \"<token>\"}",
        )
    } else {
        Response::error(
            401,
            a,
            "no_tokens",
            "no token exists yet: create one on the host with 'podup token add NAME --role admin'",
        )
    }
}

/// `DELETE /api/v1/session`: ends the session (a change: CSRF token and Origin needed).
pub fn sign_out(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Response, Refusal> {
    let (req, a) = (call.req, call.action);
    let secure = is_https(&Peer::of(ctx), req);
    let signed_out = || {
        Response::json(200, a, "signed_out", &json!({"signed_in": false}))
            .with_header("Set-Cookie", session::clear_cookie(secure))
    };
    let Some(value) = session_cookie(req) else {
        return Ok(signed_out());
    };
    extract::change(&Peer::of(ctx), req)
        .check(value)
        .map_err(Denied::Csrf)?;
    session::revoke(ctx.db.get()?, value)?;
    Ok(signed_out())
}
