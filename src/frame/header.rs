//! The frame header of §5.2: a total model and its 2–14 byte wire form.
//!
//! Every byte pattern a peer can send has a [`FrameHeader`] that encodes back to the same
//! bytes: reserved opcodes are [`OpCode::Reserved`], RSV bits are raw booleans, and the
//! [`LengthForm`] remembers which of the three length encodings was on the wire (so a
//! non-minimal encoding survives a round trip). Whether a header is *allowed* is decided by
//! `protocol::check`, never here.

/// The longest possible header: 2 fixed bytes, 8 bytes of extended length, 4 of masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// The 4-bit opcode of §5.2, every value representable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// `%x0`: a continuation frame.
    Continuation,
    /// `%x1`: a text frame.
    Text,
    /// `%x2`: a binary frame.
    Binary,
    /// `%x8`: a connection close.
    Close,
    /// `%x9`: a ping.
    Ping,
    /// `%xA`: a pong.
    Pong,
    /// `%x3`–`%x7` (reserved non-control) and `%xB`–`%xF` (reserved control).
    /// Holds the raw 4-bit value; a value that names a defined opcode is never built by
    /// [`OpCode::from_u4`].
    Reserved(u8),
}

impl OpCode {
    /// The opcode for the low 4 bits of `bits` (the high bits are ignored).
    #[inline]
    pub fn from_u4(bits: u8) -> OpCode {
        match bits & 0x0F {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            other => OpCode::Reserved(other),
        }
    }

    /// The 4-bit wire value.
    pub fn as_u4(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
            OpCode::Reserved(bits) => bits & 0x0F,
        }
    }

    /// §5.5: "Control frames are identified by opcodes where the most significant bit of the
    /// opcode is 1." True for Close, Ping, Pong and the reserved `%xB`–`%xF`.
    pub fn is_control(self) -> bool {
        self.as_u4() & 0x8 != 0
    }

    /// True for the opcodes §5.2 reserves for future use (`%x3`–`%x7`, `%xB`–`%xF`).
    pub fn is_reserved(self) -> bool {
        matches!(self, OpCode::Reserved(_))
    }
}

/// Which of the three payload-length encodings of §5.2 a header uses on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum LengthForm {
    /// The 7-bit field holds the length (0–125).
    Short,
    /// The 7-bit field is 126 and a 16-bit length follows.
    Extended16,
    /// The 7-bit field is 127 and a 64-bit length follows.
    Extended64,
}

impl LengthForm {
    /// §5.2: "the minimal number of bytes MUST be used to encode the length".
    /// The form a conforming sender uses for `len`.
    pub fn minimal_for(len: u64) -> LengthForm {
        if len <= 125 {
            LengthForm::Short
        } else if len <= u64::from(u16::MAX) {
            LengthForm::Extended16
        } else {
            LengthForm::Extended64
        }
    }

    /// The form the 7-bit "Payload len" field announces (§5.2): "If 126, the following 2
    /// bytes interpreted as a 16-bit unsigned integer are the payload length. If 127, the
    /// following 8 bytes interpreted as a 64-bit unsigned integer [...] are the payload
    /// length." Any other value is the length itself. Only the low 7 bits of `len7` count.
    #[inline]
    pub fn from_len7(len7: u8) -> LengthForm {
        match len7 & 0x7F {
            126 => LengthForm::Extended16,
            127 => LengthForm::Extended64,
            _ => LengthForm::Short,
        }
    }

    /// Bytes this form adds after the first two header bytes.
    #[inline]
    pub fn extra_bytes(self) -> usize {
        match self {
            LengthForm::Short => 0,
            LengthForm::Extended16 => 2,
            LengthForm::Extended64 => 8,
        }
    }

    /// The payload length an extended length field of this form holds: its
    /// [`extra_bytes`](LengthForm::extra_bytes) bytes in network byte order. `None` when
    /// `field` is not exactly that long (always for [`LengthForm::Short`], which has no such
    /// field).
    #[inline]
    pub fn extended_len(self, field: &[u8]) -> Option<u64> {
        match (self, field) {
            (LengthForm::Extended16, [a, b]) => Some(u64::from(u16::from_be_bytes([*a, *b]))),
            (LengthForm::Extended64, [a, b, c, d, e, f, g, h]) => {
                Some(u64::from_be_bytes([*a, *b, *c, *d, *e, *f, *g, *h]))
            }
            _ => None,
        }
    }
}

/// A frame header (§5.2), exactly as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// FIN: this is the final fragment of a message.
    pub fin: bool,
    /// RSV1 (used by extensions such as permessage-deflate).
    pub rsv1: bool,
    /// RSV2.
    pub rsv2: bool,
    /// RSV3.
    pub rsv3: bool,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key; `Some` exactly when the MASK bit is set.
    pub masking_key: Option<[u8; 4]>,
    /// The payload length, as declared (the 64-bit form may carry any value, even one with
    /// the most significant bit set).
    pub payload_len: u64,
    /// The length encoding used on the wire. [`FrameHeader::new`] picks the minimal one.
    pub length_form: LengthForm,
}

impl FrameHeader {
    /// A conforming header: FIN as given, RSV bits clear, minimal length form.
    pub fn new(fin: bool, opcode: OpCode, masking_key: Option<[u8; 4]>, payload_len: u64) -> Self {
        FrameHeader {
            fin,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode,
            masking_key,
            payload_len,
            length_form: LengthForm::minimal_for(payload_len),
        }
    }

    /// True when the MASK bit is set.
    pub fn is_masked(&self) -> bool {
        self.masking_key.is_some()
    }

    /// The RSV bits as the 3-bit number RSV1·RSV2·RSV3 (RSV1 is the most significant).
    pub fn rsv_bits(&self) -> u8 {
        (u8::from(self.rsv1) << 2) | (u8::from(self.rsv2) << 1) | u8::from(self.rsv3)
    }

    /// The length form [`FrameHeader::encode`] will write: the recorded one, widened if it
    /// cannot hold `payload_len` (a `Short` form cannot say 200).
    pub fn effective_length_form(&self) -> LengthForm {
        self.length_form.max(LengthForm::minimal_for(self.payload_len))
    }

    /// How many bytes [`FrameHeader::encode`] writes (2 to 14).
    pub fn encoded_len(&self) -> usize {
        2 + self.effective_length_form().extra_bytes() + if self.is_masked() { 4 } else { 0 }
    }

    /// Parse a header from the front of `buf`.
    ///
    /// Returns `Ok((header, header_len))`, or `Err(needed)` with the total number of bytes
    /// the header needs when `buf` is too short to hold it. Every byte pattern parses: this
    /// function never judges (see `protocol::check`).
    #[inline]
    pub fn parse(buf: &[u8]) -> Result<(FrameHeader, usize), usize> {
        let (b0, b1) = match buf {
            [b0, b1, ..] => (*b0, *b1),
            _ => return Err(2),
        };
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7F;
        let length_form = LengthForm::from_len7(len7);
        let header_len = 2 + length_form.extra_bytes() + if masked { 4 } else { 0 };
        let Some(rest) = buf.get(2..header_len) else {
            return Err(header_len);
        };
        let (len_bytes, key_bytes) = rest.split_at(length_form.extra_bytes());
        let payload_len = length_form.extended_len(len_bytes).unwrap_or(u64::from(len7));
        let masking_key = match key_bytes {
            [a, b, c, d] => Some([*a, *b, *c, *d]),
            _ => None,
        };
        let header = FrameHeader {
            fin: b0 & 0x80 != 0,
            rsv1: b0 & 0x40 != 0,
            rsv2: b0 & 0x20 != 0,
            rsv3: b0 & 0x10 != 0,
            opcode: OpCode::from_u4(b0),
            masking_key,
            payload_len,
            length_form,
        };
        Ok((header, header_len))
    }

    /// Write the header into `dst` and return how many bytes were written.
    pub fn encode(&self, dst: &mut [u8; MAX_HEADER_LEN]) -> usize {
        dst[0] = (u8::from(self.fin) << 7) | (self.rsv_bits() << 4) | self.opcode.as_u4();
        let mask_bit = if self.is_masked() { 0x80 } else { 0 };
        let mut at = 2;
        match self.effective_length_form() {
            LengthForm::Short => dst[1] = mask_bit | self.payload_len as u8,
            LengthForm::Extended16 => {
                dst[1] = mask_bit | 126;
                dst[2..4].copy_from_slice(&(self.payload_len as u16).to_be_bytes());
                at = 4;
            }
            LengthForm::Extended64 => {
                dst[1] = mask_bit | 127;
                dst[2..10].copy_from_slice(&self.payload_len.to_be_bytes());
                at = 10;
            }
        }
        if let Some(key) = self.masking_key {
            dst[at..at + 4].copy_from_slice(&key);
            at += 4;
        }
        at
    }
}

/// Any of the 16 opcodes, through [`OpCode::from_u4`], so that `Reserved` never holds a value
/// that names a defined opcode.
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for OpCode {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(OpCode::from_u4(u8::arbitrary(u)?))
    }

    fn size_hint(depth: usize) -> (usize, Option<usize>) {
        u8::size_hint(depth)
    }
}

/// Any header, valid or not, with its `length_form` widened to one that can hold
/// `payload_len`, so that `encode` then `parse` gives back the same header.
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for FrameHeader {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut header = FrameHeader {
            fin: u.arbitrary()?,
            rsv1: u.arbitrary()?,
            rsv2: u.arbitrary()?,
            rsv3: u.arbitrary()?,
            opcode: u.arbitrary()?,
            masking_key: u.arbitrary()?,
            payload_len: u.arbitrary()?,
            length_form: u.arbitrary()?,
        };
        header.length_form = header.effective_length_form();
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcode_values_round_trip() {
        for bits in 0u8..16 {
            assert_eq!(OpCode::from_u4(bits).as_u4(), bits);
        }
        assert!(OpCode::Ping.is_control());
        assert!(OpCode::Reserved(0xB).is_control());
        assert!(!OpCode::Reserved(0x3).is_control());
        assert!(!OpCode::Text.is_control());
    }

    #[test]
    fn short_buffers_report_what_they_need() {
        assert_eq!(FrameHeader::parse(&[]), Err(2));
        assert_eq!(FrameHeader::parse(&[0x81]), Err(2));
        assert_eq!(FrameHeader::parse(&[0x82, 0x7E, 0x01]), Err(4));
        assert_eq!(FrameHeader::parse(&[0x82, 0xFF]), Err(14));
    }

    #[test]
    fn length_fields() {
        assert_eq!(LengthForm::from_len7(125), LengthForm::Short);
        assert_eq!(LengthForm::from_len7(0xFE), LengthForm::Extended16);
        assert_eq!(LengthForm::from_len7(127), LengthForm::Extended64);
        assert_eq!(LengthForm::Extended16.extended_len(&[1, 0]), Some(256));
        assert_eq!(LengthForm::Extended16.extended_len(&[1]), None);
        assert_eq!(LengthForm::Extended64.extended_len(&[0, 0, 0, 0, 0, 1, 0, 0]), Some(65536));
        assert_eq!(LengthForm::Short.extended_len(&[]), None);
    }

    #[test]
    fn non_minimal_form_survives_round_trip() {
        let bytes = [0x81, 126, 0, 5];
        let (header, len) = FrameHeader::parse(&bytes).unwrap();
        assert_eq!(len, 4);
        assert_eq!(header.payload_len, 5);
        assert_eq!(header.length_form, LengthForm::Extended16);
        let mut out = [0; MAX_HEADER_LEN];
        let n = header.encode(&mut out);
        assert_eq!(&out[..n], &bytes);
    }

    #[test]
    fn too_narrow_form_is_widened() {
        let mut header = FrameHeader::new(true, OpCode::Binary, None, 70_000);
        header.length_form = LengthForm::Short;
        assert_eq!(header.encoded_len(), 10);
        let mut out = [0; MAX_HEADER_LEN];
        assert_eq!(header.encode(&mut out), 10);
        assert_eq!(FrameHeader::parse(&out[..10]).unwrap().0.payload_len, 70_000);
    }
}
