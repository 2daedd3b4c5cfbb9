//! What bearer tokens and panel sessions share: the role a credential carries, and
//! making and hashing the random secrets both hand out (only the hash is stored).
//! Tokens (`tokens`) and sessions (`session`) build on this; revoking a token ends
//! its sessions, so `tokens` uses `session` and never the other way round.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Trigger,
    Read,
}

impl Role {
    /// Every role, as `token add --role` takes them (and its completion offers).
    pub const ALL: [Role; 3] = [Role::Admin, Role::Trigger, Role::Read];

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "trigger" => Some(Role::Trigger),
            "read" => Some(Role::Read),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Trigger => "trigger",
            Role::Read => "read",
        }
    }

    /// `admin` may do everything, `trigger` the update endpoints, `read` the GETs.
    pub fn allows(self, need: super::Need) -> bool {
        use super::Need;
        matches!(
            (self, need),
            (Role::Admin, _) | (Role::Trigger, Need::Trigger) | (Role::Read, Need::Read)
        )
    }
}

/// The SHA-256 of a token or cookie value, in hex: what is stored instead of it.
pub fn hash(token: &str) -> String {
    crate::hex::sha256_hex(token.as_bytes())
}

/// 32 random bytes from the kernel, as `podup_` + 64 hex digits.
pub fn generate() -> std::io::Result<String> {
    let mut buf = [0u8; 32];
    let mut filled = 0;
    while filled < buf.len() {
        // SAFETY: the pointer and length describe the unfilled part of `buf`.
        let n = unsafe { libc::getrandom(buf[filled..].as_mut_ptr().cast(), buf.len() - filled, 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        } else {
            filled += n as usize;
        }
    }
    Ok(format!("podup_{}", crate::hex::hex(&buf)))
}
