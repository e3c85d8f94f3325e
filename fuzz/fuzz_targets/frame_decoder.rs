//! `FrameDecoder` fed a stream in arbitrary chunks gives the same frames as fed it whole, and
//! re-encoding the frames gives back exactly the bytes consumed. The read buffer only grows
//! with bytes that arrived (never with a declared length).
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rfc6455::FrameError;
use rfc6455::frame::{Frame, FrameDecoder, encode_frame};

#[derive(Debug, PartialEq)]
struct Outcome {
    frames: Vec<Frame>,
    error: Option<FrameError>,
    /// Bytes consumed from the stream (whole frames, and the header of one in progress).
    consumed: usize,
}

fn run(chunks: &[&[u8]], max: Option<u64>) -> Outcome {
    let mut decoder = match max {
        Some(max) => FrameDecoder::with_max_payload_len(max),
        None => FrameDecoder::new(),
    };
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    let mut received = 0usize;
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        received += chunk.len();
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => {
                    assert!(decoder.bytes_wanted(&buf) >= 1 || decoder.in_progress().is_some());
                    break;
                }
                Err(error) => {
                    let consumed = received - buf.len();
                    return Outcome { frames, error: Some(error), consumed };
                }
            }
        }
        // The buffer holds at most the bytes received: a declared length is never reserved.
        assert!(buf.capacity() <= 2 * received.max(64) + 64, "{} {}", buf.capacity(), received);
    }
    let consumed = received - buf.len();
    Outcome { frames, error: None, consumed }
}

fuzz_target!(|data: &[u8]| {
    let (sizes, stream) = common::split_sizes(data);
    let max = sizes.first().map(|&m| (m as u64) * 4);
    for max in [None, max] {
        let whole = run(&[stream], max);
        let chunked = run(&common::chunks(stream, &sizes), max);
        assert_eq!(whole, chunked, "chunking changed the frames");
        if whole.error.is_none() {
            // Re-encoding the frames reproduces the consumed prefix.
            let mut again = BytesMut::new();
            for frame in &whole.frames {
                assert_eq!(frame.payload.len() as u64, frame.header.payload_len);
                encode_frame(&frame.header, &frame.payload, &mut again);
            }
            assert!(again.len() <= whole.consumed);
            assert_eq!(&again[..], &stream[..again.len()]);
        }
    }
});
