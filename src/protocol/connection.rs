//! [`Connection`]: the sans-IO WebSocket connection (§5–§8).
//!
//! ```text
//!  peer bytes ──► read_buf() / receive() ──► next_event() ──► Message
//!                                               │ (pong, close echo, failure close)
//!  send(Message) / close() ─────────────────────┴──► output_slices() / take_output() ──► peer
//! ```
//!
//! The connection owns its read buffer so that payloads can be split off it without a copy.
//! Replies the RFC obliges (a Pong for a Ping, the Close echo, the Close that fails the
//! connection) are queued by the connection itself. It never reads a clock: the driver
//! times the close handshake (`socket::Settings::close_timeout`).

use std::io::IoSlice;

use bytes::{Bytes, BytesMut};

use super::check::{CheckState, FragmentProgress, Role, check};
use super::close::{CloseCode, CloseFrame};
use super::config::Config;
use super::error::{ProtocolError, SendError};
use super::message::{Message, Utf8Bytes};
use super::output::Output;
use super::utf8::Utf8Validator;
use crate::frame::{FrameDecoder, FrameError, FrameHeader, MAX_HEADER_LEN, OpCode, apply_mask};

/// Where the connection is in its life (§7.1.3, §7.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a Close and wait for the peer's (§7.1.3: the CLOSING state). Messages the
    /// peer sent before its Close are still delivered.
    CloseSent,
    /// Both Close frames have been sent (or queued) and received: the close handshake is
    /// complete. §5.5.1: the endpoint "MUST close the underlying TCP connection"; the
    /// server first (§7.1.1).
    Closed,
    /// We failed the connection (§7.1.7) because the peer broke the protocol; our Close,
    /// carrying the error's code, is queued. §7.1.7: "An endpoint MUST NOT continue to
    /// attempt to process data (including a responding Close frame) from the remote endpoint
    /// after being instructed to _Fail the WebSocket Connection_."
    Failed,
    /// The transport ended before the close handshake completed (close code 1006).
    Aborted,
}

/// A data message whose fragments are still arriving (§5.4).
#[derive(Debug)]
struct Reassembly {
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
}

impl Reassembly {
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

/// A source of masking keys: OS entropy fetched in batches (§5.3: "the masking key MUST be
/// derived from a strong source of entropy"). One `getrandom` call serves 64 frames.
#[derive(Debug)]
struct MaskSource {
    pool: [u8; 256],
    used: usize,
}

impl MaskSource {
    fn new() -> Self {
        MaskSource { pool: [0; 256], used: 256 }
    }

    fn next_key(&mut self) -> [u8; 4] {
        if self.used + 4 > self.pool.len() {
            // Not peer input: only the OS can make this fail (Linux's getrandom(2) blocks until
            // seeded and then cannot fail). An OS without an entropy source cannot run a
            // WebSocket client safely (§10.3), and there is no sensible way to go on without one.
            getrandom::fill(&mut self.pool).expect("the OS entropy source failed");
            self.used = 0;
        }
        let mut key = [0; 4];
        key.copy_from_slice(&self.pool[self.used..self.used + 4]);
        self.used += 4;
        key
    }
}

/// The sans-IO WebSocket connection. See the module documentation.
#[derive(Debug)]
pub struct Connection {
    role: Role,
    config: Config,
    state: State,
    read_buf: BytesMut,
    decoder: FrameDecoder,
    /// True once `check` has judged the header of the frame in progress.
    header_checked: bool,
    reassembly: Option<Reassembly>,
    /// Validates the text message in progress (single frame or fragmented).
    utf8: Utf8Validator,
    output: Output,
    /// The Pong owed for the most recent Ping not yet answered (§5.5.3: an endpoint "MAY
    /// elect to send a Pong frame for only the most recently processed Ping frame").
    pong_owed: Option<Bytes>,
    /// Our own outgoing fragmented message: its opcode while unfinished.
    sending_fragmented: Option<OpCode>,
    send_utf8: Utf8Validator,
    masks: MaskSource,
    /// The first Close received (§7.1.5, §7.1.6).
    close_received: Option<Option<CloseFrame>>,
    close_sent: bool,
    failure: Option<ProtocolError>,
    /// The transport reached end of stream.
    eof: bool,
}

impl Connection {
    /// A connection for `role` after a successful opening handshake.
    pub fn new(role: Role, config: Config) -> Self {
        Connection {
            role,
            config,
            state: State::Open,
            read_buf: BytesMut::new(),
            decoder: FrameDecoder::new(),
            header_checked: false,
            reassembly: None,
            utf8: Utf8Validator::new(),
            output: Output::default(),
            pong_owed: None,
            sending_fragmented: None,
            send_utf8: Utf8Validator::new(),
            masks: MaskSource::new(),
            close_received: None,
            close_sent: false,
            failure: None,
            eof: false,
        }
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        self.state
    }

    /// True when no more frames will be read: the close handshake completed, we failed the
    /// connection, or the transport ended.
    pub fn is_terminated(&self) -> bool {
        matches!(self.state, State::Closed | State::Failed | State::Aborted)
    }

    /// The error the connection was failed with, if it was.
    pub fn failure(&self) -> Option<&ProtocolError> {
        self.failure.as_ref()
    }

    /// _The WebSocket Connection Close Code_ (§7.1.5): the code of the first Close received,
    /// 1005 if it had none, 1006 if the transport ended without one; `None` while open.
    pub fn close_code(&self) -> Option<CloseCode> {
        match &self.close_received {
            Some(Some(frame)) => Some(frame.code),
            Some(None) => Some(CloseCode::NO_STATUS),
            None if self.state == State::Aborted => Some(CloseCode::ABNORMAL),
            None => None,
        }
    }

    /// The first Close frame received, if any (`Some(None)`: it had no body).
    pub fn close_received(&self) -> Option<&Option<CloseFrame>> {
        self.close_received.as_ref()
    }

    // ----------------------------------------------------------------- receiving

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
            self.state = State::Aborted;
            self.reassembly = None;
            self.pong_owed = None;
        }
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
        loop {
            match self.next_frame_event() {
                Ok(Some(Some(message))) => return Ok(Some(message)),
                Ok(Some(None)) => continue,
                Ok(None) => {
                    if self.eof {
                        self.settle_eof();
                    }
                    return Ok(None);
                }
                Err(error) => return Err(self.fail(error)),
            }
        }
    }

    /// Decode at most one frame: `Ok(None)` when more bytes are needed, `Ok(Some(None))`
    /// when a frame was consumed without producing an event (a non-final fragment).
    fn next_frame_event(&mut self) -> Result<Option<Option<Message>>, ProtocolError> {
        let header = match self.decoder.decode_header(&mut self.read_buf) {
            Ok(Some(header)) => header,
            Ok(None) => return Ok(None),
            Err(e) => unreachable_frame_error(e)?,
        };
        if !self.header_checked {
            let state = CheckState {
                role: self.role,
                fragmented: self
                    .reassembly
                    .as_ref()
                    .map(|r| FragmentProgress { bytes: r.len, fragments: r.fragments }),
                allowed_rsv: 0,
            };
            check(&header, &state, &self.config)?;
            self.header_checked = true;
            if header.opcode == OpCode::Text {
                self.utf8 = Utf8Validator::new();
            }
        }
        let is_text = match header.opcode {
            OpCode::Text => true,
            OpCode::Continuation => {
                self.reassembly.as_ref().is_some_and(|r| r.opcode == OpCode::Text)
            }
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
            return Ok(None);
        };
        self.header_checked = false;
        let header = frame.header;
        let payload = frame.payload;
        let message = match header.opcode {
            OpCode::Ping => {
                // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame
                // in response, unless it already received a Close frame." §5.5.3: the Pong
                // "must have identical "Application data"".
                // (Our own Close does not excuse it: only data frames may not follow it.)
                if self.close_received.is_none() {
                    self.pong_owed = Some(payload.clone());
                    self.settle_owed_pong();
                }
                Some(Message::Ping(payload))
            }
            OpCode::Pong => Some(Message::Pong(payload)),
            OpCode::Close => Some(self.on_close(&payload)?),
            OpCode::Text | OpCode::Binary if header.fin => {
                Some(self.data_message(header.opcode, payload)?)
            }
            OpCode::Text | OpCode::Binary => {
                self.reassembly = Some(Reassembly {
                    opcode: header.opcode,
                    first: Some(payload.clone()),
                    joined: BytesMut::new(),
                    len: payload.len() as u64,
                    fragments: 1,
                });
                None
            }
            OpCode::Continuation => {
                // `check` guarantees a message is in progress.
                let Some(mut reassembly) = self.reassembly.take() else {
                    return Err(ProtocolError::UnexpectedContinuation);
                };
                reassembly.push(payload);
                if header.fin {
                    let opcode = reassembly.opcode;
                    Some(self.data_message(opcode, reassembly.finish())?)
                } else {
                    self.reassembly = Some(reassembly);
                    None
                }
            }
            // `check` refuses reserved opcodes before their payload is read.
            OpCode::Reserved(opcode) => return Err(ProtocolError::ReservedOpcode { opcode }),
        };
        Ok(Some(message))
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
        self.close_received = Some(frame.clone());
        self.reassembly = None;
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
    fn fail(&mut self, error: ProtocolError) -> ProtocolError {
        if !self.close_sent {
            // §7.1.7: "the endpoint SHOULD send a Close frame with an appropriate status code
            // (Section 7.4) before proceeding to _Close the WebSocket Connection_."
            let reason = short_reason(&error);
            self.queue_close(Some(&CloseFrame::new(error.close_code(), reason)));
        }
        self.state = State::Failed;
        self.read_buf.clear();
        self.reassembly = None;
        self.pong_owed = None;
        self.failure = Some(error.clone());
        error
    }

    // ----------------------------------------------------------------- sending

    /// Queue a message. Text and Binary are sent as one frame; Ping and Pong carry at most
    /// 125 bytes; `Message::Close` is [`Connection::close`].
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        let opcode = match &message {
            Message::Text(_) => OpCode::Text,
            Message::Binary(_) => OpCode::Binary,
            Message::Ping(_) => OpCode::Ping,
            Message::Pong(_) => OpCode::Pong,
            Message::Close(frame) => return self.close(frame.clone()),
        };
        self.ensure_can_send()?;
        // Our own side of §5.5 ("All control frames MUST have a payload length of 125 bytes or
        // less"); `check` holds the peer to the same rule.
        if opcode.is_control() && message.payload().len() > 125 {
            return Err(SendError::ControlPayloadTooLong { len: message.payload().len() });
        }
        if !opcode.is_control() && self.sending_fragmented.is_some() {
            return Err(SendError::FragmentOutOfOrder);
        }
        self.ensure_room(message.payload().len(), || message.clone())?;
        let payload = match message {
            Message::Text(text) => text.into_bytes(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b,
            Message::Close(_) => Bytes::new(),
        };
        self.queue_frame(true, opcode, &payload);
        Ok(())
    }

    /// Queue one fragment of a message (§5.4): the first with `OpCode::Text` or
    /// `OpCode::Binary`, the rest with `OpCode::Continuation`, the last with `fin` set.
    /// Control messages may be sent with [`Connection::send`] between fragments. Text
    /// fragments may split a code point, but together must be UTF-8.
    pub fn send_fragment(
        &mut self,
        opcode: OpCode,
        payload: impl Into<Bytes>,
        fin: bool,
    ) -> Result<(), SendError> {
        let payload = payload.into();
        self.ensure_can_send()?;
        let message_opcode = match (opcode, self.sending_fragmented) {
            (OpCode::Text | OpCode::Binary, None) => opcode,
            (OpCode::Continuation, Some(started)) => started,
            _ => return Err(SendError::FragmentOutOfOrder),
        };
        if message_opcode == OpCode::Text {
            if opcode == OpCode::Text {
                self.send_utf8 = Utf8Validator::new();
            }
            let mut check = self.send_utf8.clone();
            let valid = check.feed(&payload).is_ok() && (!fin || check.finish().is_ok());
            if !valid {
                return Err(SendError::InvalidUtf8);
            }
            self.send_utf8 = check;
        }
        self.ensure_room(payload.len(), || Message::Binary(payload.clone()))?;
        self.queue_frame(fin, opcode, &payload);
        self.sending_fragmented = if fin { None } else { Some(message_opcode) };
        Ok(())
    }

    /// Start the closing handshake (§7.1.2) with an optional code and reason (at most 123
    /// bytes). Idempotent once a Close was sent.
    pub fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), SendError> {
        if self.close_sent || self.is_terminated() {
            return Ok(());
        }
        if let Some(frame) = &frame {
            if !frame.code.is_sendable() {
                return Err(SendError::InvalidCloseCode { code: frame.code.0 });
            }
            if frame.reason.len() > 123 {
                return Err(SendError::ControlPayloadTooLong { len: 2 + frame.reason.len() });
            }
        }
        self.queue_close(frame.as_ref());
        if self.state == State::Open {
            self.state = State::CloseSent;
        }
        Ok(())
    }

    /// Queue any frame exactly as given, with no check at all: any FIN/RSV/opcode/mask and a
    /// declared length that may differ from `payload.len()`. The payload is masked with the
    /// header's key, if any. This is the tool for testing *other* implementations; it bypasses
    /// every rule this crate enforces and every state change.
    pub fn send_raw_frame(&mut self, header: &FrameHeader, payload: &[u8]) {
        let before = self.output.staging().len();
        crate::frame::encode_frame(header, payload, self.output.staging());
        let after = self.output.staging().len();
        self.output.grew(after - before);
    }

    fn ensure_can_send(&self) -> Result<(), SendError> {
        // §5.5.1: "The application MUST NOT send any more data frames after sending a Close
        // frame." (Control frames neither: the peer may already have stopped reading.)
        if self.close_sent || self.is_terminated() { Err(SendError::AfterClose) } else { Ok(()) }
    }

    fn ensure_room(
        &self,
        payload_len: usize,
        message: impl FnOnce() -> Message,
    ) -> Result<(), SendError> {
        if self.output.len() + payload_len + MAX_HEADER_LEN > self.config.max_write_buffer {
            return Err(SendError::WriteBufferFull(message()));
        }
        Ok(())
    }

    fn queue_close(&mut self, frame: Option<&CloseFrame>) {
        // A Ping processed before this Close is still owed its Pong (§5.5.2 excuses only
        // Pings that arrive after a Close); it goes out first, since nothing may follow
        // our Close.
        self.queue_owed_pong();
        let payload = frame.map(CloseFrame::to_payload).unwrap_or_default();
        self.queue_frame(true, OpCode::Close, &payload);
        self.close_sent = true;
    }

    /// Encode one frame into the output queue, masking it when we are the client.
    fn queue_frame(&mut self, fin: bool, opcode: OpCode, payload: &Bytes) {
        // §5.1: "a client MUST mask all frames that it sends to the server"; "A server MUST
        // NOT mask any frames that it sends to the client." §5.3: "the client MUST pick a
        // fresh masking key" for each frame.
        let masking_key = match self.role {
            Role::Client => Some(self.masks.next_key()),
            Role::Server => None,
        };
        let header = FrameHeader::new(fin, opcode, masking_key, payload.len() as u64);
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        let staging = self.output.staging();
        staging.extend_from_slice(&head[..head_len]);
        self.output.grew(head_len);
        match masking_key {
            Some(key) => {
                let staging = self.output.staging();
                let start = staging.len();
                staging.extend_from_slice(payload);
                if let Some(fresh) = staging.get_mut(start..) {
                    apply_mask(fresh, key, 0);
                }
                self.output.grew(payload.len());
            }
            None => self.output.push_payload(payload),
        }
    }

    /// Queue the owed Pong if it fits in `Config::max_write_buffer`. When the peer does not
    /// read and the queue is full, only the most recent Ping's Pong is kept, to be queued once
    /// there is room (§5.5.3: an endpoint "MAY elect to send a Pong frame for only the most
    /// recently processed Ping frame"): a Ping flood cannot grow the queue past the budget.
    fn settle_owed_pong(&mut self) {
        let Some(payload) = &self.pong_owed else {
            return;
        };
        if self.output.len() + payload.len() + 2 > self.config.max_write_buffer {
            return;
        }
        self.queue_owed_pong();
    }

    fn queue_owed_pong(&mut self) {
        if let Some(payload) = self.pong_owed.take() {
            self.queue_frame(true, OpCode::Pong, &payload);
        }
    }

    // ----------------------------------------------------------------- output

    /// Bytes queued for the peer and not yet written (including an owed Pong).
    pub fn output_len(&mut self) -> usize {
        self.settle_owed_pong();
        self.output.len()
    }

    /// Fill `dst` with the queued bytes, in order, for one vectored write; returns how many
    /// slices were filled. Report what was written with [`Connection::advance_output`].
    pub fn output_slices<'a>(&'a mut self, dst: &mut [IoSlice<'a>]) -> usize {
        self.settle_owed_pong();
        self.output.slices(dst)
    }

    /// Drop the first `n` queued bytes: they were written.
    pub fn advance_output(&mut self, n: usize) {
        self.output.advance(n);
    }

    /// Take all queued bytes as one buffer (a copy when large payloads were queued by
    /// reference; prefer [`Connection::output_slices`] on the hot path).
    pub fn take_output(&mut self) -> BytesMut {
        self.settle_owed_pong();
        self.output.take()
    }

    /// True once the transport should be closed: the close handshake completed (or the
    /// connection failed) and every queued byte was written. §7.1.1: the server "SHOULD
    /// initiate a TCP Close immediately"; the client "SHOULD wait for a TCP Close from the
    /// server".
    pub fn should_close_transport(&self) -> bool {
        matches!(self.state, State::Closed | State::Failed | State::Aborted)
            && self.output.is_empty()
    }
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
