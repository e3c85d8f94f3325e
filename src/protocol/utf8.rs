//! Incremental, fail-fast UTF-8 validation (§8.1).
//!
//! §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte
//! stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
//! Connection_." A text message arrives in pieces (fragments, and partial reads of one
//! fragment); [`Utf8Validator`] accepts the pieces in order and reports the first byte that
//! can no longer be the start of valid UTF-8, without waiting for the message to end. A
//! code point split between pieces is carried over (at most 3 bytes).

/// Streaming UTF-8 validator. Feed pieces with [`Utf8Validator::feed`], then call
/// [`Utf8Validator::finish`] when the message ends.
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    /// The bytes of an incomplete code point at the end of the last piece.
    partial: [u8; 4],
    partial_len: usize,
}

/// The byte stream is not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8;

impl Utf8Validator {
    /// A validator at the start of a message.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validate the next piece. Fails as soon as the bytes seen so far cannot be the prefix
    /// of valid UTF-8 (std's validator checks each continuation byte's range, so an
    /// impossible sequence such as `F4 90` fails here, not at the end).
    pub fn feed(&mut self, mut piece: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            // Complete the carried code point with bytes from the front of this piece.
            let need = utf8_len(self.partial[0]).ok_or(InvalidUtf8)?;
            let take = (need - self.partial_len).min(piece.len());
            let (head, rest) = piece.split_at(take);
            let filled = self.partial_len + take;
            self.partial[self.partial_len..filled].copy_from_slice(head);
            self.partial_len = 0;
            match std::str::from_utf8(&self.partial[..filled]) {
                Ok(_) => {}
                Err(e) if e.error_len().is_none() => {
                    // Still a valid prefix, still incomplete: the piece was exhausted.
                    self.partial_len = filled;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
            piece = rest;
        }
        // The piece may end inside a code point: judge everything before it with simdutf8's
        // `basic` validator (the fastest: it only says yes or no), and the few bytes of that
        // last code point by themselves.
        let cut = incomplete_tail_start(piece);
        let (whole, tail) = piece.split_at(cut);
        if simdutf8::basic::from_utf8(whole).is_err() {
            return Err(InvalidUtf8);
        }
        if tail.is_empty() {
            return Ok(());
        }
        match std::str::from_utf8(tail) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() && e.valid_up_to() == 0 => {
                // A valid prefix of one code point: carry it to the next piece.
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len();
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// The message ended: fails if it ended inside a code point.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.partial_len == 0;
        self.partial_len = 0;
        if complete { Ok(()) } else { Err(InvalidUtf8) }
    }

    /// True when no incomplete code point is carried.
    pub fn is_complete(&self) -> bool {
        self.partial_len == 0
    }
}

/// Where the last code point of `piece` starts if the piece ends before that code point does
/// (at most 3 bytes from the end); `piece.len()` if the piece ends on a boundary (or its end
/// is invalid anyway, which the whole-piece check then reports).
fn incomplete_tail_start(piece: &[u8]) -> usize {
    let len = piece.len();
    for (i, &byte) in piece.iter().enumerate().skip(len.saturating_sub(3)).rev() {
        if byte & 0xC0 == 0x80 {
            continue; // a continuation byte: its lead is further back
        }
        return match utf8_len(byte) {
            Some(need) if i + need > len => i,
            _ => len,
        };
    }
    len
}

/// The length of the code point a leading byte starts, if it can start one.
fn utf8_len(first: u8) -> Option<usize> {
    match first {
        0x00..=0x7F => Some(1),
        0xC2..=0xDF => Some(2),
        0xE0..=0xEF => Some(3),
        0xF0..=0xF4 => Some(4),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_split(bytes: &[u8], at: &[usize]) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::new();
        let mut start = 0;
        for &cut in at {
            v.feed(&bytes[start..cut])?;
            start = cut;
        }
        v.feed(&bytes[start..])?;
        v.finish()
    }

    #[test]
    fn split_code_points_are_carried() {
        let text = "κόσμε€𝄞".as_bytes();
        for i in 0..=text.len() {
            for j in i..=text.len() {
                assert_eq!(feed_split(text, &[i, j]), Ok(()), "{i} {j}");
            }
        }
    }

    #[test]
    fn fails_fast_inside_a_code_point() {
        // Autobahn 6.4.x: F4 90 is out of range; it must fail before the rest arrives.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed("κόσμε".as_bytes()), Ok(()));
        assert_eq!(v.feed(&[0xF4]), Ok(()));
        assert_eq!(v.feed(&[0x90]), Err(InvalidUtf8));
    }

    #[test]
    fn incomplete_at_end_fails() {
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(&[0xE2, 0x82]), Ok(()));
        assert_eq!(v.finish(), Err(InvalidUtf8));
    }
}
