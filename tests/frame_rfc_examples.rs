//! RFC 6455 §5.7 "Examples", verbatim, checked in both directions.
//!
//! For every example of §5.7 the wire bytes are the golden value:
//! * parse: `FrameHeader::parse(bytes)` gives the expected header and header length, and a
//!   `FrameDecoder` fed the bytes gives the expected header and the (unmasked) payload;
//! * encode: `encode_frame(header, payload)` gives exactly the bytes, and so does
//!   `FrameHeader::encode` for the header part.

use bytes::BytesMut;
use rfc6455::frame::{
    Frame, FrameDecoder, FrameHeader, LengthForm, MAX_HEADER_LEN, OpCode, encode_frame,
};

/// The masking key of the §5.7 masked examples: `0x37 0xfa 0x21 0x3d`.
const RFC_KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Decode every frame in `wire` (given whole) and check that nothing is left over.
fn decode_all(wire: &[u8]) -> Vec<Frame> {
    let mut decoder = FrameDecoder::new();
    let mut buf = BytesMut::from(wire);
    let mut frames = Vec::new();
    while let Some(frame) = decoder.decode(&mut buf).expect("no budget is set") {
        frames.push(frame);
    }
    assert!(buf.is_empty(), "bytes left over after the last frame");
    assert!(decoder.in_progress().is_none(), "a frame is still in progress");
    frames
}

/// Check one frame's golden bytes in both directions.
fn golden(wire: &[u8], header: FrameHeader, header_len: usize, payload: &[u8]) {
    // Bytes -> header.
    assert_eq!(FrameHeader::parse(wire), Ok((header, header_len)));
    assert_eq!(header.encoded_len(), header_len);

    // Bytes -> frame (header + unmasked payload).
    let frames = decode_all(wire);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].header, header);
    assert_eq!(&frames[0].payload[..], payload);

    // Header -> bytes.
    let mut head = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut head);
    assert_eq!(&head[..n], &wire[..header_len]);

    // Frame -> bytes (the payload is masked by the encoder when the header has a key).
    let mut out = BytesMut::new();
    encode_frame(&header, payload, &mut out);
    assert_eq!(&out[..], wire);
}

#[test]
fn single_frame_unmasked_text() {
    // §5.7: "A single-frame unmasked text message
    //        0x81 0x05 0x48 0x65 0x6c 0x6c 0x6f (contains "Hello")"
    let wire = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let header = FrameHeader {
        fin: true,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode: OpCode::Text,
        masking_key: None,
        payload_len: 5,
        length_form: LengthForm::Short,
    };
    assert_eq!(header, FrameHeader::new(true, OpCode::Text, None, 5));
    golden(&wire, header, 2, b"Hello");
}

#[test]
fn single_frame_masked_text() {
    // §5.7: "A single-frame masked text message
    //        0x81 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58
    //        (contains "Hello")"
    let wire = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    let header = FrameHeader {
        fin: true,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode: OpCode::Text,
        masking_key: Some(RFC_KEY),
        payload_len: 5,
        length_form: LengthForm::Short,
    };
    assert_eq!(header, FrameHeader::new(true, OpCode::Text, Some(RFC_KEY), 5));
    assert!(header.is_masked());
    golden(&wire, header, 6, b"Hello");
}

#[test]
fn fragmented_unmasked_text() {
    // §5.7: "A fragmented unmasked text message
    //        0x01 0x03 0x48 0x65 0x6c (contains "Hel")
    //        0x80 0x02 0x6c 0x6f (contains "lo")"
    let first = [0x01, 0x03, 0x48, 0x65, 0x6c];
    let second = [0x80, 0x02, 0x6c, 0x6f];
    let first_header = FrameHeader::new(false, OpCode::Text, None, 3);
    let second_header = FrameHeader::new(true, OpCode::Continuation, None, 2);
    assert!(!first_header.fin);
    golden(&first, first_header, 2, b"Hel");
    golden(&second, second_header, 2, b"lo");

    // Both fragments back to back in one read buffer decode as two frames, in order.
    let wire = [&first[..], &second[..]].concat();
    let frames = decode_all(&wire);
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].header, first_header);
    assert_eq!(&frames[0].payload[..], b"Hel");
    assert_eq!(frames[1].header, second_header);
    assert_eq!(&frames[1].payload[..], b"lo");

    let mut out = BytesMut::new();
    encode_frame(&first_header, b"Hel", &mut out);
    encode_frame(&second_header, b"lo", &mut out);
    assert_eq!(&out[..], &wire[..]);
}

#[test]
fn unmasked_ping_and_masked_pong() {
    // §5.7: "Unmasked Ping request and masked Ping response
    //        0x89 0x05 0x48 0x65 0x6c 0x6c 0x6f (contains a body of "Hello",
    //        but the contents of the body are arbitrary)
    //        0x8a 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58
    //        (contains a body of "Hello", matching the body of the ping)"
    let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let pong = [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    let ping_header = FrameHeader::new(true, OpCode::Ping, None, 5);
    let pong_header = FrameHeader::new(true, OpCode::Pong, Some(RFC_KEY), 5);
    assert!(ping_header.opcode.is_control());
    assert!(pong_header.opcode.is_control());
    golden(&ping, ping_header, 2, b"Hello");
    golden(&pong, pong_header, 6, b"Hello");
}

#[test]
fn binary_256_bytes_uses_16_bit_length() {
    // §5.7: "256 bytes binary message in a single unmasked frame
    //        0x82 0x7E 0x0100 [256 bytes of binary data]"
    let payload: Vec<u8> = (0..=255u8).collect();
    let wire = [&[0x82, 0x7E, 0x01, 0x00][..], &payload[..]].concat();
    let header = FrameHeader {
        fin: true,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode: OpCode::Binary,
        masking_key: None,
        payload_len: 256,
        length_form: LengthForm::Extended16,
    };
    assert_eq!(header, FrameHeader::new(true, OpCode::Binary, None, 256));
    golden(&wire, header, 4, &payload);
}

#[test]
fn binary_64_kib_uses_64_bit_length() {
    // §5.7: "64KiB binary message in a single unmasked frame
    //        0x82 0x7F 0x0000000000010000 [65536 bytes of binary data]"
    let payload: Vec<u8> = (0..65536u32).map(|i| (i * 7 + i / 256) as u8).collect();
    let wire =
        [&[0x82, 0x7F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00][..], &payload[..]].concat();
    let header = FrameHeader {
        fin: true,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode: OpCode::Binary,
        masking_key: None,
        payload_len: 65536,
        length_form: LengthForm::Extended64,
    };
    assert_eq!(header, FrameHeader::new(true, OpCode::Binary, None, 65536));
    golden(&wire, header, 10, &payload);
}

#[test]
fn length_form_boundaries_are_minimal() {
    // §5.2: "if 0-125, that is the payload length. If 126, the following 2 bytes
    // interpreted as a 16-bit unsigned integer are the payload length. If 127, the
    // following 8 bytes interpreted as a 64-bit unsigned integer ... are the payload
    // length." and "the minimal number of bytes MUST be used to encode the length".
    let cases: [(u64, &[u8]); 6] = [
        (0, &[0x82, 0x00]),
        (125, &[0x82, 0x7D]),
        (126, &[0x82, 0x7E, 0x00, 0x7E]),
        (65535, &[0x82, 0x7E, 0xFF, 0xFF]),
        (65536, &[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]),
        (u64::MAX, &[0x82, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
    ];
    for (len, wire) in cases {
        let header = FrameHeader::new(true, OpCode::Binary, None, len);
        assert_eq!(FrameHeader::parse(wire), Ok((header, wire.len())), "len {len}");
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut head);
        assert_eq!(&head[..n], wire, "len {len}");
    }
}
