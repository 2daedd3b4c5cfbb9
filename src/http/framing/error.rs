//! Why a request could not be framed, each reason with its status, its stable code
//! and the sentence sent with it.

use super::{MAX_HEAD_BYTES, MAX_HEADERS};

/// Why a request could not be framed. Each maps to a status and a stable reason code.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameError {
    HeadTooLarge,
    TooManyHeaders,
    BodyTooLarge {
        declared: Option<u64>,
        limit: u64,
    },
    Malformed(String),
    /// A form some parsers accept and others read otherwise (bare LF line ends, junk in
    /// a chunk size, chunked on HTTP/1.0, two `Host` headers): refused, so that podup
    /// and a proxy in front of it can never see two different requests in the same bytes.
    Ambiguous(Ambiguity),
    UnsupportedTransferEncoding(String),
    /// The connection closed before the request was complete.
    Incomplete,
    /// The whole-request deadline passed.
    Timeout,
    /// Every connection slot was taken and others were waiting: this one, still
    /// incomplete after a while, was closed to make room.
    Overloaded,
}

impl FrameError {
    pub fn status(&self) -> u16 {
        match self {
            FrameError::HeadTooLarge | FrameError::TooManyHeaders => 431,
            FrameError::BodyTooLarge { .. } => 413,
            FrameError::Malformed(_) | FrameError::Ambiguous(_) | FrameError::Incomplete => 400,
            FrameError::UnsupportedTransferEncoding(_) => 501,
            FrameError::Timeout => 408,
            FrameError::Overloaded => 503,
        }
    }

    /// The stable code sent as `error` and stored as the event's `reason`.
    pub fn code(&self) -> &'static str {
        match self {
            FrameError::HeadTooLarge => "head_too_large",
            FrameError::TooManyHeaders => "too_many_headers",
            FrameError::BodyTooLarge { .. } => "body_too_large",
            FrameError::Malformed(_) => "malformed_request",
            FrameError::Ambiguous(a) => a.code(),
            FrameError::UnsupportedTransferEncoding(_) => "unsupported_transfer_encoding",
            FrameError::Incomplete => "incomplete_request",
            FrameError::Timeout => "request_timeout",
            FrameError::Overloaded => "overloaded",
        }
    }

    pub fn message(&self) -> String {
        match self {
            FrameError::HeadTooLarge => {
                format!(
                    "the request head (or the trailer section of its chunked body) is larger than {MAX_HEAD_BYTES} bytes"
                )
            }
            FrameError::TooManyHeaders => {
                format!(
                    "the request head (or the trailer section of its chunked body) has more than {MAX_HEADERS} fields"
                )
            }
            FrameError::BodyTooLarge {
                declared: Some(n),
                limit,
            } => {
                format!(
                    "the declared body of {n} bytes is larger than the limit of {limit} bytes (PODUP_MAX_BODY_BYTES)"
                )
            }
            FrameError::BodyTooLarge { declared: None, limit } => {
                format!("the chunked body is larger than the limit of {limit} bytes (PODUP_MAX_BODY_BYTES)")
            }
            FrameError::Malformed(why) => format!("the request is not valid HTTP/1.1: {why}"),
            FrameError::Ambiguous(a) => a.message(),
            FrameError::UnsupportedTransferEncoding(te) => {
                format!("transfer encoding '{te}' is not supported; send chunked or a Content-Length")
            }
            FrameError::Incomplete => "the connection closed before the request was complete".into(),
            FrameError::Timeout => "the request was not received completely before the deadline".into(),
            FrameError::Overloaded => "podup was holding all the connections it serves at once, others were waiting, \
                 and this request was still incomplete: it was closed to make room; send it again"
                .into(),
        }
    }
}

/// Which lenient form a request used. RFC 9112 lets a server accept some of these
/// (a bare LF as a line end, 2.2; a bare CR replaced by a space, 2.2; whitespace around
/// a chunk size, control bytes in a chunk extension and trailer lines that are not field
/// lines were never in the grammar, 7.1) and requires a 400 for others (two Host
/// headers, 3.2; chunked on HTTP/1.0 is treated as faulty framing, 6.1): podup refuses
/// them all, each with its own code, because a proxy in front may read the same bytes
/// another way.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ambiguity {
    BareLf,
    /// A CR inside a line of a chunked body (the head's are refused by httparse).
    BareCr,
    ChunkSize,
    ChunkExtension,
    ChunkedOnHttp10,
    DuplicateHost,
    /// A line of the trailer section that is not one field line.
    Trailer,
}

impl Ambiguity {
    pub fn code(self) -> &'static str {
        match self {
            Ambiguity::BareLf => "bare_lf",
            Ambiguity::BareCr => "bare_cr",
            Ambiguity::ChunkSize => "invalid_chunk_size",
            Ambiguity::ChunkExtension => "invalid_chunk_extension",
            Ambiguity::Trailer => "invalid_trailer",
            Ambiguity::ChunkedOnHttp10 => "chunked_on_http_1_0",
            Ambiguity::DuplicateHost => "duplicate_host",
        }
    }

    pub fn message(self) -> String {
        match self {
            Ambiguity::BareLf => "a line of the request ends in a bare LF; end every line with CRLF",
            Ambiguity::BareCr => "a line of the chunked body holds a CR that is not followed by LF",
            Ambiguity::ChunkExtension => {
                "a chunk extension is not ';name' or ';name=value' (a token, or a quoted string without control bytes)"
            }
            Ambiguity::Trailer => "a line after the last chunk is not a 'name: value' field line",
            Ambiguity::ChunkSize => {
                "a chunk size is not just hexadecimal digits (optionally followed by ';' and an extension)"
            }
            Ambiguity::ChunkedOnHttp10 => {
                "Transfer-Encoding is not part of HTTP/1.0; send HTTP/1.1 or a Content-Length"
            }
            Ambiguity::DuplicateHost => "the request has more than one Host header",
        }
        .into()
    }
}
