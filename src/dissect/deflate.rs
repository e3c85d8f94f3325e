//! permessage-deflate (RFC 7692) in the dissector: what it was told about the extension
//! ([`Deflate`]), and the compressed messages of one direction inflated with the crate's own
//! [`Decompressor`], within a budget, to be shown like any other payload.

use std::fmt::Write as _;

use super::KEEP;
use super::frame_lines::{text_line, violation_line};
use super::text::{count, hex_block};
use crate::deflate::{Decompressor, DeflateParams, InflateError, Inflated};
use crate::frame::{FrameHeader, OpCode, apply_mask};
use crate::protocol::{ProtocolError, Role, Utf8Validator};

/// What the dissector knows of permessage-deflate (RFC 7692) on the connection it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Deflate {
    /// Not negotiated (the default): RSV1 is a reserved bit, and setting it breaks §5.2.
    #[default]
    Off,
    /// Negotiated, its parameters unknown: RSV1 marks a compressed message (RFC 7692 §6),
    /// whose payload is shown as it was sent (compressed), not inflated.
    Negotiated,
    /// Negotiated with these parameters (the server's response, RFC 7692 §7.1): RSV1 marks
    /// a compressed message, which is also inflated and shown, with the window and the
    /// context takeover the sender agreed to.
    Inflate(DeflateParams),
}

impl Deflate {
    /// The extension was negotiated (RSV1 means "compressed").
    pub fn negotiated(self) -> bool {
        self != Deflate::Off
    }
}

/// Why a message is not (or no longer) being inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    /// The bytes are not DEFLATE data (reported on the frame where zlib gave up).
    Corrupt,
    /// More than the budget came out.
    TooLarge,
    /// An earlier message did not inflate and the sender keeps its context: this one may
    /// refer back into bytes the dissector never had.
    NoWindow,
}

/// The compressed message being inflated.
#[derive(Debug)]
struct Message {
    inflated: Inflated,
    /// Compressed payload bytes so far (as on the wire, unmasked).
    compressed: u64,
    text: bool,
    validator: Utf8Validator,
    utf8_broken: bool,
    /// The UTF-8 error was reported (on the frame whose bytes caused it).
    utf8_reported: bool,
    stopped: Option<Stopped>,
    /// Set when `stopped` changes, until the frame's lines report it.
    fresh: bool,
}

/// One direction's decompressor, kept across messages for context takeover, and the
/// message it is inflating.
#[derive(Debug)]
pub(super) struct Inflater {
    params: DeflateParams,
    /// Most bytes one message may inflate to before the dissector stops inflating it.
    budget: usize,
    /// Made at the first compressed message, once the sender (and so its window) is known.
    decompressor: Option<Box<Decompressor>>,
    /// The sender keeps its window from one message to the next.
    takeover: bool,
    /// The window was lost (an earlier message did not inflate, with context takeover).
    window_lost: bool,
    message: Option<Message>,
}

impl Inflater {
    /// An inflater for a connection that agreed to `params`, holding a message to `budget`.
    pub(super) fn new(params: DeflateParams, budget: usize) -> Self {
        Inflater {
            params,
            budget,
            decompressor: None,
            takeover: true,
            window_lost: false,
            message: None,
        }
    }

    /// A compressed message from `sender` starts (RSV1 on a Text or Binary frame).
    pub(super) fn begin(&mut self, sender: Role, text: bool) {
        self.abandon();
        if self.decompressor.is_none() {
            // RFC 7692 §7.1: the "server_" parameters are the server's compressor's, the
            // "client_" ones the client's: the sender's are the ones to decompress with.
            let p = &self.params;
            let (bits, no_takeover) = match sender {
                Role::Server => (p.server_max_window_bits, p.server_no_context_takeover),
                Role::Client => (p.client_max_window_bits, p.client_no_context_takeover),
            };
            self.takeover = !no_takeover;
            self.decompressor = Some(Box::new(Decompressor::new(bits.unwrap_or(15), no_takeover)));
        }
        let stopped = self.window_lost.then_some(Stopped::NoWindow);
        self.message = Some(Message {
            inflated: Inflated::default(),
            compressed: 0,
            text,
            validator: Utf8Validator::new(),
            utf8_broken: false,
            utf8_reported: false,
            stopped,
            fresh: stopped.is_some(),
        });
    }

    /// A message is in progress: its frames' payloads go to [`Inflater::feed`].
    pub(super) fn active(&self) -> bool {
        self.message.is_some()
    }

    /// The next bytes of the message's payload as on the wire: masked with `key` (if any),
    /// starting at payload offset `at`.
    pub(super) fn feed_masked(&mut self, chunk: &[u8], key: Option<[u8; 4]>, mut at: u64) {
        let mut scratch = [0u8; 4096];
        for piece in chunk.chunks(scratch.len()) {
            let buf = scratch.get_mut(..piece.len()).unwrap_or_default();
            buf.copy_from_slice(piece);
            if let Some(key) = key {
                apply_mask(buf, key, (at % 4) as usize);
            }
            at += piece.len() as u64;
            self.feed(buf);
        }
    }

    /// The next unmasked bytes of the message's payload.
    fn feed(&mut self, piece: &[u8]) {
        let Some(m) = &mut self.message else {
            return;
        };
        m.compressed = m.compressed.saturating_add(piece.len() as u64);
        if m.stopped.is_some() {
            return;
        }
        let Some(d) = &mut self.decompressor else {
            return;
        };
        // §7.2.2 step 2, a frame at a time; the budget is counted while inflating.
        let from = m.inflated.len();
        let result = d.inflate(piece, &mut m.inflated, self.budget);
        check_text(m, from);
        if let Err(e) = result {
            self.stop(e);
        }
    }

    /// The message's frame ended: print what it inflated to so far, or, on its last frame
    /// (`fin`), inflate the tail and print the whole message. Returns the rules broken.
    pub(super) fn end_frame(&mut self, fin: bool, out: &mut String) -> Vec<ProtocolError> {
        let mut broken = Vec::new();
        if fin
            && let Some(m) = &mut self.message
            && m.stopped.is_none()
            && let Some(d) = &mut self.decompressor
        {
            // §7.2.2 step 1: the four octets the sender removed go back on.
            let from = m.inflated.len();
            let result = d.finish(&mut m.inflated, self.budget);
            check_text(m, from);
            if let Err(e) = result {
                self.stop(e);
            } else if m.text && !m.utf8_broken && m.validator.finish().is_err() {
                // The text ends inside a character.
                m.utf8_broken = true;
            }
        }
        let Some(m) = &mut self.message else {
            return broken;
        };
        if std::mem::take(&mut m.fresh) {
            match m.stopped {
                Some(Stopped::Corrupt) => broken.insert(0, ProtocolError::InvalidCompressedData),
                Some(Stopped::TooLarge) => {
                    let _ = writeln!(
                        out,
                        "  inflation stopped: the message inflates to more than {}, the dissector's budget (a receiver whose max_message_size is that fails it with 1009, §10.4)",
                        count(self.budget as u64, "byte")
                    );
                }
                Some(Stopped::NoWindow) => {
                    let _ = writeln!(
                        out,
                        "  not inflated: an earlier message did not inflate, and with context takeover this one may refer back into it (RFC 7692 §7.1.1)"
                    );
                }
                None => {}
            }
        }
        if m.utf8_broken && !m.utf8_reported {
            m.utf8_reported = true;
            broken.push(ProtocolError::InvalidUtf8);
        }
        if !fin {
            if m.stopped.is_none() {
                let _ = writeln!(
                    out,
                    "  inflated so far: {} from {} compressed",
                    count(m.inflated.len() as u64, "byte"),
                    count(m.compressed, "byte")
                );
            }
            return broken;
        }
        if let Some(m) = self.message.take() {
            show(&m, out);
        }
        broken
    }

    /// Forget the message in progress (the stream ended, or another message began).
    pub(super) fn abandon(&mut self) {
        if let Some(m) = self.message.take()
            && m.stopped.is_none()
        {
            self.lose_window();
        }
    }

    fn stop(&mut self, error: InflateError) {
        if let Some(m) = &mut self.message {
            m.stopped = Some(match error {
                InflateError::TooLarge { .. } => Stopped::TooLarge,
                InflateError::Corrupt => Stopped::Corrupt,
            });
            m.fresh = true;
        }
        self.lose_window();
    }

    /// The decompressor lost its place: reset it; with context takeover the messages after
    /// this one cannot be inflated any more.
    fn lose_window(&mut self) {
        if let Some(d) = &mut self.decompressor {
            d.abandon();
        }
        if self.takeover {
            self.window_lost = true;
        }
    }
}

/// §8.1 on the inflated text (RFC 7692 compresses the UTF-8, so it is judged after
/// inflating): validate the bytes from offset `from` on.
fn check_text(m: &mut Message, from: usize) {
    if !m.text || m.utf8_broken {
        return;
    }
    for piece in m.inflated.since(from) {
        if m.validator.feed(piece).is_err() {
            m.utf8_broken = true;
            return;
        }
    }
}

/// The whole inflated message: as a payload is shown (hex, then text), with its sizes.
fn show(m: &Message, out: &mut String) {
    if m.stopped.is_some() {
        let _ = writeln!(out, "  compressed message: {} on the wire", count(m.compressed, "byte"));
        return;
    }
    let len = m.inflated.len();
    let head: Vec<u8> = m.inflated.since(0).flatten().take(KEEP).copied().collect();
    let tail: Vec<u8> = m.inflated.since(len.saturating_sub(16)).flatten().copied().collect();
    if len == 0 {
        let _ = writeln!(out, "  inflated payload: empty");
    } else {
        hex_block(out, "inflated payload", &head, &tail, len as u64);
        text_line("inflated payload", &head, len as u64, m.text, out);
    }
    let ratio = if m.compressed == 0 {
        String::new()
    } else {
        format!(" (ratio {:.2})", len as f64 / m.compressed as f64)
    };
    let _ = writeln!(
        out,
        "  compressed message: {} on the wire, {} inflated{ratio}",
        count(m.compressed, "byte"),
        count(len as u64, "byte")
    );
}

/// A frame of a compressed message is complete (its last when `fin`): what it inflated to,
/// each rule the inflated bytes break, and those rules.
pub(super) fn inflated_lines(
    inflater: Option<&mut Inflater>,
    fin: bool,
    out: &mut String,
) -> Vec<ProtocolError> {
    let broken = match inflater.filter(|i| i.active()) {
        Some(inflater) => inflater.end_frame(fin, out),
        None if fin => {
            let _ = writeln!(
                out,
                "  compressed message (RFC 7692 §6): not inflated (the dissector was not given the negotiated parameters)"
            );
            Vec::new()
        }
        None => Vec::new(),
    };
    for e in &broken {
        violation_line(e, out);
    }
    broken
}

/// What RSV1 means on `h` when permessage-deflate was negotiated (RFC 7692 §6); empty when
/// it was not (RSV1 is then reserved, §5.2) or when there is nothing to say.
pub(super) fn rsv1_meaning(h: &FrameHeader, deflate: Deflate, in_compressed: bool) -> &'static str {
    if !deflate.negotiated() {
        return "";
    }
    match (h.opcode, h.rsv1) {
        (OpCode::Text | OpCode::Binary, true) => "compressed (permessage-deflate), RFC 7692 §6",
        (OpCode::Text | OpCode::Binary, false) => {
            "not compressed: permessage-deflate lets the sender choose per message"
        }
        (OpCode::Continuation, false) if in_compressed => {
            "of a compressed message: RSV1 is set on its first frame only, RFC 7692 §6"
        }
        (_, true) => "the permessage-deflate bit, on a frame that may not carry it",
        (_, false) => "",
    }
}
