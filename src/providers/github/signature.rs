//! `X-Hub-Signature-256`: `sha256=` and the hex HMAC-SHA256 of the raw body under
//! the hook's secret. Several secrets may be configured while one is rotated; the
//! check compares in constant time and its errors never carry the expected value.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::model::Secret;

const PREFIX: &str = "sha256=";
const MAC_BYTES: usize = 32;

/// Why a delivery's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No `X-Hub-Signature-256` header (or an empty one).
    Missing,
    /// The header is not `sha256=` followed by 64 hex digits.
    Malformed,
    /// Well formed, but no configured secret produces it.
    Mismatch,
}

impl SignatureError {
    /// Stable tag for the event log and the journal.
    pub fn kind(&self) -> &'static str {
        match self {
            SignatureError::Missing => "signature_missing",
            SignatureError::Malformed => "signature_malformed",
            SignatureError::Mismatch => "signature_mismatch",
        }
    }
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignatureError::Missing => "the request has no 'X-Hub-Signature-256' header",
            SignatureError::Malformed => "the 'X-Hub-Signature-256' header is not 'sha256=' followed by 64 hex digits",
            SignatureError::Mismatch => {
                "the 'X-Hub-Signature-256' header does not match the body under any configured secret"
            }
        })
    }
}

impl std::error::Error for SignatureError {}

/// The `X-Hub-Signature-256` value GitHub sends with `body` under `secret`.
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    format!(
        "{PREFIX}{}",
        crate::hex::hex(&mac(secret, body).finalize().into_bytes())
    )
}

/// The HMAC-SHA256 of `body` under `secret`.
fn mac(secret: &Secret, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.0.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac
}

/// Checks `header` (the value of `X-Hub-Signature-256`) against the HMAC-SHA256 of
/// `body` under each secret in turn and returns the index of the first that
/// matches. With no secrets nothing matches.
pub fn verify_signature(secrets: &[Secret], body: &[u8], header: Option<&str>) -> Result<usize, SignatureError> {
    let header = header.map(str::trim).filter(|h| !h.is_empty());
    let hex = header.ok_or(SignatureError::Missing)?;
    let hex = hex.strip_prefix(PREFIX).ok_or(SignatureError::Malformed)?;
    let claimed = decode_hex(hex).ok_or(SignatureError::Malformed)?;
    secrets
        .iter()
        .position(|secret| matches(secret, body, &claimed))
        .ok_or(SignatureError::Mismatch)
}

/// Compares in constant time (`verify_slice`).
fn matches(secret: &Secret, body: &[u8], claimed: &[u8; MAC_BYTES]) -> bool {
    mac(secret, body).verify_slice(claimed).is_ok()
}

/// Exactly 64 hex digits, either case, as 32 bytes.
fn decode_hex(hex: &str) -> Option<[u8; MAC_BYTES]> {
    crate::hex::decode_32(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    // github/docs, "Validating webhook deliveries".
    const DOCS_SECRET: &str = "It's a Secret to Everybody";
    const DOCS_BODY: &[u8] = b"Hello, World!";
    const DOCS_SIGNATURE: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    fn secrets(list: &[&str]) -> Vec<Secret> {
        list.iter().map(|s| Secret(s.to_string())).collect()
    }

    #[test]
    fn github_docs_vector() {
        assert_eq!(
            verify_signature(&secrets(&[DOCS_SECRET]), DOCS_BODY, Some(DOCS_SIGNATURE)),
            Ok(0)
        );
    }

    #[test]
    fn second_secret_matches_while_rotating() {
        let list = secrets(&["the old one", DOCS_SECRET]);
        assert_eq!(verify_signature(&list, DOCS_BODY, Some(DOCS_SIGNATURE)), Ok(1));
    }

    #[test]
    fn uppercase_hex_is_accepted() {
        let upper = format!("sha256={}", DOCS_SIGNATURE[PREFIX.len()..].to_ascii_uppercase());
        assert_eq!(
            verify_signature(&secrets(&[DOCS_SECRET]), DOCS_BODY, Some(&upper)),
            Ok(0)
        );
    }

    #[test]
    fn missing() {
        let list = secrets(&[DOCS_SECRET]);
        assert_eq!(verify_signature(&list, DOCS_BODY, None), Err(SignatureError::Missing));
        assert_eq!(
            verify_signature(&list, DOCS_BODY, Some("  ")),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn malformed() {
        let list = secrets(&[DOCS_SECRET]);
        let hex = &DOCS_SIGNATURE[PREFIX.len()..];
        for bad in [
            format!("sha1={hex}"),
            format!("SHA256={hex}"),
            hex.to_string(),
            format!("sha256={}", &hex[1..]),
            format!("sha256={hex}0"),
            format!("sha256={}g", &hex[1..]),
            "sha256=".to_string(),
            format!("sha256=é{}", &hex[2..]),
        ] {
            assert_eq!(
                verify_signature(&list, DOCS_BODY, Some(&bad)),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn mismatch() {
        let list = secrets(&[DOCS_SECRET]);
        assert_eq!(
            verify_signature(&list, b"Hello, World?", Some(DOCS_SIGNATURE)),
            Err(SignatureError::Mismatch)
        );
        let wrong = secrets(&["not it", "nor this"]);
        assert_eq!(
            verify_signature(&wrong, DOCS_BODY, Some(DOCS_SIGNATURE)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(&[], DOCS_BODY, Some(DOCS_SIGNATURE)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn messages_never_carry_signatures_or_secrets() {
        for e in [
            SignatureError::Missing,
            SignatureError::Malformed,
            SignatureError::Mismatch,
        ] {
            let text = e.to_string();
            assert!(!text.contains("757107") && !text.contains("Secret to"), "{text}");
            assert!(e.kind().starts_with("signature_"));
        }
        assert_eq!(SignatureError::Mismatch.kind(), "signature_mismatch");
    }
}
