//! What handlers read from a request, read one way: the credential it presents (a
//! bearer token or the panel's session cookie, with what a session change carries),
//! a JSON body with its limits and error codes, and query parameters. Answers are
//! `answer`'s; refusals `Refusal`'s.

use super::Request;
use super::context::Ctx;
use super::refusal::Refusal;
use crate::auth::session::{self, COOKIE, CSRF_HEADER};
use crate::auth::{Change, Credential};
use crate::config::Config;
use serde::de::DeserializeOwned;

/// Longest `?wait=` accepted, in seconds.
pub const MAX_WAIT_SECS: u64 = 60;

/// The token from `Authorization: Bearer <token>`.
pub fn bearer(req: &Request) -> Option<&str> {
    let v = req.header("authorization")?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The panel's session cookie, if the request carries one.
pub fn session_cookie(req: &Request) -> Option<&str> {
    session::cookie(req.headers_named("cookie"), COOKIE)
}

/// The credential `req` presents: a bearer token first, else the session cookie
/// (with, for a change, its CSRF header and whether its `Origin` is ours).
pub fn credential<'r>(peer: &Peer<'_>, req: &'r Request) -> Credential<'r> {
    if let Some(token) = bearer(req) {
        return Credential::Bearer(token);
    }
    match session_cookie(req) {
        None => Credential::None,
        Some(cookie) => Credential::Session {
            cookie,
            change: (!matches!(req.method.as_str(), "GET" | "HEAD")).then(|| change(peer, req)),
        },
    }
}

/// What a session change carries: its CSRF header, and whether `Origin` names us.
pub fn change<'r>(peer: &Peer<'_>, req: &'r Request) -> Change<'r> {
    Change {
        csrf: req.header(CSRF_HEADER),
        origin: origin_allowed(
            req.header("origin"),
            req.header("host"),
            is_https(peer, req),
            peer.config.public_url.as_deref(),
        ),
    }
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

/// The body as JSON; an empty (or all-whitespace) body is `{}`.
pub fn json<T: DeserializeOwned>(req: &Request) -> Result<T, serde_json::Error> {
    let text = if req.body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &req.body[..]
    };
    serde_json::from_slice(text)
}

/// `json`, refused as `400 invalid_json` with serde's reason.
pub fn body<T: DeserializeOwned>(req: &Request) -> Result<T, Refusal> {
    json(req).map_err(|e| {
        Refusal::invalid(
            "invalid_json",
            format!("the request body is not the JSON this route takes: {e}"),
        )
    })
}

/// `?wait=<seconds>`, 0 to `MAX_WAIT_SECS`, else `400 invalid_wait`.
pub fn wait_secs(req: &Request) -> Result<Option<u64>, Refusal> {
    match query_param(&req.query, "wait") {
        None => Ok(None),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if n <= MAX_WAIT_SECS => Ok(Some(n)),
            _ => Err(Refusal::invalid(
                "invalid_wait",
                format!("wait must be 0 to {MAX_WAIT_SECS} seconds, got '{v}'"),
            )),
        },
    }
}

/// The first value of query parameter `name`, percent-decoded (`+` is a space).
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            crate::providers::github::body::percent_decode(s.as_bytes(), 0)
                .ok()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        };
        (decode(k)? == name).then(|| decode(v)).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters() {
        assert_eq!(query_param("a=1&status=failed&b", "status").as_deref(), Some("failed"));
        assert_eq!(query_param("unit=my%20app+x", "unit").as_deref(), Some("my app x"));
        assert_eq!(query_param("a=1", "b"), None);
        assert_eq!(query_param("", "b"), None);
    }

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
