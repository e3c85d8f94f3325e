//! The x86_64 kernels: AVX-512F (64 bytes per instruction) and AVX2 (32 bytes), each an
//! `unsafe fn` over raw pointers, run only once `is_x86_feature_detected!` said yes.

use std::arch::x86_64::{
    __m128i, __m256i, __m512i, _mm_loadu_si128, _mm_set1_epi32, _mm_storeu_si128, _mm_xor_si128,
    _mm256_loadu_si256, _mm256_set1_epi32, _mm256_storeu_si256, _mm256_xor_si256,
    _mm512_loadu_si512, _mm512_set1_epi32, _mm512_storeu_si512, _mm512_xor_si512,
};

/// Fewer than 64 bytes (a head or a tail): at most one 32-byte step, one 16-byte step,
/// then words and bytes. Plain stores only, so that a load that follows (the next
/// register, or a UTF-8 validator reading the payload just unmasked) is forwarded.
///
/// # Safety
/// The CPU supports AVX2; `len < 64`; pointers as for `Kernel::run`.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn mask_lt64(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    let mut i = 0;
    if len >= 32 {
        let k = _mm256_set1_epi32(i32::from_ne_bytes(key));
        // SAFETY: 32 <= len: bytes 0..32 are inside both ranges (caller).
        unsafe {
            let v = _mm256_loadu_si256(src.cast::<__m256i>());
            _mm256_storeu_si256(dst.cast::<__m256i>(), _mm256_xor_si256(v, k));
        }
        i = 32;
    }
    if len - i >= 16 {
        let k = _mm_set1_epi32(i32::from_ne_bytes(key));
        // SAFETY: i + 16 <= len: inside both ranges (caller).
        unsafe {
            let v = _mm_loadu_si128(src.add(i).cast::<__m128i>());
            _mm_storeu_si128(dst.add(i).cast::<__m128i>(), _mm_xor_si128(v, k));
        }
        i += 16;
    }
    // i is a multiple of 16: `key` still lines up with byte i.
    // SAFETY: bytes i..len are inside both ranges (caller).
    unsafe { super::mask_words_raw(src.add(i), dst.add(i), len - i, key) };
}

/// AVX2: from `ALIGN_MIN` bytes a head up to the next 32-byte boundary of `dst`, then 128
/// bytes per round, then 32, then the tail (fewer than 32 bytes).
///
/// # Safety
/// The CPU supports AVX2; pointers as for `Kernel::run`.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn mask_avx2(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    let (mut i, mut key) = (0, key);
    if len >= super::ALIGN_MIN {
        let head = dst.addr().wrapping_neg() % 32;
        // SAFETY: head < 32 < len: bytes 0..head are inside both ranges (caller).
        unsafe { mask_lt64(src, dst, head, key) };
        i = head;
        key = super::rotate_key(key, head);
    }
    let k = _mm256_set1_epi32(i32::from_ne_bytes(key));
    while len - i >= 128 {
        // SAFETY: i + 128 <= len: the four 32-byte loads and stores are inside both
        // ranges (caller); they are unaligned accesses. In place, each store only
        // overwrites bytes its own load already read.
        unsafe {
            let (s, d) = (src.add(i).cast::<__m256i>(), dst.add(i).cast::<__m256i>());
            let a = _mm256_loadu_si256(s);
            let b = _mm256_loadu_si256(s.add(1));
            let c = _mm256_loadu_si256(s.add(2));
            let e = _mm256_loadu_si256(s.add(3));
            _mm256_storeu_si256(d, _mm256_xor_si256(a, k));
            _mm256_storeu_si256(d.add(1), _mm256_xor_si256(b, k));
            _mm256_storeu_si256(d.add(2), _mm256_xor_si256(c, k));
            _mm256_storeu_si256(d.add(3), _mm256_xor_si256(e, k));
        }
        i += 128;
    }
    while len - i >= 32 {
        // SAFETY: i + 32 <= len: inside both ranges (caller).
        unsafe {
            let v = _mm256_loadu_si256(src.add(i).cast::<__m256i>());
            _mm256_storeu_si256(dst.add(i).cast::<__m256i>(), _mm256_xor_si256(v, k));
        }
        i += 32;
    }
    // The vectors covered whole registers since the head: `key` lines up with byte i.
    // SAFETY: len - i < 32; bytes i..len are inside both ranges (caller).
    unsafe { mask_lt64(src.add(i), dst.add(i), len - i, key) };
}

/// AVX-512: from `ALIGN_MIN` bytes a head up to the next 64-byte boundary of `dst` (an
/// unaligned 64-byte store always straddles two cache lines), then 256 bytes per round,
/// then 64, then the tail (fewer than 64 bytes).
///
/// # Safety
/// The CPU supports AVX2 and AVX-512F; pointers as for `Kernel::run`.
#[target_feature(enable = "avx2,avx512f")]
pub(super) unsafe fn mask_avx512(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    let (mut i, mut key) = (0, key);
    if len >= super::ALIGN_MIN {
        let head = dst.addr().wrapping_neg() % 64;
        // SAFETY: head < 64 < len: bytes 0..head are inside both ranges (caller).
        unsafe { mask_lt64(src, dst, head, key) };
        i = head;
        key = super::rotate_key(key, head);
    }
    let k = _mm512_set1_epi32(i32::from_ne_bytes(key));
    while len - i >= 256 {
        // SAFETY: i + 256 <= len: the four 64-byte loads and stores are inside both
        // ranges (caller); unaligned accesses. In place, each store only overwrites
        // bytes its own load already read.
        unsafe {
            let (s, d) = (src.add(i).cast::<__m512i>(), dst.add(i).cast::<__m512i>());
            let a = _mm512_loadu_si512(s);
            let b = _mm512_loadu_si512(s.add(1));
            let c = _mm512_loadu_si512(s.add(2));
            let e = _mm512_loadu_si512(s.add(3));
            _mm512_storeu_si512(d, _mm512_xor_si512(a, k));
            _mm512_storeu_si512(d.add(1), _mm512_xor_si512(b, k));
            _mm512_storeu_si512(d.add(2), _mm512_xor_si512(c, k));
            _mm512_storeu_si512(d.add(3), _mm512_xor_si512(e, k));
        }
        i += 256;
    }
    while len - i >= 64 {
        // SAFETY: i + 64 <= len: inside both ranges (caller).
        unsafe {
            let v = _mm512_loadu_si512(src.add(i).cast::<__m512i>());
            _mm512_storeu_si512(dst.add(i).cast::<__m512i>(), _mm512_xor_si512(v, k));
        }
        i += 64;
    }
    // The vectors covered whole registers since the head: `key` lines up with byte i.
    // (Plain stores here, not one masked store: a masked store is not forwarded to the
    // loads of a UTF-8 validator that reads the payload right after it is unmasked.)
    // SAFETY: len - i < 64; bytes i..len are inside both ranges (caller).
    unsafe { mask_lt64(src.add(i), dst.add(i), len - i, key) };
}
