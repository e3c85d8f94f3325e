//! The client side: write the opening handshake (§4.1), read and judge the server's answer.

use bytes::BytesMut;

use super::accept::random_key;
use super::extensions::{extension_name, is_extension};
use super::http::{HeadScanner, Headers, check_parsed, header_slots, trim_ows, write_header};
use super::{HandshakeError, HttpResponse, Limits, WsUrl, accept_key};

/// The client's opening handshake (§4.1).
///
/// ```
/// # use rfc6455::handshake::ClientRequest;
/// let request = ClientRequest::new("ws://example.com:8080/chat?room=1")?
///     .origin("http://example.com")
///     .subprotocol("chat")
///     .extension("permessage-deflate; client_max_window_bits");
/// let bytes = request.to_bytes(); // write these, then feed the answer to:
/// let parser = request.response_parser(Default::default());
/// # Ok::<(), rfc6455::HandshakeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ClientRequest {
    url: WsUrl,
    key: String,
    origin: Option<String>,
    subprotocols: Vec<String>,
    extensions: Vec<String>,
    headers: Vec<(String, String)>,
}

impl ClientRequest {
    /// A request for `url` with a fresh random key.
    pub fn new(url: &str) -> Result<Self, HandshakeError> {
        // §4.1 step 1: "The components of the WebSocket URI passed into this algorithm ...
        // MUST be valid according to the specification of WebSocket URIs specified in
        // Section 3."
        let url = WsUrl::parse(url)?;
        Ok(ClientRequest::from_parts(url, random_key()?))
    }

    /// A request for `url` with a given `Sec-WebSocket-Key`, for tests and golden bytes. The
    /// key is sent as given, even if it is not a valid key (to test servers with).
    pub fn with_key(url: &str, key: &str) -> Result<Self, HandshakeError> {
        Ok(ClientRequest::from_parts(WsUrl::parse(url)?, key.to_owned()))
    }

    fn from_parts(url: WsUrl, key: String) -> Self {
        ClientRequest {
            url,
            key,
            origin: None,
            subprotocols: Vec::new(),
            extensions: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Send an `Origin` field (§4.1 step 8: browsers must, other clients may).
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Offer a subprotocol; call again for more, most preferred first.
    pub fn subprotocol(mut self, protocol: impl Into<String>) -> Self {
        self.subprotocols.push(protocol.into());
        self
    }

    /// Offer an extension: `element` is its name and parameters (`permessage-deflate;
    /// client_max_window_bits`, e.g. from
    /// [`DeflateConfig::client_offer`](crate::deflate::DeflateConfig::client_offer)); call
    /// again for more, most preferred first. All go in one `Sec-WebSocket-Extensions` field,
    /// comma-separated, in order. The element is sent as given (CR and LF become spaces), so
    /// that servers can be tested with malformed offers.
    pub fn extension(mut self, element: impl Into<String>) -> Self {
        self.extensions.push(element.into());
        self
    }

    /// Add a header field (cookies, authorization …).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The target URL.
    pub fn url(&self) -> &WsUrl {
        &self.url
    }

    /// The `Sec-WebSocket-Key` sent.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The subprotocols offered.
    pub fn subprotocols(&self) -> &[String] {
        &self.subprotocols
    }

    /// The extension elements offered, in order.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The request bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        // §4.1 step 2: "The method of the request MUST be GET, and the HTTP version MUST be at
        // least 1.1." Step 3: the Request-URI "MUST match the /resource name/".
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(self.url.resource.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        // Step 4: "The request MUST contain a |Host| header field".
        write_header(&mut out, "Host", &self.url.host_header());
        // Step 5: "an |Upgrade| header field whose value MUST include the "websocket" keyword."
        write_header(&mut out, "Upgrade", "websocket");
        // Step 6: "a |Connection| header field whose value MUST include the "Upgrade" token."
        write_header(&mut out, "Connection", "Upgrade");
        // Step 7: "a header field with the name |Sec-WebSocket-Key|".
        write_header(&mut out, "Sec-WebSocket-Key", &self.key);
        // Step 9: "The value of this header field MUST be 13."
        write_header(&mut out, "Sec-WebSocket-Version", "13");
        if let Some(origin) = &self.origin {
            write_header(&mut out, "Origin", origin);
        }
        if !self.subprotocols.is_empty() {
            write_header(&mut out, "Sec-WebSocket-Protocol", &self.subprotocols.join(", "));
        }
        // Step 11: "The request MAY include a header field with the name
        // |Sec-WebSocket-Extensions|."
        if !self.extensions.is_empty() {
            write_header(&mut out, "Sec-WebSocket-Extensions", &self.extensions.join(", "));
        }
        for (name, value) in &self.headers {
            write_header(&mut out, name, value);
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// A parser for the server's answer to this request.
    pub fn response_parser(&self, limits: Limits) -> ResponseParser {
        ResponseParser {
            limits,
            expected_accept: accept_key(self.key.as_bytes()),
            offered: self.subprotocols.clone(),
            offered_extensions: self
                .extensions
                .iter()
                .map(|e| extension_name(e).to_owned())
                .collect(),
            scanner: HeadScanner::default(),
            rejection: None,
            failed: None,
        }
    }
}

/// A non-101 head, waiting for its body.
#[derive(Debug, Clone)]
struct Rejection {
    head_len: usize,
    status: u16,
    reason: String,
    headers: Headers,
    /// Body bytes to take.
    body_len: usize,
}

/// Incremental client-side reader of the server's opening handshake.
///
/// Same rules as [`super::RequestParser`]: `buf` grows between calls, only new bytes are
/// looked at, and a head longer than [`Limits::max_head_bytes`] is refused.
#[derive(Debug, Clone)]
pub struct ResponseParser {
    limits: Limits,
    expected_accept: String,
    offered: Vec<String>,
    /// The names of the extensions offered.
    offered_extensions: Vec<String>,
    scanner: HeadScanner,
    rejection: Option<Rejection>,
    failed: Option<HandshakeError>,
}

impl ResponseParser {
    /// `Ok(None)`: more bytes needed. `Ok(Some)`: the head bytes were consumed from `buf`.
    ///
    /// Bytes after the head stay in `buf`: they are the server's first WebSocket frames. A
    /// status other than 101 is [`HandshakeError::Rejected`], returned once its body is in:
    /// `Content-Length` bytes of it (at most `max_head_bytes`), or without a
    /// `Content-Length` whatever followed the head in `buf`; head and body are consumed.
    /// After an error the parser keeps returning it.
    pub fn parse(&mut self, buf: &mut BytesMut) -> Result<Option<Response>, HandshakeError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = self.parse_head(buf);
        if let Err(err) = &result {
            self.failed = Some(err.clone());
        }
        result
    }

    /// The connection ended: report what there is. A non-101 whose head is in `buf` is
    /// [`HandshakeError::Rejected`] with whatever part of its body arrived; anything else
    /// is [`HandshakeError::ConnectionClosed`] (unless `buf` holds a complete 101 or an
    /// error, which are returned as [`ResponseParser::parse`] would).
    pub fn parse_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Response>, HandshakeError> {
        if let Some(response) = self.parse(buf)? {
            return Ok(Some(response));
        }
        if let Some(r) = &mut self.rejection {
            r.body_len = buf.len().saturating_sub(r.head_len).min(r.body_len);
            let result = self.take_rejection(buf);
            if let Err(err) = &result {
                self.failed = Some(err.clone());
            }
            return result;
        }
        Err(HandshakeError::ConnectionClosed)
    }

    /// Total bytes examined while looking for the end of the head. Only in test and
    /// `cfg(fuzzing)` builds: it is not part of the public API.
    #[cfg(any(test, fuzzing))]
    pub fn bytes_scanned(&self) -> u64 {
        self.scanner.examined()
    }

    fn parse_head(&mut self, buf: &mut BytesMut) -> Result<Option<Response>, HandshakeError> {
        if self.rejection.is_some() {
            return self.take_rejection(buf);
        }
        let Some(head_len) = self.scanner.find_end(buf, &self.limits)? else {
            return Ok(None);
        };
        let head = buf.get(..head_len).unwrap_or_default();
        let mut fields = header_slots(&self.limits, head_len);
        let mut resp = httparse::Response::new(&mut fields);
        check_parsed(resp.parse(head), head_len, &self.limits)?;
        let status = resp.code.unwrap_or_default();
        let reason = resp.reason.unwrap_or_default().to_owned();
        let headers = Headers::from_httparse(resp.headers);

        // §4.1: "If the status code received from the server is not 101, the client handles
        // the response per HTTP [RFC2616] procedures." We hand it, body and all, to the caller.
        if status != 101 {
            let budget = self.limits.max_head_bytes;
            let buffered = buf.len().saturating_sub(head_len);
            let body_len = headers
                .get_str("Content-Length")
                .and_then(|n| n.trim().parse::<usize>().ok())
                .unwrap_or(buffered)
                .min(budget);
            self.rejection = Some(Rejection { head_len, status, reason, headers, body_len });
            return self.take_rejection(buf);
        }

        let response = self.judge(reason, headers)?;
        let _ = buf.split_to(head_len);
        self.scanner.reset();
        Ok(Some(response))
    }

    fn take_rejection(&mut self, buf: &mut BytesMut) -> Result<Option<Response>, HandshakeError> {
        let Some(r) = &self.rejection else {
            return Ok(None);
        };
        let end = r.head_len.saturating_add(r.body_len);
        let Some(body) = buf.get(r.head_len..end) else {
            return Ok(None);
        };
        let mut response = HttpResponse::new(r.status, r.reason.as_str()).body(body);
        response.headers = r
            .headers
            .iter()
            .map(|(n, v)| (n.to_owned(), String::from_utf8_lossy(v).into_owned()))
            .collect();
        let err = HandshakeError::Rejected(response);
        let _ = buf.split_to(end);
        self.rejection = None;
        Err(err)
    }

    /// §4.1: "The client MUST validate the server's response as follows". Each step is
    /// checked once, here.
    fn judge(&self, reason: String, headers: Headers) -> Result<Response, HandshakeError> {
        // Step 2: "If the response lacks an |Upgrade| header field or the |Upgrade| header
        // field contains a value that is not an ASCII case-insensitive match for the value
        // "websocket", the client MUST _Fail the WebSocket Connection_."
        if !headers.list_is_only("Upgrade", "websocket") {
            return Err(HandshakeError::ResponseUpgradeNotWebSocket {
                found: headers.joined("Upgrade"),
            });
        }

        // Step 3: "If the response lacks a |Connection| header field or the |Connection|
        // header field doesn't contain a token that is an ASCII case-insensitive match for
        // the value "Upgrade", the client MUST _Fail the WebSocket Connection_."
        if !headers.list_contains("Connection", "Upgrade") {
            return Err(HandshakeError::ResponseConnectionNotUpgrade {
                found: headers.joined("Connection"),
            });
        }

        // Step 4: "If the response lacks a |Sec-WebSocket-Accept| header field or the
        // |Sec-WebSocket-Accept| contains a value other than the base64-encoded SHA-1 of the
        // concatenation of the |Sec-WebSocket-Key| ... with the string
        // "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" but ignoring any leading and trailing
        // whitespace, the client MUST _Fail the WebSocket Connection_."
        // §11.3.3: it "MUST NOT appear more than once in an HTTP response."
        if headers.count("Sec-WebSocket-Accept") > 1 {
            return Err(HandshakeError::ResponseDuplicateHeader { name: "Sec-WebSocket-Accept" });
        }
        let accept = headers.get("Sec-WebSocket-Accept").map(trim_ows);
        if accept != Some(self.expected_accept.as_bytes()) {
            return Err(HandshakeError::AcceptMismatch {
                expected: self.expected_accept.clone(),
                found: headers.joined("Sec-WebSocket-Accept"),
            });
        }

        // Step 5: "If the response includes a |Sec-WebSocket-Extensions| header field and
        // this header field indicates the use of an extension that was not present in the
        // client's handshake ..., the client MUST _Fail the WebSocket Connection_."
        // Several fields are read as one list: §4.2.2 step 6 lets the server split its list
        // "between multiple instances of the |Sec-WebSocket-Extensions| header field", while
        // §11.3.2 says the field "MUST NOT appear more than once in an HTTP response"; we
        // write one and read either. An extension listed twice is left to the extension to
        // judge (RFC 6455 does not forbid it; RFC 7692 §5 does for permessage-deflate).
        let mut extensions = Vec::new();
        for element in headers.list("Sec-WebSocket-Extensions") {
            let text = String::from_utf8_lossy(element).into_owned();
            // §9.1: "If a value is received by either the client or the server during
            // negotiation that does not conform to the ABNF below, the recipient of such
            // malformed data MUST immediately _Fail the WebSocket Connection_."
            if !is_extension(element) {
                return Err(HandshakeError::ResponseInvalidExtensions { value: text });
            }
            let name = extension_name(&text);
            if !self.offered_extensions.iter().any(|offered| offered == name) {
                return Err(HandshakeError::UnofferedExtension { found: text });
            }
            extensions.push(text);
        }

        // Step 6: "If the response includes a |Sec-WebSocket-Protocol| header field and this
        // header field indicates the use of a subprotocol that was not present in the
        // client's handshake ..., the client MUST _Fail the WebSocket Connection_."
        // §11.3.4: it "MUST NOT appear more than once in an HTTP response."
        if headers.count("Sec-WebSocket-Protocol") > 1 {
            return Err(HandshakeError::ResponseDuplicateHeader { name: "Sec-WebSocket-Protocol" });
        }
        let subprotocol = match headers.get("Sec-WebSocket-Protocol").map(trim_ows) {
            None => None,
            Some(chosen) => match self.offered.iter().find(|o| o.as_bytes() == chosen) {
                Some(offered) => Some(offered.clone()),
                None => {
                    return Err(HandshakeError::UnofferedSubprotocol {
                        found: String::from_utf8_lossy(chosen).into_owned(),
                    });
                }
            },
        };

        Ok(Response { reason, headers, subprotocol, extensions })
    }
}

/// A validated 101 response.
#[derive(Debug, Clone)]
pub struct Response {
    reason: String,
    headers: Headers,
    subprotocol: Option<String>,
    extensions: Vec<String>,
}

impl Response {
    /// The status code (always 101).
    pub fn status(&self) -> u16 {
        101
    }

    /// The reason phrase as sent.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.get(name)
    }

    /// All header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The subprotocol the server selected, if any (one we offered).
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The extensions the server accepted, in the order they apply: each element as
    /// received (OWS trimmed; several fields and comma-separated lists flattened), each
    /// well formed (§9.1) and naming an extension we offered. Its parameters are for the
    /// extension to judge, e.g.
    /// [`DeflateConfig::check_response_extensions`](crate::deflate::DeflateConfig::check_response_extensions).
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }
}
