//! §5.2 "Base Framing Protocol": the header model is total and its wire form round-trips.
//!
//! * any `FrameHeader` (any FIN/RSV bits, any of the 16 opcodes, with or without a masking
//!   key, any 64-bit length, any `LengthForm`) encodes to bytes that parse back to the same
//!   header, its length form widened to `effective_length_form()`;
//! * any byte string of at least `MAX_HEADER_LEN` bytes parses to a header whose encoding is
//!   exactly the bytes parsed (every byte pattern a peer can send is representable);
//! * every prefix shorter than a header asks for more bytes than it holds.

use proptest::prelude::*;
use rfc6455::frame::{FrameHeader, LengthForm, MAX_HEADER_LEN, OpCode};

fn length_form() -> impl Strategy<Value = LengthForm> {
    prop_oneof![Just(LengthForm::Short), Just(LengthForm::Extended16), Just(LengthForm::Extended64)]
}

/// Any u64, with extra weight on the §5.2 boundaries (125/126, 65535/65536, the 64-bit MSB).
fn payload_len() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        0..=300u64,
        65_000..=66_000u64,
        prop::sample::select(vec![
            0,
            125,
            126,
            127,
            65_535,
            65_536,
            u64::from(u32::MAX),
            (1 << 63) - 1,
            1 << 63,
            u64::MAX,
        ]),
    ]
}

fn frame_header() -> impl Strategy<Value = FrameHeader> {
    (
        any::<[bool; 4]>(),
        0u8..16,
        proptest::option::of(any::<[u8; 4]>()),
        payload_len(),
        length_form(),
    )
        .prop_map(|([fin, rsv1, rsv2, rsv3], op, masking_key, payload_len, length_form)| {
            FrameHeader {
                fin,
                rsv1,
                rsv2,
                rsv3,
                opcode: OpCode::from_u4(op),
                masking_key,
                payload_len,
                length_form,
            }
        })
}

fn encode(header: &FrameHeader) -> Vec<u8> {
    let mut head = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut head);
    head[..n].to_vec()
}

/// Every strict prefix of a complete header must ask for more bytes than it holds, and never
/// for more than the whole header.
fn check_prefixes(wire: &[u8], header_len: usize) -> Result<(), TestCaseError> {
    for k in 0..header_len {
        match FrameHeader::parse(&wire[..k]) {
            Ok(parsed) => {
                return Err(TestCaseError::fail(format!(
                    "prefix of {k} bytes of a {header_len}-byte header parsed: {parsed:?}"
                )));
            }
            Err(needed) => {
                prop_assert!(needed > k, "prefix {k}: needed {needed}");
                prop_assert!(needed <= header_len, "prefix {k}: needed {needed}");
            }
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn header_encode_then_parse_is_identity(header in frame_header()) {
        let wire = encode(&header);
        prop_assert_eq!(wire.len(), header.encoded_len());
        prop_assert!((2..=MAX_HEADER_LEN).contains(&wire.len()));

        let (parsed, header_len) = FrameHeader::parse(&wire)
            .map_err(|needed| TestCaseError::fail(format!("needed {needed}")))?;
        prop_assert_eq!(header_len, wire.len());
        let expected = FrameHeader { length_form: header.effective_length_form(), ..header };
        prop_assert_eq!(parsed, expected);
        prop_assert_eq!(parsed.payload_len, header.payload_len);
        // The effective form can only widen the recorded one, never narrow it.
        prop_assert!(parsed.length_form >= header.length_form);
        prop_assert!(parsed.length_form >= LengthForm::minimal_for(header.payload_len));

        // Trailing bytes (the payload) never change the header.
        let mut with_payload = wire.clone();
        with_payload.extend_from_slice(&[0xAA; 20]);
        prop_assert_eq!(FrameHeader::parse(&with_payload), Ok((expected, header_len)));

        check_prefixes(&wire, header_len)?;
    }

    #[test]
    fn every_byte_pattern_round_trips(bytes in prop::collection::vec(any::<u8>(), MAX_HEADER_LEN..40)) {
        let (header, header_len) = FrameHeader::parse(&bytes)
            .map_err(|needed| TestCaseError::fail(format!("needed {needed}")))?;
        prop_assert!((2..=MAX_HEADER_LEN).contains(&header_len));
        prop_assert_eq!(header.encoded_len(), header_len);
        // A parsed header records the form that was on the wire, which is never too narrow.
        prop_assert_eq!(header.length_form, header.effective_length_form());
        prop_assert_eq!(encode(&header), &bytes[..header_len]);

        // The fields are the §5.2 bits.
        prop_assert_eq!(header.fin, bytes[0] & 0x80 != 0);
        prop_assert_eq!(header.rsv_bits(), (bytes[0] >> 4) & 0x7);
        prop_assert_eq!(header.opcode.as_u4(), bytes[0] & 0x0F);
        prop_assert_eq!(header.is_masked(), bytes[1] & 0x80 != 0);

        check_prefixes(&bytes, header_len)?;
    }
}

#[test]
fn every_opcode_is_representable() {
    // §5.2: "Opcode: 4 bits ... %x3-7 are reserved for further non-control frames ...
    // %xB-F are reserved for further control frames".
    for byte in 0u8..=255 {
        let opcode = OpCode::from_u4(byte);
        assert_eq!(opcode.as_u4(), byte & 0x0F);
        assert_eq!(opcode.is_control(), byte & 0x08 != 0);
        assert_eq!(opcode.is_reserved(), matches!(byte & 0x0F, 0x3..=0x7 | 0xB..=0xF));
        if let OpCode::Reserved(bits) = opcode {
            assert_eq!(bits, byte & 0x0F);
        }
    }
}

#[test]
fn first_two_bytes_determine_header_length() {
    // Exhaustive over the two fixed bytes: the header is 2, 4 or 10 bytes plus 4 when MASK
    // is set, and shorter buffers say exactly how much they need.
    for b0 in 0u8..=255 {
        for b1 in 0u8..=255 {
            let extra = match b1 & 0x7F {
                126 => 2,
                127 => 8,
                _ => 0,
            };
            let expected_len = 2 + extra + if b1 & 0x80 != 0 { 4 } else { 0 };
            let mut wire = [0u8; MAX_HEADER_LEN];
            wire[0] = b0;
            wire[1] = b1;
            let (header, header_len) = FrameHeader::parse(&wire).expect("total");
            assert_eq!(header_len, expected_len, "{b0:#04x} {b1:#04x}");
            assert_eq!(encode(&header), &wire[..header_len], "{b0:#04x} {b1:#04x}");
            assert_eq!(FrameHeader::parse(&wire[..1]), Err(2));
            if header_len > 2 {
                assert_eq!(FrameHeader::parse(&wire[..2]), Err(header_len));
                assert_eq!(FrameHeader::parse(&wire[..header_len - 1]), Err(header_len));
            }
        }
    }
    assert_eq!(FrameHeader::parse(&[]), Err(2));
}
