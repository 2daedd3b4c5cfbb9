//! GitHub webhooks: the `X-Hub-Signature-256` check and the classification of a
//! delivery (`X-GitHub-Event` plus body) into a [`Verdict`]. Only package events for
//! container images become an [`ImageEvent`]; every other delivery a real GitHub
//! can send is a `Ping` or `Ignored` with a stable reason, never an error. Whether
//! the sender really is GitHub (and not Gitea, which also sends `X-GitHub-Event`)
//! is settled by the signature header the route checks, not here.

pub(crate) mod body;
mod package;
mod signature;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

pub use body::PayloadError;
pub use signature::{SignatureError, sign, verify_signature};

pub use super::Verdict;

/// Event names that carry a package; `package_v2` was a 2021 beta.
const PACKAGE_EVENTS: &[&str] = &["package", "registry_package", "package_v2"];
/// Longest piece of payload text a `detail` repeats.
const MAX_DETAIL_CHARS: usize = 100;

/// Classifies one delivery from its `X-GitHub-Event` and `Content-Type` headers and
/// its raw body. `Err` only for a body that is not a JSON object in either encoding.
pub fn classify(event: Option<&str>, content_type: Option<&str>, body: &[u8]) -> Result<Verdict, PayloadError> {
    let payload = body::decode(content_type, body)?;
    let Some(event) = event.map(str::trim).filter(|e| !e.is_empty()) else {
        return Ok(ignored("missing_event", "no 'X-GitHub-Event' header".to_string()));
    };
    let event = event.to_ascii_lowercase();
    Ok(if event == "ping" {
        Verdict::Ping {
            hook_id: hook_id(&payload),
        }
    } else if PACKAGE_EVENTS.contains(&event.as_str()) {
        package::classify(&event, &payload)
    } else {
        ignored("unsupported_event", format!("event '{}'", shorten(&event)))
    })
}

fn hook_id(payload: &Map<String, Value>) -> Option<i64> {
    let nested = || payload.get("hook").and_then(|h| h.get("id"));
    payload
        .get("hook_id")
        .and_then(Value::as_i64)
        .or_else(|| nested().and_then(Value::as_i64))
}

fn ignored(reason: &'static str, detail: String) -> Verdict {
    Verdict::Ignored { reason, detail }
}

/// `text` cut to [`MAX_DETAIL_CHARS`] characters.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}...", text.get(..cut).unwrap_or_default()),
        None => text.to_string(),
    }
}
