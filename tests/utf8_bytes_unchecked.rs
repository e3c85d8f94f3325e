//! `Utf8Bytes::as_str` skips re-validation (`from_utf8_unchecked`); this checks it against the
//! plain, checked conversion for every way a `Utf8Bytes` is made: from a `String`, from
//! `&'static str`, through `try_from_bytes`, and as received by a `Connection` (text validated
//! incrementally while its fragments arrived, cut at arbitrary points).

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use rfc6455::frame::{FrameHeader, OpCode, encode_frame};
use rfc6455::{Config, Connection, Message, Role, Utf8Bytes};

fn plain(text: &Utf8Bytes) -> &str {
    std::str::from_utf8(text.as_bytes()).expect("Utf8Bytes must hold UTF-8")
}

#[test]
fn constructors_agree_with_the_checked_conversion() {
    let samples =
        [Utf8Bytes::from("κόσμε"), Utf8Bytes::from(String::from("a€𝄞")), Utf8Bytes::default()];
    for text in &samples {
        assert_eq!(text.as_str(), plain(text));
    }
    let checked = Utf8Bytes::try_from_bytes(Bytes::from_static("☃".as_bytes())).expect("valid");
    assert_eq!(checked.as_str(), plain(&checked));
    assert!(Utf8Bytes::try_from_bytes(Bytes::from_static(&[0xC3, 0x28])).is_err());
}

proptest! {
    #[test]
    fn received_text_agrees_with_the_checked_conversion(text in "\\PC{0,200}", cuts in prop::collection::vec(0usize..200, 0..6)) {
        let bytes = text.as_bytes();
        let mut points: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
        points.sort_unstable();
        points.dedup();
        let mut wire = BytesMut::new();
        let mut start = 0;
        let pieces: Vec<&[u8]> = points
            .iter()
            .chain(std::iter::once(&bytes.len()))
            .map(|&end| { let piece = &bytes[start..end]; start = end; piece })
            .collect();
        for (i, piece) in pieces.iter().enumerate() {
            let opcode = if i == 0 { OpCode::Text } else { OpCode::Continuation };
            let header = FrameHeader::new(i + 1 == pieces.len(), opcode, Some([9, 8, 7, 6]), piece.len() as u64);
            encode_frame(&header, piece, &mut wire);
        }
        let mut server = Connection::new(Role::Server, Config::default());
        server.receive(&wire);
        match server.next_event() {
            Ok(Some(Message::Text(received))) => {
                prop_assert_eq!(received.as_str(), plain(&received));
                prop_assert_eq!(received.as_str(), text.as_str());
            }
            other => prop_assert!(false, "expected the text, got {:?}", other),
        }
    }
}
