//! The aarch64 kernel: NEON, 16 bytes per instruction (NEON is part of the aarch64 baseline).

use std::arch::aarch64::{vdupq_n_u32, veorq_u8, vld1q_u8, vreinterpretq_u8_u32, vst1q_u8};

/// NEON: 64 bytes per round, then 16, then the short tail.
///
/// # Safety
/// Pointers as for `Kernel::run` (NEON itself is enabled at compile time).
pub(super) unsafe fn mask_neon(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    let k = vreinterpretq_u8_u32(vdupq_n_u32(u32::from_ne_bytes(key)));
    let mut i = 0;
    while len - i >= 64 {
        // SAFETY: i + 64 <= len: the four 16-byte loads and stores are inside both
        // ranges (caller). In place, each store only overwrites bytes its own load
        // already read.
        unsafe {
            let (s, d) = (src.add(i), dst.add(i));
            let a = vld1q_u8(s);
            let b = vld1q_u8(s.add(16));
            let c = vld1q_u8(s.add(32));
            let e = vld1q_u8(s.add(48));
            vst1q_u8(d, veorq_u8(a, k));
            vst1q_u8(d.add(16), veorq_u8(b, k));
            vst1q_u8(d.add(32), veorq_u8(c, k));
            vst1q_u8(d.add(48), veorq_u8(e, k));
        }
        i += 64;
    }
    while len - i >= 16 {
        // SAFETY: i + 16 <= len: inside both ranges (caller).
        unsafe { vst1q_u8(dst.add(i), veorq_u8(vld1q_u8(src.add(i)), k)) };
        i += 16;
    }
    // i is a multiple of 16, so the key needs no rotation for the tail.
    // SAFETY: bytes i..len are inside both ranges (caller).
    unsafe { super::mask_words_raw(src.add(i), dst.add(i), len - i, key) };
}
