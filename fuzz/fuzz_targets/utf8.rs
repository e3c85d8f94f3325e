//! `Utf8Validator` against `std::str::from_utf8`, with the input cut at arbitrary points:
//! each piece is refused exactly when the bytes so far can no longer be a prefix of UTF-8
//! (fail-fast, never early), and `finish` accepts exactly valid UTF-8.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use rfc6455::protocol::Utf8Validator;

fn valid_prefix(bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

fuzz_target!(|data: &[u8]| {
    let (sizes, text) = common::split_sizes(data);
    let mut validator = Utf8Validator::new();
    let mut fed = 0;
    for piece in common::chunks(text, &sizes) {
        fed += piece.len();
        let ok = validator.feed(piece).is_ok();
        let expected = valid_prefix(&text[..fed]);
        assert_eq!(ok, expected, "piece ending at {fed}");
        if !ok {
            return;
        }
        assert_eq!(validator.is_complete(), std::str::from_utf8(&text[..fed]).is_ok());
    }
    assert_eq!(validator.finish().is_ok(), std::str::from_utf8(text).is_ok());
    assert!(validator.is_complete());
});
