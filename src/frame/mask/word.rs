//! The portable twin of the vector kernels: eight bytes at a time in a `u64`, safe code.

use std::mem::MaybeUninit;

#[inline]
fn key_word(key: [u8; 4]) -> u64 {
    u64::from_ne_bytes([key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]])
}

/// In place.
#[inline]
pub(super) fn mask(buf: &mut [u8], key: [u8; 4]) {
    let key_word = key_word(key);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let masked = u64::from_ne_bytes(word) ^ key_word;
        chunk.copy_from_slice(&masked.to_ne_bytes());
    }
    // The tail is shorter than 8 bytes and starts at a multiple of 8 (key index 0): at
    // most one 4-byte word, then at most 3 bytes, again from key index 0.
    let tail = chunks.into_remainder();
    let bytes = match tail.split_first_chunk_mut::<4>() {
        Some((word, rest)) => {
            *word = (u32::from_ne_bytes(*word) ^ u32::from_ne_bytes(key)).to_ne_bytes();
            rest
        }
        None => tail,
    };
    for (byte, k) in bytes.iter_mut().zip(key) {
        *byte ^= k;
    }
}

/// From `src` into `dst`, which have the same length.
#[inline]
pub(super) fn mask_copy(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    let key_word = key_word(key);
    let mut dst_chunks = dst.chunks_exact_mut(8);
    let mut src_chunks = src.chunks_exact(8);
    for (d, s) in (&mut dst_chunks).zip(&mut src_chunks) {
        let mut word = [0u8; 8];
        word.copy_from_slice(s);
        d.copy_from_slice(&(u64::from_ne_bytes(word) ^ key_word).to_ne_bytes());
    }
    let tails = dst_chunks.into_remainder().iter_mut().zip(src_chunks.remainder());
    for (i, (d, s)) in tails.enumerate() {
        *d = s ^ key[i % 4];
    }
}

/// From `src` into the uninitialised `dst` of the same length: every element of `dst`
/// is written.
#[inline]
pub(super) fn mask_copy_uninit(dst: &mut [MaybeUninit<u8>], src: &[u8], key: [u8; 4]) {
    let key_word = key_word(key);
    let (dst_words, dst_tail) = dst.as_chunks_mut::<8>();
    let (src_words, src_tail) = src.as_chunks::<8>();
    for (d, s) in dst_words.iter_mut().zip(src_words) {
        // One 8-byte store (element-wise `write`s are not merged into one).
        *d = (u64::from_ne_bytes(*s) ^ key_word).to_ne_bytes().map(MaybeUninit::new);
    }
    for (i, (d, s)) in dst_tail.iter_mut().zip(src_tail).enumerate() {
        d.write(s ^ key[i % 4]);
    }
}
