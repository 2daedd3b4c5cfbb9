//! Panel sessions: signing in with an admin or read token (or through a trusted
//! proxy's forward-auth header) gives a random cookie value; only its SHA-256 is
//! stored, with the role and an expiry. The CSRF token is derived from the cookie
//! value, so it needs no storage and is worthless without the (HttpOnly) cookie.
//! The HTTP side (routes, cookies on the wire) is `http::session`.

use super::credential::{self, Role};
use crate::store::sessions;
use rusqlite::Connection;
use sha2::{Digest, Sha256};

/// The cookie's name.
pub const COOKIE: &str = "podup_session";
/// The header a session-authenticated mutating request must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A live session, without its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub name: String,
    pub role: Role,
    /// `token` or `forward_auth`.
    pub via: String,
    pub created_ms: i64,
    pub expires_ms: i64,
}

/// Creates a session for `name` with `role`; returns the cookie value (shown once).
pub fn create(
    conn: &Connection,
    name: &str,
    role: Role,
    via: &str,
    now_ms: i64,
    ttl_secs: u64,
    remote: Option<&str>,
) -> Result<String, String> {
    let random = credential::generate().map_err(|e| format!("cannot get random bytes: {e}"))?;
    let value = format!("s_{}", random.trim_start_matches("podup_"));
    let expires = crate::duration::ms_after(now_ms, ttl_secs);
    sessions::purge_expired(conn, now_ms).map_err(|e| e.to_string())?;
    let hash = credential::hash(&value);
    let row = sessions::NewSession {
        hash: &hash,
        name,
        role: role.as_str(),
        via,
        created_ms: now_ms,
        expires_ms: expires,
        remote_addr: remote,
    };
    sessions::insert(conn, &row).map_err(|e| e.to_string())?;
    Ok(value)
}

/// The session a cookie value belongs to, if it exists and has not expired.
pub fn lookup(conn: &Connection, value: &str, now_ms: i64) -> rusqlite::Result<Option<Session>> {
    let presented = credential::hash(value);
    let Some(row) = sessions::find_live(conn, &presented, now_ms)? else {
        return Ok(None);
    };
    if !super::constant_time_eq(row.hash.as_bytes(), presented.as_bytes()) {
        return Ok(None);
    }
    // Best effort, as for tokens: a full disk does not sign anyone out.
    if let Err(e) = sessions::touch(conn, &row.hash, now_ms) {
        log::warn!(error_kind = "store_failed"; "could not record the use of a panel session: {e}");
    }
    Ok(Some(Session {
        name: row.name,
        role: Role::parse(&row.role).unwrap_or(Role::Read),
        via: row.via,
        created_ms: row.created_ms,
        expires_ms: row.expires_ms,
    }))
}

/// Ends the session of a cookie value (sign-out); false when there was none.
pub fn revoke(conn: &Connection, value: &str) -> rusqlite::Result<bool> {
    Ok(sessions::delete(conn, &credential::hash(value))? == 1)
}

/// Ends every session signed in with token `name` (when the token is revoked).
pub fn revoke_for(conn: &Connection, name: &str) -> rusqlite::Result<usize> {
    sessions::delete_for_token(conn, name)
}

/// The CSRF token of a session: SHA-256 over a fixed label and the cookie value.
pub fn csrf_token(value: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"podup csrf token\0");
    h.update(value.as_bytes());
    crate::hex::hex(&h.finalize())
}

/// Whether `presented` is the CSRF token of the session `value` (constant time).
pub fn csrf_matches(value: &str, presented: &str) -> bool {
    super::constant_time_eq(csrf_token(value).as_bytes(), presented.trim().as_bytes())
}

/// The value of cookie `name` in `Cookie` header values (`a=1; b=2`).
pub fn cookie<'a>(headers: impl Iterator<Item = &'a str>, name: &str) -> Option<&'a str> {
    headers
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// `Set-Cookie` for a new session: HttpOnly, SameSite=Strict, Path=/, and Secure
/// when the request came over HTTPS.
pub fn set_cookie(value: &str, max_age_secs: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={value}; Max-Age={max_age_secs}; Path=/; HttpOnly; SameSite=Strict{secure}")
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    set_cookie("", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        crate::testing::migrated_db()
    }

    #[test]
    fn create_lookup_expire_revoke() {
        let c = db();
        let v = create(&c, "alice", Role::Admin, "token", 1_000, 60, Some("127.0.0.1")).unwrap();
        assert!(v.starts_with("s_") && v.len() == 66, "{v}");
        let stored: String = c.query_row("SELECT hash FROM sessions", [], |r| r.get(0)).unwrap();
        assert_ne!(stored, v, "only the hash is stored");
        let s = lookup(&c, &v, 2_000).unwrap().unwrap();
        assert_eq!((s.name.as_str(), s.role, s.expires_ms), ("alice", Role::Admin, 61_000));
        assert!(lookup(&c, &v, 61_000).unwrap().is_none(), "expired");
        assert!(lookup(&c, "s_wrong", 2_000).unwrap().is_none());
        assert!(revoke(&c, &v).unwrap());
        assert!(lookup(&c, &v, 2_000).unwrap().is_none());
        let w = create(&c, "bob", Role::Read, "token", 1_000, 60, None).unwrap();
        assert_eq!(revoke_for(&c, "bob").unwrap(), 1);
        assert!(lookup(&c, &w, 2_000).unwrap().is_none());
    }

    #[test]
    fn expired_sessions_are_purged_at_the_next_sign_in() {
        let c = db();
        create(&c, "a", Role::Read, "token", 0, 1, None).unwrap();
        create(&c, "b", Role::Read, "token", 5_000, 1, None).unwrap();
        let n: i64 = c.query_row("SELECT count(*) FROM sessions", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn csrf_is_bound_to_the_session() {
        let (a, b) = ("s_aaaa", "s_bbbb");
        assert!(csrf_matches(a, &csrf_token(a)));
        assert!(!csrf_matches(a, &csrf_token(b)));
        assert!(!csrf_matches(a, ""));
        assert_ne!(csrf_token(a), a);
    }

    #[test]
    fn cookies_are_found_and_flagged() {
        let h = ["theme=dark; podup_session=s_123 ; x=y", "other=1"];
        assert_eq!(cookie(h.into_iter(), COOKIE), Some("s_123"));
        assert_eq!(cookie(["podup_session="].into_iter(), COOKIE), None);
        assert_eq!(cookie(["podup_sessionx=1"].into_iter(), COOKIE), None);
        let c = set_cookie("s_1", 60, false);
        assert_eq!(c, "podup_session=s_1; Max-Age=60; Path=/; HttpOnly; SameSite=Strict");
        assert!(set_cookie("s_1", 60, true).ends_with("; Secure"));
        assert!(clear_cookie(false).starts_with("podup_session=; Max-Age=0;"));
    }
}
