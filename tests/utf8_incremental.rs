//! §8.1 incremental, fail-fast UTF-8 validation of text messages, differential against
//! `std::str::from_utf8`.
//!
//! §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte
//! stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
//! Connection_."  §5.6: "Note that a particular text frame might include a partial UTF-8
//! sequence; however, the whole message MUST contain valid UTF-8."
//!
//! For any byte string cut into any pieces (empty pieces included):
//! * feeding every piece and then `finish()` succeeds iff `from_utf8` accepts the whole;
//! * fail-fast: when the bytes contain an invalid sequence (not just a truncated end), the
//!   validator fails on exactly the piece holding the first byte at which the input stops
//!   being a prefix of valid UTF-8 — never earlier (no false alarm), never later.
//!
//! That byte is `valid_up_to() + error_len() - 1` when the invalid sequence is a byte that can
//! never start a code point (`80`, `C0`, `F5`, …), and `valid_up_to() + error_len()` when the
//! sequence starts well and a later byte breaks it (`E0 80`: `E0` alone may still become
//! `E0 A0 80`, so nobody can fail on it before the `80` arrives).

use proptest::prelude::*;
use rfc6455::protocol::Utf8Validator;

/// The first index `k` such that `bytes[..=k]` is not a prefix of any valid UTF-8 string, if
/// there is one. Computed from `from_utf8` on prefixes only.
fn first_impossible_byte(bytes: &[u8]) -> Option<usize> {
    let err = std::str::from_utf8(bytes).err()?;
    let error_len = err.error_len()?;
    let valid_up_to = err.valid_up_to();
    let k = (valid_up_to..bytes.len())
        .find(|&k| std::str::from_utf8(&bytes[..=k]).is_err_and(|e| e.error_len().is_some()))?;
    // Consistency with std's report (see the module documentation).
    assert!(
        k + 1 == valid_up_to + error_len || k == valid_up_to + error_len,
        "k {k}, valid_up_to {valid_up_to}, error_len {error_len}"
    );
    Some(k)
}

fn cut(bytes: &[u8], cuts: &[usize]) -> Vec<std::ops::Range<usize>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(bytes.len())).collect();
    cuts.push(0);
    cuts.push(bytes.len());
    cuts.sort_unstable();
    // Duplicates are kept on purpose: they make empty pieces.
    cuts.windows(2).map(|w| w[0]..w[1]).collect()
}

/// Feed `bytes` cut at `cuts` and check the validator against `from_utf8`.
fn check(bytes: &[u8], cuts: &[usize]) -> Result<(), String> {
    let pieces = cut(bytes, cuts);
    let mut validator = Utf8Validator::new();
    let mut failed_at = None;
    for piece in &pieces {
        if validator.feed(&bytes[piece.clone()]).is_err() {
            failed_at = Some(piece.clone());
            break;
        }
    }
    let whole_ok = std::str::from_utf8(bytes).is_ok();
    match (first_impossible_byte(bytes), failed_at) {
        (None, None) => {
            // Valid, or valid but for a truncated code point at the very end.
            if validator.is_complete() != whole_ok {
                return Err(format!(
                    "is_complete() = {} but from_utf8 ok = {whole_ok}",
                    validator.is_complete()
                ));
            }
            let finished = validator.finish().is_ok();
            if finished != whole_ok {
                return Err(format!("finish() ok = {finished} but from_utf8 ok = {whole_ok}"));
            }
            Ok(())
        }
        (None, Some(piece)) => {
            Err(format!("false alarm: failed on piece {piece:?}, but every byte fits valid UTF-8"))
        }
        (Some(k), None) => Err(format!("byte {k} can never be valid UTF-8, but no piece failed")),
        (Some(k), Some(piece)) if piece.contains(&k) => Ok(()),
        (Some(k), Some(piece)) if piece.end <= k => {
            Err(format!("failed early on piece {piece:?}: the first impossible byte is {k}"))
        }
        (Some(k), Some(piece)) => {
            Err(format!("failed late on piece {piece:?}: the first impossible byte is {k}"))
        }
    }
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    // Cut points beyond the input are clamped to its end (making empty trailing pieces).
    prop::collection::vec(0usize..80, 0..12)
}

/// Valid text biased towards multi-byte code points and the edges of each length class.
fn multibyte_text() -> impl Strategy<Value = String> {
    let edge_char = prop::sample::select(vec![
        '\u{0}',
        '\u{7F}',
        '\u{80}',
        '\u{7FF}',
        '\u{800}',
        '\u{D7FF}',
        '\u{E000}',
        '\u{FFFD}',
        '\u{FFFF}',
        '\u{10000}',
        '\u{10FFFF}',
        'é',
        '€',
        '𝄞',
        'κ',
    ]);
    prop::collection::vec(prop_oneof![any::<char>(), edge_char], 0..24)
        .prop_map(|chars| chars.into_iter().collect())
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Remove(prop::sample::Index),
    Truncate(prop::sample::Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes that matter most to UTF-8: continuation bytes, invalid leads, edge leads.
    let byte = prop_oneof![
        any::<u8>(),
        0x80u8..=0xBF,
        prop::sample::select(vec![0xC0u8, 0xC1, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF]),
    ];
    prop_oneof![
        (any::<prop::sample::Index>(), byte.clone()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<prop::sample::Index>(), byte).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Remove),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(bytes: &mut Vec<u8>, mutation: &Mutation) {
    match mutation {
        Mutation::Replace(i, b) if !bytes.is_empty() => {
            let i = i.index(bytes.len());
            bytes[i] = *b;
        }
        Mutation::Insert(i, b) => {
            let i = i.index(bytes.len() + 1);
            bytes.insert(i, *b);
        }
        Mutation::Remove(i) if !bytes.is_empty() => {
            let i = i.index(bytes.len());
            bytes.remove(i);
        }
        Mutation::Truncate(i) => {
            let i = i.index(bytes.len() + 1);
            bytes.truncate(i);
        }
        _ => {}
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64), cuts in cuts()) {
        check(&bytes, &cuts).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn arbitrary_high_bytes(
        bytes in prop::collection::vec(
            prop_oneof![0x80u8..=0xBF, 0xC0u8..=0xFF, Just(b'a')],
            0..32,
        ),
        cuts in cuts(),
    ) {
        // Mostly non-ASCII: exercises sequences split across pieces far more often.
        check(&bytes, &cuts).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn valid_text_is_accepted_however_split(text in multibyte_text(), cuts in cuts()) {
        prop_assert!(first_impossible_byte(text.as_bytes()).is_none());
        check(text.as_bytes(), &cuts).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn mutated_text(
        text in multibyte_text(),
        mutations in prop::collection::vec(mutation(), 1..4),
        cuts in cuts(),
    ) {
        let mut bytes = text.into_bytes();
        for m in &mutations {
            mutate(&mut bytes, m);
        }
        check(&bytes, &cuts).map_err(TestCaseError::fail)?;
    }
}

/// Check `bytes` under every split into at most three pieces.
fn check_all_splits(bytes: &[u8]) {
    for i in 0..=bytes.len() {
        for j in i..=bytes.len() {
            if let Err(why) = check(bytes, &[i, j]) {
                panic!("{bytes:02X?} cut at {i}, {j}: {why}");
            }
        }
    }
}

#[test]
fn classic_invalid_sequences() {
    let cases: &[(&str, &[u8])] = &[
        ("overlong 2-byte NUL", &[0xC0, 0x80]),
        ("overlong 2-byte", &[0xC1, 0xBF]),
        ("overlong 3-byte", &[0xE0, 0x80, 0x80]),
        ("overlong 3-byte, largest", &[0xE0, 0x9F, 0xBF]),
        ("overlong 4-byte", &[0xF0, 0x80, 0x80, 0x80]),
        ("overlong 4-byte, largest", &[0xF0, 0x8F, 0xBF, 0xBF]),
        ("surrogate U+D800", &[0xED, 0xA0, 0x80]),
        ("surrogate U+DFFF", &[0xED, 0xBF, 0xBF]),
        ("surrogate pair", &[0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80]),
        ("above U+10FFFF", &[0xF4, 0x90, 0x80, 0x80]),
        ("lead F5", &[0xF5, 0x80, 0x80, 0x80]),
        ("lead FE", &[0xFE]),
        ("lead FF", &[0xFF]),
        ("lone continuation 80", &[0x80]),
        ("lone continuation BF", &[0xBF]),
        ("continuation after a whole é", &[0xC3, 0xA9, 0x80]),
        ("truncated 3-byte, then ASCII", &[0xE2, 0x82, b'x']),
        ("truncated 4-byte, then a lead", &[0xF0, 0x9F, 0x98, 0xC3, 0xA9]),
    ];
    for (name, bad) in cases {
        for (prefix, suffix) in [("", ""), ("aκ", ""), ("", "z"), ("κόσμε", "€z")] {
            let bytes = [prefix.as_bytes(), bad, suffix.as_bytes()].concat();
            assert!(
                first_impossible_byte(&bytes).is_some(),
                "{name}: the oracle must call this invalid"
            );
            check_all_splits(&bytes);
        }
    }
}

#[test]
fn truncated_at_the_end_fails_only_at_finish() {
    // §5.6: a frame may end inside a code point, the message may not.
    for bad in [&[0xC3][..], &[0xE2, 0x82], &[0xE2], &[0xF0, 0x9F, 0x98], &[0xF4, 0x8F, 0xBF]] {
        let bytes = ["κόσμε".as_bytes(), bad].concat();
        assert!(std::str::from_utf8(&bytes).unwrap_err().error_len().is_none());
        assert!(first_impossible_byte(&bytes).is_none());
        check_all_splits(&bytes);

        let mut validator = Utf8Validator::new();
        assert!(validator.feed(&bytes).is_ok());
        assert!(!validator.is_complete());
        assert!(validator.finish().is_err());
    }
}

#[test]
fn boundary_code_points_are_valid() {
    let text = "\u{0}\u{7F}\u{80}\u{7FF}\u{800}\u{D7FF}\u{E000}\u{FFFD}\u{FFFF}\u{10000}\u{10FFFF}";
    check_all_splits(text.as_bytes());
    let mut validator = Utf8Validator::new();
    for byte in text.as_bytes() {
        assert!(validator.feed(&[*byte]).is_ok());
    }
    assert!(validator.is_complete());
    assert!(validator.finish().is_ok());
}

#[test]
fn autobahn_6_4_fails_before_the_rest_arrives() {
    // Autobahn 6.4.1: "κόσμε" then F4 90 80 80 then "edited", sent in pieces; the peer must
    // fail at the 0x90, not when the message ends.
    let mut validator = Utf8Validator::new();
    assert!(validator.feed("κόσμε".as_bytes()).is_ok());
    assert!(validator.feed(&[0xF4]).is_ok());
    assert!(validator.feed(&[0x90]).is_err());

    // E0 alone may still become E0 A0 80; E0 80 never can.
    let mut validator = Utf8Validator::new();
    assert!(validator.feed(&[0xE0]).is_ok());
    assert!(validator.feed(&[0x80]).is_err());
}

#[test]
fn finish_starts_a_new_message() {
    let mut validator = Utf8Validator::new();
    assert!(validator.feed(&[0xE2, 0x82]).is_ok());
    assert!(validator.finish().is_err());
    // The carried bytes of the failed message do not leak into the next one.
    assert!(validator.feed(b"plain").is_ok());
    assert!(validator.finish().is_ok());
}
