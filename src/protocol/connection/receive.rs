//! Receiving (§5.2–§5.6, §7, §8): the peer's bytes in, messages out. Each header is judged by
//! [`check`] before its payload is read; fragments are reassembled, text is validated as
//! it arrives, Pings and Closes get the replies the RFC obliges, and a rule broken fails the
//! connection (§7.1.7). End of stream settles the close code (§7.1.5).

use bytes::{Bytes, BytesMut};

use super::{Connection, ReceivedClose, State};
use crate::frame::{Frame, FrameError, FrameHeader, OpCode};
use crate::protocol::check::{CheckState, FragmentProgress, RSV1, check};
use crate::protocol::close::CloseFrame;
use crate::protocol::config::Config;
use crate::protocol::error::ProtocolError;
use crate::protocol::message::{Message, Utf8Bytes};
use crate::protocol::utf8::Utf8Validator;

/// What decoding one frame came to.
enum FrameOutcome {
    /// The frame is not complete yet: more bytes are needed.
    NeedMore,
    /// A frame was consumed without producing an event (a non-final fragment).
    Consumed,
    /// A frame completed an event: a message, a Ping, a Pong or a Close.
    Event(Message),
}

/// A data message whose fragments are still arriving (§5.4).
#[derive(Debug)]
pub(super) struct Reassembly {
    /// Text or Binary: the first fragment's opcode, which all fragments share.
    opcode: OpCode,
    /// The first fragment, kept by reference until a second one arrives.
    first: Option<Bytes>,
    /// Fragments joined so far (from the second fragment on); each byte is copied once.
    joined: BytesMut,
    /// Bytes received so far.
    len: u64,
    /// Fragments received so far.
    fragments: usize,
    /// Handed out in parts as it arrives (`Config::binary_parts_from`): nothing is kept.
    in_parts: bool,
    /// Compressed (RFC 7692: RSV1 on its first frame): inflated as its frames arrive, into
    /// the connection's `Compression`.
    compressed: bool,
}

impl Reassembly {
    /// A binary message handed out in parts: only its progress is kept, for `check`.
    fn in_parts() -> Self {
        Reassembly {
            opcode: OpCode::Binary,
            first: None,
            joined: BytesMut::new(),
            len: 0,
            fragments: 0,
            in_parts: true,
            compressed: false,
        }
    }

    fn push(&mut self, payload: Bytes) {
        self.len += payload.len() as u64;
        self.fragments += 1;
        if let Some(first) = self.first.take() {
            self.joined.reserve(first.len() + payload.len());
            self.joined.extend_from_slice(&first);
        }
        self.joined.extend_from_slice(&payload);
    }

    fn finish(self) -> Bytes {
        match self.first {
            Some(only) => only,
            None => self.joined.freeze(),
        }
    }
}

impl Connection {
    /// The read buffer: append the peer's bytes here (zero-copy path), then call
    /// [`Connection::next_event`].
    pub fn read_buf(&mut self) -> &mut BytesMut {
        &mut self.read_buf
    }

    /// Append the peer's bytes (copying them into the read buffer). Once the connection is
    /// terminated the bytes are dropped: nothing after the close handshake or a failure is
    /// processed (§7.1.7), so nothing is kept either.
    pub fn receive(&mut self, bytes: &[u8]) {
        if !self.is_terminated() {
            self.read_buf.extend_from_slice(bytes);
            self.note_new_bytes();
        }
    }

    /// How many more bytes the frame in progress needs (a read-size hint, at least 1).
    pub fn bytes_wanted(&self) -> usize {
        self.decoder.bytes_wanted(&self.read_buf).max(1)
    }

    /// The transport reached end of stream: no more bytes will arrive.
    ///
    /// Frames already in the read buffer are still delivered by [`Connection::next_event`]
    /// (a server often sends its Close and closes TCP at once, and both arrive in one poll).
    /// Once they are drained, a connection whose close handshake had not completed becomes
    /// [`State::Aborted`] with close code 1006 (§7.1.5: "If _The WebSocket Connection is
    /// Closed_ and no Close control frame was received by the endpoint ..., _The WebSocket
    /// Connection Close Code_ is considered to be 1006"). Check [`Connection::state`] after
    /// draining.
    pub fn receive_eof(&mut self) {
        self.eof = true;
        if self.read_buf.is_empty() {
            self.settle_eof();
        }
    }

    /// End of stream with nothing left to decode: abort unless the close handshake is over.
    fn settle_eof(&mut self) {
        if matches!(self.state, State::Open | State::CloseSent) {
            self.abort();
        }
    }

    /// _The WebSocket Connection is Closed_ without a Close received (§7.1.5: the close code
    /// is 1006): stop reading, drop what was in progress.
    pub(super) fn abort(&mut self) {
        self.state = State::Aborted;
        self.read_buf.clear();
        self.reassembly = None;
        self.abandon_compressed();
        self.pong_owed = None;
    }

    /// The next message from the bytes received so far, or `Ok(None)` when more bytes are
    /// needed (or the connection no longer reads).
    ///
    /// A Ping is answered (the Pong is queued) and still reported; a Close is echoed and
    /// reported. An error means the peer broke the protocol: the connection is now
    /// [`State::Failed`] with a Close frame carrying [`ProtocolError::close_code`] queued,
    /// and the same error is returned by every later call.
    pub fn next_event(&mut self) -> Result<Option<Message>, ProtocolError> {
        if let Some(failure) = &self.failure {
            return Err(failure.clone());
        }
        if self.is_terminated() {
            // Bytes appended through `read_buf()` after the end are never processed.
            self.read_buf.clear();
            return Ok(None);
        }
        self.note_new_bytes();
        let result = loop {
            match self.next_frame() {
                Ok(FrameOutcome::Event(message)) => break Ok(Some(message)),
                Ok(FrameOutcome::Consumed) => continue,
                Ok(FrameOutcome::NeedMore) => {
                    if self.eof {
                        self.settle_eof();
                    }
                    break Ok(None);
                }
                Err(error) => break Err(self.fail(error)),
            }
        };
        self.note_decoded();
        result
    }

    /// Decode at most one frame.
    fn next_frame(&mut self) -> Result<FrameOutcome, ProtocolError> {
        match self.whole_frame()? {
            Some(frame) => self.on_frame(frame),
            None => self.arriving_frame(),
        }
    }

    /// What the rules of `check` are judged against: our role and the fragmented message in
    /// progress.
    fn check_state(&self) -> CheckState {
        CheckState {
            role: self.role,
            fragmented: self
                .reassembly
                .as_ref()
                .map(|r| FragmentProgress { bytes: r.len, fragments: r.fragments }),
            allowed_rsv: if self.compression.is_some() { RSV1 } else { 0 },
        }
    }

    /// The common case: a whole frame already in the read buffer (no frame in progress), judged,
    /// split off, unmasked and (text) validated in one step. `Ok(None)` leaves it to
    /// [`Connection::arriving_frame`]: no whole frame there, or a binary frame to hand out
    /// in parts.
    fn whole_frame(&mut self) -> Result<Option<Frame>, ProtocolError> {
        let state = self.check_state();
        let (config, reassembly) = (&self.config, &self.reassembly);
        let frame = self.decoder.decode_whole(&mut self.read_buf, |header| {
            if in_parts(header, config, reassembly) {
                return Ok(false);
            }
            check(header, &state, config)?;
            Ok(true)
        })?;
        let Some(frame) = frame else {
            return Ok(None);
        };
        match frame.header.opcode {
            // A compressed message is validated as it inflates (`on_compressed_frame`).
            OpCode::Text if frame.header.rsv1 => self.utf8 = Utf8Validator::new(),
            OpCode::Text => {
                self.utf8 = Utf8Validator::new();
                if frame.header.fin {
                    // The whole message is here: one check, no code point carried over.
                    simdutf8::basic::from_utf8(&frame.payload)
                        .map_err(|_| ProtocolError::InvalidUtf8)?;
                } else {
                    self.utf8.feed(&frame.payload).map_err(|_| ProtocolError::InvalidUtf8)?;
                }
            }
            OpCode::Continuation if is_text_continuation(reassembly) => {
                self.utf8.feed(&frame.payload).map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            _ => {}
        }
        Ok(Some(frame))
    }

    /// A frame whose bytes are still arriving: its header judged once, its payload unmasked
    /// and (text) validated as it comes (§8.1 fails bad UTF-8 before the frame ends).
    fn arriving_frame(&mut self) -> Result<FrameOutcome, ProtocolError> {
        let header = match self.decoder.decode_header(&mut self.read_buf) {
            Ok(Some(header)) => header,
            Ok(None) => return Ok(FrameOutcome::NeedMore),
            Err(e) => unreachable_frame_error(e)?,
        };
        if !self.header_checked {
            check(&header, &self.check_state(), &self.config)?;
            self.header_checked = true;
            if header.opcode == OpCode::Text {
                self.utf8 = Utf8Validator::new();
            }
        }
        if in_parts(&header, &self.config, &self.reassembly) {
            return self.next_part(header);
        }
        let is_text = match header.opcode {
            OpCode::Text => !header.rsv1,
            OpCode::Continuation => is_text_continuation(&self.reassembly),
            _ => false,
        };
        let utf8 = &mut self.utf8;
        let frame = self.decoder.decode_payload(&mut self.read_buf, |fresh| {
            if is_text {
                // §8.1: fail as soon as the bytes cannot be UTF-8, even mid-frame.
                utf8.feed(fresh).map_err(|_| ProtocolError::InvalidUtf8)
            } else {
                Ok(())
            }
        })?;
        let Some(frame) = frame else {
            return Ok(FrameOutcome::NeedMore);
        };
        self.header_checked = false;
        self.on_frame(frame)
    }

    /// A whole frame received: the reply the RFC obliges, the message it completes.
    fn on_frame(&mut self, frame: Frame) -> Result<FrameOutcome, ProtocolError> {
        let header = frame.header;
        let payload = frame.payload;
        let outcome = match header.opcode {
            OpCode::Ping => {
                // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame
                // in response, unless it already received a Close frame." §5.5.3: the Pong
                // "must have identical "Application data"".
                // (Our own Close does not excuse it: only data frames may not follow it.)
                if self.close_received.is_none() {
                    self.pong_owed = Some(payload.clone());
                    self.settle_owed_pong();
                }
                FrameOutcome::Event(Message::Ping(payload))
            }
            OpCode::Pong => FrameOutcome::Event(Message::Pong(payload)),
            OpCode::Close => FrameOutcome::Event(self.on_close(&payload)?),
            OpCode::Text | OpCode::Binary if header.rsv1 => {
                return self.on_compressed_frame(header, header.opcode, &payload);
            }
            OpCode::Continuation if self.reassembly.as_ref().is_some_and(|r| r.compressed) => {
                let opcode = self.reassembly.as_ref().map_or(OpCode::Binary, |r| r.opcode);
                return self.on_compressed_frame(header, opcode, &payload);
            }
            OpCode::Text | OpCode::Binary if header.fin => {
                FrameOutcome::Event(self.data_message(header.opcode, payload)?)
            }
            OpCode::Text | OpCode::Binary => {
                self.reassembly = Some(Reassembly {
                    opcode: header.opcode,
                    first: Some(payload.clone()),
                    joined: BytesMut::new(),
                    len: payload.len() as u64,
                    fragments: 1,
                    in_parts: false,
                    compressed: false,
                });
                FrameOutcome::Consumed
            }
            OpCode::Continuation => {
                // `check` guarantees a message is in progress.
                let Some(mut reassembly) = self.reassembly.take() else {
                    return Err(ProtocolError::UnexpectedContinuation);
                };
                reassembly.push(payload);
                if header.fin {
                    let opcode = reassembly.opcode;
                    FrameOutcome::Event(self.data_message(opcode, reassembly.finish())?)
                } else {
                    self.reassembly = Some(reassembly);
                    FrameOutcome::Consumed
                }
            }
            // `check` refuses reserved opcodes before their payload is read.
            OpCode::Reserved(opcode) => return Err(ProtocolError::ReservedOpcode { opcode }),
        };
        Ok(outcome)
    }

    /// A frame of a compressed message (RFC 7692 §6: RSV1 on its first frame): inflated
    /// within `max_message_size` as it arrives, a text message validated as it inflates
    /// (§8.1 fail-fast), the message handed out once its last frame is in.
    fn on_compressed_frame(
        &mut self,
        header: FrameHeader,
        opcode: OpCode,
        payload: &[u8],
    ) -> Result<FrameOutcome, ProtocolError> {
        let max = self.config.max_message_size;
        // `check` allows RSV1 only when the extension was negotiated.
        let Some(compression) = self.compression.as_mut() else {
            return Err(ProtocolError::ReservedBitsSet { rsv: header.rsv_bits() });
        };
        let text = opcode == OpCode::Text;
        let invalid = |_| ProtocolError::InvalidUtf8;
        for piece in compression.inflate(payload, max)? {
            if text {
                self.utf8.feed(piece).map_err(invalid)?;
            }
        }
        let mut progress = self.reassembly.take().unwrap_or(Reassembly {
            opcode,
            first: None,
            joined: BytesMut::new(),
            len: 0,
            fragments: 0,
            in_parts: false,
            compressed: true,
        });
        progress.len += payload.len() as u64;
        progress.fragments += 1;
        if !header.fin {
            self.reassembly = Some(progress);
            return Ok(FrameOutcome::Consumed);
        }
        for piece in compression.finish(max)? {
            if text {
                self.utf8.feed(piece).map_err(invalid)?;
            }
        }
        let message = compression.take_message();
        Ok(FrameOutcome::Event(self.data_message(opcode, message)?))
    }

    /// The next part of a binary message handed out as it arrives: the payload bytes of the
    /// frame in progress that arrived since the last part, once there are `binary_parts_from`
    /// of them or the frame ends.
    fn next_part(&mut self, header: FrameHeader) -> Result<FrameOutcome, ProtocolError> {
        let min_part = self.config.binary_parts_from.unwrap_or(0);
        let part = self.decoder.decode_payload_part(&mut self.read_buf, min_part, |_| Ok(()))?;
        let Some(part) = part else {
            return Ok(FrameOutcome::NeedMore);
        };
        let progress = self.reassembly.get_or_insert_with(Reassembly::in_parts);
        progress.len += part.payload.len() as u64;
        let last = part.ends_frame && header.fin;
        if part.ends_frame {
            self.header_checked = false;
            progress.fragments += 1;
            if last {
                self.reassembly = None;
            }
        }
        if part.payload.is_empty() && !last {
            // An empty non-final fragment carries nothing to hand out.
            return Ok(FrameOutcome::Consumed);
        }
        Ok(FrameOutcome::Event(Message::BinaryPart { payload: part.payload, last }))
    }

    fn data_message(&mut self, opcode: OpCode, payload: Bytes) -> Result<Message, ProtocolError> {
        if opcode == OpCode::Text {
            // §8.1: the message ended; it must not end inside a code point.
            self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
            Ok(Message::Text(Utf8Bytes::from_validated(payload)))
        } else {
            Ok(Message::Binary(payload))
        }
    }

    fn on_close(&mut self, payload: &[u8]) -> Result<Message, ProtocolError> {
        let frame = CloseFrame::parse(payload)?;
        self.close_received = Some(match &frame {
            Some(frame) => ReceivedClose::Status(frame.clone()),
            None => ReceivedClose::NoStatus,
        });
        self.reassembly = None;
        self.abandon_compressed();
        if !self.close_sent {
            // §5.5.1: "If an endpoint receives a Close frame and did not previously send a
            // Close frame, the endpoint MUST send a Close frame in response. (When sending a
            // Close frame in response, the endpoint typically echos the status code it
            // received.)"
            let echo = frame.as_ref().map(|f| CloseFrame::new(f.code, ""));
            self.queue_close(echo.as_ref());
        }
        self.state = State::Closed;
        // Nothing after the Close is processed (§5.5.1: the peer "MUST NOT send any more
        // data frames after sending a Close frame").
        self.read_buf.clear();
        Ok(Message::Close(frame))
    }

    /// _Fail the WebSocket Connection_ (§7.1.7): queue a Close with the error's code "while
    /// the connection is still writable", stop reading, remember the error.
    pub(super) fn fail(&mut self, error: ProtocolError) -> ProtocolError {
        if !self.close_sent {
            // §7.1.7: "the endpoint SHOULD send a Close frame with an appropriate status code
            // (Section 7.4) before proceeding to _Close the WebSocket Connection_."
            let reason = short_reason(&error);
            self.queue_close(Some(&CloseFrame::new(error.close_code(), reason)));
        }
        self.state = State::Failed;
        self.read_buf.clear();
        self.reassembly = None;
        self.abandon_compressed();
        self.pong_owed = None;
        self.failure = Some(error.clone());
        error
    }
}

/// This binary frame (or continuation of one) is handed out in parts as it arrives
/// (`Config::binary_parts_from`). Never a compressed one (RSV1, RFC 7692 §6): its frames
/// carry one DEFLATE stream, inflated and handed out whole.
fn in_parts(header: &FrameHeader, config: &Config, reassembly: &Option<Reassembly>) -> bool {
    match header.opcode {
        OpCode::Binary => {
            !header.rsv1
                && config.binary_parts_from.is_some_and(|from| header.payload_len >= from as u64)
        }
        OpCode::Continuation => reassembly.as_ref().is_some_and(|r| r.in_parts),
        _ => false,
    }
}

/// A continuation frame now would continue an uncompressed text message (validated as its
/// bytes arrive).
fn is_text_continuation(reassembly: &Option<Reassembly>) -> bool {
    reassembly.as_ref().is_some_and(|r| r.opcode == OpCode::Text && !r.compressed)
}

/// The connection's decoder has no payload budget of its own (`check` enforces
/// `max_frame_size`), so it cannot refuse a frame; this keeps the match total anyway.
fn unreachable_frame_error(e: FrameError) -> Result<FrameHeader, ProtocolError> {
    match e {
        FrameError::PayloadTooLong { declared, max } => Err(ProtocolError::FrameTooLarge {
            len: declared,
            max: usize::try_from(max).unwrap_or(usize::MAX),
        }),
    }
}

/// A close reason for a failure: the error's words, cut to fit 123 bytes on a char boundary.
fn short_reason(error: &ProtocolError) -> String {
    let mut reason = error.to_string();
    if reason.len() > 123 {
        let mut cut = 123;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
    }
    reason
}
