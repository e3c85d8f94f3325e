//! §5.2 framing over a byte stream: the decoder's result does not depend on how the bytes
//! were cut into reads.
//!
//! A sequence of arbitrary frames (any header bits, masked and unmasked, payloads of 0–300
//! bytes and sometimes 126–70 000) is encoded into one byte string and fed to a
//! `FrameDecoder` in arbitrary pieces (random cut points, fixed-size pieces down to one
//! byte). For every split:
//! * the decoded frames (header + unmasked payload) equal the originals and the frames
//!   decoded from the whole string at once;
//! * the `inspect` callback of `decode_payload` sees exactly the unmasked payload, in order;
//! * the decoder never grows the read buffer (it must not reserve a declared length), and
//!   `bytes_wanted` never asks for more than the stream still holds.

use bytes::BytesMut;
use proptest::prelude::*;
use rfc6455::FrameError;
use rfc6455::frame::{Frame, FrameDecoder, FrameHeader, LengthForm, OpCode, encode_frame};

const SLACK: usize = 64 * 1024;

/// Deterministic filler for large payloads (generating 70 000 independent bytes per case
/// would make shrinking slow for no gain).
fn filled(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        9 => prop::collection::vec(any::<u8>(), 0..300),
        1 => (126usize..70_000, any::<u64>()).prop_map(|(len, seed)| filled(len, seed)),
    ]
}

/// A frame as it should come out of the decoder: any header bits, the length form that is
/// actually on the wire, and a declared length equal to the payload's.
fn frame() -> impl Strategy<Value = Frame> {
    (
        any::<[bool; 4]>(),
        0u8..16,
        proptest::option::of(any::<[u8; 4]>()),
        prop_oneof![
            Just(LengthForm::Short),
            Just(LengthForm::Extended16),
            Just(LengthForm::Extended64),
        ],
        payload(),
    )
        .prop_map(|([fin, rsv1, rsv2, rsv3], op, masking_key, length_form, payload)| {
            let mut header = FrameHeader {
                fin,
                rsv1,
                rsv2,
                rsv3,
                opcode: OpCode::from_u4(op),
                masking_key,
                payload_len: payload.len() as u64,
                length_form,
            };
            header.length_form = header.effective_length_form();
            Frame { header, payload: payload.into() }
        })
}

/// How the stream is cut into reads.
#[derive(Debug, Clone)]
enum Split {
    /// Cut at these points (mapped onto the stream's length).
    Cuts(Vec<prop::sample::Index>),
    /// Pieces of this many bytes (1 = byte by byte).
    Fixed(usize),
    /// Cut at exactly these byte offsets.
    At(Vec<usize>),
}

fn split() -> impl Strategy<Value = Split> {
    prop_oneof![
        3 => prop::collection::vec(any::<prop::sample::Index>(), 0..40).prop_map(Split::Cuts),
        1 => prop_oneof![Just(1usize), 2usize..20, 100usize..5000].prop_map(Split::Fixed),
    ]
}

fn pieces(wire: &[u8], split: &Split) -> Vec<std::ops::Range<usize>> {
    let mut cuts: Vec<usize> = match split {
        Split::Cuts(indices) => indices.iter().map(|i| i.index(wire.len() + 1)).collect(),
        Split::Fixed(size) => (0..wire.len()).step_by(*size).collect(),
        Split::At(offsets) => offsets.clone(),
    };
    cuts.push(0);
    cuts.push(wire.len());
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2).map(|w| w[0]..w[1]).collect()
}

fn encode_all(frames: &[Frame]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for frame in frames {
        encode_frame(&frame.header, &frame.payload, &mut out);
    }
    out.to_vec()
}

/// Decode the whole stream given in one piece.
fn decode_whole(wire: &[u8]) -> Vec<Frame> {
    let mut decoder = FrameDecoder::new();
    let mut buf = BytesMut::from(wire);
    let mut frames = Vec::new();
    while let Some(frame) = decoder.decode(&mut buf).expect("no budget") {
        frames.push(frame);
    }
    assert!(buf.is_empty());
    frames
}

/// Decode the stream read piece by piece, with all the checks that hold after every call.
fn decode_in_pieces(wire: &[u8], split: &Split) -> Result<Vec<Frame>, TestCaseError> {
    let mut decoder = FrameDecoder::new();
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut seen = Vec::new();
    for piece in pieces(wire, split) {
        let remaining_after = wire.len() - piece.end;
        buf.extend_from_slice(&wire[piece]);
        loop {
            let cap = buf.capacity();
            let header = decoder.decode_header(&mut buf).expect("no budget");
            prop_assert!(buf.capacity() <= cap, "decode_header grew the buffer");
            if header.is_none() {
                break;
            }
            let cap = buf.capacity();
            let frame = decoder
                .decode_payload(&mut buf, |chunk| {
                    seen.extend_from_slice(chunk);
                    Ok::<(), ()>(())
                })
                .expect("the callback never fails");
            prop_assert!(buf.capacity() <= cap, "decode_payload grew the buffer");
            let Some(frame) = frame else { break };
            // The callback saw exactly this frame's unmasked payload, in order.
            prop_assert_eq!(&seen[..], &frame.payload[..]);
            seen.clear();
            frames.push(frame);
        }
        prop_assert!(
            buf.capacity() <= wire.len() + SLACK,
            "capacity {} for a {}-byte stream",
            buf.capacity(),
            wire.len()
        );
        if remaining_after > 0 {
            let wanted = decoder.bytes_wanted(&buf);
            prop_assert!(wanted >= 1);
            prop_assert!(
                wanted <= remaining_after,
                "wants {} with {} bytes to come",
                wanted,
                remaining_after
            );
        }
    }
    prop_assert!(buf.is_empty(), "{} bytes left over", buf.len());
    prop_assert!(decoder.in_progress().is_none());
    prop_assert!(seen.is_empty());
    Ok(frames)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn chunking_does_not_change_the_frames(
        frames in prop::collection::vec(frame(), 1..8),
        split in split(),
    ) {
        let wire = encode_all(&frames);
        let whole = decode_whole(&wire);
        prop_assert_eq!(&whole, &frames);
        let chunked = decode_in_pieces(&wire, &split)?;
        prop_assert_eq!(&chunked, &whole);
    }
}

proptest! {
    #[test]
    fn small_frames_byte_by_byte(
        frames in prop::collection::vec(
            frame().prop_filter("small", |f| f.payload.len() < 300),
            1..6,
        ),
    ) {
        let wire = encode_all(&frames);
        let chunked = decode_in_pieces(&wire, &Split::Fixed(1))?;
        prop_assert_eq!(&chunked, &frames);
    }
}

#[test]
fn declared_length_is_never_reserved() {
    // A header that declares 2^62 bytes (and one with the 64-bit MSB set, which the frame
    // layer still represents): the buffer only ever holds what arrived.
    for declared in [1u64 << 62, u64::MAX] {
        let header = FrameHeader::new(true, OpCode::Binary, Some([1, 2, 3, 4]), declared);
        let mut wire = BytesMut::new();
        encode_frame(&header, &[], &mut wire);
        let mut decoder = FrameDecoder::new();
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&wire);
        assert_eq!(decoder.decode_header(&mut buf), Ok(Some(header)));
        let mut seen = 0usize;
        for _ in 0..64 {
            buf.extend_from_slice(&[0u8; 1024]);
            let frame = decoder
                .decode_payload(&mut buf, |chunk| {
                    seen += chunk.len();
                    Ok::<(), ()>(())
                })
                .expect("callback never fails");
            assert_eq!(frame, None);
            assert!(buf.capacity() <= 64 * 1024 + SLACK, "{}", buf.capacity());
        }
        assert_eq!(seen, 64 * 1024);
        assert_eq!(decoder.in_progress(), Some(&header));
        let expected_wanted =
            usize::try_from(declared).unwrap_or(usize::MAX).saturating_sub(64 * 1024);
        assert_eq!(decoder.bytes_wanted(&buf), expected_wanted);
    }
}

#[test]
fn budget_refuses_before_buffering() {
    let header = FrameHeader::new(true, OpCode::Binary, None, 1 << 40);
    let mut wire = BytesMut::new();
    encode_frame(&header, &[], &mut wire);
    let mut decoder = FrameDecoder::with_max_payload_len(1 << 20);
    assert_eq!(
        decoder.decode(&mut wire),
        Err(FrameError::PayloadTooLong { declared: 1 << 40, max: 1 << 20 })
    );
    assert!(decoder.in_progress().is_none());
}

#[test]
fn frame_split_inside_the_masking_key() {
    // The §5.7 masked "Hello", cut at every pair of points.
    let wire = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    let expected = Frame {
        header: FrameHeader::new(true, OpCode::Text, Some([0x37, 0xfa, 0x21, 0x3d]), 5),
        payload: b"Hello"[..].into(),
    };
    for i in 0..=wire.len() {
        for j in i..=wire.len() {
            let frames = decode_in_pieces(&wire, &Split::At(vec![i, j])).expect("checks hold");
            assert_eq!(frames, vec![expected.clone()], "cuts {i} {j}");
        }
    }
}
