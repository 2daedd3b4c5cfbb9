//! Who may do what: bearer tokens (stored hashed, with a role), panel sessions with
//! their CSRF token, trusted proxies, and the check each route makes. GitHub
//! signatures live in `providers::github`.

pub mod client;
pub mod credential;
pub mod proxy;
pub mod session;
pub mod tokens;

use crate::http::Request;
use rusqlite::Connection;

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// the GET endpoints
    Read,
    /// the update endpoints
    Trigger,
    /// everything else (stop, retry, maintenance)
    Admin,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub name: String,
    pub role: tokens::Role,
}

/// Why a request is not allowed: 401 (no or bad credential) or 403 (wrong role).
#[derive(Debug, Clone, PartialEq)]
pub enum Denied {
    Missing,
    Invalid,
    Forbidden {
        role: tokens::Role,
        need: Need,
    },
    /// A session-authenticated change without the session's CSRF token or from
    /// another origin: what was wrong.
    Csrf(&'static str),
    /// The credentials could not be looked up (the state database failed): not the
    /// caller's fault, so neither a 401 nor an authentication failure.
    Store(String),
}

impl Denied {
    pub fn status(&self) -> u16 {
        match self {
            Denied::Missing | Denied::Invalid => 401,
            Denied::Forbidden { .. } | Denied::Csrf(_) => 403,
            Denied::Store(_) => 503,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Denied::Missing => "missing_credentials",
            Denied::Invalid => "invalid_token",
            Denied::Forbidden { .. } => "forbidden",
            Denied::Csrf(_) => "csrf_failed",
            Denied::Store(_) => "store_failed",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Denied::Missing => {
                "this route needs 'Authorization: Bearer <token>' or a panel session (create a token with 'podup token add')".into()
            }
            Denied::Invalid => {
                "the bearer token or panel session is not valid (revoked, expired, mistyped or never created)".into()
            }
            Denied::Csrf(why) => format!("refused a change made with a panel session: {why}"),
            Denied::Store(e) => format!("the credentials could not be checked: the state database failed: {e}"),
            Denied::Forbidden { role, need } => {
                format!(
                    "a '{}' token may not do this; it needs the {need:?} right",
                    role.as_str()
                )
            }
        }
    }
}

/// The token from `Authorization: Bearer <token>`.
pub fn bearer(req: &Request) -> Option<&str> {
    let v = req.header("authorization")?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Authenticates the request's bearer token and checks it may do `need`.
pub fn require(conn: &Connection, req: &Request, need: Need, now_ms: i64) -> Result<Identity, Denied> {
    let token = bearer(req).ok_or(Denied::Missing)?;
    let id = tokens::verify(conn, token, now_ms)
        .map_err(|e| Denied::Store(e.to_string()))?
        .ok_or(Denied::Invalid)?;
    if !id.role.allows(need) {
        return Err(Denied::Forbidden { role: id.role, need });
    }
    Ok(id)
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
