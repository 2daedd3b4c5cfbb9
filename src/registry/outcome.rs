//! What asking a registry gives: a digest (`Remote`), or why not (`CheckError`, with
//! the stable `code()` the caller stores), and what the asking cost (`Counts`).

use super::transport::Failure;
use serde::Serialize;
use std::fmt;

/// A registry's answer for a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// `sha256:<64 hex>` (or a well-formed `sha512:`), checked.
    pub digest: String,
    /// The `Last-Modified` header, as sent, when the registry sends one.
    pub created: Option<String>,
    /// `host/name:tag` of the endpoint that answered.
    pub endpoint: String,
}

/// Why no digest came back. Never holds a password, token or header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckError {
    NotFound { endpoint: String },
    RateLimited { host: String, until_ms: i64 },
    Unauthorized { host: String, message: String },
    Unreachable { host: String, message: String },
    Server { host: String, status: u16 },
    BadAnswer { host: String, message: String },
    Config(String),
}

impl CheckError {
    /// A stable tag for the event log and journal fields.
    pub fn code(&self) -> &'static str {
        match self {
            CheckError::NotFound { .. } => "tag_not_found",
            CheckError::RateLimited { .. } => "rate_limited",
            CheckError::Unauthorized { .. } => "unauthorized",
            CheckError::Unreachable { .. } => "registry_unreachable",
            CheckError::Server { .. } => "registry_error",
            CheckError::BadAnswer { .. } => "bad_answer",
            CheckError::Config(_) => "config",
        }
    }
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::NotFound { endpoint } => write!(f, "'{endpoint}' is not in the registry"),
            CheckError::RateLimited { host, until_ms } => {
                write!(
                    f,
                    "registry '{host}' asks podup to wait; not asked again before {until_ms} ms since the epoch"
                )
            }
            CheckError::Unauthorized { host, message } => write!(f, "registry '{host}' refused access: {message}"),
            CheckError::Unreachable { host, message } => write!(f, "cannot reach registry '{host}': {message}"),
            CheckError::Server { host, status } => write!(f, "registry '{host}' failed with HTTP {status}"),
            CheckError::BadAnswer { host, message } => {
                write!(f, "registry '{host}' gave an unusable answer: {message}")
            }
            CheckError::Config(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for CheckError {}

/// What one run cost, for the caller's log and stats.
#[derive(Default, Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Counts {
    /// Every HEAD that reached a registry (an https handshake an insecure registry's
    /// plain port refused, before falling back to http, is not one).
    pub heads: u32,
    /// Every GET sent: token requests and pages of tag lists; manifests are never fetched.
    pub gets: u32,
    pub token_requests: u32,
    /// Pages of `/v2/<name>/tags/list` that reached a registry (each one GET).
    pub tag_pages: u32,
    /// HEADs repeated after answering a 401 challenge.
    pub retries_after_401: u32,
}

/// A transport failure as the error for `host`.
pub(super) fn failure(host: &str, f: Failure) -> CheckError {
    match f {
        Failure::Transport(message) => CheckError::Unreachable {
            host: host.to_string(),
            message,
        },
        Failure::TooLarge(message) => CheckError::BadAnswer {
            host: host.to_string(),
            message,
        },
    }
}

/// A tag as the OCI distribution spec allows: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub(super) fn valid_tag(tag: &str) -> bool {
    tag.len() <= 128
        && tag
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// `sha256:` and 64 lower-case hex digits, or `sha512:` and 128.
pub(super) fn valid_digest(digest: &str) -> bool {
    let hex =
        |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    match digest.split_once(':') {
        Some(("sha256", h)) => hex(h, 64),
        Some(("sha512", h)) => hex(h, 128),
        _ => false,
    }
}
