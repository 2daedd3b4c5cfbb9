//! Incremental HTTP/1.1 request framing on httparse, with hard limits. Bytes go in as
//! they arrive; out comes "need more", a complete `Request`, or a `FrameError` that
//! maps to one status and one reason code. No I/O here: the drivers read and write.

use super::Request;
use chunked::Chunked;
use head::has_head_end;

mod body;
mod chunked;
mod error;
mod head;
#[cfg(test)]
mod tests;

pub use error::{Ambiguity, FrameError};

/// Largest request head (request line + headers) accepted.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Most headers accepted in one request.
pub const MAX_HEADERS: usize = 64;

/// Result of feeding bytes.
#[derive(Debug)]
pub enum Progress {
    NeedMore,
    Done(Box<Request>),
}

#[derive(Debug)]
enum State {
    Head,
    Body { len: usize },
    Chunked(Chunked),
    Done,
}

/// Frames one request from the bytes of a connection.
#[derive(Debug)]
pub struct Framer {
    max_body: u64,
    buf: Vec<u8>,
    state: State,
    head: Option<Request>,
    body: Vec<u8>,
    continue_pending: bool,
    /// How many CR and LF bytes the head starts with: empty lines before the request line,
    /// which httparse skips and which therefore cannot end the head.
    leading_blank: usize,
    /// Bytes received after the end of the request: the start of the next one on a
    /// kept-alive connection.
    leftover: Vec<u8>,
}

impl Framer {
    pub fn new(max_body: u64) -> Framer {
        Framer {
            max_body,
            buf: Vec::new(),
            state: State::Head,
            head: None,
            body: Vec::new(),
            continue_pending: false,
            leading_blank: 0,
            leftover: Vec::new(),
        }
    }

    /// The bytes that came after the end of the request, once it is done.
    pub fn take_leftover(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.leftover)
    }

    /// Bytes received so far (head and body).
    pub fn received(&self) -> usize {
        self.buf.len() + self.body.len()
    }

    /// Body bytes held so far (0 until the head has been parsed).
    pub fn body_len(&self) -> usize {
        self.body.len()
    }

    /// The method and path of the request, once the head has been parsed.
    pub fn head(&self) -> Option<&Request> {
        self.head.as_ref()
    }

    /// True once, after a head with `Expect: 100-continue` that will be read: the
    /// driver then sends `100 Continue`.
    pub fn take_continue(&mut self) -> bool {
        std::mem::take(&mut self.continue_pending)
    }

    /// Feeds newly received bytes.
    pub fn feed(&mut self, data: &[u8]) -> Result<Progress, FrameError> {
        match &mut self.state {
            State::Head => {
                // Only the new bytes (and the two before them) can complete the end of the
                // head; the head is judged once, when its end has arrived, however it was read.
                if self.leading_blank == self.buf.len() {
                    self.leading_blank += data.iter().take_while(|&&b| b == b'\r' || b == b'\n').count();
                }
                let scan_from = self.buf.len().saturating_sub(2).max(self.leading_blank);
                self.buf.extend_from_slice(data);
                if !has_head_end(&self.buf[scan_from..]) {
                    if self.buf.len() > MAX_HEAD_BYTES {
                        return Err(FrameError::HeadTooLarge);
                    }
                    return Ok(Progress::NeedMore);
                }
                self.parse_head()
            }
            State::Body { .. } => {
                self.body.extend_from_slice(data);
                self.check_body()
            }
            State::Chunked(c) => {
                let used = c.feed(data, &mut self.body, self.max_body)?;
                self.leftover.extend_from_slice(&data[used..]);
                self.check_body()
            }
            State::Done => Err(FrameError::Malformed("data after the end of the request".into())),
        }
    }

    fn check_body(&mut self) -> Result<Progress, FrameError> {
        let done = match &self.state {
            State::Body { len } => {
                if self.body.len() > *len {
                    self.leftover = self.body.split_off(*len);
                }
                self.body.len() == *len
            }
            State::Chunked(c) => c.is_done(),
            State::Head | State::Done => false,
        };
        if !done {
            return Ok(Progress::NeedMore);
        }
        self.state = State::Done;
        let mut request = self.head.take().expect("head parsed before body");
        request.body = std::mem::take(&mut self.body);
        Ok(Progress::Done(Box::new(request)))
    }
}
