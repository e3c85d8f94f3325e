//! The opening handshake (§4) explained header by header: what a head is split into for
//! display, and what the request and response dissectors share.
//!
//! Judging is the crate's own [`RequestParser`](crate::handshake::RequestParser) and
//! [`ResponseParser`](crate::handshake::ResponseParser). They stop at the first problem; to
//! report every one, the dissector asks again with the reported problem repaired (the header
//! replaced by a good value), and so on: each judgement is still the parser's, none is made
//! here. The per-header notes only explain what each field is for, with its section.

use std::fmt::Write as _;

use super::request::dissect_request;
use super::response::dissect_response;
use super::text::escaped;
use crate::handshake::{HandshakeError, HeadScanner, Headers, Limits};

/// The key used to stand in for a missing or invalid one while looking for more problems.
pub(super) const STAND_IN_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// How an HTTP request or response starts (the methods of RFC 7231 §4, and the status line).
pub(super) const HEAD_STARTS: &[&[u8]] = &[
    b"GET ",
    b"HEAD ",
    b"POST ",
    b"PUT ",
    b"DELETE ",
    b"CONNECT ",
    b"OPTIONS ",
    b"TRACE ",
    b"PATCH ",
    b"HTTP/",
];

/// Whether `bytes` starts like an HTTP head: `Some(true)` a request, `Some(false)` a
/// response, `None` neither.
pub(super) fn head_kind(bytes: &[u8]) -> Option<bool> {
    let start = HEAD_STARTS.iter().find(|s| bytes.starts_with(s))?;
    Some(*start != b"HTTP/")
}

/// The length of the HTTP head at the front of `bytes` (through the blank line), if it ends.
///
/// The same scan as the handshake parsers' (`HeadScanner`), without their size budget.
pub fn head_len(bytes: &[u8]) -> Option<usize> {
    let unbounded = Limits { max_head_bytes: usize::MAX, ..Limits::default() };
    HeadScanner::default().find_end(bytes, &unbounded).ok().flatten()
}

/// Dissect an opening handshake: a client's request (`GET …`) or a server's response
/// (`HTTP/…`). A response is judged without knowing the request's key, so its
/// `Sec-WebSocket-Accept` is shown but not checked (see [`handshake_response`]).
///
/// Only the head is dissected; bytes after the blank line are ignored here ([`super::stream`]
/// dissects them as frames).
pub fn handshake(bytes: &[u8]) -> String {
    let mut out = String::new();
    if bytes.starts_with(b"HTTP/") {
        dissect_response(bytes, None, &mut out);
    } else {
        dissect_request(bytes, &mut out);
    }
    out
}

/// Dissect a server's opening handshake response; with the request's `Sec-WebSocket-Key`,
/// its `Sec-WebSocket-Accept` is checked too.
pub fn handshake_response(bytes: &[u8], key: Option<&str>) -> String {
    let mut out = String::new();
    let request =
        key.map(|k| RequestSummary { key: Some(k.to_owned()), protocols: None, extensions: None });
    dissect_response(bytes, request.as_ref(), &mut out);
    out
}

/// What a server's response is judged against: the `Sec-WebSocket-Key`, the subprotocols
/// and the extensions of the client's request, as the dissector read them. Given by one
/// [`LiveDissector`](super::LiveDissector) to the other direction's.
#[derive(Debug, Clone, Default)]
pub struct RequestSummary {
    pub(super) key: Option<String>,
    /// `None` when the offer is unknown (any subprotocol is taken as offered).
    pub(super) protocols: Option<Vec<String>>,
    /// The extension elements offered; `None` when the offer is unknown (any extension is
    /// taken as offered).
    pub(super) extensions: Option<Vec<String>>,
}

/// A head split into its lines, as sent (nothing judged). The split is the dissector's own
/// on purpose: it shows every line, also those the parsers refuse (no colon, bare `\n`).
#[derive(Debug, Clone)]
pub(super) struct Head {
    pub(super) start_line: Vec<u8>,
    /// The `name: value` lines, values trimmed.
    pub(super) fields: Headers,
    /// Lines that are not `name: value`.
    pub(super) odd_lines: Vec<Vec<u8>>,
    /// Bytes through the blank line, when it arrived.
    pub(super) len: Option<usize>,
}

impl Head {
    pub(super) fn split(bytes: &[u8]) -> Head {
        let len = head_len(bytes);
        let text = bytes.get(..len.unwrap_or(bytes.len())).unwrap_or_default();
        let mut lines = text.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let start_line = lines.next().unwrap_or_default().to_vec();
        let mut fields = Headers::default();
        let mut odd_lines = Vec::new();
        for line in lines {
            if line.is_empty() {
                continue;
            }
            match line.iter().position(|&b| b == b':') {
                Some(colon) => {
                    let name = String::from_utf8_lossy(line.get(..colon).unwrap_or_default());
                    let value = line.get(colon + 1..).unwrap_or_default().trim_ascii();
                    fields.push(&name, value);
                }
                None => odd_lines.push(line.to_vec()),
            }
        }
        Head { start_line, fields, odd_lines, len }
    }

    /// Repair: `name` once, with `value`, after the other fields.
    pub(super) fn replace(&mut self, name: &str, value: &str) {
        self.remove(name);
        self.fields.push(name, value.as_bytes());
    }

    /// Repair: no field named `name`.
    pub(super) fn remove(&mut self, name: &str) {
        self.fields.retain(|n, _| !n.eq_ignore_ascii_case(name));
    }

    /// Repair: only the first field named `name`.
    pub(super) fn keep_first(&mut self, name: &str) {
        let mut seen = false;
        self.fields.retain(|n, _| {
            if !n.eq_ignore_ascii_case(name) {
                return true;
            }
            let keep = !seen;
            seen = true;
            keep
        });
    }

    /// The head rebuilt from the model (with repairs).
    pub(super) fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.start_line.clone();
        out.extend_from_slice(b"\r\n");
        for (name, value) in self.fields.iter() {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// What a problem is about: the start line, a field, a missing field, or the whole head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Blame {
    StartLine,
    Field(String),
    Missing(&'static str),
    Head,
}

/// A ✓ or the problems of one line. `judged`: the parser looks at this line at all.
pub(super) fn mark(problems: &[&HandshakeError], judged: bool, out: &mut String) {
    if problems.is_empty() {
        if judged {
            let _ = writeln!(out, "    ✓ valid");
        }
        return;
    }
    for err in problems {
        let _ = writeln!(out, "    ✗ {err}");
    }
}

/// A head whose blank line has not arrived: its lines, as far as they go.
pub(super) fn incomplete(bytes: &[u8], what: &str, out: &mut String) {
    let _ = writeln!(
        out,
        "HTTP {what}: incomplete head, {} bytes and no blank line (CRLF CRLF) yet",
        bytes.len()
    );
    for line in bytes.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.is_empty() {
            let _ = writeln!(out, "  {}", escaped(line));
        }
    }
}
