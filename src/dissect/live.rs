//! One direction of a live connection, dissected as it arrives in pieces: the opening
//! handshake head, then frames (for a wiretap such as `examples/tap/`).

use std::fmt::Write as _;

use super::deflate::Deflate;
use super::frames::FrameDissector;
use super::handshake::{HEAD_STARTS, RequestSummary, head_kind};
use super::request::dissect_request;
use super::response::dissect_response;
use super::text::hex_inline;
use crate::handshake::{HeadScanner, Limits};
use crate::protocol::Role;

/// Most bytes of an HTTP head buffered for display before giving up on it.
const MAX_HEAD: usize = 16 * 1024;

/// What one endpoint sends over a live connection, dissected piece by piece as it arrives.
///
/// Bytes that start like an HTTP head are buffered (up to 16 KiB) until the head is complete
/// and then dissected as a request or a response; after a request or a `101` response, and
/// straight away for bytes that are not HTTP, frames follow, dissected by a
/// [`FrameDissector`] with progress lines for large payloads. The body of a refused upgrade,
/// and anything after a head that never ends, is only counted.
///
/// A response is judged against the request it answers: hand what
/// [`take_request`](LiveDissector::take_request) returns on the client's direction to the
/// server's direction's [`feed`](LiveDissector::feed).
///
/// ```
/// use rfc6455::Role;
/// use rfc6455::dissect::LiveDissector;
///
/// let mut from_client = LiveDissector::new(Role::Client);
/// let mut text = String::new();
/// from_client.feed(b"GET /chat HTTP/1.1\r\nHost: a\r\n", || None, &mut text);
/// assert!(text.is_empty(), "the head is not complete yet");
/// from_client.feed(b"\r\n\x81\x80\x00\x00\x00\x00", || None, &mut text);
/// assert!(text.contains("HTTP request: the client's opening handshake"));
/// assert!(text.contains("frame 1 at byte 31"));
/// assert!(from_client.take_request().is_some());
/// ```
#[derive(Debug)]
pub struct LiveDissector {
    sender: Role,
    stage: Stage,
    /// The request head dissected, until it is taken.
    request: Option<RequestSummary>,
    deflate: Deflate,
}

/// Where a [`LiveDissector`] is in its stream.
#[derive(Debug)]
enum Stage {
    /// Waiting for an HTTP head (or for bytes that show there is none).
    Head { buf: Vec<u8>, scanner: HeadScanner },
    /// Frames.
    Frames(Box<FrameDissector>),
    /// Bytes that are not dissected (a refused upgrade's body, an endless head).
    Raw,
}

impl LiveDissector {
    /// A dissector for what `sender` sends (its frames are judged as the other end receives
    /// them).
    pub fn new(sender: Role) -> Self {
        LiveDissector {
            sender,
            stage: Stage::Head { buf: Vec::new(), scanner: HeadScanner::default() },
            request: None,
            deflate: Deflate::Off,
        }
    }

    /// The frames after the head are of a connection that negotiated permessage-deflate as
    /// `deflate` says (see [`FrameDissector::with_deflate`]); one dissector per direction
    /// keeps that direction's decompressor. Call it before the frames arrive.
    pub fn with_deflate(mut self, deflate: Deflate) -> Self {
        self.deflate = deflate;
        if let Stage::Frames(d) = &mut self.stage {
            let taken = std::mem::replace(d.as_mut(), FrameDissector::new(None));
            **d = taken.with_deflate(deflate);
        }
        self
    }

    /// Dissect the next piece of the stream, appending text to `out` (nothing while a head is
    /// still incomplete).
    ///
    /// `request` is called at most once, when a response head is complete, for the request it
    /// answers (from the other direction's [`take_request`](LiveDissector::take_request));
    /// `None` judges the response without it, so its `Sec-WebSocket-Accept` is not checked.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        request: impl FnOnce() -> Option<RequestSummary>,
        out: &mut String,
    ) {
        match &mut self.stage {
            Stage::Head { buf, scanner } => {
                let room = MAX_HEAD.saturating_sub(buf.len()).min(chunk.len());
                buf.extend_from_slice(chunk.get(..room).unwrap_or_default());
                let overflow = chunk.get(room..).unwrap_or_default();
                let unbounded = Limits { max_head_bytes: usize::MAX, ..Limits::default() };
                let end = scanner.find_end(buf, &unbounded).ok().flatten();
                let buf = std::mem::take(buf);
                let scanner = std::mem::take(scanner);
                self.stage = self.after_head(buf, scanner, end, overflow, request, out);
            }
            Stage::Frames(d) => d.feed(chunk, out),
            Stage::Raw => {
                let shown = chunk.get(..16.min(chunk.len())).unwrap_or_default();
                let _ =
                    writeln!(out, "{} bytes, not dissected: {} …", chunk.len(), hex_inline(shown));
            }
        }
    }

    /// The request this stream's head was, once it has been dissected: `Some` once, for the
    /// other direction's [`feed`](LiveDissector::feed).
    pub fn take_request(&mut self) -> Option<RequestSummary> {
        self.request.take()
    }

    /// The stream ended: report a head or a frame cut short, and a message left unfinished.
    pub fn finish(&mut self, out: &mut String) {
        match &mut self.stage {
            Stage::Head { buf, .. } if !buf.is_empty() => {
                let _ = writeln!(
                    out,
                    "the stream ended inside an HTTP head ({} bytes, no blank line)",
                    buf.len()
                );
            }
            Stage::Frames(d) => d.finish(out),
            _ => {}
        }
    }

    /// What comes after `buf` (a head ending at `end`, if it has ended), given `overflow`,
    /// the bytes that did not fit the head budget.
    fn after_head(
        &mut self,
        buf: Vec<u8>,
        scanner: HeadScanner,
        end: Option<usize>,
        overflow: &[u8],
        request: impl FnOnce() -> Option<RequestSummary>,
        out: &mut String,
    ) -> Stage {
        let could_be = |prefix: &&[u8]| {
            let n = prefix.len().min(buf.len());
            buf.get(..n) == prefix.get(..n)
        };
        if !HEAD_STARTS.iter().any(could_be) {
            // No HTTP at all: dissect as frames straight away.
            let mut d = FrameDissector::new(Some(self.sender))
                .with_progress(true)
                .with_deflate(self.deflate);
            d.feed(&buf, out);
            d.feed(overflow, out);
            return Stage::Frames(Box::new(d));
        }
        let Some(len) = end else {
            if buf.len() >= MAX_HEAD {
                let _ = writeln!(
                    out,
                    "no end of the HTTP head (CRLF CRLF) within {MAX_HEAD} bytes; the rest is not dissected"
                );
                return Stage::Raw;
            }
            return Stage::Head { buf, scanner };
        };
        let mut upgraded = true;
        if head_kind(&buf) == Some(true) {
            self.request = Some(dissect_request(&buf, out));
        } else {
            dissect_response(&buf, request().as_ref(), out);
            upgraded = buf.split(|&b| b == b' ').nth(1) == Some(b"101");
        }
        let rest = buf.get(len..).unwrap_or_default();
        if !upgraded {
            if !rest.is_empty() || !overflow.is_empty() {
                let _ = writeln!(
                    out,
                    "{} bytes of response body, not dissected",
                    rest.len() + overflow.len()
                );
            }
            return Stage::Raw;
        }
        let mut d = FrameDissector::new(Some(self.sender))
            .with_progress(true)
            .with_offset(len as u64)
            .with_deflate(self.deflate);
        d.feed(rest, out);
        d.feed(overflow, out);
        Stage::Frames(Box::new(d))
    }
}
