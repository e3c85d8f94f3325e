//! One message through DEFLATE and back (RFC 7692 §7.2.1, §7.2.2), with the decompressed size
//! held to a budget while it is produced.
//!
//! The backend is zlib (zlib-rs, through `flate2`) in raw mode: no zlib header, no checksum,
//! and a window of 2^9 to 2^15 bytes. A compressed message is what DEFLATE writes for the
//! payload followed by a sync flush (an empty stored block, `00 00 ff ff`), with those four
//! octets removed; the receiver appends them back before it inflates.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The four octets a sync flush ends with (an empty stored block: LEN 0, NLEN 0xffff).
/// RFC 7692 §7.2.1 step 3: "Remove 4 octets (that are 0x00 0x00 0xff 0xff) from the tail
/// end." §7.2.2 step 1: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the
/// payload of the message."
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The window zlib can build for `bits`: zlib's deflate refuses 8 for a raw stream, so 8 is
/// compressed with 9. That still fits a peer that keeps only 256 bytes: with a 512-byte
/// window zlib never matches further back than 512 - 262 = 250 bytes (it keeps
/// `MIN_LOOKAHEAD`, 262 bytes, of the window for lookahead).
fn zlib_window_bits(bits: u8) -> u8 {
    bits.clamp(9, 15)
}

/// Compresses the messages we send (RFC 7692 §7.2.1).
#[derive(Debug)]
pub struct Compressor {
    zlib: Compress,
    /// Reset after each message: no context takeover (§7.1.1).
    reset_each_message: bool,
}

impl Compressor {
    /// A compressor at `level` (0–9) with a window of at most 2^`window_bits` bytes (8–15),
    /// reset after every message when `no_context_takeover`.
    pub fn new(level: u8, window_bits: u8, no_context_takeover: bool) -> Self {
        let zlib = Compress::new_with_window_bits(
            Compression::new(u32::from(level.min(9))),
            false,
            zlib_window_bits(window_bits),
        );
        Compressor { zlib, reset_each_message: no_context_takeover }
    }

    /// Compress one whole message's payload, appending the compressed bytes (without the
    /// `00 00 ff ff` tail) to `out`.
    pub fn compress(&mut self, payload: &[u8], out: &mut Vec<u8>) {
        // §7.2.1 step 1: "Compress all the octets of the payload of the message using
        // DEFLATE." A sync flush ends the data on a byte boundary with an empty stored
        // block, which is step 2's "empty DEFLATE block with no compression".
        let start = out.len();
        let mut consumed = 0;
        // A first guess of half the payload (text shrinks to a third or less); the room
        // doubles whenever zlib fills it.
        out.reserve(payload.len() / 2 + 64);
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(64));
            }
            let before = self.zlib.total_in();
            let status = self.zlib.compress_vec(&payload[consumed..], out, FlushCompress::Sync);
            consumed += (self.zlib.total_in() - before) as usize;
            // `compress_vec` fails only on a stream error, which our own use never causes.
            debug_assert!(matches!(status, Ok(Status::Ok | Status::BufError)));
            // Done when all input is in and zlib stopped short of the room it had: the
            // flush is complete.
            if consumed == payload.len() && out.len() < out.capacity() {
                break;
            }
        }
        if out[start..].ends_with(&TAIL) {
            // §7.2.1 step 3: remove the tail.
            out.truncate(out.len() - TAIL.len());
        } else {
            // zlib writes nothing for a flush right after a flush (an empty message after
            // another). §7.2.1 step 2: "If the resulting data does not end with an empty
            // DEFLATE block with no compression (the "BTYPE" bits are set to 00), append an
            // empty DEFLATE block with no compression to the tail end." The stream is on a
            // byte boundary after the last flush, so that block is `00` (BFINAL 0, BTYPE 00,
            // padding) and then the four octets step 3 removes: `00` is left.
            out.push(0x00);
        }
        if self.reset_each_message {
            self.zlib.reset();
        }
    }
}

/// Why a compressed message could not be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflateError {
    /// The message inflates to more than the budget allows.
    TooLarge {
        /// The budget, in decompressed bytes.
        max: usize,
    },
    /// The bytes are not a DEFLATE stream (or not one this window can decode).
    Corrupt,
}

/// Decompresses the messages we receive (RFC 7692 §7.2.2), a frame at a time, never
/// holding more than the budget plus one step of output.
#[derive(Debug)]
pub struct Decompressor {
    zlib: Decompress,
    /// The peer's window, in bytes: how much of a message a new stream starts from after a
    /// final block (with context takeover).
    peer_window: usize,
    /// Reset after each message: the peer does not take its context over (§7.1.1).
    reset_each_message: bool,
    /// The stream ended (a block with BFINAL set) inside the current message.
    ended: bool,
}

/// How much output room is added at a time: the most a message can overshoot its budget
/// by, in allocation, before it is refused.
pub const INFLATE_STEP: usize = 64 * 1024;

/// A message's inflated bytes so far, in chunks that are never moved once full (so that
/// growing the output never holds two copies of it).
#[derive(Debug, Default)]
pub struct Inflated {
    chunks: Vec<Vec<u8>>,
    len: usize,
}

impl Inflated {
    /// Bytes inflated so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Nothing inflated yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The chunk to inflate into next, with room for at most `limit` more bytes: the last
    /// chunk while it has room, else a new one (1 KiB, doubling up to [`INFLATE_STEP`]).
    fn room(&mut self, limit: usize) -> &mut Vec<u8> {
        let full = self.chunks.last().is_none_or(|c| c.len() == c.capacity());
        if full {
            let size = self.chunks.last().map_or(1024, |c| c.capacity() * 2);
            self.chunks.push(Vec::with_capacity(size.min(INFLATE_STEP).min(limit)));
        }
        let last = self.chunks.len() - 1;
        &mut self.chunks[last]
    }

    /// The bytes from offset `from` on, chunk by chunk.
    pub fn since(&self, from: usize) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.chunks.iter().filter_map(move |chunk| {
            let (begin, end) = (start, start + chunk.len());
            start = end;
            (end > from).then(|| &chunk[from.saturating_sub(begin)..])
        })
    }

    /// The last `n` bytes (or all, if fewer), joined.
    fn tail(&self, n: usize) -> Vec<u8> {
        let from = self.len.saturating_sub(n);
        self.since(from).flatten().copied().collect()
    }

    /// The whole message as one buffer: the one chunk as it is, or the chunks joined into an
    /// allocation of exactly the message's length.
    pub fn into_bytes(mut self) -> bytes::Bytes {
        if self.chunks.len() == 1 {
            return bytes::Bytes::from(self.chunks.remove(0));
        }
        let mut whole = Vec::with_capacity(self.len);
        for chunk in &self.chunks {
            whole.extend_from_slice(chunk);
        }
        bytes::Bytes::from(whole)
    }
}

impl Decompressor {
    /// A decompressor for a peer that compresses with a window of at most 2^`window_bits`
    /// bytes (8–15), reset after every message when `no_context_takeover`.
    ///
    /// It always inflates with the largest window, 15 bits, which decodes a stream made with
    /// any smaller one: zlib-rs allocates its 32 KiB window whatever the bits, and flate2
    /// re-creates (allocates anew) a zlib-rs decompressor on every reset unless its window
    /// is 15, which would cost 46 KiB per message without context takeover.
    pub fn new(window_bits: u8, no_context_takeover: bool) -> Self {
        Decompressor {
            zlib: Decompress::new_with_window_bits(false, 15),
            peer_window: 1 << window_bits.clamp(8, 15),
            reset_each_message: no_context_takeover,
            ended: false,
        }
    }

    /// Inflate the next piece of a compressed message (a frame's payload), appending to
    /// `out`, which must never hold more than `max` bytes. Output room is added a chunk at a
    /// time (growing from 1 KiB to [`INFLATE_STEP`], never past `max + 1` in all), and full
    /// chunks are never moved, so a bomb is refused having allocated at most `max + 1`
    /// bytes of output plus what one chunk's growth copies.
    pub fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Inflated,
        max: usize,
    ) -> Result<(), InflateError> {
        let mut consumed = 0;
        loop {
            if self.ended {
                // After a final block the stream is over; RFC 7692 §7.2.3.4 allows a sender
                // to end a message so. Only the tail we appended may follow.
                return Ok(());
            }
            if out.len > max {
                return Err(InflateError::TooLarge { max });
            }
            // One byte of room past the budget tells "exactly at the budget" from "over it".
            let chunk = out.room(max + 1 - out.len);
            let (before_in, before_out) = (self.zlib.total_in(), chunk.len());
            let status = self.zlib.decompress_vec(&input[consumed..], chunk, FlushDecompress::Sync);
            let (taken, produced) =
                ((self.zlib.total_in() - before_in) as usize, chunk.len() - before_out);
            let full = chunk.len() == chunk.capacity();
            out.len += produced;
            consumed += taken;
            match status {
                Ok(Status::StreamEnd) => self.ended = true,
                Ok(Status::Ok | Status::BufError) => {}
                Err(_) => return Err(InflateError::Corrupt),
            }
            if out.len > max {
                return Err(InflateError::TooLarge { max });
            }
            if taken == 0 && produced == 0 && !self.ended {
                // No progress with input and room: zlib wants something this stream will
                // not give it (it cannot happen on a valid stream).
                return if consumed == input.len() { Ok(()) } else { Err(InflateError::Corrupt) };
            }
            // Done when all input is in and zlib stopped short of the room it had (nothing
            // more is pending inside it).
            if consumed == input.len() && !full {
                return Ok(());
            }
        }
    }

    /// The message's last frame was inflated: append the tail (§7.2.2 step 1), inflate it,
    /// and reset if the peer takes no context over. `out` and `max` as in
    /// [`Decompressor::inflate`].
    pub fn finish(&mut self, out: &mut Inflated, max: usize) -> Result<(), InflateError> {
        self.inflate(&TAIL, out, max)?;
        if self.ended {
            // A final block ended the stream: the next message starts a new one. With context
            // takeover its window starts from what this message left (as much of it as this
            // message holds).
            self.zlib = Decompress::new_with_window_bits(false, 15);
            self.ended = false;
            if !self.reset_each_message {
                let window = out.tail(self.peer_window);
                if self.zlib.set_dictionary(&window).is_err() {
                    return Err(InflateError::Corrupt);
                }
            }
        } else if self.reset_each_message {
            self.zlib.reset(false);
        }
        Ok(())
    }

    /// Forget the message in progress (the connection failed or closed).
    pub fn abandon(&mut self) {
        self.zlib.reset(false);
        self.ended = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inflate_all(
        d: &mut Decompressor,
        compressed: &[u8],
        max: usize,
    ) -> Result<Vec<u8>, InflateError> {
        let mut out = Inflated::default();
        d.inflate(compressed, &mut out, max)?;
        d.finish(&mut out, max)?;
        Ok(out.into_bytes().to_vec())
    }

    #[test]
    fn rfc_7692_hello() {
        // §7.2.3.1: "Hello" compressed is f2 48 cd c9 c9 07 00.
        let mut c = Compressor::new(6, 15, false);
        let mut out = Vec::new();
        c.compress(b"Hello", &mut out);
        assert_eq!(out, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        // §7.2.3.2: the second "Hello", with the window shared, is f2 00 11 00 00.
        out.clear();
        c.compress(b"Hello", &mut out);
        assert_eq!(out, [0xf2, 0x00, 0x11, 0x00, 0x00]);
        let mut d = Decompressor::new(15, false);
        assert_eq!(
            inflate_all(&mut d, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], 100).unwrap(),
            b"Hello"
        );
        assert_eq!(inflate_all(&mut d, &[0xf2, 0x00, 0x11, 0x00, 0x00], 100).unwrap(), b"Hello");
    }

    #[test]
    fn a_bomb_is_refused_within_its_budget() {
        let mut c = Compressor::new(9, 15, false);
        let mut bomb = Vec::new();
        c.compress(&vec![0u8; 16 << 20], &mut bomb);
        assert!(bomb.len() < 32 * 1024, "16 MiB of zeros compress to {} bytes", bomb.len());
        let mut d = Decompressor::new(15, false);
        let mut out = Inflated::default();
        let max = 1 << 20;
        assert_eq!(d.inflate(&bomb, &mut out, max), Err(InflateError::TooLarge { max }));
        let allocated: usize = out.chunks.iter().map(Vec::capacity).sum();
        assert!(allocated <= max + 1, "allocated {allocated} for a budget of {max}");
    }
}
