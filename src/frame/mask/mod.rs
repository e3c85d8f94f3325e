//! Client-to-server masking (§5.3).
//!
//! §5.3: "Octet i of the transformed data ("transformed-octet-i") is the XOR of octet i of the
//! original data ("original-octet-i") with octet at index i modulo 4 of the masking key".
//! The same function masks and unmasks. `offset` is the index of `buf[0]` inside the payload,
//! so a payload that arrives in pieces can be unmasked piece by piece.
//!
//! ## How it is fast
//!
//! The transform is one XOR per byte with a 4-byte pattern, so it runs as wide as the CPU
//! allows: the key is rotated to line up with `offset`, repeated across a register, and XORed
//! with the payload a register at a time.
//!
//! * **Portable twin** ([`MaskImpl::Word`]): eight bytes at a time in a `u64`, safe code. It
//!   masks every buffer shorter than [`SIMD_MIN_LEN`] on every CPU (a call to a vector
//!   kernel costs more than it saves there), and everything on CPUs without a vector kernel.
//! * **x86_64**: [`MaskImpl::Avx512`] (AVX-512F: 64 bytes per instruction) or
//!   [`MaskImpl::Avx2`] (32 bytes), chosen at run time by `is_x86_feature_detected!`. The choice is made once and cached in
//!   an atomic, so the hot path pays one relaxed load and a predictable branch.
//! * **aarch64**: [`MaskImpl::Neon`] (16 bytes), chosen at compile time: NEON is part of the
//!   baseline there.
//!
//! Every vector kernel is an `unsafe fn` over raw pointers, so that one kernel serves both
//! masking in place ([`apply_mask`]) and masking while copying ([`mask_into`],
//! [`extend_masked`], which writes straight into a `BytesMut`'s spare capacity without
//! zero-filling it first). [`MaskImpl`] reaches each implementation directly, so tests can
//! compare every one the CPU has with [`apply_mask_naive`], and benchmarks can time each.

use std::sync::atomic::{AtomicU8, Ordering};

use bytes::BytesMut;

/// Buffers shorter than this are masked by the portable word loop even where a vector kernel
/// exists. The word loop is inlined into the caller; a kernel is an out-of-line call (a
/// `#[target_feature]` function cannot be inlined into code built without the feature) plus
/// a dispatch, about 2 ns in all. On the machine this was measured on (AMD EPYC with AVX-512,
/// `cargo bench --bench codec -- mask_impl`) the two cross between 160 and 192 bytes: the
/// word loop masks 64 bytes in about 1 ns and 128 in 1.6, the AVX-512 kernel needs 2 ns for
/// anything up to 192 and 5 ns for 1 KiB, where the word loop needs 12.
pub const SIMD_MIN_LEN: usize = 192;

/// XOR `buf` in place with `key`, as if `buf` started at byte `offset` of the payload.
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    // Rotate the key so that index 0 of `buf` lines up with key octet `offset % 4`.
    let key = rotate_key(key, offset);
    if buf.len() < SIMD_MIN_LEN {
        // Inlined into the caller: short payloads (most control frames, chat messages) pay
        // no call at all.
        word::mask(buf, key);
    } else {
        apply_mask_long(buf, key);
    }
}

/// [`apply_mask`] from `SIMD_MIN_LEN` bytes on, with the key already rotated.
fn apply_mask_long(buf: &mut [u8], key: [u8; 4]) {
    if let Some(kernel) = Kernel::selected() {
        let len = buf.len();
        let ptr = buf.as_mut_ptr();
        // SAFETY: `ptr` comes from `buf`, valid for reads and writes of `len` bytes; source
        // and destination are the same range, which the kernels allow. A `Kernel` exists
        // only for a CPU that supports it (see `Kernel::selected`).
        unsafe { kernel.run(ptr, ptr, len, key) };
        return;
    }
    word::mask(buf, key);
}

/// Write `src` XOR `key` into `dst` in one pass (no copy-then-mask), as if `src` started at
/// byte `offset` of the payload. Masks `min(dst.len(), src.len())` bytes and returns that
/// count; the rest of `dst` is left as it was.
///
/// ```
/// use rfc6455::frame::mask_into;
/// // §5.7: "Hello", masked with the key 0x37 0xfa 0x21 0x3d.
/// let mut wire = [0u8; 5];
/// assert_eq!(mask_into(&mut wire, b"Hello", [0x37, 0xfa, 0x21, 0x3d], 0), 5);
/// assert_eq!(wire, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// ```
#[inline]
pub fn mask_into(dst: &mut [u8], src: &[u8], key: [u8; 4], offset: usize) -> usize {
    let len = dst.len().min(src.len());
    let (dst, src) = (&mut dst[..len], &src[..len]);
    let key = rotate_key(key, offset);
    if len < SIMD_MIN_LEN {
        word::mask_copy(dst, src, key);
    } else {
        mask_into_long(dst, src, key);
    }
    len
}

/// [`mask_into`] from `SIMD_MIN_LEN` bytes on: `dst` and `src` have the same length and the
/// key is rotated.
fn mask_into_long(dst: &mut [u8], src: &[u8], key: [u8; 4]) {
    let len = dst.len().min(src.len());
    if let Some(kernel) = Kernel::selected() {
        // SAFETY: `src` is valid for reads and `dst` for writes of `len` bytes (`len` is the
        // shorter length), and they are disjoint: one is borrowed shared, the other
        // exclusively. A `Kernel` exists only for a CPU that supports it.
        unsafe { kernel.run(src.as_ptr(), dst.as_mut_ptr(), len, key) };
        return;
    }
    word::mask_copy(dst, src, key);
}

/// Append `src` XOR `key` to `dst` in one pass, as if `src` started at byte `offset` of the
/// payload: the masked bytes are written straight into `dst`'s spare capacity, which is
/// never zero-filled first. This is how a client queues a payload (§5.1: "a client MUST mask
/// all frames that it sends to the server").
///
/// ```
/// use bytes::BytesMut;
/// use rfc6455::frame::extend_masked;
/// // §5.7: a masked text frame "Hello": the header, the key, then the masked payload.
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let mut out = BytesMut::from(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d][..]);
/// extend_masked(&mut out, b"Hello", key, 0);
/// assert_eq!(&out[..], &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// ```
#[inline]
pub fn extend_masked(dst: &mut BytesMut, src: &[u8], key: [u8; 4], offset: usize) {
    extend_masked_with(Kernel::selected(), SIMD_MIN_LEN, dst, src, key, offset);
}

/// [`extend_masked`] with a chosen kernel (`None`: the word loop) used from `simd_min` bytes.
#[inline]
fn extend_masked_with(
    kernel: Option<Kernel>,
    simd_min: usize,
    dst: &mut BytesMut,
    src: &[u8],
    key: [u8; 4],
    offset: usize,
) {
    let key = rotate_key(key, offset);
    let len = src.len();
    dst.reserve(len);
    let Some(spare) = dst.spare_capacity_mut().get_mut(..len) else {
        // `reserve(len)` guarantees `len` spare bytes; this is never reached.
        let start = dst.len();
        dst.extend_from_slice(src);
        if let Some(written) = dst.get_mut(start..) {
            word::mask(written, key);
        }
        return;
    };
    match kernel {
        Some(kernel) if len >= simd_min => {
            // SAFETY: `spare` is valid for writes of `len` bytes (it was cut to `len`) and
            // `src` for reads of `len` bytes; they are disjoint, since `spare` is memory
            // that `dst` owns exclusively and no live slice can point into. The kernel only
            // writes `spare`, never reads it, so its being uninitialised is fine. A `Kernel`
            // exists only for a CPU that supports it.
            unsafe { kernel.run(src.as_ptr(), spare.as_mut_ptr().cast::<u8>(), len, key) }
        }
        _ => word::mask_copy_uninit(spare, src, key),
    }
    // SAFETY: the `len` bytes after the old length were all written just above (by the
    // kernel, or by `mask_copy_uninit`, which writes every element of `spare`), and
    // `reserve(len)` made the capacity at least the new length.
    unsafe { dst.set_len(dst.len() + len) };
}

/// The key as seen from payload byte `offset`: `rotated[i] == key[(offset + i) % 4]`.
#[inline]
fn rotate_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    // In a little-endian word byte i is bits 8i..8i+8, so moving byte r to index 0 is a
    // right rotation by 8r bits (a single instruction, where `[u8]::rotate_left` loops).
    let shift = 8 * (offset % 4) as u32;
    u32::from_le_bytes(key).rotate_right(shift).to_le_bytes()
}

/// The byte-at-a-time reference algorithm of §5.3, kept for tests and differential fuzzing.
pub fn apply_mask_naive(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(offset + i) % 4];
    }
}

/// One implementation of the §5.3 transform. [`apply_mask`], [`mask_into`] and
/// [`extend_masked`] pick the fastest one the CPU has ([`MaskImpl::selected`]); this type
/// reaches each one directly, at every length, for differential tests and benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MaskImpl {
    /// The portable twin: eight bytes at a time in a `u64`, safe code, on every CPU.
    Word,
    /// x86_64 with AVX2: 32 bytes per instruction.
    Avx2,
    /// x86_64 with AVX-512F: 64 bytes per instruction, stores aligned to 64 bytes.
    Avx512,
    /// aarch64 NEON: 16 bytes per instruction.
    Neon,
}

impl MaskImpl {
    /// Every implementation, supported here or not.
    pub const ALL: [MaskImpl; 4] =
        [MaskImpl::Word, MaskImpl::Avx2, MaskImpl::Avx512, MaskImpl::Neon];

    /// The implementations this CPU can run.
    pub fn supported() -> impl Iterator<Item = MaskImpl> {
        Self::ALL.into_iter().filter(|imp| imp.is_supported())
    }

    /// True when this CPU (and this build's target) can run the implementation.
    pub fn is_supported(self) -> bool {
        self == MaskImpl::Word || Kernel::for_impl(self).is_some()
    }

    /// The implementation [`apply_mask`] uses for buffers of [`SIMD_MIN_LEN`] bytes or more.
    pub fn selected() -> MaskImpl {
        Kernel::selected().map_or(MaskImpl::Word, Kernel::to_impl)
    }

    /// [`apply_mask`] with this implementation at every length. `false` (and `buf` untouched)
    /// when the CPU cannot run it.
    #[must_use]
    pub fn apply_mask(self, buf: &mut [u8], key: [u8; 4], offset: usize) -> bool {
        let key = rotate_key(key, offset);
        match (self, Kernel::for_impl(self)) {
            (_, Some(kernel)) => {
                let len = buf.len();
                let ptr = buf.as_mut_ptr();
                // SAFETY: as in `apply_mask`: one range, valid for reads and writes of `len`
                // bytes, and a kernel the CPU supports.
                unsafe { kernel.run(ptr, ptr, len, key) };
                true
            }
            (MaskImpl::Word, None) => {
                word::mask(buf, key);
                true
            }
            _ => false,
        }
    }

    /// [`mask_into`] with this implementation at every length. `None` (and `dst` untouched)
    /// when the CPU cannot run it.
    pub fn mask_into(
        self,
        dst: &mut [u8],
        src: &[u8],
        key: [u8; 4],
        offset: usize,
    ) -> Option<usize> {
        let len = dst.len().min(src.len());
        let (dst, src) = (&mut dst[..len], &src[..len]);
        let key = rotate_key(key, offset);
        match (self, Kernel::for_impl(self)) {
            (_, Some(kernel)) => {
                // SAFETY: as in `mask_into`: disjoint ranges of `len` bytes, and a kernel the
                // CPU supports.
                unsafe { kernel.run(src.as_ptr(), dst.as_mut_ptr(), len, key) };
                Some(len)
            }
            (MaskImpl::Word, None) => {
                word::mask_copy(dst, src, key);
                Some(len)
            }
            _ => None,
        }
    }

    /// [`extend_masked`] with this implementation at every length. `false` (and `dst`
    /// untouched) when the CPU cannot run it.
    #[must_use]
    pub fn extend_masked(
        self,
        dst: &mut BytesMut,
        src: &[u8],
        key: [u8; 4],
        offset: usize,
    ) -> bool {
        match (self, Kernel::for_impl(self)) {
            (_, Some(kernel)) => extend_masked_with(Some(kernel), 0, dst, src, key, offset),
            (MaskImpl::Word, None) => extend_masked_with(None, 0, dst, src, key, offset),
            _ => return false,
        }
        true
    }
}

/// A vector kernel. A value of this type exists only for a kernel the running CPU supports:
/// the only ways to make one are [`Kernel::selected`] and [`Kernel::for_impl`], which check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
    Neon,
}

/// `Kernel::selected` not computed yet.
const UNDETECTED: u8 = 0;
/// Detected: no vector kernel on this CPU.
const NO_KERNEL: u8 = 1;

/// The cached choice: `UNDETECTED`, `NO_KERNEL`, or `Kernel::to_code`.
static SELECTED: AtomicU8 = AtomicU8::new(UNDETECTED);

impl Kernel {
    /// The fastest kernel this CPU supports, detected once and then read from a cache.
    #[inline]
    fn selected() -> Option<Kernel> {
        match SELECTED.load(Ordering::Relaxed) {
            UNDETECTED => Self::detect(),
            code => Self::from_code(code),
        }
    }

    #[cold]
    fn detect() -> Option<Kernel> {
        let best = [MaskImpl::Avx512, MaskImpl::Avx2, MaskImpl::Neon]
            .into_iter()
            .find_map(Kernel::for_impl);
        // Racing threads all store the same value.
        SELECTED.store(best.map_or(NO_KERNEL, Kernel::to_code), Ordering::Relaxed);
        best
    }

    /// The kernel of `imp`, if this CPU supports it.
    fn for_impl(imp: MaskImpl) -> Option<Kernel> {
        match imp {
            #[cfg(target_arch = "x86_64")]
            MaskImpl::Avx2 if is_x86_feature_detected!("avx2") => Some(Kernel::Avx2),
            #[cfg(target_arch = "x86_64")]
            MaskImpl::Avx512
                if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx2") =>
            {
                Some(Kernel::Avx512)
            }
            #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
            MaskImpl::Neon => Some(Kernel::Neon),
            _ => None,
        }
    }

    fn to_impl(self) -> MaskImpl {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => MaskImpl::Avx2,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => MaskImpl::Avx512,
            #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
            Kernel::Neon => MaskImpl::Neon,
        }
    }

    fn to_code(self) -> u8 {
        match self.to_impl() {
            MaskImpl::Word => NO_KERNEL,
            MaskImpl::Avx2 => 2,
            MaskImpl::Avx512 => 3,
            MaskImpl::Neon => 4,
        }
    }

    /// Only codes that `detect` stored come back here, so the kernel was checked then.
    fn from_code(code: u8) -> Option<Kernel> {
        match code {
            #[cfg(target_arch = "x86_64")]
            2 => Some(Kernel::Avx2),
            #[cfg(target_arch = "x86_64")]
            3 => Some(Kernel::Avx512),
            #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
            4 => Some(Kernel::Neon),
            _ => None,
        }
    }

    /// Write `src[i] ^ key[i % 4]` to `dst[i]` for `i` in `0..len`.
    ///
    /// # Safety
    /// `src` is valid for reads and `dst` for writes of `len` bytes, and the two ranges are
    /// either the same (`src == dst`: masking in place) or disjoint. (`dst` may be
    /// uninitialised: it is only written.)
    #[inline]
    unsafe fn run(self, src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
        match self {
            // SAFETY: the pointer contract is the caller's; the kernel's CPU features are
            // there, since this `Kernel` value exists (see the type's invariant).
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { x86::mask_avx2(src, dst, len, key) },
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { x86::mask_avx512(src, dst, len, key) },
            // SAFETY: as above (NEON is enabled at compile time on this target).
            #[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
            Kernel::Neon => unsafe { neon::mask_neon(src, dst, len, key) },
        }
    }
}

/// The portable twin: safe code, eight bytes at a time.
mod word;

/// The few bytes the vector kernels do not cover with whole registers (an alignment head, a
/// tail): `u64` words, then one `u32`, then single bytes. Meant for `len` below a few dozen.
///
/// # Safety
/// As for [`Kernel::run`].
#[cfg(any(target_arch = "x86_64", all(target_arch = "aarch64", target_feature = "neon")))]
#[inline(always)]
unsafe fn mask_words_raw(src: *const u8, dst: *mut u8, len: usize, key: [u8; 4]) {
    let key32 = u32::from_ne_bytes(key);
    let key64 = u64::from(key32) | (u64::from(key32) << 32);
    let mut i = 0;
    while len - i >= 8 {
        // SAFETY: i + 8 <= len: inside both ranges (caller); unaligned accesses.
        unsafe {
            let word = src.add(i).cast::<u64>().read_unaligned();
            dst.add(i).cast::<u64>().write_unaligned(word ^ key64);
        }
        i += 8;
    }
    if len - i >= 4 {
        // SAFETY: i + 4 <= len: inside both ranges (caller); unaligned accesses.
        unsafe {
            let word = src.add(i).cast::<u32>().read_unaligned();
            dst.add(i).cast::<u32>().write_unaligned(word ^ key32);
        }
        i += 4;
    }
    // i is a multiple of 4 here: key index 0 again.
    let mut k = 0;
    while i < len {
        // SAFETY: i < len: inside both ranges (caller).
        unsafe { *dst.add(i) = *src.add(i) ^ key[k] };
        i += 1;
        k += 1;
    }
}

/// From this many bytes on, a vector kernel first masks the few bytes up to the next
/// register-aligned address of `dst`, so that every full-width store after them is aligned
/// (an unaligned 64-byte store always straddles two cache lines).
#[cfg(target_arch = "x86_64")]
const ALIGN_MIN: usize = 256;

#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(all(target_arch = "aarch64", target_feature = "neon"))]
mod neon;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_example_hello() {
        // §5.7: "0x81 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58 (contains "Hello")"
        let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(&payload, b"Hello");
    }

    #[test]
    fn piecewise_equals_whole() {
        let key = [1, 2, 3, 4];
        let data: Vec<u8> = (0..100u8).collect();
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        let mut pieces = data.clone();
        let (a, rest) = pieces.split_at_mut(3);
        let (b, c) = rest.split_at_mut(30);
        apply_mask(a, key, 0);
        apply_mask(b, key, 3);
        apply_mask(c, key, 33);
        assert_eq!(whole, pieces);
    }

    #[test]
    fn the_selection_is_cached_and_supported() {
        let first = MaskImpl::selected();
        assert!(first.is_supported());
        assert_ne!(SELECTED.load(Ordering::Relaxed), UNDETECTED);
        assert_eq!(MaskImpl::selected(), first);
        // The best kernel the CPU has is the one picked.
        let best = [MaskImpl::Avx512, MaskImpl::Avx2, MaskImpl::Neon]
            .into_iter()
            .find(|imp| imp.is_supported())
            .unwrap_or(MaskImpl::Word);
        assert_eq!(first, best);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x86_kernels_follow_cpu_features() {
        assert_eq!(MaskImpl::Avx2.is_supported(), is_x86_feature_detected!("avx2"));
        assert_eq!(
            MaskImpl::Avx512.is_supported(),
            is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx2")
        );
        assert!(!MaskImpl::Neon.is_supported());
    }

    /// Every implementation the CPU has, against the naive loop: every length 0..=600, every
    /// offset 0..8, every alignment of the start (0..64 bytes into a larger allocation), in
    /// place, copying into a slice, and appending to a `BytesMut`.
    #[test]
    fn every_supported_impl_matches_naive_exhaustively() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let data: Vec<u8> = (0..700u32).map(|i| (i.wrapping_mul(151) ^ (i >> 3)) as u8).collect();
        let mut room = vec![0u8; 600 + 64];
        let mut copy_room = vec![0u8; 600 + 64];
        for imp in MaskImpl::supported() {
            for len in 0..=600 {
                for offset in 0..8 {
                    let mut expected = data[..len].to_vec();
                    apply_mask_naive(&mut expected, key, offset);
                    for align in 0..64 {
                        let buf = &mut room[align..align + len];
                        buf.copy_from_slice(&data[..len]);
                        assert!(imp.apply_mask(buf, key, offset));
                        assert_eq!(
                            buf,
                            &expected[..],
                            "{imp:?} in place len {len} offset {offset} align {align}"
                        );

                        let src_align = 63 - align;
                        let src = &data[src_align..src_align + len];
                        let mut want = src.to_vec();
                        apply_mask_naive(&mut want, key, offset);
                        let dst = &mut copy_room[align..align + len];
                        assert_eq!(imp.mask_into(dst, src, key, offset), Some(len));
                        assert_eq!(
                            dst,
                            &want[..],
                            "{imp:?} into len {len} offset {offset} align {align}"
                        );
                    }
                    let mut appended = BytesMut::from(&b"head"[..]);
                    assert!(imp.extend_masked(&mut appended, &data[..len], key, offset));
                    assert_eq!(&appended[..4], b"head");
                    assert_eq!(
                        &appended[4..],
                        &expected[..],
                        "{imp:?} extend len {len} offset {offset}"
                    );
                }
            }
        }
    }

    #[test]
    fn unsupported_impls_touch_nothing() {
        for imp in MaskImpl::ALL.into_iter().filter(|imp| !imp.is_supported()) {
            let mut buf = [7u8; 100];
            assert!(!imp.apply_mask(&mut buf, [1, 2, 3, 4], 0));
            assert_eq!(imp.mask_into(&mut buf, &[0; 100], [1, 2, 3, 4], 0), None);
            let mut out = BytesMut::new();
            assert!(!imp.extend_masked(&mut out, &[0; 100], [1, 2, 3, 4], 0));
            assert_eq!(buf, [7u8; 100]);
            assert!(out.is_empty());
        }
    }

    #[test]
    fn mask_into_masks_the_shorter_length() {
        let key = [1, 2, 3, 4];
        let src = [0u8; 100];
        let mut short = [9u8; 70];
        assert_eq!(mask_into(&mut short, &src, key, 1), 70);
        let mut want = [0u8; 70];
        apply_mask_naive(&mut want, key, 1);
        assert_eq!(short, want);
        let mut long = [9u8; 130];
        assert_eq!(mask_into(&mut long, &src, key, 0), 100);
        assert_eq!(&long[100..], &[9u8; 30]);
    }
}
