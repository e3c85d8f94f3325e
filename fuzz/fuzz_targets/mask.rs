//! `apply_mask` (word at a time) against `apply_mask_naive` (§5.3 byte by byte) at arbitrary
//! offsets, lengths, alignments and piece boundaries.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use rfc6455::frame::{apply_mask, apply_mask_naive};

fuzz_target!(|data: &[u8]| {
    if data.len() < 7 {
        return;
    }
    let key = [data[0], data[1], data[2], data[3]];
    let offset = usize::from(u16::from_le_bytes([data[4], data[5]]));
    // Misalign the buffer's start by up to 7 bytes.
    let skew = usize::from(data[6] % 8).min(data.len() - 7);
    let (sizes, payload) = common::split_sizes(&data[7 + skew..]);

    let mut naive = payload.to_vec();
    apply_mask_naive(&mut naive, key, offset);

    let mut whole = data[7..].to_vec();
    let start = skew + (data.len() - 7 - skew - payload.len());
    apply_mask(&mut whole[start..], key, offset);
    assert_eq!(&whole[start..], &naive[..]);

    let mut pieces = payload.to_vec();
    let mut at = 0;
    for chunk in common::chunks(payload, &sizes) {
        let end = at + chunk.len();
        apply_mask(&mut pieces[at..end], key, offset + at);
        at = end;
    }
    assert_eq!(pieces, naive);

    // Masking twice is the identity.
    apply_mask(&mut pieces, key, offset);
    assert_eq!(pieces, payload);
});
