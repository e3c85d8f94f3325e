//! [`RawFrame`]: build any frame, valid or not, as bytes — the tool for attacking *other*
//! implementations.
//!
//! Nothing here is checked. A `RawFrame` can carry a reserved opcode, RSV bits, a masking
//! key on a server frame or none on a client frame, a fragmented or oversized control frame,
//! a declared length that lies about the payload that follows, a non-minimal length
//! encoding, or a 64-bit length with its most significant bit set. A conforming endpoint
//! must refuse most of these (§5.1–§5.5); `examples/wsfuzz/` sends them to a live server
//! and reports how it reacted.
//!
//! ```
//! use rfc6455::frame::{LengthForm, OpCode, RawFrame};
//!
//! // A text fragment with RSV1 set, a 16-bit length field saying 5 for 5 bytes (non-minimal),
//! // masked with the key of §5.7.
//! let bytes = RawFrame::new(OpCode::Text)
//!     .fin(false)
//!     .rsv1(true)
//!     .masking_key([0x37, 0xfa, 0x21, 0x3d])
//!     .length_form(LengthForm::Extended16)
//!     .payload(b"Hello")
//!     .to_bytes();
//! assert_eq!(
//!     bytes,
//!     [0x41, 0xFE, 0x00, 0x05, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
//! );
//!
//! // A lying length: the header declares 2^40 bytes, 3 follow; the 64-bit form is forced.
//! let liar = RawFrame::new(OpCode::Binary)
//!     .declared_len(1 << 40)
//!     .length_form(LengthForm::Extended64)
//!     .payload(b"abc")
//!     .to_bytes();
//! assert_eq!(liar, [0x82, 0x7F, 0, 0, 0x01, 0, 0, 0, 0, 0, b'a', b'b', b'c']);
//!
//! // A Ping of 200 bytes (control frames may carry at most 125) with FIN clear.
//! let ping = RawFrame::new(OpCode::Ping).fin(false).payload(vec![0u8; 200]).to_bytes();
//! assert_eq!(&ping[..4], &[0x09, 0x7E, 0x00, 0xC8]);
//!
//! // A reserved opcode and a length with the top bit set.
//! let odd = RawFrame::new(OpCode::Reserved(0xB)).declared_len(u64::MAX).to_bytes();
//! assert_eq!(odd, [0x8B, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
//! ```

use super::header::{FrameHeader, LengthForm, MAX_HEADER_LEN, OpCode};
use super::mask::apply_mask;

/// A frame under construction, with every field of §5.2 under the caller's control.
///
/// Defaults: FIN set, RSV bits clear, no masking key, empty payload, the declared length
/// equal to the payload's length, and the minimal length form for the declared length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    fin: bool,
    rsv: [bool; 3],
    opcode: OpCode,
    masking_key: Option<[u8; 4]>,
    declared_len: Option<u64>,
    length_form: Option<LengthForm>,
    payload: Vec<u8>,
    mask_payload: bool,
}

impl RawFrame {
    /// A final, unmasked, empty frame with `opcode` (any of the 16, reserved ones included).
    pub fn new(opcode: OpCode) -> Self {
        RawFrame {
            fin: true,
            rsv: [false; 3],
            opcode,
            masking_key: None,
            declared_len: None,
            length_form: None,
            payload: Vec::new(),
            mask_payload: true,
        }
    }

    /// A raw frame that writes exactly `header` (its declared length and length form
    /// included) followed by `payload`.
    pub fn from_header(header: &FrameHeader, payload: impl Into<Vec<u8>>) -> Self {
        RawFrame {
            fin: header.fin,
            rsv: [header.rsv1, header.rsv2, header.rsv3],
            opcode: header.opcode,
            masking_key: header.masking_key,
            declared_len: Some(header.payload_len),
            length_form: Some(header.length_form),
            payload: payload.into(),
            mask_payload: true,
        }
    }

    /// Set or clear FIN.
    pub fn fin(mut self, fin: bool) -> Self {
        self.fin = fin;
        self
    }

    /// Set or clear RSV1.
    pub fn rsv1(mut self, on: bool) -> Self {
        self.rsv[0] = on;
        self
    }

    /// Set or clear RSV2.
    pub fn rsv2(mut self, on: bool) -> Self {
        self.rsv[1] = on;
        self
    }

    /// Set or clear RSV3.
    pub fn rsv3(mut self, on: bool) -> Self {
        self.rsv[2] = on;
        self
    }

    /// Set the three RSV bits from the low 3 bits of `bits` (RSV1 is `0b100`).
    pub fn rsv_bits(mut self, bits: u8) -> Self {
        self.rsv = [bits & 4 != 0, bits & 2 != 0, bits & 1 != 0];
        self
    }

    /// Replace the opcode.
    pub fn opcode(mut self, opcode: OpCode) -> Self {
        self.opcode = opcode;
        self
    }

    /// Set the MASK bit with this key; the payload is masked with it (see
    /// [`RawFrame::mask_payload`]).
    pub fn masking_key(mut self, key: [u8; 4]) -> Self {
        self.masking_key = Some(key);
        self
    }

    /// Clear the MASK bit.
    pub fn unmasked(mut self) -> Self {
        self.masking_key = None;
        self
    }

    /// Whether the payload is XORed with the masking key (default true). `false` sends a
    /// MASK bit and key followed by the plain payload, which the peer will unmask to garbage.
    pub fn mask_payload(mut self, on: bool) -> Self {
        self.mask_payload = on;
        self
    }

    /// The length the header declares, whatever the payload's real length: more than the
    /// payload (the peer waits for bytes that never come), less (the rest of the payload is
    /// read as the next frame's header), or any 64-bit value, top bit included.
    pub fn declared_len(mut self, len: u64) -> Self {
        self.declared_len = Some(len);
        self
    }

    /// Declare the payload's real length again (undo [`RawFrame::declared_len`]).
    pub fn honest_len(mut self) -> Self {
        self.declared_len = None;
        self
    }

    /// The length encoding to use. A wider form than needed gives a non-minimal encoding
    /// (§5.2 forbids it); a form too narrow for the declared length is widened to the
    /// smallest that holds it, since it cannot be written otherwise.
    pub fn length_form(mut self, form: LengthForm) -> Self {
        self.length_form = Some(form);
        self
    }

    /// The payload bytes (before masking).
    pub fn payload(mut self, payload: impl Into<Vec<u8>>) -> Self {
        self.payload = payload.into();
        self
    }

    /// The header this frame writes.
    pub fn header(&self) -> FrameHeader {
        let payload_len = self.declared_len.unwrap_or(self.payload.len() as u64);
        let minimal = LengthForm::minimal_for(payload_len);
        FrameHeader {
            fin: self.fin,
            rsv1: self.rsv[0],
            rsv2: self.rsv[1],
            rsv3: self.rsv[2],
            opcode: self.opcode,
            masking_key: self.masking_key,
            payload_len,
            length_form: self.length_form.map_or(minimal, |form| form.max(minimal)),
        }
    }

    /// Append the frame's bytes to `dst`: the header, then the payload (masked unless
    /// [`RawFrame::mask_payload`] turned it off).
    pub fn write_to(&self, dst: &mut Vec<u8>) {
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = self.header().encode(&mut head);
        dst.reserve(n + self.payload.len());
        dst.extend_from_slice(&head[..n]);
        let start = dst.len();
        dst.extend_from_slice(&self.payload);
        if let (Some(key), true, Some(written)) =
            (self.masking_key, self.mask_payload, dst.get_mut(start..))
        {
            apply_mask(written, key, 0);
        }
    }

    /// The frame's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_5_7_examples() {
        // §5.7: a single-frame unmasked text message.
        let hello = RawFrame::new(OpCode::Text).payload(b"Hello").to_bytes();
        assert_eq!(hello, [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        // §5.7: 256 bytes binary message in a single unmasked frame.
        let big = RawFrame::new(OpCode::Binary).payload(vec![0; 256]).to_bytes();
        assert_eq!(&big[..4], &[0x82, 0x7E, 0x01, 0x00]);
        // §5.7: 64KiB binary message in a single unmasked frame.
        let huge = RawFrame::new(OpCode::Binary).payload(vec![0; 65536]).to_bytes();
        assert_eq!(&huge[..10], &[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
    }

    #[test]
    fn header_round_trips_through_parse() {
        let frame = RawFrame::new(OpCode::Reserved(3))
            .rsv_bits(0b101)
            .masking_key([1, 2, 3, 4])
            .declared_len(7)
            .length_form(LengthForm::Extended64)
            .payload(b"xy");
        let bytes = frame.to_bytes();
        let (header, len) = FrameHeader::parse(&bytes).unwrap();
        assert_eq!(header, frame.header());
        assert_eq!(len, 14);
        assert_eq!(RawFrame::from_header(&header, b"xy".to_vec()).to_bytes(), bytes);
    }

    #[test]
    fn plain_payload_under_a_mask_bit() {
        let bytes =
            RawFrame::new(OpCode::Text).masking_key([9; 4]).mask_payload(false).payload(b"a");
        assert_eq!(bytes.to_bytes(), [0x81, 0x81, 9, 9, 9, 9, b'a']);
    }
}
