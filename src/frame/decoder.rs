//! An incremental, zero-copy frame decoder over a `BytesMut` read buffer.
//!
//! The caller appends whatever bytes arrived to one `BytesMut` and calls the decoder. A
//! header is parsed (and consumed) as soon as its 2–14 bytes are there; payload bytes are
//! unmasked in place as they arrive (so a validator can look at them before the frame is
//! complete); once the whole payload is present it is split off the buffer and handed out
//! as `Bytes`, without a copy. The decoder never reserves the length a header declares:
//! the buffer only grows with bytes that actually arrived.

use bytes::{Buf, Bytes, BytesMut};

use super::error::FrameError;
use super::header::FrameHeader;
use super::mask::{apply_mask, extend_masked};

/// A complete frame: its header and its unmasked payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The header as it was on the wire (the masking key is kept; the payload is unmasked).
    pub header: FrameHeader,
    /// The payload, unmasked, split off the read buffer without a copy.
    pub payload: Bytes,
}

/// Part of a frame's payload, handed out before the rest has arrived
/// ([`FrameDecoder::decode_payload_part`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramePart {
    /// The frame's header.
    pub header: FrameHeader,
    /// The payload bytes that arrived since the last part, unmasked, split off the read
    /// buffer without a copy. Empty only in a part that ends an empty frame.
    pub payload: Bytes,
    /// This part ends the frame.
    pub ends_frame: bool,
}

/// The frame in progress: its header, the payload bytes still to be split off the read
/// buffer, how many of those at its front are already unmasked and shown to the caller, and
/// how many were handed out before in parts (where the masking key's cycle stands).
#[derive(Debug, Clone, Copy)]
struct InProgress {
    header: FrameHeader,
    payload_len: usize,
    seen: usize,
    handed_out: usize,
}

impl InProgress {
    /// Unmask the payload bytes that arrived since the last look and show them to `inspect`.
    /// Returns how many payload bytes `buf` holds.
    fn unmask_arrived<E>(
        &mut self,
        buf: &mut BytesMut,
        inspect: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<usize, E> {
        let available = buf.len().min(self.payload_len);
        if available > self.seen
            && let Some(fresh) = buf.get_mut(self.seen..available)
        {
            if let Some(key) = self.header.masking_key {
                apply_mask(fresh, key, self.handed_out + self.seen);
            }
            self.seen = available;
            inspect(fresh)?;
        }
        Ok(available)
    }
}

/// Incremental frame decoder. See the module documentation.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    in_progress: Option<InProgress>,
    max_payload_len: u64,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    /// A decoder that accepts any declared payload length up to what this platform can
    /// address. Bytes are still only buffered as they arrive.
    pub fn new() -> Self {
        Self::with_max_payload_len(usize::MAX as u64)
    }

    /// A decoder that refuses (with [`FrameError::PayloadTooLong`]) any frame whose header
    /// declares more than `max` payload bytes, before any of that payload is buffered.
    pub fn with_max_payload_len(max: u64) -> Self {
        FrameDecoder { in_progress: None, max_payload_len: max.min(usize::MAX as u64) }
    }

    /// The header of the frame whose payload is still arriving, if any.
    pub fn in_progress(&self) -> Option<&FrameHeader> {
        self.in_progress.as_ref().map(|p| &p.header)
    }

    /// How many more bytes the frame in progress needs beyond what `buf` holds (at least 1
    /// when nothing is in progress and no header is buffered): a hint for the next read size.
    pub fn bytes_wanted(&self, buf: &[u8]) -> usize {
        match &self.in_progress {
            Some(p) => p.payload_len.saturating_sub(buf.len()),
            None => match FrameHeader::parse(buf) {
                Ok((header, header_len)) => {
                    let payload = usize::try_from(header.payload_len).unwrap_or(usize::MAX);
                    header_len.saturating_add(payload).saturating_sub(buf.len())
                }
                Err(needed) => needed - buf.len(),
            },
        }
    }

    /// The header of the frame in progress; when none is in progress, parse one from the
    /// front of `buf` and consume its bytes. `Ok(None)` means more bytes are needed.
    pub fn decode_header(&mut self, buf: &mut BytesMut) -> Result<Option<FrameHeader>, FrameError> {
        if let Some(p) = &self.in_progress {
            return Ok(Some(p.header));
        }
        let (header, header_len) = match FrameHeader::parse(buf) {
            Ok(parsed) => parsed,
            Err(_) => return Ok(None),
        };
        if header.payload_len > self.max_payload_len {
            return Err(FrameError::PayloadTooLong {
                declared: header.payload_len,
                max: self.max_payload_len,
            });
        }
        let payload_len = usize::try_from(header.payload_len).unwrap_or(usize::MAX);
        // Consumed in place: a pointer bump, not a split (which would touch the shared
        // buffer's reference count twice per frame).
        buf.advance(header_len);
        self.in_progress = Some(InProgress { header, payload_len, seen: 0, handed_out: 0 });
        Ok(Some(header))
    }

    /// Unmask the payload bytes of the frame in progress that arrived since the last call,
    /// show them to `inspect`, and, once the whole payload is in `buf`, split it off and
    /// return the frame. `Ok(None)` means more bytes are needed (or no header was decoded).
    pub fn decode_payload<E>(
        &mut self,
        buf: &mut BytesMut,
        mut inspect: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<Option<Frame>, E> {
        let Some(p) = &mut self.in_progress else {
            return Ok(None);
        };
        let available = p.unmask_arrived(buf, &mut inspect)?;
        if available < p.payload_len {
            return Ok(None);
        }
        let header = p.header;
        let payload = buf.split_to(p.payload_len).freeze();
        self.in_progress = None;
        Ok(Some(Frame { header, payload }))
    }

    /// Like [`FrameDecoder::decode_payload`], but without waiting for the whole payload: once
    /// at least `min_part` payload bytes (or the rest of the frame) have arrived, they are
    /// split off and handed out as a [`FramePart`] (the last one with `ends_frame`). Bytes
    /// are unmasked and shown to `inspect` as they arrive, as by `decode_payload`.
    /// `Ok(None)`: not enough yet (or no header was decoded). A frame taken in parts is ended
    /// by parts (do not switch to `decode_payload` half way).
    pub fn decode_payload_part<E>(
        &mut self,
        buf: &mut BytesMut,
        min_part: usize,
        mut inspect: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<Option<FramePart>, E> {
        let Some(p) = &mut self.in_progress else {
            return Ok(None);
        };
        let available = p.unmask_arrived(buf, &mut inspect)?;
        if available < p.payload_len && available < min_part.max(1) {
            return Ok(None);
        }
        let header = p.header;
        let payload = buf.split_to(available).freeze();
        p.payload_len -= available;
        p.handed_out += available;
        p.seen = 0;
        let ends_frame = p.payload_len == 0;
        if ends_frame {
            self.in_progress = None;
        }
        Ok(Some(FramePart { header, payload, ends_frame }))
    }

    /// The common case in one step: when no frame is in progress and a whole frame sits at
    /// the front of `buf`, show its header to `judge` (which may refuse it, or answer
    /// `Ok(false)` to leave everything as it was), then split the frame off, unmask its
    /// payload and return it. `Ok(None)`: no whole frame there, or `judge` declined; nothing
    /// was consumed, and the incremental path ([`FrameDecoder::decode_header`]) takes over.
    ///
    /// The header's bytes and the payload leave `buf` in one split, so one reference-count
    /// update is paid per frame (not a header advance plus a split).
    #[inline]
    pub fn decode_whole<E>(
        &mut self,
        buf: &mut BytesMut,
        judge: impl FnOnce(&FrameHeader) -> Result<bool, E>,
    ) -> Result<Option<Frame>, E> {
        if self.in_progress.is_some() {
            return Ok(None);
        }
        let Ok((header, header_len)) = FrameHeader::parse(buf) else {
            return Ok(None);
        };
        let fits = header.payload_len <= self.max_payload_len
            && (buf.len() - header_len) as u64 >= header.payload_len;
        if !fits || !judge(&header)? {
            return Ok(None);
        }
        // `fits`: the payload is in `buf`, so its length is a `usize`.
        let mut frame = buf.split_to(header_len + header.payload_len as usize);
        if let Some(key) = header.masking_key
            && let Some(payload) = frame.get_mut(header_len..)
        {
            apply_mask(payload, key, 0);
        }
        let mut payload = frame.freeze();
        payload.advance(header_len);
        Ok(Some(Frame { header, payload }))
    }

    /// Decode one whole frame from `buf`: `Ok(None)` until all of it has arrived.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        if self.decode_header(buf)?.is_none() {
            return Ok(None);
        }
        self.decode_payload(buf, |_| Ok(()))
    }
}

/// Append a whole frame to `dst`: the header, then the payload, masked with the header's
/// masking key when it has one. No validation: any header is written as given, and
/// `header.payload_len` is written as declared even if it differs from `payload.len()`.
#[inline]
pub fn encode_frame(header: &FrameHeader, payload: &[u8], dst: &mut BytesMut) {
    let mut head = [0u8; super::MAX_HEADER_LEN];
    let n = header.encode(&mut head);
    dst.reserve(n + payload.len());
    dst.extend_from_slice(&head[..n]);
    match header.masking_key {
        // Copy and mask in one pass.
        Some(key) => extend_masked(dst, payload, key, 0),
        None => dst.extend_from_slice(payload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::OpCode;

    #[test]
    fn masked_hello_byte_by_byte() {
        let wire = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
        let mut decoder = FrameDecoder::new();
        let mut buf = BytesMut::new();
        let mut seen = Vec::new();
        let mut frame = None;
        for byte in wire {
            buf.extend_from_slice(&[byte]);
            if decoder.decode_header(&mut buf).unwrap().is_some() {
                frame = decoder
                    .decode_payload(&mut buf, |chunk| {
                        seen.extend_from_slice(chunk);
                        Ok::<(), ()>(())
                    })
                    .unwrap();
            }
        }
        let frame = frame.expect("a whole frame");
        assert_eq!(frame.header.opcode, OpCode::Text);
        assert_eq!(&frame.payload[..], b"Hello");
        assert_eq!(seen, b"Hello");
        assert!(buf.is_empty());
    }

    #[test]
    fn masked_hello_in_parts_byte_by_byte() {
        // §5.7's masked "Hello", handed out a byte at a time: each part unmasked at its own
        // offset in the key's cycle.
        let wire = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
        let mut decoder = FrameDecoder::new();
        let mut buf = BytesMut::new();
        let mut parts = Vec::new();
        for byte in wire {
            buf.extend_from_slice(&[byte]);
            if decoder.decode_header(&mut buf).unwrap().is_some()
                && let Some(part) =
                    decoder.decode_payload_part(&mut buf, 1, |_| Ok::<(), ()>(())).unwrap()
            {
                parts.push((part.payload, part.ends_frame));
            }
        }
        let expected: Vec<(Bytes, bool)> =
            b"Hello".iter().enumerate().map(|(i, &b)| (Bytes::from(vec![b]), i == 4)).collect();
        assert_eq!(parts, expected);
        assert!(decoder.in_progress().is_none());
    }

    #[test]
    fn whole_frames_in_one_step() {
        // §5.7's masked "Hello" twice, the second cut short by one byte.
        let hello = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
        let mut buf = BytesMut::from(&hello[..]);
        buf.extend_from_slice(&hello[..10]);
        let mut decoder = FrameDecoder::new();
        let mut judged = Vec::new();
        let mut judge = |h: &FrameHeader| {
            judged.push(h.payload_len);
            Ok::<bool, ()>(true)
        };
        let frame = decoder.decode_whole(&mut buf, &mut judge).unwrap().expect("whole frame");
        assert_eq!((&frame.payload[..], frame.header.opcode), (&b"Hello"[..], OpCode::Text));
        // Not whole: nothing consumed, the judge not asked.
        assert_eq!(decoder.decode_whole(&mut buf, &mut judge).unwrap(), None);
        assert_eq!(&buf[..], &hello[..10]);
        buf.extend_from_slice(&hello[10..]);
        // Declined or refused: nothing consumed either.
        assert_eq!(decoder.decode_whole(&mut buf, |_| Ok::<bool, ()>(false)).unwrap(), None);
        assert_eq!(decoder.decode_whole(&mut buf, |_| Err::<bool, ()>(())), Err(()));
        assert_eq!(&buf[..], &hello[..]);
        // With a frame in progress the incremental path owns it.
        assert!(decoder.decode_header(&mut buf).unwrap().is_some());
        assert_eq!(decoder.decode_whole(&mut buf, &mut judge).unwrap(), None);
        assert_eq!(judged, [5]);
    }

    #[test]
    fn declared_length_is_not_reserved() {
        let mut decoder = FrameDecoder::with_max_payload_len(1 << 20);
        let mut buf = BytesMut::from(&[0x82, 0x7F, 0, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF][..]);
        assert!(matches!(decoder.decode(&mut buf), Err(FrameError::PayloadTooLong { .. })));
        let mut decoder = FrameDecoder::new();
        let mut buf = BytesMut::from(&[0x82, 0x7F, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 2][..]);
        assert_eq!(decoder.decode(&mut buf).unwrap(), None);
        assert!(buf.capacity() < 4096);
        assert_eq!(decoder.bytes_wanted(&buf), (1 << 20) - 2);
    }
}
