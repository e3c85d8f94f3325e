//! The opening handshake (§1.3, §4), sans-IO.
//!
//! `httparse` tokenises HTTP/1.1; the code here judges every header. The server side
//! ([`RequestParser`], [`Request`], [`Accept`]) and the client side ([`ClientRequest`],
//! [`ResponseParser`], [`Response`]) both take bytes in and hand bytes out; the driver in
//! [`crate::socket`] moves them.
//!
//! Where each rule lives:
//!
//! | RFC | rule | file |
//! |---|---|---|
//! | §1.3, §4.2.2 step 5.4 | `Sec-WebSocket-Accept` = base64(SHA-1(key + GUID)) | `accept.rs` |
//! | §3 | `ws://` URIs, resource name, no fragment | `url.rs` |
//! | §4.1 (request) | what a client sends | `response.rs` ([`ClientRequest::to_bytes`]) |
//! | §4.1 (response) | how a client validates the 101 | `response.rs` ([`ResponseParser`]) |
//! | §4.2.1 | how a server validates the request | `request.rs` ([`RequestParser`]) |
//! | §4.2.2 | the server's 101 | `request.rs` ([`Request::accept`]) |
//! | §9.1 | extension element grammar, extension names | `extensions.rs` |
//! | §4.1 step 5, §4.2.2 /extensions/ | only offered extensions are accepted | `response.rs`, `request.rs` |
//! | budgets, RFC 6585 §5 (431) | head bytes, header count | `http.rs` |
//! | status codes for failures | | `error.rs` ([`HandshakeError::response`]) |
//!
//! A server:
//!
//! ```
//! use bytes::BytesMut;
//! use rfc6455::handshake::{Accept, Limits, RequestParser};
//!
//! let mut parser = RequestParser::new(Limits::default());
//! let mut buf = BytesMut::from(
//!     &b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
//!        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//!        Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n"[..],
//! );
//! let answer = match parser.parse(&mut buf) {
//!     Ok(Some(request)) => request.accept(&Accept::new().subprotocol("chat"))?,
//!     Ok(None) => unreachable!("read more bytes into buf and call again"),
//!     Err(err) => err.response().expect("a server-side failure has a response"),
//! };
//! assert_eq!(answer.header_value("Sec-WebSocket-Accept"), Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
//! let _bytes_to_write = answer.to_bytes();
//! # Ok::<(), rfc6455::HandshakeError>(())
//! ```
//!
//! Extensions are carried, not interpreted: a client offers elements
//! ([`ClientRequest::extension`]) and reads the accepted ones ([`Response::extensions`]); a
//! server reads the offers ([`Request::extensions`]) and accepts some
//! ([`Accept::extension`]). This layer checks the §9.1 grammar and that only offered names
//! are accepted; what the parameters mean belongs to the extension (permessage-deflate:
//! [`crate::deflate`]).
//!
//! Known limits: no TLS (`wss://` is refused), line endings must be CRLF, and a head must
//! fit in [`Limits::max_head_bytes`].

mod accept;
mod error;
mod extensions;
mod http;
mod request;
mod response;
mod url;

pub use accept::{GUID, accept_key, random_key};
pub use error::{HandshakeError, HttpSyntax, UrlProblem};
/// The end-of-head scan, shared with the dissector.
pub(crate) use http::HeadScanner;
pub use http::{Headers, HttpResponse};
pub use request::{Accept, HttpRequest, Request, RequestParser};
pub use response::{ClientRequest, Response, ResponseParser};
pub use url::WsUrl;

/// Budgets for reading an HTTP head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes a request or response head may take, up to and including the blank line.
    /// Default: 16 KiB. Also bounds the body kept from a non-101 response.
    pub max_head_bytes: usize,
    /// Most header fields in one head. Default: 64.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_head_bytes: 16 * 1024, max_headers: 64 }
    }
}
