//! Frames (§5.2) explained field by field as they arrive, and judged by the crate's own
//! [`violations`] (the rules of [`crate::protocol::check`]), Close-body and UTF-8 checks.
//!
//! [`FrameDissector`] is incremental: it takes the bytes of one direction of a connection in
//! pieces of any size, prints a frame's header as soon as its 2–14 bytes are there and its
//! payload once it is complete, and keeps only a bounded window of each payload for display
//! (the first [`KEEP`] bytes and the last 16), so a huge frame costs no memory.

use std::collections::VecDeque;
use std::fmt::Write as _;

use super::deflate::{Deflate, Inflater, inflated_lines, rsv1_meaning};
use super::frame_lines::{bit_lines, close_lines, field_lines, text_line, verdict, violation_line};
use super::text::{count, hex_block, hex_inline};
use crate::frame::{FrameHeader, MAX_HEADER_LEN, OpCode, apply_mask};
use crate::protocol::ProtocolError;
use crate::protocol::{
    CheckState, CloseFrame, Config, FragmentProgress, RSV1, Role, Utf8Validator, violations,
};

/// Payload bytes kept per frame for display: text, close bodies and the hex head.
pub const KEEP: usize = 1024;
/// Bytes of payload between two progress lines of a frame still arriving.
const PROGRESS_STEP: u64 = 64 * 1024;

/// Dissect a byte stream of one or more frames, all sent by the same endpoint.
///
/// `sender` is who sent the bytes: frames from a [`Role::Client`] are judged as a server
/// receives them (they must be masked) and the other way round. `None` infers the sender from
/// the first frame (masked → a client) and holds later frames to it. Fragmentation is
/// followed across frames; a stream that ends inside a frame says how many bytes are missing.
///
/// ```
/// let text = rfc6455::dissect::frames(&[0x81, 0x05, b'H', b'e', b'l', b'l', b'o'], None);
/// assert!(text.contains("opcode: 0x1 (text)"));
/// assert!(text.contains("payload: \"Hello\""));
/// ```
pub fn frames(bytes: &[u8], sender: Option<Role>) -> String {
    frames_with(bytes, sender, Deflate::Off)
}

/// [`frames`] on a connection that negotiated permessage-deflate as `deflate` says (see
/// [`FrameDissector::with_deflate`]).
///
/// ```
/// use rfc6455::dissect::{Deflate, frames_with};
///
/// // RFC 7692 §7.2.3.1: "Hello" in two fragments of its compressed form.
/// let bytes = [0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00];
/// let text = frames_with(&bytes, None, Deflate::Inflate(Default::default()));
/// assert!(text.contains("inflated payload: \"Hello\""));
/// ```
pub fn frames_with(bytes: &[u8], sender: Option<Role>, deflate: Deflate) -> String {
    let mut dissector = FrameDissector::new(sender).with_deflate(deflate);
    let mut out = String::new();
    dissector.feed(bytes, &mut out);
    dissector.finish(&mut out);
    out
}

/// The message a run of data frames is building (after a Text, Binary or Continuation).
#[derive(Debug, Clone)]
struct MessageInProgress {
    /// `Some(true)` for text, `Some(false)` for binary, `None` when it began with a
    /// continuation frame (its kind is unknown).
    text: Option<bool>,
    validator: Utf8Validator,
    /// The text has already been reported as invalid UTF-8.
    utf8_broken: bool,
    progress: FragmentProgress,
    /// Compressed (RFC 7692 §6: RSV1 on its first frame, permessage-deflate negotiated).
    compressed: bool,
}

/// The frame whose payload is arriving.
#[derive(Debug, Clone)]
struct Current {
    index: u64,
    header: FrameHeader,
    /// Payload length as a count of bytes still expected (the declared one).
    payload_len: u64,
    seen: u64,
    /// The first [`KEEP`] payload bytes, as on the wire (masked).
    head: Vec<u8>,
    /// The last 16 payload bytes seen, as on the wire.
    tail: VecDeque<u8>,
    /// Rules the header breaks.
    violations: Vec<ProtocolError>,
    /// The `feed` call that brought the header.
    header_feed: u64,
    /// Text, Binary or Continuation.
    data: bool,
    /// Part of a text message: validate it as UTF-8.
    text: bool,
    /// This frame's bytes made the text invalid.
    utf8_error: bool,
    /// Part of a compressed message: its payload is DEFLATE data.
    compressed: bool,
    last_progress: u64,
}

/// Incremental dissector of the frames one endpoint sends. See the module documentation.
///
/// Not `Clone`: with permessage-deflate it holds a zlib decompressor, whose state cannot be
/// copied.
#[derive(Debug)]
pub struct FrameDissector {
    sender: Option<Role>,
    inferred: bool,
    message: Option<MessageInProgress>,
    frames: u64,
    /// Stream offset of the next byte fed.
    offset: u64,
    /// Stream offset where the next frame's header starts.
    frame_start: u64,
    header_buf: Vec<u8>,
    current: Option<Current>,
    progress: bool,
    /// `feed` calls so far.
    feeds: u64,
    deflate: Deflate,
    /// Most bytes a compressed message may inflate to.
    inflate_budget: usize,
    /// This direction's decompressor, made at the first compressed message to inflate.
    inflater: Option<Box<Inflater>>,
}

impl FrameDissector {
    /// A dissector for frames sent by `sender` (`None`: infer it from the first frame).
    pub fn new(sender: Option<Role>) -> Self {
        FrameDissector {
            sender,
            inferred: false,
            message: None,
            frames: 0,
            offset: 0,
            frame_start: 0,
            header_buf: Vec::with_capacity(MAX_HEADER_LEN),
            current: None,
            progress: false,
            feeds: 0,
            deflate: Deflate::Off,
            inflate_budget: Config::default().max_message_size,
            inflater: None,
        }
    }

    /// Dissect frames of a connection that negotiated permessage-deflate (RFC 7692), or not
    /// ([`Deflate::Off`], the default). With [`Deflate::Inflate`] compressed messages are
    /// inflated with the sender's window and context takeover; keep one dissector per
    /// direction, for the sender's decompressor lives from one message to the next.
    pub fn with_deflate(mut self, deflate: Deflate) -> Self {
        self.deflate = deflate;
        self.inflater = None;
        self
    }

    /// Stop inflating a message once it inflates to more than `max` bytes (default: the
    /// protocol's `Config::max_message_size`, 64 MiB). The message being inflated is held
    /// whole, as a receiver holds it, so this is also the most memory it takes.
    pub fn with_inflate_budget(mut self, max: usize) -> Self {
        self.inflate_budget = max;
        self.inflater = None;
        self
    }

    /// Print a progress line while a large payload streams in (off by default;
    /// [`LiveDissector`](super::LiveDissector) turns it on).
    pub fn with_progress(mut self, on: bool) -> Self {
        self.progress = on;
        self
    }

    /// Start counting stream offsets at `offset` (e.g. after a handshake head).
    pub fn with_offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self.frame_start = offset;
        self
    }

    /// Who sent the frames, once known (given, or inferred from the first frame).
    pub fn sender(&self) -> Option<Role> {
        self.sender
    }

    /// Frames whose header has been seen so far.
    pub fn frame_count(&self) -> u64 {
        self.frames
    }

    /// Dissect the next piece of the stream, appending text to `out`.
    pub fn feed(&mut self, mut input: &[u8], out: &mut String) {
        self.feeds += 1;
        let shown_before = self.current.as_ref().map(|c| c.seen);
        while !input.is_empty() {
            if self.current.is_some() {
                let taken = self.payload(input, out);
                input = input.get(taken..).unwrap_or_default();
                continue;
            }
            let before = self.header_buf.len();
            let take = MAX_HEADER_LEN.saturating_sub(before).min(input.len());
            let fresh = input.get(..take).unwrap_or_default();
            let mut candidate = [0u8; MAX_HEADER_LEN];
            let total = before + fresh.len();
            if let Some(slot) = candidate.get_mut(..before) {
                slot.copy_from_slice(&self.header_buf);
            }
            if let Some(slot) = candidate.get_mut(before..total) {
                slot.copy_from_slice(fresh);
            }
            match FrameHeader::parse(candidate.get(..total).unwrap_or_default()) {
                Ok((header, header_len)) => {
                    let used = header_len.saturating_sub(before);
                    input = input.get(used..).unwrap_or_default();
                    self.offset += used as u64;
                    self.header_buf.clear();
                    let raw = candidate.get(..header_len).unwrap_or_default();
                    self.start_frame(header, raw, out);
                }
                Err(_) => {
                    self.header_buf.extend_from_slice(fresh);
                    self.offset += fresh.len() as u64;
                    input = input.get(take..).unwrap_or_default();
                }
            }
        }
        if !self.progress {
            return;
        }
        if let Some(c) = &mut self.current {
            let grew = shown_before.is_none_or(|before| c.seen > before);
            if grew && c.seen >= c.last_progress.saturating_add(PROGRESS_STEP) {
                c.last_progress = c.seen;
                let _ = writeln!(
                    out,
                    "frame {} payload: {} of {} bytes so far …",
                    c.index, c.seen, c.payload_len
                );
            }
        }
    }

    /// The stream ended: report a frame cut short (and how many bytes it misses) and a
    /// fragmented message left unfinished.
    pub fn finish(&mut self, out: &mut String) {
        if !self.header_buf.is_empty() {
            self.frames += 1;
            let needed = match FrameHeader::parse(&self.header_buf) {
                Err(needed) => needed,
                Ok((_, len)) => len,
            };
            let have = self.header_buf.len();
            let _ = writeln!(
                out,
                "frame {} at byte {}: truncated header",
                self.frames, self.frame_start
            );
            let _ = writeln!(out, "  header bytes: {}", hex_inline(&self.header_buf));
            bit_lines(&self.header_buf, out);
            let _ = writeln!(
                out,
                "  truncated: the header needs {needed} bytes, only {have} arrived: {} missing",
                count(needed.saturating_sub(have) as u64, "byte")
            );
            self.header_buf.clear();
        }
        if let Some(inflater) = &mut self.inflater {
            inflater.abandon();
        }
        let mut cut_final_frame = false;
        if let Some(c) = self.current.take() {
            cut_final_frame = c.data && c.header.fin;
            self.payload_block(&c, false, out);
            let missing = c.payload_len.saturating_sub(c.seen);
            let _ = writeln!(
                out,
                "  truncated: the header declares {} payload bytes, only {} arrived: {} missing",
                c.payload_len,
                c.seen,
                count(missing, "byte")
            );
            verdict(&c.violations, self.receiver(), out);
        }
        if let Some(m) = self.message.take().filter(|_| !cut_final_frame) {
            let kind = match m.text {
                Some(true) => "text",
                Some(false) => "binary",
                None => "unknown-kind",
            };
            let _ = writeln!(
                out,
                "note: the stream ended inside a fragmented {kind} message ({}, {} so far; the FIN=1 frame never came)",
                count(m.progress.fragments as u64, "fragment"),
                count(m.progress.bytes, "byte")
            );
        }
    }

    /// The endpoint judging the frames (the receiver), once the sender is known.
    fn receiver(&self) -> Role {
        match self.sender {
            Some(Role::Server) => Role::Client,
            _ => Role::Server,
        }
    }

    fn start_frame(&mut self, header: FrameHeader, raw: &[u8], out: &mut String) {
        self.frames += 1;
        let index = self.frames;
        let start = self.frame_start;
        let sender = match self.sender {
            Some(role) => role,
            None => {
                self.inferred = true;
                let role = if header.is_masked() { Role::Client } else { Role::Server };
                self.sender = Some(role);
                role
            }
        };
        let direction = match sender {
            Role::Client => "client → server",
            Role::Server => "server → client",
        };
        let inferred = if self.inferred && index == 1 {
            format!(" (sender inferred from MASK={})", u8::from(header.is_masked()))
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "frame {index} at byte {start}: {}-byte header + {}-byte payload, {direction}{inferred}",
            raw.len(),
            header.payload_len
        );
        let state = CheckState {
            role: self.receiver(),
            fragmented: self.message.as_ref().map(|m| m.progress),
            // RFC 7692 §6: permessage-deflate defines RSV1.
            allowed_rsv: if self.deflate.negotiated() { RSV1 } else { 0 },
        };
        let violations = rules_broken(&header, &state);
        let _ = writeln!(out, "  header bytes: {}", hex_inline(raw));
        bit_lines(raw, out);
        let in_text = self.message.as_ref().and_then(|m| m.text);
        let in_compressed = self.message.as_ref().is_some_and(|m| m.compressed);
        let rsv1 = rsv1_meaning(&header, self.deflate, in_compressed);
        field_lines(&header, in_text, rsv1, &violations, out);
        for v in &violations {
            violation_line(v, out);
        }

        // Follow the message the data frames build, for the next frames' state and UTF-8.
        let data = matches!(header.opcode, OpCode::Text | OpCode::Binary | OpCode::Continuation);
        let fragment = FragmentProgress { bytes: header.payload_len, fragments: 1 };
        match header.opcode {
            OpCode::Text | OpCode::Binary => {
                let text = header.opcode == OpCode::Text;
                let compressed = header.rsv1 && self.deflate.negotiated();
                if let Some(inflater) = &mut self.inflater {
                    inflater.abandon();
                }
                if compressed && let Deflate::Inflate(params) = self.deflate {
                    let budget = self.inflate_budget;
                    let inflater = self
                        .inflater
                        .get_or_insert_with(|| Box::new(Inflater::new(params, budget)));
                    inflater.begin(sender, text);
                }
                self.message = Some(MessageInProgress {
                    text: Some(text),
                    validator: Utf8Validator::new(),
                    utf8_broken: false,
                    progress: fragment,
                    compressed,
                });
            }
            OpCode::Continuation => match &mut self.message {
                Some(m) => {
                    m.progress.bytes = m.progress.bytes.saturating_add(header.payload_len);
                    m.progress.fragments = m.progress.fragments.saturating_add(1);
                }
                None => {
                    self.message = Some(MessageInProgress {
                        text: None,
                        validator: Utf8Validator::new(),
                        utf8_broken: false,
                        progress: fragment,
                        compressed: false,
                    });
                }
            },
            _ => {}
        }
        let text = data && self.message.as_ref().is_some_and(|m| m.text == Some(true));
        let compressed = data && self.message.as_ref().is_some_and(|m| m.compressed);
        let current = Current {
            index,
            header,
            payload_len: header.payload_len,
            seen: 0,
            head: Vec::new(),
            tail: VecDeque::with_capacity(16),
            violations,
            header_feed: self.feeds,
            data,
            text,
            utf8_error: false,
            compressed,
            last_progress: 0,
        };
        self.frame_start =
            start.saturating_add(raw.len() as u64).saturating_add(header.payload_len);
        if current.payload_len == 0 {
            self.complete(current, out);
        } else {
            self.current = Some(current);
        }
    }

    /// Take payload bytes of the current frame from the front of `input`; returns how many.
    fn payload(&mut self, input: &[u8], out: &mut String) -> usize {
        let Some(c) = &mut self.current else {
            return 0;
        };
        let remaining = c.payload_len.saturating_sub(c.seen);
        let n = usize::try_from(remaining).unwrap_or(usize::MAX).min(input.len());
        let chunk = input.get(..n).unwrap_or_default();
        let room = KEEP.saturating_sub(c.head.len()).min(chunk.len());
        c.head.extend_from_slice(chunk.get(..room).unwrap_or_default());
        for &b in chunk.get(chunk.len().saturating_sub(16)..).unwrap_or_default() {
            if c.tail.len() == 16 {
                c.tail.pop_front();
            }
            c.tail.push_back(b);
        }
        if c.compressed
            && let Some(inflater) = self.inflater.as_mut().filter(|i| i.active())
        {
            // The payload is DEFLATE data: inflate it (its text is judged once inflated).
            inflater.feed_masked(chunk, c.header.masking_key, c.seen);
        } else if c.text
            && !c.compressed
            && let Some(m) = &mut self.message
            && !m.utf8_broken
        {
            let mut scratch = [0u8; 4096];
            let mut at = c.seen;
            for piece in chunk.chunks(scratch.len()) {
                let buf = scratch.get_mut(..piece.len()).unwrap_or_default();
                buf.copy_from_slice(piece);
                if let Some(key) = c.header.masking_key {
                    apply_mask(buf, key, (at % 4) as usize);
                }
                at += piece.len() as u64;
                if m.validator.feed(buf).is_err() {
                    m.utf8_broken = true;
                    c.utf8_error = true;
                    break;
                }
            }
        }
        c.seen += n as u64;
        self.offset += n as u64;
        if c.seen >= c.payload_len
            && let Some(c) = self.current.take()
        {
            self.complete(c, out);
        }
        n
    }

    /// The whole payload of `c` is in: show it, judge it, close the message on FIN.
    fn complete(&mut self, mut c: Current, out: &mut String) {
        let mut finished = None;
        if c.data
            && c.header.fin
            && let Some(mut m) = self.message.take()
        {
            if c.text && !c.compressed && !m.utf8_broken && m.validator.finish().is_err() {
                c.utf8_error = true;
            }
            finished = Some(m);
        }
        if self.progress && c.header_feed != self.feeds {
            let _ = writeln!(out, "frame {} (continued): payload complete", c.index);
        }
        let mut payload_violations = self.payload_block(&c, true, out);
        if c.compressed {
            let inflater = self.inflater.as_deref_mut();
            payload_violations.extend(inflated_lines(inflater, c.header.fin, out));
        }
        if let Some(m) = finished.filter(|m| m.progress.fragments > 1) {
            let kind = match m.text {
                Some(true) => "text",
                Some(false) => "binary",
                None => "unknown-kind (it began with a continuation)",
            };
            let _ = writeln!(
                out,
                "  message complete: {kind}, {} fragments, {} bytes",
                m.progress.fragments, m.progress.bytes
            );
        }
        let mut all = c.violations;
        all.extend(payload_violations);
        verdict(&all, self.receiver(), out);
    }

    /// Print the payload lines of `c` (all of it when `complete`, else what arrived) and
    /// return the rules the payload breaks.
    fn payload_block(&self, c: &Current, complete: bool, out: &mut String) -> Vec<ProtocolError> {
        let mut violations = Vec::new();
        let key = c.header.masking_key;
        let whole = c.seen <= KEEP as u64;
        let (label_masked, label_plain) = if complete {
            ("masked payload", "unmasked payload")
        } else {
            ("masked payload (arrived so far)", "unmasked payload (arrived so far)")
        };
        let unmasked_head = unmask(&c.head, key, 0);
        let tail: Vec<u8> = c.tail.iter().copied().collect();
        let tail_offset = c.seen.saturating_sub(tail.len() as u64);
        let unmasked_tail = unmask(&tail, key, tail_offset);
        if c.seen > 0 {
            if key.is_some() {
                hex_block(out, label_masked, &c.head, &tail, c.seen);
                hex_block(out, label_plain, &unmasked_head, &unmasked_tail, c.seen);
            } else {
                let label = if complete {
                    "payload, not masked"
                } else {
                    "payload, not masked (arrived so far)"
                };
                hex_block(out, label, &unmasked_head, &unmasked_tail, c.seen);
            }
        }

        if c.header.opcode == OpCode::Close && complete {
            if whole {
                close_lines(&unmasked_head, out);
                if let Err(e) = CloseFrame::parse(&unmasked_head) {
                    violation_line(&e, out);
                    violations.push(e);
                }
            } else {
                let _ = writeln!(out, "  close body: too long to show ({} bytes)", c.seen);
            }
        } else if c.seen > 0 && !c.compressed {
            text_line("payload", &unmasked_head, c.seen, c.text, out);
        }
        if c.utf8_error {
            let e = ProtocolError::InvalidUtf8;
            violation_line(&e, out);
            violations.push(e);
        }
        violations
    }
}

/// Unmask a copy of `bytes`, which start at payload offset `offset`.
fn unmask(bytes: &[u8], key: Option<[u8; 4]>, offset: u64) -> Vec<u8> {
    let mut copy = bytes.to_vec();
    if let Some(key) = key {
        apply_mask(&mut copy, key, (offset % 4) as usize);
    }
    copy
}

/// Every rule of the RFC `header` breaks for a receiver in `state`, in the order
/// [`violations`] (the judge [`crate::protocol::check`] uses) finds them.
fn rules_broken(header: &FrameHeader, state: &CheckState) -> Vec<ProtocolError> {
    // Budgets are this crate's choice (§10.4), not rules of the RFC: the dissector lifts
    // them and judges only the RFC's rules.
    let config = Config {
        max_frame_size: usize::MAX,
        max_message_size: usize::MAX,
        max_fragments: usize::MAX,
        reject_non_minimal_lengths: true,
        ..Config::default()
    };
    violations(header, state, &config)
}
