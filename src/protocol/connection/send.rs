//! Sending (§5.1, §5.3–§5.5, §7): messages in, encoded frames queued for the peer. Frames are
//! masked when we are the client, fragments must not interleave, nothing but an owed Pong
//! follows our Close, and the queue is held within `Config::max_write_buffer`.

use std::io::IoSlice;

use bytes::{Bytes, BytesMut};
use rand_chacha::ChaCha12Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

use super::{Connection, State};
use crate::frame::{FrameHeader, MAX_HEADER_LEN, OpCode, encode_frame, extend_masked};
use crate::protocol::check::Role;
use crate::protocol::close::CloseFrame;
use crate::protocol::error::SendError;
use crate::protocol::message::Message;
use crate::protocol::utf8::Utf8Validator;

/// Masking keys drawn before the generator is seeded afresh from the OS.
const KEYS_PER_SEED: u32 = 1 << 16;

/// A source of masking keys (§5.3: "The masking key needs to be unpredictable; thus, the
/// masking key MUST be derived from a strong source of entropy"): ChaCha12, a cryptographic
/// generator, seeded with 256 bits of OS entropy and seeded afresh every 65 536 keys. Drawing
/// a key is a few nanoseconds where a `getrandom` call per batch of keys cost a quarter of a
/// small client frame (the kernel's ChaCha20, single-block). The generator (about 300 bytes)
/// is made on a client's first frame, so a server (which never masks) holds none.
#[derive(Debug)]
pub(super) struct MaskSource {
    rng: Option<Box<ChaCha12Rng>>,
    left: u32,
}

impl MaskSource {
    pub(super) fn new() -> Self {
        MaskSource { rng: None, left: KEYS_PER_SEED }
    }

    fn next_key(&mut self) -> [u8; 4] {
        let rng = self.rng.get_or_insert_with(|| Box::new(ChaCha12Rng::from_seed(os_seed())));
        if self.left == 0 {
            **rng = ChaCha12Rng::from_seed(os_seed());
            self.left = KEYS_PER_SEED;
        }
        self.left -= 1;
        rng.next_u32().to_ne_bytes()
    }
}

/// 256 bits from the OS entropy source.
fn os_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    // Not peer input: only the OS can make this fail (Linux's getrandom(2) blocks until
    // seeded and then cannot fail). An OS without an entropy source cannot run a WebSocket
    // client safely (§10.3), and there is no sensible way to go on without one.
    getrandom::fill(&mut seed).expect("the OS entropy source failed");
    seed
}

impl Connection {
    /// Queue a message. Text and Binary are sent as one frame; Ping and Pong carry at most
    /// 125 bytes; `Message::Close` is [`Connection::close`].
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        let opcode = match &message {
            Message::Text(_) => OpCode::Text,
            Message::Binary(_) => OpCode::Binary,
            Message::Ping(_) => OpCode::Ping,
            Message::Pong(_) => OpCode::Pong,
            Message::Close(frame) => return self.close(frame.clone()),
            Message::BinaryPart { payload, last } => return self.send_part(payload.clone(), *last),
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
            // Both were handed on above.
            Message::Close(_) | Message::BinaryPart { .. } => Bytes::new(),
        };
        // RFC 7692 §6: a data message may go compressed, with RSV1 on its (one) frame; a
        // control frame never is.
        let compressed = match &mut self.compression {
            Some(compression) if !opcode.is_control() => compression.compress(&payload),
            _ => None,
        };
        match compressed {
            Some(compressed) => self.queue_frame_with_rsv1(true, true, opcode, &compressed),
            None => self.queue_frame(true, opcode, &payload),
        }
        Ok(())
    }

    /// Queue one fragment of a message (§5.4): the first with `OpCode::Text` or
    /// `OpCode::Binary`, the rest with `OpCode::Continuation`, the last with `fin` set.
    /// Control messages may be sent with [`Connection::send`] between fragments. Text
    /// fragments may split a code point, but together must be UTF-8.
    ///
    /// A refused fragment changes nothing: after [`SendError::FragmentBufferFull`] the same
    /// call can be repeated once there is room.
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
        // Judge on a copy of the validator: nothing changes until the fragment is queued.
        let utf8 = if message_opcode == OpCode::Text {
            let mut check =
                if opcode == OpCode::Text { Utf8Validator::new() } else { self.send_utf8.clone() };
            let valid = check.feed(&payload).is_ok() && (!fin || check.finish().is_ok());
            if !valid {
                return Err(SendError::InvalidUtf8);
            }
            Some(check)
        } else {
            None
        };
        if self.output.len() + payload.len() + MAX_HEADER_LEN > self.config.max_write_buffer {
            return Err(SendError::FragmentBufferFull(payload));
        }
        if let Some(utf8) = utf8 {
            self.send_utf8 = utf8;
        }
        self.queue_frame(fin, opcode, &payload);
        self.sending_fragmented = if fin { None } else { Some(message_opcode) };
        Ok(())
    }

    /// A part of a binary message: the first opens a fragmented Binary message (§5.4), the
    /// next ones continue it, the one with `last` ends it. Refused (handed back) like a
    /// whole message when the write budget is full.
    fn send_part(&mut self, payload: Bytes, last: bool) -> Result<(), SendError> {
        let opcode = match self.sending_fragmented {
            None => OpCode::Binary,
            Some(OpCode::Binary) => OpCode::Continuation,
            Some(_) => return Err(SendError::FragmentOutOfOrder),
        };
        match self.send_fragment(opcode, payload, last) {
            Err(SendError::FragmentBufferFull(payload)) => {
                Err(SendError::WriteBufferFull(Message::BinaryPart { payload, last }))
            }
            other => other,
        }
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
        encode_frame(header, payload, self.output.staging());
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

    pub(super) fn queue_close(&mut self, frame: Option<&CloseFrame>) {
        // A Ping processed before this Close is still owed its Pong (§5.5.2 excuses only
        // Pings that arrive after a Close); it goes out first, since nothing may follow
        // our Close.
        self.queue_owed_pong();
        let payload = frame.map(CloseFrame::to_payload).unwrap_or_default();
        self.queue_frame(true, OpCode::Close, &payload);
        self.close_sent = true;
        self.note_close_sent();
    }

    /// Encode one frame into the output queue, masking it when we are the client.
    pub(super) fn queue_frame(&mut self, fin: bool, opcode: OpCode, payload: &Bytes) {
        self.queue_frame_with_rsv1(fin, false, opcode, payload);
    }

    /// [`Connection::queue_frame`], with RSV1 ("Per-Message Compressed", RFC 7692 §6) as
    /// given.
    fn queue_frame_with_rsv1(&mut self, fin: bool, rsv1: bool, opcode: OpCode, payload: &Bytes) {
        // §5.1: "a client MUST mask all frames that it sends to the server"; "A server MUST
        // NOT mask any frames that it sends to the client." §5.3: "the client MUST pick a
        // fresh masking key" for each frame.
        let masking_key = match self.role {
            Role::Client => Some(self.masks.next_key()),
            Role::Server => None,
        };
        let header = FrameHeader {
            rsv1,
            ..FrameHeader::new(fin, opcode, masking_key, payload.len() as u64)
        };
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        let staging = self.output.staging();
        // All 14 bytes, then cut back: a fixed-size copy is two moves, where a copy of
        // `head_len` bytes is a call to memmove (a sixth of a small client frame's time).
        staging.reserve(MAX_HEADER_LEN + payload.len());
        staging.extend_from_slice(&head);
        staging.truncate(staging.len() - (MAX_HEADER_LEN - head_len));
        self.output.grew(head_len);
        match masking_key {
            Some(key) => {
                // §5.3: masked while copied, in one pass, right after the header.
                extend_masked(self.output.staging(), payload, key, 0);
                self.output.grew(payload.len());
            }
            None => self.output.push_payload(payload),
        }
    }

    /// Queue the owed Pong if it fits in `Config::max_write_buffer`. When the peer does not
    /// read and the queue is full, only the most recent Ping's Pong is kept, to be queued once
    /// there is room (§5.5.3: an endpoint "MAY elect to send a Pong frame for only the most
    /// recently processed Ping frame"): a Ping flood cannot grow the queue past the budget.
    pub(super) fn settle_owed_pong(&mut self) {
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

    /// Take the next run of queued bytes by reference, without a copy (a payload queued by
    /// reference, or the frames encoded since): for a writer on another thread or an async
    /// task that owns the bytes while it writes them. `None`: nothing is queued.
    pub fn pop_output(&mut self) -> Option<Bytes> {
        self.settle_owed_pong();
        self.output.pop_chunk()
    }

    /// When nothing is queued, hand out the output buffer (empty, with its capacity): an event
    /// loop pools buffers so that an idle connection holds none. The connection starts an
    /// empty one, or uses the one given by [`Connection::give_output_buffer`].
    pub fn take_idle_output_buffer(&mut self) -> Option<BytesMut> {
        if self.pong_owed.is_some() {
            return None;
        }
        self.output.take_idle_staging()
    }

    /// When nothing is queued, use `buf` (cleared) for the frames queued next.
    pub fn give_output_buffer(&mut self, buf: BytesMut) {
        self.output.give_staging(buf);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn keys_come_from_a_generator_made_on_first_use_and_seeded_afresh() {
        let mut source = MaskSource::new();
        assert!(source.rng.is_none(), "a server that never masks holds no generator");
        let first: Vec<[u8; 4]> = (0..KEYS_PER_SEED).map(|_| source.next_key()).collect();
        assert_eq!(source.left, 0);
        let after: Vec<[u8; 4]> = (0..64).map(|_| source.next_key()).collect();
        assert_eq!(source.left, KEYS_PER_SEED - 64, "a new seed after 65 536 keys");
        // 64 random 32-bit keys after the reseed, all distinct (collision odds below 1e-6),
        // and not the first keys of the previous seed over again.
        assert_eq!(after.iter().collect::<HashSet<_>>().len(), after.len());
        assert_ne!(&after[..], &first[..64]);
    }

    #[test]
    fn two_connections_draw_different_keys() {
        let (mut a, mut b) = (MaskSource::new(), MaskSource::new());
        let a: Vec<[u8; 4]> = (0..16).map(|_| a.next_key()).collect();
        let b: Vec<[u8; 4]> = (0..16).map(|_| b.next_key()).collect();
        assert_ne!(a, b, "each generator has its own OS seed");
    }
}
