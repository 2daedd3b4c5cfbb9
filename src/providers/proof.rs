//! Checking a delivery's credential the way its sender sends it ([`Proof`]): every
//! comparison is constant-time (`Mac::verify_slice`, or equal-length XOR folding), the
//! secrets are tried in turn (two while one is rotated), and an error names the header
//! or path it looked at, never the value it expected or got.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::sender::{Proof, Sender};
use crate::model::Secret;

const MAC_BYTES: usize = 32;

/// Why a delivery's credential was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofError {
    /// None of the headers (or the path segment) that carry it was sent.
    Missing(&'static str),
    /// A signature header that is not 64 hex digits (after an optional `sha256=`).
    Malformed(&'static str),
    /// Well formed, but no configured secret gives it.
    Mismatch(&'static str),
}

impl ProofError {
    /// Stable tag for the event log and the journal.
    pub fn kind(&self) -> &'static str {
        match self {
            ProofError::Missing(_) => "credential_missing",
            ProofError::Malformed(_) => "signature_malformed",
            ProofError::Mismatch(_) => "credential_mismatch",
        }
    }

    /// Whether a guess was made (a missing credential guesses nothing and is not
    /// counted against the client's address).
    pub fn is_guess(&self) -> bool {
        !matches!(self, ProofError::Missing(_))
    }
}

impl fmt::Display for ProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProofError::Missing(what) => write!(f, "the request has no {what}"),
            ProofError::Malformed(what) => write!(f, "the {what} is not 64 hex digits (optionally after 'sha256=')"),
            ProofError::Mismatch(what) => write!(f, "the {what} does not match any configured secret"),
        }
    }
}

impl std::error::Error for ProofError {}

/// A request's parts a proof reads: a header by lower-case name, the body, and the
/// secret path segment of `/hooks/<sender>/<secret>`.
pub struct Presented<'a> {
    pub header: &'a dyn Fn(&str) -> Option<&'a str>,
    pub body: &'a [u8],
    pub path_secret: Option<&'a str>,
}

/// Checks `sender`'s credential in `p` against each of `secrets`; `Ok` with the index
/// of the secret that matched.
pub fn verify(sender: Sender, secrets: &[Secret], p: &Presented<'_>) -> Result<usize, ProofError> {
    let header = |name: &str| (p.header)(name).map(str::trim).filter(|v| !v.is_empty());
    match sender.proof() {
        Proof::Hmac(names) => {
            let what = hmac_what(sender);
            let sent: Vec<&str> = names.iter().filter_map(|n| header(n)).collect();
            if sent.is_empty() {
                return Err(ProofError::Missing(what));
            }
            let claimed: Vec<[u8; MAC_BYTES]> = sent.iter().filter_map(|v| decode_mac(v)).collect();
            if claimed.is_empty() {
                return Err(ProofError::Malformed(what));
            }
            secrets
                .iter()
                .position(|s| claimed.iter().any(|c| mac(s, p.body).verify_slice(c).is_ok()))
                .ok_or(ProofError::Mismatch(what))
        }
        Proof::AuthHeader => {
            let what = "'Authorization' header";
            let value = header("authorization").ok_or(ProofError::Missing(what))?;
            let bare = value.split_once(' ').map_or(value, |(_, rest)| rest.trim_start());
            secrets
                .iter()
                .position(|s| same(value, &s.0) || same(bare, &s.0))
                .ok_or(ProofError::Mismatch(what))
        }
        Proof::SecretOrHmac => {
            let what = "'X-JFrog-Event-Auth' header";
            let value = header("x-jfrog-event-auth").ok_or(ProofError::Missing(what))?;
            let claimed = decode_mac(value);
            secrets
                .iter()
                .position(|s| same(value, &s.0) || claimed.is_some_and(|c| mac(s, p.body).verify_slice(&c).is_ok()))
                .ok_or(ProofError::Mismatch(what))
        }
        Proof::PathSecret => {
            let what = "secret path segment";
            let value = p
                .path_secret
                .filter(|v| !v.is_empty())
                .ok_or(ProofError::Missing(what))?;
            secrets
                .iter()
                .position(|s| same(value, &s.0))
                .ok_or(ProofError::Mismatch(what))
        }
    }
}

fn hmac_what(sender: Sender) -> &'static str {
    match sender {
        Sender::Forgejo => "'X-Forgejo-Signature' (or 'X-Gitea-Signature', 'X-Hub-Signature-256') header",
        Sender::Gitea => "'X-Gitea-Signature' (or 'X-Hub-Signature-256') header",
        _ => "'X-Hub-Signature-256' header",
    }
}

/// The hex HMAC-SHA256 of `body` under `secret`, as Gitea, Forgejo and JFrog send it.
pub fn sign_hex(secret: &Secret, body: &[u8]) -> String {
    crate::hex::hex(&mac(secret, body).finalize().into_bytes())
}

fn mac(secret: &Secret, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.0.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac
}

/// Equal in time that depends only on the lengths (a secret's length is not secret:
/// the configuration's minimum says it).
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 64 hex digits, either case, after an optional `sha256=`.
fn decode_mac(value: &str) -> Option<[u8; MAC_BYTES]> {
    crate::hex::decode_32(value.strip_prefix("sha256=").unwrap_or(value))
}

#[cfg(test)]
#[path = "proof_tests.rs"]
mod tests;
