//! The failed-authentication limit (`PODUP_LIMIT_AUTH_FAILURES`) as the handlers use it.
//! Credentials are checked first, always: a request whose signature, token or session
//! verifies is served whatever others have sent. Only a request that presented a
//! credential that failed consults the limit, and it is counted before it is answered,
//! in a short write transaction of its own (check and count under SQLite's one write
//! lock), so a concurrent burst of bad requests gets at most the limit of 401s and
//! then 429s. Failures are counted per source (`auth::client`) and per kind of
//! credential, so guessing one kind does not slow down another. Each failure also
//! reaches the journal, throttled (`JOURNAL`), naming the kind, the source and the
//! reason, never the credential; its event row outlives anonymous ones under the
//! size budget (`store::fold`, tier 3).

use super::answer::rate_limited;
use super::auth_journal::Announcer;
use super::context::Ctx;
use super::{Request, Response};
use crate::auth::client;
use crate::clock::now_ms;
use crate::ratelimit::{self, Limited, Rule};
use crate::store::immediate;

/// Failed tokens, sessions and sign-ins reach the journal a few lines a second, each
/// new source named (refused webhook signatures have their own message,
/// `hooks::REFUSALS`).
static JOURNAL: Announcer = Announcer::new();

/// The kinds of credential counted apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `X-Hub-Signature-256` on a webhook delivery.
    Signature,
    /// `Authorization: Bearer` on an API call.
    Token,
    /// The panel's session cookie.
    Session,
    /// A token typed into the panel's sign-in.
    SignIn,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Signature => "signature",
            Kind::Token => "token",
            Kind::Session => "session",
            Kind::SignIn => "sign-in",
        }
    }
}

/// The source the request's failures are counted against (see `auth::client`).
pub fn source(ctx: &Ctx<'_>, req: &Request) -> String {
    client::limit_source(
        &ctx.client_ip,
        req.headers_named("x-forwarded-for"),
        &ctx.config.trusted_proxies,
    )
}

/// How many times the per-client limit a trusted proxy takes as a whole.
const PROXY_FACTOR: u32 = 10;

/// The limits a failure is counted under: its source's, and, when the source is a
/// client a trusted proxy reported, the proxy's own at `PROXY_FACTOR` times the rules.
/// A proxy on the same host is any local process that connects, and it writes
/// `X-Forwarded-For` itself: naming a new client each time would dodge the per-client
/// limit, so the proxy as a whole is limited too. Only failures count, so a valid
/// credential through it is still always served.
fn limits(ctx: &Ctx<'_>, req: &Request, kind: Kind) -> Vec<(String, Vec<Rule>)> {
    let rules = &ctx.config.limit_auth_failures;
    let source = source(ctx, req);
    let mut limits = vec![(ratelimit::auth_failure_key(kind.as_str(), &source), rules.clone())];
    let forwarded = client::forwarded(
        &ctx.client_ip,
        req.headers_named("x-forwarded-for"),
        &ctx.config.trusted_proxies,
    );
    if forwarded.is_some() {
        let proxy = format!("proxy {}", ctx.client_ip);
        let wide = rules
            .iter()
            .map(|r| Rule {
                count: r.count.saturating_mul(PROXY_FACTOR),
                window_secs: r.window_secs,
            })
            .collect();
        limits.push((ratelimit::auth_failure_key(kind.as_str(), &proxy), wide));
    }
    limits
}

/// The first of `limits` that is reached, if any; with `record`, when none is, one hit
/// for each.
fn check_all(
    conn: &rusqlite::Connection,
    limits: &[(String, Vec<Rule>)],
    now: i64,
    record: bool,
) -> rusqlite::Result<Result<(), Limited>> {
    for (key, rules) in limits {
        if let Err(limited) = ratelimit::check(conn, key, rules, now, false)? {
            return Ok(Err(limited));
        }
    }
    if record {
        for (key, rules) in limits {
            ratelimit::hit(conn, key, rules, now)?;
        }
    }
    Ok(Ok(()))
}

/// Counts a failed authentication of `kind` and answers: `refusal` (the 401) while
/// the source (and the proxy it came through) is under the limit, else
/// `429 auth_rate_limited` with `Retry-After`. A failure beyond the limit is not
/// counted again, so a guesser that stops is free once its counted failures leave
/// the window. When the state database cannot be written the refusal is sent as it
/// is: the request fails either way.
pub fn failed(ctx: &mut Ctx<'_>, req: &Request, kind: Kind, refusal: Response) -> Response {
    let limits = limits(ctx, req, kind);
    let now = now_ms();
    let counted = match ctx.db.get_mut() {
        // A source already over the limit is answered from a read, without the write
        // lock, so a flood of guesses does not queue on it (a read can miss only
        // newer hits, so "limited" is never wrong); under it, check and count again
        // under the write lock.
        Ok(conn) => match check_all(conn, &limits, now, false) {
            Ok(Err(limited)) => Ok(Err(limited)),
            _ => immediate(conn).and_then(|tx| {
                // The time is read under the write lock: hits are then stored in the
                // order of their times, which the count by sequence number relies on
                // (a time read before the lock let a burst through with 21 × 401).
                let now = now_ms();
                let verdict = check_all(&tx, &limits, now, true)?;
                // Sinks that take auth_failures get one message per window.
                let opened = match crate::notify::installed() {
                    Some(n) if verdict.is_ok() => {
                        crate::notify::compose::auth_failure(&tx, n, &route_of(&req.path), now)?
                    }
                    _ => false,
                };
                tx.commit()?;
                if let (true, Some(n)) = (opened, crate::notify::installed()) {
                    n.schedule_flush(n.auth_window_secs);
                }
                Ok(verdict)
            }),
        },
        Err(e) => {
            log::warn!(error_kind = "store_failed"; "a failed authentication was not counted: {e}");
            return refusal.auth_failure();
        }
    };
    let limited = matches!(counted, Ok(Err(_)));
    if kind != Kind::Signature {
        journal(kind, &source(ctx, req), refusal.reason, limited, now);
    }
    match counted {
        Ok(Ok(())) => refusal.auth_failure(),
        Ok(Err(limited)) => rate_limited(
            refusal.action,
            "auth_rate_limited",
            &format!(
                "failed authentications ({}) from this source, or through the proxy it came by",
                kind.as_str()
            ),
            &limited,
        )
        .auth_failure(),
        Err(e) => {
            log::warn!(error_kind = "store_failed"; "a failed authentication was not counted: {e}");
            refusal.auth_failure()
        }
    }
}

/// One journal line for a failed authentication when `JOURNAL` admits it (else it is
/// counted into the next line's "more"). The credential itself is never written:
/// only its kind, the source and the reason code.
fn journal(kind: Kind, source: &str, reason: &str, limited: bool, now: i64) {
    let Some(skipped) = JOURNAL.admit(source, now) else {
        return;
    };
    let more = if skipped > 0 {
        format!(" ({skipped} more since the last message; the event log has each)")
    } else {
        String::new()
    };
    let state = if limited {
        ", over PODUP_LIMIT_AUTH_FAILURES"
    } else {
        ""
    };
    log::warn!(
        error_kind = "auth_failed", kind = kind.as_str(), source = source;
        "failed authentication ({}) from '{source}': {reason}{state}{more}",
        kind.as_str()
    );
}
/// The route a failed authentication is counted under in notifications: the path
/// without its query, credential-like segments redacted, at most 100 characters.
fn route_of(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    super::redact::bound(&super::redact::redact_segments(path), 100)
}
