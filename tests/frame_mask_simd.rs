//! §5.3 "Client-to-Server Masking", the fast implementations against the RFC's own algorithm.
//!
//! `apply_mask`, `mask_into` and `extend_masked` pick a vector kernel at run time (AVX-512,
//! AVX2, NEON) for long buffers and the word loop for short ones; `MaskImpl` forces each
//! implementation at every length. Every one the CPU supports must equal
//! `apply_mask_naive` (§5.3: "transformed-octet-i = original-octet-i XOR
//! masking-key-octet-j", j = i MOD 4):
//! * exhaustively: every length 0..=600 (below, at and above the vector widths, the
//!   unrolled rounds and `SIMD_MIN_LEN`), every offset 0..8, every alignment of the buffer's
//!   start 0..64 bytes into a larger allocation;
//! * by proptest: lengths up to 70 000, any offset, any alignment, any key.

use bytes::BytesMut;
use proptest::prelude::*;
use rfc6455::frame::{
    MaskImpl, SIMD_MIN_LEN, apply_mask, apply_mask_naive, extend_masked, mask_into,
};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
const MAX_EXHAUSTIVE: usize = 600;

fn pattern(len: usize) -> Vec<u8> {
    (0..len as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

fn naive(data: &[u8], key: [u8; 4], offset: usize) -> Vec<u8> {
    let mut out = data.to_vec();
    apply_mask_naive(&mut out, key, offset);
    out
}

/// The automatic functions, and every implementation forced, on one case: in place at
/// `align`, copying from a source at `src_align` into a destination at `align`, appending.
fn check_case(
    data: &[u8],
    key: [u8; 4],
    offset: usize,
    align: usize,
    src_align: usize,
    room: &mut [u8],
    src_room: &mut [u8],
) {
    let len = data.len();
    let expected = naive(data, key, offset);
    let what = |name: &str| format!("{name}: len {len} offset {offset} align {align}/{src_align}");

    let buf = &mut room[align..align + len];
    buf.copy_from_slice(data);
    apply_mask(buf, key, offset);
    assert_eq!(buf, &expected[..], "{}", what("apply_mask"));

    let src = &mut src_room[src_align..src_align + len];
    src.copy_from_slice(data);
    let dst = &mut room[align..align + len];
    dst.fill(0xEE);
    assert_eq!(mask_into(dst, src, key, offset), len);
    assert_eq!(dst, &expected[..], "{}", what("mask_into"));

    for imp in MaskImpl::supported() {
        let buf = &mut room[align..align + len];
        buf.copy_from_slice(data);
        assert!(imp.apply_mask(buf, key, offset));
        assert_eq!(buf, &expected[..], "{}", what(&format!("{imp:?} in place")));

        let dst = &mut room[align..align + len];
        dst.fill(0xEE);
        assert_eq!(
            imp.mask_into(dst, &src_room[src_align..src_align + len], key, offset),
            Some(len)
        );
        assert_eq!(dst, &expected[..], "{}", what(&format!("{imp:?} into")));
    }
}

/// Appending to a `BytesMut` that already holds `prefix` bytes (so the spare capacity
/// starts at every alignment too), automatically and with every implementation.
fn check_extend(data: &[u8], key: [u8; 4], offset: usize, prefix: usize) {
    let expected = naive(data, key, offset);
    let head = vec![0xA5; prefix];
    let mut out = BytesMut::from(&head[..]);
    extend_masked(&mut out, data, key, offset);
    assert_eq!(&out[..prefix], &head[..], "extend_masked kept the prefix");
    assert_eq!(&out[prefix..], &expected[..], "extend_masked len {} offset {offset}", data.len());
    for imp in MaskImpl::supported() {
        let mut out = BytesMut::from(&head[..]);
        assert!(imp.extend_masked(&mut out, data, key, offset));
        assert_eq!(&out[..prefix], &head[..]);
        assert_eq!(
            &out[prefix..],
            &expected[..],
            "{imp:?} extend len {} offset {offset}",
            data.len()
        );
    }
}

#[test]
fn the_word_loop_is_always_there_and_a_kernel_is_picked_on_x86_64_and_aarch64() {
    assert!(MaskImpl::Word.is_supported());
    assert!(MaskImpl::selected().is_supported());
    let supported: Vec<MaskImpl> = MaskImpl::supported().collect();
    println!(
        "mask implementations on this CPU: {supported:?}; selected {:?}",
        MaskImpl::selected()
    );
    if cfg!(target_arch = "aarch64") {
        assert_eq!(MaskImpl::selected(), MaskImpl::Neon);
    }
    // (An x86_64 CPU without AVX2 is rare but legal: then the word loop is selected.)
}

#[test]
fn every_length_offset_and_alignment_matches_naive() {
    // The exhaustive range crosses the switch from the word loop to the vector kernels, and
    // the kernels' 256-byte alignment head and unrolled rounds.
    const { assert!(SIMD_MIN_LEN + 256 < MAX_EXHAUSTIVE) };
    let data = pattern(MAX_EXHAUSTIVE);
    let mut room = vec![0u8; MAX_EXHAUSTIVE + 64];
    let mut src_room = vec![0u8; MAX_EXHAUSTIVE + 64];
    for len in 0..=MAX_EXHAUSTIVE {
        for offset in 0..8 {
            for align in 0..64 {
                // The source at another alignment than the destination (and at the same
                // one, when align is 0 or 32).
                let src_align = (64 - align) % 64;
                check_case(&data[..len], KEY, offset, align, src_align, &mut room, &mut src_room);
            }
        }
    }
}

#[test]
fn every_length_and_offset_appends_like_naive() {
    let data = pattern(MAX_EXHAUSTIVE);
    for len in 0..=MAX_EXHAUSTIVE {
        for offset in 0..8 {
            check_extend(&data[..len], KEY, offset, (len * 7 + offset) % 64);
        }
    }
}

#[test]
fn masking_twice_is_the_identity_for_every_impl() {
    // §5.3: "the same steps are applied to mask the data as to unmask the data".
    let data = pattern(5000);
    for imp in MaskImpl::supported() {
        let mut buf = data.clone();
        assert!(imp.apply_mask(&mut buf, KEY, 3));
        assert_ne!(buf, data);
        assert!(imp.apply_mask(&mut buf, KEY, 3));
        assert_eq!(buf, data, "{imp:?}");
    }
}

#[test]
fn pieces_at_running_offsets_equal_the_whole_for_every_impl() {
    let data = pattern(3000);
    let whole = naive(&data, KEY, 0);
    for imp in MaskImpl::supported() {
        let mut buf = data.clone();
        let mut at = 0;
        for piece in [1usize, 191, 192, 193, 7, 256, 1000, 63, 64, 65] {
            let end = (at + piece).min(buf.len());
            assert!(imp.apply_mask(&mut buf[at..end], KEY, at));
            at = end;
        }
        assert!(imp.apply_mask(&mut buf[at..], KEY, at));
        assert_eq!(buf, whole, "{imp:?}");
    }
}

#[test]
fn mask_into_leaves_the_rest_of_a_longer_destination() {
    let src = pattern(300);
    let mut dst = vec![0x11u8; 400];
    assert_eq!(mask_into(&mut dst, &src, KEY, 2), 300);
    assert_eq!(&dst[..300], &naive(&src, KEY, 2)[..]);
    assert!(dst[300..].iter().all(|&b| b == 0x11));
    for imp in MaskImpl::supported() {
        let mut dst = vec![0x11u8; 250];
        assert_eq!(imp.mask_into(&mut dst, &src, KEY, 2), Some(250));
        assert_eq!(&dst[..], &naive(&src[..250], KEY, 2)[..], "{imp:?}");
    }
}

fn len() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => 0usize..1024,
        2 => 1024usize..8192,
        1 => 8192usize..=70_000,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn long_buffers_match_naive(
        len in len(),
        seed in any::<u32>(),
        key in any::<[u8; 4]>(),
        offset in prop_oneof![0usize..8, 0usize..=usize::MAX / 2],
        align in 0usize..64,
        src_align in 0usize..64,
        prefix in 0usize..64,
    ) {
        let data: Vec<u8> = pattern(len).iter().map(|b| b ^ (seed as u8)).collect();
        let mut room = vec![0u8; len + 64];
        let mut src_room = vec![0u8; len + 64];
        check_case(&data, key, offset, align, src_align, &mut room, &mut src_room);
        check_extend(&data, key, offset, prefix);
    }
}
