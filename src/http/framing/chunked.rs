//! The decoder for `Transfer-Encoding: chunked` (RFC 9112 section 7.1), fed in pieces.
//! Every line of it is held to the grammar, not only the chunk size: a bare CR, an
//! extension that is not `;name` or `;name=value`, and a trailer line that is not a
//! field line are refused, because a proxy in front may read such bytes another way
//! (red-team finding 6: `0\r\nGET /smuggled HTTP/1.1\r\n\r\n` ended a body here).
//! Trailer fields are checked and then dropped: no podup route reads one.

use super::{Ambiguity, FrameError, MAX_HEAD_BYTES, MAX_HEADERS};

/// Longest chunk-size line accepted in a chunked body.
const MAX_CHUNK_LINE_BYTES: usize = 1024;

#[derive(Debug, Default)]
pub(super) struct Chunked {
    phase: ChunkPhase,
    line: Vec<u8>,
    remaining: usize,
    /// Trailer lines seen and their bytes: the trailer section keeps the head's limits.
    trailers: usize,
    trailer_bytes: usize,
}

#[derive(Debug, Default, PartialEq)]
enum ChunkPhase {
    #[default]
    Size,
    Data,
    DataEnd,
    Trailers,
    Done,
}

impl Chunked {
    pub(super) fn is_done(&self) -> bool {
        self.phase == ChunkPhase::Done
    }

    /// Decodes what it can of `data` into `out`; returns how many bytes it used, which
    /// is all of them unless the last chunk ends inside `data`.
    pub(super) fn feed(&mut self, mut data: &[u8], out: &mut Vec<u8>, max_body: u64) -> Result<usize, FrameError> {
        let given = data.len();
        while !data.is_empty() {
            match self.phase {
                ChunkPhase::Data => {
                    let n = self.remaining.min(data.len());
                    out.extend_from_slice(&data[..n]);
                    self.remaining -= n;
                    data = &data[n..];
                    if self.remaining == 0 {
                        self.phase = ChunkPhase::DataEnd;
                    }
                }
                ChunkPhase::Done => break,
                _ => {
                    let Some(pos) = data.iter().position(|&b| b == b'\n') else {
                        self.line.extend_from_slice(data);
                        self.check_line_len()?;
                        return Ok(given);
                    };
                    self.line.extend_from_slice(&data[..pos]);
                    data = &data[pos + 1..];
                    self.check_line_len()?;
                    let line = std::mem::take(&mut self.line);
                    let Some(line) = line.strip_suffix(b"\r") else {
                        return Err(FrameError::Ambiguous(Ambiguity::BareLf));
                    };
                    if line.contains(&b'\r') {
                        return Err(FrameError::Ambiguous(Ambiguity::BareCr));
                    }
                    self.end_line(line, out.len() as u64, max_body)?;
                }
            }
        }
        Ok(given - data.len())
    }

    fn check_line_len(&self) -> Result<(), FrameError> {
        if self.phase == ChunkPhase::Trailers {
            // The line's CRLF counts as it does in a head.
            if self.trailer_bytes + self.line.len() + 2 > MAX_HEAD_BYTES {
                return Err(FrameError::HeadTooLarge);
            }
        } else if self.line.len() > MAX_CHUNK_LINE_BYTES {
            return Err(FrameError::Malformed("a chunk line is too long".into()));
        }
        Ok(())
    }

    fn end_line(&mut self, line: &[u8], so_far: u64, max_body: u64) -> Result<(), FrameError> {
        match self.phase {
            ChunkPhase::Size => {
                // Digits right up to the end or to ';': no whitespace, no sign, no prefix.
                let digits = line.iter().take_while(|&&b| b != b';').count();
                let (hex, extensions) = line.split_at(digits);
                if hex.is_empty() || !hex.iter().all(u8::is_ascii_hexdigit) {
                    return Err(FrameError::Ambiguous(Ambiguity::ChunkSize));
                }
                if hex.len() > 15 {
                    return Err(FrameError::Malformed(format!(
                        "chunk size '{}' is too large",
                        String::from_utf8_lossy(&hex[..20.min(hex.len())])
                    )));
                }
                if !extensions_valid(extensions) {
                    return Err(FrameError::Ambiguous(Ambiguity::ChunkExtension));
                }
                let hex = std::str::from_utf8(hex).expect("validated hex");
                let size = u64::from_str_radix(hex, 16).expect("validated hex");
                if so_far.saturating_add(size) > max_body {
                    return Err(FrameError::BodyTooLarge {
                        declared: None,
                        limit: max_body,
                    });
                }
                self.remaining = size as usize;
                self.phase = if size == 0 {
                    ChunkPhase::Trailers
                } else {
                    ChunkPhase::Data
                };
            }
            ChunkPhase::DataEnd => {
                if !line.is_empty() {
                    return Err(FrameError::Malformed("chunk data longer than its size".into()));
                }
                self.phase = ChunkPhase::Size;
            }
            ChunkPhase::Trailers if line.is_empty() => self.phase = ChunkPhase::Done,
            ChunkPhase::Trailers => {
                self.trailers += 1;
                self.trailer_bytes += line.len() + 2;
                if self.trailers > MAX_HEADERS {
                    return Err(FrameError::TooManyHeaders);
                }
                if !field_line(line) {
                    return Err(FrameError::Ambiguous(Ambiguity::Trailer));
                }
            }
            ChunkPhase::Data | ChunkPhase::Done => unreachable!("not a line phase"),
        }
        Ok(())
    }
}

/// True when `line` (without its CRLF) is one field line, read by the same httparse that
/// reads the head: `name: value`, a token for a name, no whitespace before the colon, no
/// control bytes but HTAB in the value, no obs-fold (a line that starts with whitespace).
fn field_line(line: &[u8]) -> bool {
    let mut one = [httparse::EMPTY_HEADER; 1];
    let block = [line, b"\r\n\r\n"].concat();
    matches!(
        httparse::parse_headers(&block, &mut one),
        Ok(httparse::Status::Complete((n, [_]))) if n == block.len()
    )
}

/// True when `ext` (what follows the chunk size, up to the CRLF) is empty or a list of
/// RFC 9112 section 7.1.1 chunk extensions: `;name` or `;name=value`, a token for a name,
/// a token or a quoted string for a value, spaces or tabs (BWS) around `;` and `=`.
fn extensions_valid(mut ext: &[u8]) -> bool {
    fn skip_bws(s: &[u8]) -> &[u8] {
        let n = s.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
        &s[n..]
    }
    fn token_len(s: &[u8]) -> usize {
        s.iter()
            .take_while(|&&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
            .count()
    }
    while !ext.is_empty() {
        let Some(rest) = ext.strip_prefix(b";") else {
            return false;
        };
        let rest = skip_bws(rest);
        let name = token_len(rest);
        if name == 0 {
            return false;
        }
        ext = skip_bws(&rest[name..]);
        if let Some(rest) = ext.strip_prefix(b"=") {
            let rest = skip_bws(rest);
            let value = match rest.first() {
                Some(b'"') => quoted_len(rest),
                _ => Some(token_len(rest)).filter(|&n| n > 0),
            };
            let Some(value) = value else {
                return false;
            };
            ext = skip_bws(&rest[value..]);
        }
    }
    true
}

/// The length of the quoted string `s` starts with (RFC 9110 section 5.6.4), or None.
fn quoted_len(s: &[u8]) -> Option<usize> {
    let text = |b: u8| b == b'\t' || b == b' ' || b >= 0x80 || (0x21..=0x7e).contains(&b);
    let mut i = 1;
    while let Some(&b) = s.get(i) {
        match b {
            b'"' => return Some(i + 1),
            b'\\' if s.get(i + 1).is_some_and(|&n| text(n)) => i += 2,
            b'\\' => return None,
            b if text(b) => i += 1,
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_extensions_follow_the_grammar() {
        for ok in [
            &b""[..],
            b";a",
            b";a=1",
            b"; a = b ;c",
            b";a=\"\"",
            b";a=\"x;y \\\" z\\\\\"",
            b";a=\"\xc3\xa9\"",
        ] {
            assert!(extensions_valid(ok), "{:?}", String::from_utf8_lossy(ok));
        }
        for bad in [
            &b";"[..],
            b"x",
            b";a=",
            b";=1",
            b";a b",
            b";a\x01",
            b";a\x00",
            b";a=\"x",
            b";a=\"x\x7f\"",
            b";a=\"x\\\x01\"",
            b";a=b\"c\"",
            b";a;",
        ] {
            assert!(!extensions_valid(bad), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn a_trailer_is_one_field_line() {
        for ok in [&b"X: y"[..], b"X-Sum:", b"x:\ty z", b"X: caf\xc3\xa9"] {
            assert!(field_line(ok), "{:?}", String::from_utf8_lossy(ok));
        }
        for bad in [
            &b"GET /smuggled HTTP/1.1"[..],
            b"X : y",
            b" X: y",
            b"\tfolded",
            b"X",
            b": y",
            b"X: a\x00b",
            b"X: a\x1bb",
        ] {
            assert!(!field_line(bad), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
