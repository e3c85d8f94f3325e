//! The messages a run sends, built once before it starts.
//!
//! There are [`SLOTS`] distinct messages; connection `c` sends slots `c, c+1, …` (mod
//! `SLOTS`) in turn, so an echo that comes back out of order, twice, or from another
//! connection's traffic fails the byte-for-byte comparison. Each slot's payload starts with
//! its number in four ASCII digits; each frame has its own masking key.

use bytes::BytesMut;
use rfc6455::frame::{FrameHeader, OpCode, encode_frame};

/// Distinct messages per run.
pub const SLOTS: usize = 16;

/// What the payloads hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Pseudo-random bytes in Binary frames.
    Binary,
    /// ASCII text in Text frames.
    Text,
    /// Text mixing 1-, 2-, 3- and 4-byte UTF-8 code points in Text frames.
    Mixed,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "binary" => Some(Kind::Binary),
            "text" => Some(Kind::Text),
            "mixed" => Some(Kind::Mixed),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Binary => "binary",
            Kind::Text => "text",
            Kind::Mixed => "mixed",
        }
    }

    pub fn opcode(self) -> OpCode {
        match self {
            Kind::Binary => OpCode::Binary,
            Kind::Text | Kind::Mixed => OpCode::Text,
        }
    }
}

/// Everything a run sends and expects back, shared read-only by the event loops.
pub struct Messages {
    /// The masked client frames, one per slot, as they go on the wire.
    pub frames: Vec<Vec<u8>>,
    /// The payloads, one per slot, as the server must echo them (unmasked).
    pub payloads: Vec<Vec<u8>>,
    pub opcode: OpCode,
    pub size: usize,
    /// A masked Close frame with status 1000.
    pub close: Vec<u8>,
}

/// `size` bytes of content of `kind` for slot `slot`.
pub fn payload(kind: Kind, size: usize, slot: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size);
    if size >= 4 {
        out.extend_from_slice(format!("{:04}", slot % 10_000).as_bytes());
    }
    match kind {
        Kind::Binary => {
            let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (slot as u64 + 1);
            while out.len() < size {
                // xorshift64
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                out.push((x >> 24) as u8);
            }
        }
        Kind::Text => {
            let mut c = slot;
            while out.len() < size {
                out.push(b' ' + (c % 95) as u8);
                c += 1;
            }
        }
        Kind::Mixed => {
            // 1, 2, 3 and 4 bytes: 'a', 'é', '€', '𝄞', rotated by the slot number.
            const CHARS: [char; 4] = ['a', 'é', '€', '𝄞'];
            let mut c = slot;
            let mut utf8 = [0u8; 4];
            loop {
                let ch = CHARS[c % CHARS.len()];
                if out.len() + ch.len_utf8() > size {
                    break;
                }
                out.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
                c += 1;
            }
            // Pad what no longer fits a wide code point with ASCII.
            out.resize(size, b'a');
        }
    }
    out
}

impl Messages {
    pub fn new(kind: Kind, size: usize) -> Messages {
        let opcode = kind.opcode();
        let mut frames = Vec::with_capacity(SLOTS);
        let mut payloads = Vec::with_capacity(SLOTS);
        for slot in 0..SLOTS {
            let payload = payload(kind, size, slot);
            let key = ((slot as u32 + 1).wrapping_mul(0x9E37_79B9)).to_be_bytes();
            let header = FrameHeader::new(true, opcode, Some(key), size as u64);
            let mut frame = BytesMut::with_capacity(size + 14);
            encode_frame(&header, &payload, &mut frame);
            frames.push(frame.to_vec());
            payloads.push(payload);
        }
        let mut close = BytesMut::new();
        let header = FrameHeader::new(true, OpCode::Close, Some([0x5A, 0xA5, 0x3C, 0xC3]), 2);
        encode_frame(&header, &1000u16.to_be_bytes(), &mut close);
        Messages { frames, payloads, opcode, size, close: close.to_vec() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_have_the_size_asked_and_text_is_utf8() {
        for size in [0, 1, 3, 4, 5, 16, 17, 1024, 65536] {
            for kind in [Kind::Binary, Kind::Text, Kind::Mixed] {
                for slot in [0, 7, 15] {
                    let p = payload(kind, size, slot);
                    assert_eq!(p.len(), size, "{kind:?} {size}");
                    if kind != Kind::Binary {
                        assert!(std::str::from_utf8(&p).is_ok(), "{kind:?} {size} {slot}");
                    }
                }
            }
        }
    }

    #[test]
    fn mixed_text_has_every_width() {
        let p = payload(Kind::Mixed, 1024, 0);
        let text = std::str::from_utf8(&p).unwrap();
        for width in 1..=4 {
            assert!(text.chars().any(|c| c.len_utf8() == width), "no {width}-byte code point");
        }
    }
}
