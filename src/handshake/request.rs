//! The server side: read and judge the client's opening handshake (§4.2.1), answer it
//! (§4.2.2).

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use bytes::BytesMut;

use super::extensions::{extension_name, is_extension};
use super::http::{HeadScanner, Headers, check_parsed, header_slots, is_token, trim_ows};
use super::{HandshakeError, HttpResponse, Limits, accept_key};

/// Incremental server-side reader of the client's opening handshake.
///
/// Feed it the connection's read buffer after every read; it looks only at the bytes that
/// arrived since the last call (a head dribbled one byte at a time costs linear time), never
/// reads past [`Limits::max_head_bytes`], and calls `httparse` once, when the blank line that
/// ends the head is there.
#[derive(Debug, Clone)]
pub struct RequestParser {
    limits: Limits,
    scanner: HeadScanner,
    /// A failure is final: later calls repeat it without looking at the bytes again.
    failed: Option<HandshakeError>,
}

impl RequestParser {
    /// A parser with the given budgets.
    pub fn new(limits: Limits) -> Self {
        RequestParser { limits, scanner: HeadScanner::default(), failed: None }
    }

    /// `Ok(None)`: more bytes needed. `Ok(Some)`: the head bytes were consumed from `buf`.
    ///
    /// `buf` must still hold the bytes seen by earlier calls (append to it, do not drain it):
    /// nothing is consumed until the head is complete. Bytes after the head stay in `buf`;
    /// they are the client's first WebSocket frames. On `Err`, send
    /// [`HandshakeError::response`] and close the connection; the parser keeps returning the
    /// same error.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, HandshakeError> {
        let result = match self.parse_http(buf) {
            Ok(Some(head)) => head.into_handshake().map(Some),
            other => return other.map(|_| None),
        };
        if let Err(err) = &result {
            self.failed = Some(err.clone());
        }
        result
    }

    /// Like [`parse`](Self::parse), but stops once the head is tokenised (its HTTP syntax
    /// and the [`Limits`] checked): the [`HttpRequest`] is not judged as an opening
    /// handshake yet. For a server that answers plain HTTP requests on the same port (a
    /// page, a health check) and upgrades the others with [`HttpRequest::into_handshake`].
    pub fn parse_http(
        &mut self,
        buf: &mut BytesMut,
    ) -> Result<Option<HttpRequest>, HandshakeError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = self.parse_head(buf);
        if let Err(err) = &result {
            self.failed = Some(err.clone());
        }
        result
    }

    fn parse_head(&mut self, buf: &mut BytesMut) -> Result<Option<HttpRequest>, HandshakeError> {
        let Some(head_len) = self.scanner.find_end(buf, &self.limits)? else {
            return Ok(None);
        };
        let head = buf.get(..head_len).unwrap_or_default();
        let request = HttpRequest::from_head(head, &self.limits)?;
        let _ = buf.split_to(head_len);
        self.scanner.reset();
        Ok(Some(request))
    }

    /// Total bytes this parser has examined while looking for the end of heads (for tests
    /// and fuzzers that check the cost stays linear in the bytes received). Only in test
    /// and `cfg(fuzzing)` builds: it is not part of the public API.
    #[cfg(any(test, fuzzing))]
    pub fn bytes_scanned(&self) -> u64 {
        self.scanner.examined()
    }
}

/// A validated client opening handshake (§4.2.1).
///
/// The accessors are named after what §4.2.2 step 4 asks a server to establish: /origin/,
/// /key/, /version/, /resource name/ ([`Request::target`]), /subprotocol/ (chosen from
/// [`Request::subprotocols`]) and /extensions/ ([`Request::extensions`]).
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    target: String,
    headers: Headers,
    host: String,
    key: String,
    subprotocols: Vec<String>,
    extensions: Vec<String>,
}

/// Standard base64 with padding. Trailing bits are allowed: §4.1's own example key
/// "AQIDBAUGBwgJCgsMDQ4PEC==" has them, and the key is only ever hashed as text.
const KEY_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// A complete HTTP request head, tokenised by `httparse` within the [`Limits`], not yet
/// judged as an opening handshake: from [`RequestParser::parse_http`].
#[derive(Debug, Clone)]
pub struct HttpRequest {
    method: String,
    target: String,
    /// The `1` of `HTTP/1.1`.
    minor: u8,
    headers: Headers,
}

impl HttpRequest {
    /// Tokenise a complete head (ending in the blank line).
    fn from_head(head: &[u8], limits: &Limits) -> Result<HttpRequest, HandshakeError> {
        let mut fields = header_slots(limits, head.len());
        let mut req = httparse::Request::new(&mut fields);
        check_parsed(req.parse(head), head.len(), limits)?;
        Ok(HttpRequest {
            method: req.method.unwrap_or_default().to_owned(),
            target: req.path.unwrap_or_default().to_owned(),
            minor: req.version.unwrap_or_default(),
            headers: Headers::from_httparse(req.headers),
        })
    }

    /// The method (`GET`, `POST` ...).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request-target as sent (path and query).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path part of the target (an absolute `http://host/path` target gives `/path`).
    pub fn path(&self) -> &str {
        path_of(&self.target)
    }

    /// The query part of the target, after `?`.
    pub fn query(&self) -> Option<&str> {
        query_of(&self.target)
    }

    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }

    /// All header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// Whether the client asks for a WebSocket (its `Upgrade` lists `websocket`). Only a
    /// hint for routing: [`into_handshake`](Self::into_handshake) judges the request.
    pub fn is_websocket_upgrade(&self) -> bool {
        self.headers.list_contains("Upgrade", "websocket")
    }

    /// Judge the head as an opening handshake (§4.2.1). On `Err`, send
    /// [`HandshakeError::response`] and close the connection.
    pub fn into_handshake(self) -> Result<Request, HandshakeError> {
        Request::judge(&self.method, &self.target, self.minor, self.headers)
    }
}

/// The path part of a request-target (an absolute `http://host/path` target gives `/path`).
fn path_of(target: &str) -> &str {
    let resource = absolute_path(target).unwrap_or(target);
    resource.split_once('?').map_or(resource, |(p, _)| p)
}

/// The query part of a request-target, after `?`.
fn query_of(target: &str) -> Option<&str> {
    target.split_once('?').map(|(_, q)| q)
}

impl Request {
    /// §4.2.1: "If the server, while reading the handshake, finds that the client did not send
    /// a handshake that matches the description below ..., the server MUST stop processing
    /// the client's handshake and return an HTTP response with an appropriate error code".
    /// Each numbered item of that description is checked once, here.
    fn judge(
        method: &str,
        target: &str,
        minor: u8,
        headers: Headers,
    ) -> Result<Request, HandshakeError> {
        // §4.2.1 item 1: "An HTTP/1.1 or higher GET request".
        if method != "GET" {
            return Err(HandshakeError::MethodNotGet { method: method.to_owned() });
        }
        if minor < 1 {
            return Err(HandshakeError::HttpVersionTooOld);
        }
        // §4.2.1 item 1: 'including a "Request-URI" that should be interpreted as a /resource
        // name/ defined in Section 3 (or an absolute HTTP/HTTPS URI containing the /resource
        // name/)'.
        if !(target.starts_with('/') || absolute_path(target).is_some()) {
            return Err(HandshakeError::InvalidTarget { target: target.to_owned() });
        }

        // §4.2.1 item 2: "A |Host| header field containing the server's authority."
        // (RFC 7230 §5.4: more than one Host is answered with 400.)
        let host = match headers.count("Host") {
            0 => return Err(HandshakeError::MissingHost),
            1 => String::from_utf8_lossy(headers.get("Host").unwrap_or_default().trim_ascii())
                .into_owned(),
            _ => return Err(HandshakeError::DuplicateHeader { name: "Host" }),
        };
        if host.is_empty() {
            return Err(HandshakeError::MissingHost);
        }

        // §4.2.1 item 3: 'An |Upgrade| header field containing the value "websocket", treated
        // as an ASCII case-insensitive value.'
        if !headers.list_contains("Upgrade", "websocket") {
            return Err(HandshakeError::UpgradeNotWebSocket { found: headers.joined("Upgrade") });
        }

        // §4.2.1 item 4: 'A |Connection| header field that includes the token "Upgrade",
        // treated as an ASCII case-insensitive value.' (`keep-alive, Upgrade` qualifies.)
        if !headers.list_contains("Connection", "Upgrade") {
            return Err(HandshakeError::ConnectionNotUpgrade {
                found: headers.joined("Connection"),
            });
        }

        // §4.2.1 item 6: "A |Sec-WebSocket-Version| header field, with a value of 13."
        // §11.3.5: it "MUST NOT appear more than once in an HTTP request."
        // Checked before the key, so a client speaking an older draft (which had other key
        // fields) is told which version to speak rather than that its key is missing.
        match headers.count("Sec-WebSocket-Version") {
            0 => return Err(HandshakeError::UnsupportedVersion { found: None }),
            1 => {}
            _ => {
                return Err(HandshakeError::DuplicateHeader { name: "Sec-WebSocket-Version" });
            }
        }
        let version = headers.get("Sec-WebSocket-Version").unwrap_or_default();
        if trim_ows(version) != b"13" {
            return Err(HandshakeError::UnsupportedVersion {
                found: headers.joined("Sec-WebSocket-Version"),
            });
        }

        // §11.3.1: "The |Sec-WebSocket-Key| header field MUST NOT appear more than once in an
        // HTTP request."
        let key = match headers.count("Sec-WebSocket-Key") {
            0 => return Err(HandshakeError::MissingKey),
            1 => headers.get("Sec-WebSocket-Key").unwrap_or_default().trim_ascii(),
            _ => {
                return Err(HandshakeError::DuplicateHeader { name: "Sec-WebSocket-Key" });
            }
        };
        // §4.2.1 item 5: "A |Sec-WebSocket-Key| header field with a base64-encoded ... value
        // that, when decoded, is 16 bytes in length."
        let decoded_len = KEY_BASE64.decode(key).ok().map(|k| k.len());
        if decoded_len != Some(16) {
            return Err(HandshakeError::InvalidKey {
                key: String::from_utf8_lossy(key).into_owned(),
                decoded_len,
            });
        }
        let key = String::from_utf8_lossy(key).into_owned();

        // §4.1 item 10: the subprotocol elements "MUST be non-empty strings with characters in
        // the range U+0021 to U+007E not including separator characters" (1#token).
        let mut subprotocols = Vec::new();
        for element in headers.list("Sec-WebSocket-Protocol") {
            let text = String::from_utf8_lossy(element).into_owned();
            if !is_token(element) {
                return Err(HandshakeError::InvalidSubprotocol { value: text });
            }
            subprotocols.push(text);
        }

        // §9.1: "If a value is received ... during negotiation that does not conform to the
        // ABNF below, the recipient of such malformed data MUST immediately _Fail the
        // WebSocket Connection_." Offers are kept whole (parameters included); which to
        // accept is the application's choice (`Accept::extension`), e.g. through
        // `DeflateConfig::negotiate_offers`. Several fields and comma-separated lists are
        // one list (§9.1: "this header field MAY be split or combined across multiple
        // lines").
        let mut extensions = Vec::new();
        for offer in headers.list("Sec-WebSocket-Extensions") {
            let text = String::from_utf8_lossy(offer).into_owned();
            if !is_extension(offer) {
                return Err(HandshakeError::InvalidExtensions { value: text });
            }
            extensions.push(text);
        }

        Ok(Request {
            method: method.to_owned(),
            target: target.to_owned(),
            headers,
            host,
            key,
            subprotocols,
            extensions,
        })
    }

    /// The method (always `GET`).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request-target as sent (path and query).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path part of the target (an absolute `http://host/path` target gives `/path`).
    pub fn path(&self) -> &str {
        path_of(&self.target)
    }

    /// The query part of the target, after `?`.
    pub fn query(&self) -> Option<&str> {
        query_of(&self.target)
    }

    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }

    /// All header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// `Host` (the server's authority as the client named it).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `Origin`, if sent (and UTF-8). §4.2.2: the server MAY use it to refuse, with e.g. a 403.
    pub fn origin(&self) -> Option<&str> {
        self.headers.get_str("Origin").map(str::trim)
    }

    /// `Sec-WebSocket-Key` as sent (base64 of 16 bytes, whitespace trimmed).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// `Sec-WebSocket-Version` (always 13 once validated).
    pub fn version(&self) -> u8 {
        13
    }

    /// Offered subprotocols in order of preference.
    pub fn subprotocols(&self) -> &[String] {
        &self.subprotocols
    }

    /// Offered extensions in order of preference, each offer whole (`permessage-deflate;
    /// client_max_window_bits`), OWS trimmed; several `Sec-WebSocket-Extensions` fields and
    /// comma-separated elements are flattened into one list, in order. Each follows §9.1's
    /// grammar. Accept one with [`Accept::extension`].
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// Build the 101 for this request.
    ///
    /// Errors if `accept.subprotocol` was not offered, if an element of `accept.extensions`
    /// is malformed or names an extension the client did not offer, or if `accept.headers`
    /// tries to set a field the handshake itself owns.
    pub fn accept(&self, accept: &Accept) -> Result<HttpResponse, HandshakeError> {
        // §4.2.2 step 5: "1. A Status-Line with a 101 response code ... 2. An |Upgrade| header
        // field with value "websocket" ... 3. A |Connection| header field with value
        // "Upgrade". 4. A |Sec-WebSocket-Accept| header field."
        let mut response = HttpResponse::new(101, "Switching Protocols")
            .header("Upgrade", "websocket")
            .header("Connection", "Upgrade")
            .header("Sec-WebSocket-Accept", accept_key(self.key.as_bytes()));
        if let Some(chosen) = &accept.subprotocol {
            // §4.2.2 /subprotocol/: "The value chosen MUST be derived from the client's
            // handshake, specifically by selecting one of the values from the
            // |Sec-WebSocket-Protocol| field".
            if !self.subprotocols.iter().any(|offered| offered == chosen) {
                return Err(HandshakeError::SubprotocolNotOffered { chosen: chosen.clone() });
            }
            response = response.header("Sec-WebSocket-Protocol", chosen.as_str());
        }
        for element in &accept.extensions {
            // §9.1: what the server sends is held to the same grammar as what it reads.
            if !is_extension(element.as_bytes()) {
                return Err(HandshakeError::InvalidAcceptedExtension { value: element.clone() });
            }
            // §4.2.2 /extensions/: "Extensions not listed by the client MUST NOT be listed."
            // (§9: "A server MUST NOT respond with any extension not requested by the
            // client.") The parameters are the extension's own business.
            let name = extension_name(element);
            if !self.extensions.iter().any(|offered| extension_name(offered) == name) {
                return Err(HandshakeError::ExtensionNotOffered { chosen: element.clone() });
            }
        }
        if !accept.extensions.is_empty() {
            // §11.3.2: "the |Sec-WebSocket-Extensions| header field MUST NOT appear more
            // than once in an HTTP response": one field, the elements in order (§9.1: "the
            // order of operations on the data should be assumed to be the same as the order
            // in which the extensions are listed in the server's response").
            response = response.header("Sec-WebSocket-Extensions", accept.extensions.join(", "));
        }
        for (name, value) in &accept.headers {
            // Sec-WebSocket-Extensions comes from `accept.extensions`, checked above; the
            // other fields are the handshake's own.
            if RESERVED_101_FIELDS.iter().any(|r| r.eq_ignore_ascii_case(name)) {
                return Err(HandshakeError::ReservedHeader { name: name.clone() });
            }
            response = response.header(name.as_str(), value.as_str());
        }
        Ok(response)
    }
}

/// Fields of the 101 that [`Accept::headers`] may not set.
const RESERVED_101_FIELDS: &[&str] = &[
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Accept",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
    "Content-Length",
    "Transfer-Encoding",
];

/// For an absolute `http://` or `https://` target, the part from the path on (`/` if empty).
fn absolute_path(target: &str) -> Option<&str> {
    let lower = |n: usize| target.get(..n).map(str::to_ascii_lowercase);
    let rest = if lower(7).as_deref() == Some("http://") {
        target.get(7..)?
    } else if lower(8).as_deref() == Some("https://") {
        target.get(8..)?
    } else {
        return None;
    };
    match rest.find(['/', '?']) {
        Some(i) if rest.get(i..)?.starts_with('/') => rest.get(i..),
        _ => Some("/"),
    }
}

/// What the application answers to an acceptable request.
#[derive(Debug, Clone, Default)]
pub struct Accept {
    /// The chosen subprotocol (must be one the client offered).
    pub subprotocol: Option<String>,
    /// The accepted extension elements, in the order they apply (each must name an
    /// extension the client offered), e.g. the `response` of
    /// [`DeflateConfig::negotiate_offers`](crate::deflate::DeflateConfig::negotiate_offers).
    pub extensions: Vec<String>,
    /// Extra header fields for the 101 (cookies …).
    pub headers: Vec<(String, String)>,
}

impl Accept {
    /// Accept with no subprotocol, no extension and no extra fields.
    pub fn new() -> Self {
        Accept::default()
    }

    /// Choose a subprotocol.
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.subprotocol = Some(protocol.into());
        self
    }

    /// Accept an extension: `element` (name and parameters, e.g. `permessage-deflate;
    /// server_max_window_bits=10`) goes into the 101's `Sec-WebSocket-Extensions`; call
    /// again for more, in the order they apply.
    pub fn extension(mut self, element: impl Into<String>) -> Self {
        self.extensions.push(element.into());
        self
    }

    /// Add a header field to the 101.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_targets() {
        assert_eq!(absolute_path("http://h/chat?x"), Some("/chat?x"));
        assert_eq!(absolute_path("HTTPS://h"), Some("/"));
        assert_eq!(absolute_path("http://h?q"), Some("/"));
        assert_eq!(absolute_path("/chat"), None);
    }

    /// Heads that arrive in pieces: each byte is scanned a bounded number of times
    /// (CVE-2023-43669 class), with `bytes_scanned`, the parser's test-only counter. The rest
    /// of this behaviour is tested in `tests/handshake_incremental.rs`.
    mod incremental {
        use bytes::BytesMut;

        use crate::handshake::{HandshakeError, Limits, RequestParser};

        const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
        Host: server.example.com\r\n\
        Upgrade: websocket\r\n\
        Connection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n\
        \r\n";

        /// A masked text frame "Hi" the client may send right behind its handshake.
        const FRAME: &[u8] = &[0x81, 0x82, 1, 2, 3, 4, b'H' ^ 1, b'i' ^ 2];

        #[test]
        fn dribbled_one_byte_at_a_time_with_trailing_frame() {
            let mut input = REQUEST.to_vec();
            input.extend_from_slice(FRAME);
            let mut parser = RequestParser::new(Limits::default());
            let mut buf = BytesMut::new();
            let mut fed = 0;
            let request = loop {
                buf.extend_from_slice(&input[fed..fed + 1]);
                fed += 1;
                if let Some(r) = parser.parse(&mut buf).unwrap() {
                    break r;
                }
            };
            // The head ends exactly at the blank line; nothing beyond it was needed.
            assert_eq!(fed, REQUEST.len());
            assert_eq!(request.target(), "/chat");
            assert!(buf.is_empty());
            // The frame bytes arriving later stay untouched in the buffer for the frame layer.
            buf.extend_from_slice(&input[fed..]);
            assert_eq!(&buf[..], FRAME);
            // Each byte was looked at a bounded number of times.
            assert!(parser.bytes_scanned() <= 4 * REQUEST.len() as u64);
        }

        #[test]
        fn a_mebibyte_of_garbage_is_refused_at_the_budget() {
            let limits = Limits::default();
            let mut parser = RequestParser::new(limits);
            let mut buf = BytesMut::new();
            let chunk = [b'a'; 1024];
            let mut fed = 0;
            let err = loop {
                assert!(fed < 1024 * 1024, "never refused");
                buf.extend_from_slice(&chunk);
                fed += chunk.len();
                match parser.parse(&mut buf) {
                    Ok(None) => {}
                    Ok(Some(_)) => panic!("garbage accepted"),
                    Err(e) => break e,
                }
            };
            // Refused as soon as the budget was reached, not after the whole mebibyte.
            assert_eq!(fed, limits.max_head_bytes);
            assert_eq!(err, HandshakeError::HeadTooLarge { max: limits.max_head_bytes });
            let response = err.response().unwrap();
            assert_eq!(response.status, 431);
            assert_eq!(response.reason, "Request Header Fields Too Large");
            // The error is final; calling again does not scan again.
            let scanned = parser.bytes_scanned();
            buf.extend_from_slice(&chunk);
            assert_eq!(parser.parse(&mut buf).unwrap_err(), err);
            assert_eq!(parser.bytes_scanned(), scanned);
        }

        #[test]
        fn a_mebibyte_dribbled_without_end_of_head_costs_linear_scanning() {
            let limits = Limits::default();
            let mut parser = RequestParser::new(limits);
            let mut buf = BytesMut::new();
            let mut fed = 0u64;
            // A plausible head that never ends: header lines, one byte at a time.
            let line = b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
            let mut result = Ok(None);
            'feed: for _ in 0..(1024 * 1024 / line.len()) {
                for &b in line {
                    buf.extend_from_slice(&[b]);
                    fed += 1;
                    result = parser.parse(&mut buf);
                    if result.is_err() {
                        break 'feed;
                    }
                }
            }
            assert_eq!(result.unwrap_err().status(), Some(431));
            assert_eq!(fed, limits.max_head_bytes as u64);
            // O(n): each new byte plus at most 3 bytes of overlap per call.
            assert!(
                parser.bytes_scanned() <= 4 * fed,
                "{} scanned for {fed}",
                parser.bytes_scanned()
            );
        }
    }
}
