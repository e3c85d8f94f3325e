//! §3 `wss://` without the `rustls` feature: a typed refusal that says how to get TLS, before
//! any connection is attempted (the port below has no listener; a connection attempt would
//! fail differently).
#![cfg(not(feature = "rustls"))]

use std::net::TcpListener;

use rfc6455::handshake::ClientRequest;
use rfc6455::{Error, HandshakeError, Settings, connect, connect_with};

#[test]
fn wss_is_refused_with_a_clear_typed_error() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("wss://127.0.0.1:{port}/");
    for result in [
        connect(&url).map(|_| ()),
        connect_with(ClientRequest::new(&url).unwrap(), Settings::default()).map(|_| ()),
    ] {
        match result {
            Err(Error::Handshake(e @ HandshakeError::TlsNotSupported)) => {
                let text = e.to_string();
                assert!(text.contains("`rustls` feature"), "{text}");
            }
            other => panic!("expected TlsNotSupported, got {other:?}"),
        }
    }
}
