//! The client side of the opening handshake: `ResponseParser` (for a fixed request with the
//! RFC's key, offering two subprotocols) fed arbitrary bytes in arbitrary chunks, then the
//! end of the stream. Chunking never changes the verdict; an accepted response is a 101 with
//! the right `Sec-WebSocket-Accept` and an offered subprotocol; a rejection's body stays
//! within the head budget.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rfc6455::HandshakeError;
use rfc6455::handshake::{ClientRequest, Limits};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

#[derive(Debug, PartialEq)]
enum Outcome {
    Accepted { subprotocol: Option<String>, headers: usize, consumed: usize },
    Refused(HandshakeError),
}

fn run(stream: &[u8], chunks: &[&[u8]], limits: Limits) -> Outcome {
    let request = ClientRequest::with_key("ws://server.example.com/chat", KEY)
        .expect("valid URL")
        .subprotocol("chat")
        .subprotocol("superchat");
    let mut parser = request.response_parser(limits);
    let mut buf = BytesMut::new();
    let mut fed = 0usize;
    let mut result = Ok(None);
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        fed += chunk.len();
        result = parser.parse(&mut buf);
        if !matches!(result, Ok(None)) {
            break;
        }
    }
    if matches!(result, Ok(None)) {
        result = parser.parse_eof(&mut buf);
    }
    match result {
        Ok(Some(response)) => {
            assert_eq!(response.status(), 101);
            let accept = response.header("Sec-WebSocket-Accept").expect("accept header");
            assert_eq!(accept.trim_ascii(), ACCEPT.as_bytes());
            if let Some(p) = response.subprotocol() {
                assert!(p == "chat" || p == "superchat", "{p}");
            }
            let consumed = fed - buf.len();
            assert!(consumed <= limits.max_head_bytes);
            assert_eq!(&stream[consumed..fed], &buf[..]);
            Outcome::Accepted {
                subprotocol: response.subprotocol().map(str::to_owned),
                headers: response.headers().len(),
                consumed,
            }
        }
        Ok(None) => panic!("parse_eof returned Ok(None)"),
        Err(error) => {
            if let HandshakeError::Rejected(response) = &error {
                assert_ne!(response.status, 101);
                assert!(response.body.len() <= limits.max_head_bytes);
            }
            // A failure is final (ConnectionClosed is parse_eof's verdict on a stream that
            // ended; it is not a property of the bytes, so it is not remembered).
            if error != HandshakeError::ConnectionClosed {
                assert_eq!(parser.parse(&mut buf).err(), Some(error.clone()));
            }
            Outcome::Refused(normalise(error))
        }
    }
}

/// Without a (numeric) `Content-Length`, a rejection's body is "whatever followed the head in
/// `buf`" when the head completed, which depends on the chunking by design: drop it then.
fn normalise(error: HandshakeError) -> HandshakeError {
    match error {
        HandshakeError::Rejected(mut response) => {
            let length = response
                .headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("Content-Length"))
                .and_then(|(_, value)| value.trim().parse::<usize>().ok());
            if length.is_none() {
                response.body.clear();
            }
            HandshakeError::Rejected(response)
        }
        other => other,
    }
}

fuzz_target!(|data: &[u8]| {
    let (sizes, stream) = common::split_sizes(data);
    for limits in [Limits { max_head_bytes: 512, max_headers: 8 }, Limits::default()] {
        let whole = run(stream, &[stream], limits);
        let chunked = run(stream, &common::chunks(stream, &sizes), limits);
        assert_eq!(whole, chunked, "chunking changed the verdict");
    }
});
