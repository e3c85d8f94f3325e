//! `FrameHeader::parse` is total: every byte string either parses to a header that encodes
//! back to exactly the bytes it was parsed from, or reports how many bytes it needs. And an
//! arbitrary header (the crate's `Arbitrary` impl) survives encode → parse.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use rfc6455::frame::{FrameHeader, LengthForm, MAX_HEADER_LEN, RawFrame};

fuzz_target!(|data: &[u8]| {
    match FrameHeader::parse(data) {
        Ok((header, len)) => {
            assert!((2..=MAX_HEADER_LEN).contains(&len));
            assert_eq!(header.encoded_len(), len);
            // The recorded form is the one on the wire: it can always hold the length.
            assert_eq!(header.effective_length_form(), header.length_form);
            let mut out = [0u8; MAX_HEADER_LEN];
            let n = header.encode(&mut out);
            assert_eq!(&out[..n], &data[..len], "parse → encode changed the bytes");
            // The raw builder writes the same header.
            let raw = RawFrame::from_header(&header, Vec::new()).to_bytes();
            assert_eq!(&raw[..], &data[..len]);
            // Every shorter prefix asks for more bytes, and never for more than the header.
            for cut in 0..len {
                match FrameHeader::parse(&data[..cut]) {
                    Err(needed) => assert!(needed > cut && needed <= len, "{cut} {needed}"),
                    Ok(_) => panic!("a {cut}-byte prefix of a {len}-byte header parsed"),
                }
            }
            if header.length_form == LengthForm::minimal_for(header.payload_len) {
                assert_eq!(
                    FrameHeader::new(
                        header.fin,
                        header.opcode,
                        header.masking_key,
                        header.payload_len
                    )
                    .length_form,
                    header.length_form
                );
            }
        }
        Err(needed) => {
            assert!(needed > data.len() && needed <= MAX_HEADER_LEN, "{needed}");
        }
    }

    let mut u = Unstructured::new(data);
    if let Ok(header) = FrameHeader::arbitrary(&mut u) {
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut out);
        assert_eq!(FrameHeader::parse(&out[..n]), Ok((header, n)));
    }
});
