//! Which body the head declares: none, `Content-Length` bytes, or a chunked body
//! (`chunked`); and the refusals when that declaration is ambiguous or too large.

use super::chunked::Chunked;
use super::{FrameError, State};
use crate::http::Request;

pub(super) fn body_state(request: &Request, max_body: u64) -> Result<State, FrameError> {
    let te: Vec<&str> = request.headers_named("transfer-encoding").collect();
    let cl: Vec<&str> = request.headers_named("content-length").collect();
    if !te.is_empty() {
        if !cl.is_empty() {
            return Err(FrameError::Malformed(
                "both Transfer-Encoding and Content-Length are set".into(),
            ));
        }
        let codings: Vec<String> = te
            .iter()
            .flat_map(|v| v.split(','))
            .map(|c| c.trim().to_ascii_lowercase())
            .filter(|c| !c.is_empty())
            .collect();
        if codings != ["chunked"] {
            return Err(FrameError::UnsupportedTransferEncoding(codings.join(", ")));
        }
        return Ok(State::Chunked(Chunked::default()));
    }
    let Some(first) = cl.first() else {
        return Ok(State::Body { len: 0 });
    };
    if cl.iter().any(|v| v != first) {
        return Err(FrameError::Malformed("several different Content-Length headers".into()));
    }
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FrameError::Malformed(format!(
            "Content-Length '{first}' is not a number"
        )));
    }
    let declared = first.parse::<u64>().unwrap_or(u64::MAX);
    if declared > max_body {
        return Err(FrameError::BodyTooLarge {
            declared: Some(declared),
            limit: max_body,
        });
    }
    Ok(State::Body { len: declared as usize })
}
