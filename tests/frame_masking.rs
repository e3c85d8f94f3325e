//! §5.3 "Client-to-Server Masking".
//!
//! §5.3: "Octet i of the transformed data ("transformed-octet-i") is the XOR of octet i of
//! the original data ("original-octet-i") with octet at index i modulo 4 of the masking key
//! ("masking-key-octet-j"):
//!     j                   = i MOD 4
//!     transformed-octet-i = original-octet-i XOR masking-key-octet-j"
//!
//! * the word-at-a-time `apply_mask` equals the byte-at-a-time `apply_mask_naive` (the
//!   algorithm above, verbatim) for every offset and length;
//! * "the same steps are applied to mask the data as to unmask the data": masking twice is
//!   the identity;
//! * masking a payload in pieces, each with its running offset, equals masking it whole.

use proptest::prelude::*;
use rfc6455::frame::{apply_mask, apply_mask_naive};

/// The §5.3 formula, written out independently of the crate.
fn rfc_formula(data: &[u8], key: [u8; 4], offset: usize) -> Vec<u8> {
    data.iter().enumerate().map(|(i, byte)| byte ^ key[(offset % 4 + i % 4) % 4]).collect()
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(any::<u8>(), 0..100),
        1 => prop::collection::vec(any::<u8>(), 0..10_000),
    ]
}

/// Small offsets, and large ones. The offset is the index of `buf[0]` in the payload, so
/// `offset + buf.len()` fits in a `usize`; the strategy stays within that contract.
fn offset() -> impl Strategy<Value = usize> {
    prop_oneof![0usize..8, 0usize..=usize::MAX / 2]
}

#[test]
fn every_small_offset_and_length_matches_naive() {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let data: Vec<u8> = (0..100u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
    for offset in 0..8 {
        for len in 0..=data.len() {
            let mut fast = data[..len].to_vec();
            let mut naive = data[..len].to_vec();
            apply_mask(&mut fast, key, offset);
            apply_mask_naive(&mut naive, key, offset);
            assert_eq!(fast, naive, "offset {offset} len {len}");
            assert_eq!(fast, rfc_formula(&data[..len], key, offset));
        }
    }
}

#[test]
fn offset_only_matters_modulo_four() {
    let key = [1, 2, 4, 8];
    let data = vec![0u8; 37];
    for base in [0usize, 4, 1 << 32, usize::MAX - 3] {
        for r in 0..4 {
            let mut a = data.clone();
            let mut b = data.clone();
            apply_mask(&mut a, key, r);
            apply_mask(&mut b, key, base.wrapping_add(r));
            assert_eq!(a, b, "base {base} r {r}");
        }
    }
}

#[test]
fn rfc_example_hello() {
    // §5.7: "0x81 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58 (contains "Hello")"
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut payload = *b"Hello";
    apply_mask(&mut payload, key, 0);
    assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    apply_mask(&mut payload, key, 0);
    assert_eq!(&payload, b"Hello");
}

proptest! {
    #[test]
    fn fast_equals_naive(data in data(), key in any::<[u8; 4]>(), offset in offset()) {
        let mut fast = data.clone();
        let mut naive = data.clone();
        apply_mask(&mut fast, key, offset);
        apply_mask_naive(&mut naive, key, offset);
        prop_assert_eq!(&fast, &naive);
        prop_assert_eq!(&fast, &rfc_formula(&data, key, offset));
    }

    #[test]
    fn masking_twice_is_identity(data in data(), key in any::<[u8; 4]>(), offset in offset()) {
        let mut buf = data.clone();
        apply_mask(&mut buf, key, offset);
        apply_mask(&mut buf, key, offset);
        prop_assert_eq!(&buf, &data);

        apply_mask_naive(&mut buf, key, offset);
        apply_mask_naive(&mut buf, key, offset);
        prop_assert_eq!(&buf, &data);
    }

    #[test]
    fn unaligned_slices_match_naive(
        data in prop::collection::vec(any::<u8>(), 0..200),
        key in any::<[u8; 4]>(),
        start in any::<prop::sample::Index>(),
        offset in offset(),
    ) {
        // The fast path must not depend on the slice's address alignment.
        let start = start.index(data.len() + 1);
        let mut fast = data.clone();
        let mut naive = data.clone();
        apply_mask(&mut fast[start..], key, offset);
        apply_mask_naive(&mut naive[start..], key, offset);
        prop_assert_eq!(fast, naive);
    }

    #[test]
    fn piecewise_equals_whole(
        data in data(),
        key in any::<[u8; 4]>(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);

        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
        cuts.push(0);
        cuts.push(data.len());
        cuts.sort_unstable();
        cuts.dedup();
        let mut pieces = data.clone();
        for w in cuts.windows(2) {
            apply_mask(&mut pieces[w[0]..w[1]], key, w[0]);
        }
        prop_assert_eq!(&pieces, &whole);
    }
}
