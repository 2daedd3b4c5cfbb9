//! Bearer tokens: `podup token add NAME --role admin|trigger|read` prints a random
//! token once; only its SHA-256 is stored. Verification hashes what was presented
//! and compares in constant time.

pub use super::credential::{Role, generate, hash};
use crate::store::tokens as store;
use rusqlite::Connection;
use serde::Serialize;

/// A stored token, without its secret.
#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    pub name: String,
    pub role: Role,
    pub created_ms: i64,
    pub last_used_ms: Option<i64>,
}

pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// Stores a new token for `name`; returns the token (shown once) or why not.
pub fn add(conn: &Connection, name: &str, role: Role, now_ms: i64) -> Result<String, String> {
    if !valid_name(name) {
        return Err(format!(
            "token name '{name}' must be 1 to 64 characters of [A-Za-z0-9_.-]"
        ));
    }
    let token = generate().map_err(|e| format!("cannot get random bytes: {e}"))?;
    let inserted = store::insert(conn, name, role.as_str(), &hash(&token), now_ms).map_err(|e| e.to_string())?;
    if !inserted {
        return Err(format!("a token named '{name}' exists; revoke it first"));
    }
    Ok(token)
}

pub fn list(conn: &Connection) -> rusqlite::Result<Vec<TokenInfo>> {
    Ok(store::list(conn)?
        .into_iter()
        .map(|row| TokenInfo {
            name: row.name,
            role: Role::parse(&row.role).unwrap_or(Role::Read),
            created_ms: row.created_ms,
            last_used_ms: row.last_used_ms,
        })
        .collect())
}

/// Removes the token and ends the panel sessions signed in with it; false when
/// there was no such token.
pub fn revoke(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    let removed = store::delete(conn, name)?;
    super::session::revoke_for(conn, name)?;
    Ok(removed)
}

/// The identity of a presented token, if it is one of ours.
pub fn verify(conn: &Connection, token: &str, now_ms: i64) -> rusqlite::Result<Option<super::Identity>> {
    let presented = hash(token);
    let Some(found) = store::find_by_hash(conn, &presented)? else {
        return Ok(None);
    };
    if !super::constant_time_eq(found.hash.as_bytes(), presented.as_bytes()) {
        return Ok(None);
    }
    let name = found.name;
    // Best effort: a valid token stays valid while the database cannot be written
    // (disk full), so reads keep working and writes fail with their own error.
    if let Err(e) = store::touch(conn, &name, now_ms) {
        log::warn!(error_kind = "store_failed"; "could not record the use of token '{name}': {e}");
    }
    Ok(Role::parse(&found.role).map(|role| super::Identity { name, role }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Need;

    #[test]
    fn add_verify_revoke() {
        let c = crate::testing::migrated_db();
        let t = add(&c, "ci", Role::Trigger, 1).unwrap();
        assert!(t.starts_with("podup_") && t.len() == 70);
        assert_ne!(t, add(&c, "other", Role::Read, 1).unwrap(), "tokens are random");
        let stored: String = c
            .query_row("SELECT hash FROM tokens WHERE name = 'ci'", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, t, "only the hash is stored");
        let id = verify(&c, &t, 5).unwrap().unwrap();
        assert_eq!((id.name.as_str(), id.role), ("ci", Role::Trigger));
        assert_eq!(
            list(&c).unwrap().iter().find(|i| i.name == "ci").unwrap().last_used_ms,
            Some(5)
        );
        assert!(verify(&c, "podup_wrong", 5).unwrap().is_none());
        assert!(add(&c, "ci", Role::Admin, 1).unwrap_err().contains("exists"));
        assert!(add(&c, "bad name", Role::Admin, 1).is_err());
        assert!(revoke(&c, "ci").unwrap());
        assert!(!revoke(&c, "ci").unwrap());
        assert!(verify(&c, &t, 6).unwrap().is_none());
    }

    #[test]
    fn roles() {
        assert!(Role::Admin.allows(Need::Admin) && Role::Admin.allows(Need::Read) && Role::Admin.allows(Need::Trigger));
        assert!(
            Role::Trigger.allows(Need::Trigger)
                && !Role::Trigger.allows(Need::Read)
                && !Role::Trigger.allows(Need::Admin)
        );
        assert!(Role::Read.allows(Need::Read) && !Role::Read.allows(Need::Trigger));
    }
}
