//! Who may do what: bearer tokens (stored hashed, with a role), panel sessions with
//! their CSRF token, trusted proxies, and the check each route makes (`authorize`,
//! given the credential a request presented). Reading that credential from the
//! request is `http::extract`'s; GitHub signatures live in `providers::github`.

pub mod client;
pub mod credential;
pub mod proxy;
pub mod session;
pub mod tokens;

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

/// What a request presented to prove who sent it (read by `http::extract::credential`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Credential<'a> {
    /// Neither a bearer token nor a session cookie.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(&'a str),
    /// The panel's session cookie; `change` when the request changes something (any
    /// method but GET and HEAD), with what a change must carry.
    Session {
        cookie: &'a str,
        change: Option<Change<'a>>,
    },
}

/// What a change made with a panel session must carry: the session's CSRF token, and
/// an `Origin` that names this server.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change<'a> {
    /// The `X-CSRF-Token` header, if sent.
    pub csrf: Option<&'a str>,
    /// Whether the `Origin` header names this server, else what is wrong with it
    /// (`http::extract::origin_allowed`).
    pub origin: Result<(), &'static str>,
}

impl Change<'_> {
    /// The CSRF token first (missing, then not matching `cookie`), then the origin.
    pub fn check(&self, cookie: &str) -> Result<(), &'static str> {
        match self.csrf {
            None => return Err("the X-CSRF-Token header is missing"),
            Some(t) if !session::csrf_matches(cookie, t) => {
                return Err("the X-CSRF-Token header does not match the session");
            }
            Some(_) => {}
        }
        self.origin
    }
}

/// Authenticates `credential` and checks it may do `need`: a bearer token, else a
/// session (whose changes also need the CSRF token and our origin).
pub fn authorize(conn: &Connection, credential: &Credential<'_>, need: Need, now_ms: i64) -> Result<Identity, Denied> {
    let store = |e: rusqlite::Error| Denied::Store(e.to_string());
    match *credential {
        Credential::None => Err(Denied::Missing),
        Credential::Bearer(token) => {
            let id = tokens::verify(conn, token, now_ms)
                .map_err(store)?
                .ok_or(Denied::Invalid)?;
            if !id.role.allows(need) {
                return Err(Denied::Forbidden { role: id.role, need });
            }
            Ok(id)
        }
        Credential::Session { cookie, change } => {
            let s = session::lookup(conn, cookie, now_ms)
                .map_err(store)?
                .ok_or(Denied::Invalid)?;
            if !s.role.allows(need) {
                return Err(Denied::Forbidden { role: s.role, need });
            }
            if let Some(change) = change {
                change.check(cookie).map_err(Denied::Csrf)?;
            }
            Ok(Identity {
                name: s.name,
                role: s.role,
            })
        }
    }
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
