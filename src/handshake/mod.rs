//! The opening handshake (§1.3, §4), sans-IO.
//!
//! `httparse` tokenises HTTP/1.1; the code here judges every header. The server side
//! ([`RequestParser`], [`Request`], [`Accept`]) and the client side ([`ClientRequest`],
//! [`ResponseParser`], [`Response`]) both take bytes in and hand bytes out; the driver in
//! [`crate::socket`] moves them.
//!
//! STUB: the interface below is fixed; the bodies are being written.

use bytes::BytesMut;

mod error;
pub use error::HandshakeError;

/// §1.3: the GUID appended to `Sec-WebSocket-Key` before hashing.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
pub fn accept_key(key: &[u8]) -> String {
    let _ = key;
    todo!()
}

/// Budgets for reading an HTTP head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes a request or response head may take, up to and including the blank line.
    pub max_head_bytes: usize,
    /// Most header fields in one head.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: 16 * 1024,
            max_headers: 64,
        }
    }
}

/// An HTTP response to send: a 101, or a rejection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Header fields, in order.
    pub headers: Vec<(String, String)>,
    /// Body (a `Content-Length` is added when written).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The response as bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        todo!()
    }
}

/// A validated client opening handshake (§4.2.1).
#[derive(Debug, Clone)]
pub struct Request {
    _private: (),
}

impl Request {
    /// The request-target as sent (path and query).
    pub fn target(&self) -> &str {
        todo!()
    }
    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        let _ = name;
        todo!()
    }
    /// `Origin`, if sent.
    pub fn origin(&self) -> Option<&str> {
        todo!()
    }
    /// Offered subprotocols in order of preference.
    pub fn subprotocols(&self) -> &[String] {
        todo!()
    }
    /// Build the 101 for this request.
    pub fn accept(&self, accept: &Accept) -> Result<HttpResponse, HandshakeError> {
        let _ = accept;
        todo!()
    }
}

/// What the application answers to an acceptable request.
#[derive(Debug, Clone, Default)]
pub struct Accept {
    /// The chosen subprotocol (must be one the client offered).
    pub subprotocol: Option<String>,
    /// Extra header fields for the 101 (cookies …).
    pub headers: Vec<(String, String)>,
}

/// Incremental server-side reader of the client's opening handshake.
#[derive(Debug, Clone)]
pub struct RequestParser {
    _private: (),
}

impl RequestParser {
    /// A parser with the given budgets.
    pub fn new(limits: Limits) -> Self {
        let _ = limits;
        todo!()
    }
    /// `Ok(None)`: more bytes needed. `Ok(Some)`: the head bytes were consumed from `buf`.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, HandshakeError> {
        let _ = buf;
        todo!()
    }
}

/// A parsed `ws://` URL (§3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    /// Host (IPv6 literals without brackets).
    pub host: String,
    /// Port (80 when absent).
    pub port: u16,
    /// Resource name: path and query, at least `/`.
    pub resource: String,
}

/// The client's opening handshake (§4.1).
#[derive(Debug, Clone)]
pub struct ClientRequest {
    _private: (),
}

impl ClientRequest {
    /// A request for `url` with a fresh random key.
    pub fn new(url: &str) -> Result<Self, HandshakeError> {
        let _ = url;
        todo!()
    }
    /// The target URL.
    pub fn url(&self) -> &WsUrl {
        todo!()
    }
    /// The request bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        todo!()
    }
    /// A parser for the server's answer to this request.
    pub fn response_parser(&self, limits: Limits) -> ResponseParser {
        let _ = limits;
        todo!()
    }
}

/// Incremental client-side reader of the server's opening handshake.
#[derive(Debug, Clone)]
pub struct ResponseParser {
    _private: (),
}

impl ResponseParser {
    /// `Ok(None)`: more bytes needed. `Ok(Some)`: the head bytes were consumed from `buf`.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<Response>, HandshakeError> {
        let _ = buf;
        todo!()
    }
}

/// A validated 101 response.
#[derive(Debug, Clone)]
pub struct Response {
    _private: (),
}
