//! The server side of the opening handshake: `RequestParser` fed arbitrary bytes in
//! arbitrary chunks. Invariants: chunking never changes the verdict or the bytes consumed;
//! every refusal has an HTTP response, which a client parser reads back as that refusal;
//! every accepted request yields a 101 that a client holding the same key accepts; the
//! scanner looks at each byte a bounded number of times.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rfc6455::HandshakeError;
use rfc6455::handshake::{Accept, ClientRequest, Limits, RequestParser, accept_key};

#[derive(Debug, PartialEq)]
enum Outcome {
    Incomplete,
    Accepted { summary: String, consumed: usize },
    Refused(HandshakeError),
}

fn run(stream: &[u8], chunks: &[&[u8]], limits: Limits) -> Outcome {
    let mut parser = RequestParser::new(limits);
    let mut buf = BytesMut::new();
    let mut fed = 0usize;
    let mut calls = 0u64;
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        fed += chunk.len();
        calls += 1;
        let result = parser.parse(&mut buf);
        // Each byte is examined once, plus a 3-byte overlap per call.
        assert!(parser.bytes_scanned() <= fed as u64 + 3 * calls, "scanned too much");
        match result {
            Ok(None) => assert!(buf.len() < limits.max_head_bytes),
            Ok(Some(request)) => {
                let consumed = fed - buf.len();
                assert!(consumed <= limits.max_head_bytes);
                assert_eq!(&stream[consumed..fed], &buf[..]);
                check_accepted(&request);
                let summary = format!(
                    "{} {} {:?} {} {:?} {:?} {:?}",
                    request.method(),
                    request.target(),
                    request.key(),
                    request.version(),
                    request.subprotocols(),
                    request.extensions(),
                    request.headers().len()
                );
                return Outcome::Accepted { summary, consumed };
            }
            Err(error) => {
                // A refusal is final and knows its HTTP answer.
                assert_eq!(parser.parse(&mut buf).err(), Some(error.clone()));
                let response = error.response().expect("a server-side failure has a response");
                let status = error.status().expect("and a status");
                let client =
                    ClientRequest::with_key("ws://example.com/", "dGhlIHNhbXBsZSBub25jZQ==")
                        .expect("a valid URL");
                let mut answer = BytesMut::from(&response.to_bytes()[..]);
                match client
                    .response_parser(Limits { max_head_bytes: 1 << 16, max_headers: 64 })
                    .parse(&mut answer)
                {
                    Err(HandshakeError::Rejected(seen)) => assert_eq!(seen.status, status),
                    other => panic!("our {status} response read back as {other:?}"),
                }
                return Outcome::Refused(error);
            }
        }
    }
    Outcome::Incomplete
}

fn check_accepted(request: &rfc6455::handshake::Request) {
    let mut accept = Accept::new();
    if let Some(first) = request.subprotocols().first() {
        accept = accept.subprotocol(first.clone());
    }
    let response = match request.accept(&accept) {
        Ok(response) => response,
        Err(e) => panic!("a validated request could not be accepted: {e:?}"),
    };
    let expected = accept_key(request.key().as_bytes());
    assert_eq!(response.header_value("Sec-WebSocket-Accept"), Some(expected.as_str()));
    // A client that sent this key (and offered these subprotocols) accepts our 101.
    let mut client = ClientRequest::with_key("ws://example.com/", request.key()).expect("url");
    for p in request.subprotocols() {
        client = client.subprotocol(p.clone());
    }
    let mut answer = BytesMut::from(&response.to_bytes()[..]);
    let parsed = client.response_parser(Limits::default()).parse(&mut answer);
    match parsed {
        Ok(Some(r)) => {
            assert_eq!(r.status(), 101);
            assert_eq!(r.subprotocol(), request.subprotocols().first().map(String::as_str));
        }
        other => panic!("our own 101 was refused by our client: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let (sizes, stream) = common::split_sizes(data);
    // Small budgets so that the 431 paths are reachable, and the defaults.
    for limits in [Limits { max_head_bytes: 512, max_headers: 8 }, Limits::default()] {
        let whole = run(stream, &[stream], limits);
        let chunked = run(stream, &common::chunks(stream, &sizes), limits);
        assert_eq!(whole, chunked, "chunking changed the verdict");
    }
});
