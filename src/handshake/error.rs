//! Why an opening handshake failed, and (for a server) what to answer.
//!
//! Status codes chosen (§4.2.1 only says "an appropriate error code (such as 400 Bad
//! Request)"):
//!
//! | failure | status | why |
//! |---|---|---|
//! | head over budget, too many fields | 431 | RFC 6585 §5 names exactly this |
//! | HTTP syntax | 400 | the request is not valid HTTP |
//! | method not GET | 405 + `Allow: GET` | RFC 7231 §6.5.5: the method is known but not allowed here |
//! | HTTP/1.0 | 400 | 505 means "major version not supported"; 1.0 and 1.1 share a major version |
//! | no `Host`, two `Host`s | 400 | RFC 7230 §5.4 answers both with 400 |
//! | `Upgrade` lacks `websocket` (or is missing) | 426 + `Upgrade: websocket` | RFC 7231 §6.5.15: "the server refuses to perform the request using the current protocol but might be willing to do so after the client upgrades" — exactly a plain HTTP request at a WebSocket endpoint |
//! | `Connection` lacks `Upgrade` | 400 | the client asked for an upgrade but did not mark it hop-by-hop: a broken request |
//! | `Sec-WebSocket-Key` missing, repeated, or not 16 bytes of base64 | 400 | |
//! | `Sec-WebSocket-Version` not 13, or missing | 426 + `Sec-WebSocket-Version: 13` | §4.2.2 /version/ and §4.4: tell the client which version we speak so it can retry; a missing version is a version we do not understand |
//! | malformed `Sec-WebSocket-Protocol` / `-Extensions` | 400 | §4.2.1: "any violations of the ABNF grammar" |
//! | request-target not `/…` nor `http(s)://…` | 400 | §4.2.1 item 1 |
//! | the application chose a subprotocol or an extension the client did not offer, accepted a malformed extension element, or set a reserved field | 500 | our side's mistake, not the client's |

use std::fmt;

use super::HttpResponse;

/// Why `httparse` refused an HTTP head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpSyntax {
    /// A header name holds a byte that is not a token character.
    HeaderName,
    /// A header value holds a control byte.
    HeaderValue,
    /// A line did not end in CRLF.
    NewLine,
    /// The status line's code is not three digits.
    Status,
    /// The method or the request-target holds a byte that is not allowed there.
    Token,
    /// The version is not `HTTP/1.0` or `HTTP/1.1`.
    Version,
    /// The blank line came before the head was complete (e.g. empty lines before the request
    /// line).
    Incomplete,
}

impl fmt::Display for HttpSyntax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HttpSyntax::HeaderName => "a header name contains a character that is not allowed",
            HttpSyntax::HeaderValue => "a header value contains a control character",
            HttpSyntax::NewLine => "a line does not end with CRLF",
            HttpSyntax::Status => "the status code is not three digits",
            HttpSyntax::Token => {
                "the method or the target contains a character that is not allowed"
            }
            HttpSyntax::Version => "the HTTP version is not HTTP/1.0 or HTTP/1.1",
            HttpSyntax::Incomplete => {
                "the blank line came before a complete request or status line"
            }
        })
    }
}

/// What is wrong with a `ws://` URL (§3).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlProblem {
    /// No `scheme://` at the start.
    MissingScheme,
    /// A scheme other than `ws` (or `wss`).
    UnsupportedScheme(String),
    /// A space, control or non-ASCII character.
    InvalidCharacter,
    /// `user@` before the host: §3's `host [":" port]` has no user information.
    UserInfo,
    /// Nothing between `//` and the path.
    MissingHost,
    /// A host with characters a host cannot have, or an unclosed `[`.
    InvalidHost,
    /// A port that is not a number from 1 to 65535.
    InvalidPort,
    /// §3: "Fragment identifiers are meaningless in the context of WebSocket URIs and MUST
    /// NOT be used on these URIs."
    Fragment,
}

impl fmt::Display for UrlProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlProblem::MissingScheme => write!(f, "it does not start with ws://"),
            UrlProblem::UnsupportedScheme(s) => {
                write!(f, "the scheme {s:?} is not ws (§3)")
            }
            UrlProblem::InvalidCharacter => {
                write!(f, "it contains a space, a control character or a non-ASCII character")
            }
            UrlProblem::UserInfo => write!(
                f,
                "it has user information (user@host), which a WebSocket URI cannot carry (§3)"
            ),
            UrlProblem::MissingHost => write!(f, "it has no host"),
            UrlProblem::InvalidHost => write!(f, "the host is not a valid name or IP address"),
            UrlProblem::InvalidPort => write!(f, "the port is not a number from 1 to 65535"),
            UrlProblem::Fragment => write!(
                f,
                "it has a #fragment; §3 says fragments MUST NOT be used on WebSocket URIs (write # as %23)"
            ),
        }
    }
}

/// Why an opening handshake failed.
///
/// Server side: [`HandshakeError::response`] is the HTTP answer to send. Client side: the
/// error says what was wrong with the URL or with the server's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    // ---- budgets and HTTP syntax (either side) ----
    /// No blank line within the first `max` bytes.
    HeadTooLarge {
        /// The budget (`Limits::max_head_bytes`).
        max: usize,
    },
    /// More than `max` header fields.
    TooManyHeaders {
        /// The budget (`Limits::max_headers`).
        max: usize,
    },
    /// The head is not valid HTTP/1.x.
    MalformedHttp {
        /// What httparse objected to.
        problem: HttpSyntax,
    },

    // ---- the client's request (server side, §4.2.1) ----
    /// The method is not GET.
    MethodNotGet {
        /// The method sent.
        method: String,
    },
    /// HTTP/1.0: the upgrade needs HTTP/1.1 or later.
    HttpVersionTooOld,
    /// No `Host` field, or an empty one.
    MissingHost,
    /// A field that may appear only once appeared more than once.
    DuplicateHeader {
        /// The field's name.
        name: &'static str,
    },
    /// `Upgrade` is missing or does not list `websocket`.
    UpgradeNotWebSocket {
        /// The `Upgrade` value(s) received, if any.
        found: Option<String>,
    },
    /// `Connection` is missing or does not list `Upgrade`.
    ConnectionNotUpgrade {
        /// The `Connection` value(s) received, if any.
        found: Option<String>,
    },
    /// No `Sec-WebSocket-Key`.
    MissingKey,
    /// `Sec-WebSocket-Key` is not the base64 encoding of 16 bytes.
    InvalidKey {
        /// The key received (lossy UTF-8).
        key: String,
        /// How many bytes it decodes to; `None` when it is not base64 at all.
        decoded_len: Option<usize>,
    },
    /// `Sec-WebSocket-Version` is missing or not 13.
    UnsupportedVersion {
        /// The version received, if any.
        found: Option<String>,
    },
    /// The request-target is neither a path (`/chat`) nor an absolute `http(s)://` URI.
    InvalidTarget {
        /// The target sent.
        target: String,
    },
    /// `Sec-WebSocket-Protocol` holds something that is not a token.
    InvalidSubprotocol {
        /// The offending element.
        value: String,
    },
    /// `Sec-WebSocket-Extensions` does not follow the §9.1 grammar.
    InvalidExtensions {
        /// The offending offer.
        value: String,
    },

    // ---- the application's answer (server side) ----
    /// `Accept::subprotocol` names a subprotocol the client did not offer.
    SubprotocolNotOffered {
        /// The subprotocol chosen.
        chosen: String,
    },

    /// `Accept::extension` names an extension the client did not offer.
    ExtensionNotOffered {
        /// The element accepted.
        chosen: String,
    },
    /// `Accept::extension` is not a §9.1 extension element.
    InvalidAcceptedExtension {
        /// The element accepted.
        value: String,
    },

    /// `Accept::headers` sets a field the handshake itself writes (`Upgrade`,
    /// `Sec-WebSocket-Accept`, `Sec-WebSocket-Extensions` …).
    ReservedHeader {
        /// The field's name.
        name: String,
    },

    // ---- the URL (client side, §3) ----
    /// The URL is not a valid `ws://` URL.
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        problem: UrlProblem,
    },
    /// A `wss://` URL given to a driver built without TLS (the crate's `rustls` feature off).
    TlsNotSupported,
    /// The operating system's random number generator failed, so no key could be made.
    RandomUnavailable {
        /// The OS error, in words.
        reason: String,
    },

    /// The peer closed the connection before the handshake was complete.
    ConnectionClosed,

    // ---- the server's response (client side, §4.1) ----
    /// The handshake was refused with this HTTP response. Client side: the server answered
    /// with a status other than 101 (the body is at most `Limits::max_head_bytes`). Server
    /// side: the application refused the request with it (and it was sent).
    Rejected(HttpResponse),
    /// The 101's `Upgrade` is missing or is not `websocket`.
    ResponseUpgradeNotWebSocket {
        /// The value(s) received, if any.
        found: Option<String>,
    },
    /// The 101's `Connection` is missing or does not list `Upgrade`.
    ResponseConnectionNotUpgrade {
        /// The value(s) received, if any.
        found: Option<String>,
    },
    /// The 101's `Sec-WebSocket-Accept` is missing or wrong.
    AcceptMismatch {
        /// The value our key calls for.
        expected: String,
        /// The value received, if any.
        found: Option<String>,
    },
    /// The 101 repeats a field that may appear once in a response (§11.3).
    ResponseDuplicateHeader {
        /// The field's name.
        name: &'static str,
    },
    /// The 101 selects a subprotocol we did not offer.
    UnofferedSubprotocol {
        /// The subprotocol the server chose.
        found: String,
    },
    /// The 101's `Sec-WebSocket-Extensions` holds an element that does not follow the §9.1
    /// grammar.
    ResponseInvalidExtensions {
        /// The offending element.
        value: String,
    },
    /// The 101 accepts an extension whose name we did not offer.
    UnofferedExtension {
        /// The element the server sent.
        found: String,
    },
}

impl HandshakeError {
    /// The HTTP status a server answers this failure with; `None` for failures only a client
    /// meets (the URL, the server's response).
    pub fn status(&self) -> Option<u16> {
        use HandshakeError::*;
        Some(match self {
            HeadTooLarge { .. } | TooManyHeaders { .. } => 431,
            MethodNotGet { .. } => 405,
            UpgradeNotWebSocket { .. } | UnsupportedVersion { .. } => 426,
            SubprotocolNotOffered { .. }
            | ExtensionNotOffered { .. }
            | InvalidAcceptedExtension { .. }
            | ReservedHeader { .. } => 500,
            MalformedHttp { .. }
            | HttpVersionTooOld
            | MissingHost
            | DuplicateHeader { .. }
            | ConnectionNotUpgrade { .. }
            | MissingKey
            | InvalidKey { .. }
            | InvalidTarget { .. }
            | InvalidSubprotocol { .. }
            | InvalidExtensions { .. } => 400,
            InvalidUrl { .. }
            | TlsNotSupported
            | RandomUnavailable { .. }
            | Rejected(_)
            | ConnectionClosed
            | ResponseUpgradeNotWebSocket { .. }
            | ResponseConnectionNotUpgrade { .. }
            | AcceptMismatch { .. }
            | ResponseDuplicateHeader { .. }
            | UnofferedSubprotocol { .. }
            | ResponseInvalidExtensions { .. }
            | UnofferedExtension { .. } => return None,
        })
    }

    /// The HTTP response a server sends for this failure, if it is a server-side failure
    /// (`None` for [`HandshakeError::Rejected`]: that response was already sent):
    /// status, reason phrase, the headers the status calls for, and this error's `Display`
    /// as a plain-text body.
    pub fn response(&self) -> Option<HttpResponse> {
        let status = self.status()?;
        let reason = match status {
            400 => "Bad Request",
            405 => "Method Not Allowed",
            426 => "Upgrade Required",
            431 => "Request Header Fields Too Large",
            _ => "Internal Server Error",
        };
        let mut response =
            HttpResponse::new(status, reason).header("Content-Type", "text/plain; charset=utf-8");
        match self {
            // RFC 7231 §6.5.5: "The origin server MUST generate an Allow header field in a
            // 405 response containing a list of the target resource's currently supported
            // methods."
            HandshakeError::MethodNotGet { .. } => response = response.header("Allow", "GET"),
            // RFC 7230 §6.7: "A server that sends a 426 (Upgrade Required) response MUST send
            // an Upgrade header field to indicate the acceptable protocols", and "When Upgrade
            // is sent, the sender MUST also send a Connection header field ... that contains
            // an "upgrade" connection option".
            HandshakeError::UpgradeNotWebSocket { .. } => {
                response = response
                    .header("Upgrade", "websocket")
                    .header("Connection", "Upgrade, close")
                    .header("Sec-WebSocket-Version", "13");
            }
            // §4.2.2 /version/: send "a |Sec-WebSocket-Version| header field indicating the
            // version(s) the server is capable of understanding".
            HandshakeError::UnsupportedVersion { .. } => {
                response = response
                    .header("Upgrade", "websocket")
                    .header("Connection", "Upgrade, close")
                    .header("Sec-WebSocket-Version", "13");
            }
            _ => {}
        }
        Some(response.body(format!("{self}\n")))
    }
}

fn or_nothing(found: &Option<String>) -> String {
    match found {
        Some(v) => format!("{v:?}"),
        None => "nothing".to_owned(),
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use HandshakeError::*;
        match self {
            HeadTooLarge { max } => {
                write!(f, "the HTTP head did not end (no blank line) within {max} bytes, the limit")
            }
            TooManyHeaders { max } => {
                write!(f, "the HTTP head has more than {max} header fields, the limit")
            }
            MalformedHttp { problem } => write!(f, "this is not valid HTTP: {problem}"),
            MethodNotGet { method } => {
                write!(f, "a WebSocket handshake must be a GET request, not {method:?} (§4.1)")
            }
            HttpVersionTooOld => {
                write!(f, "a WebSocket handshake needs HTTP/1.1 or later, not HTTP/1.0 (§4.1)")
            }
            MissingHost => write!(f, "the request has no Host header (§4.1)"),
            DuplicateHeader { name } => {
                write!(f, "the request has more than one {name} header")
            }
            UpgradeNotWebSocket { found } => write!(
                f,
                "this endpoint speaks WebSocket: the Upgrade header must list \"websocket\", it has {} (§4.2.1)",
                or_nothing(found)
            ),
            ConnectionNotUpgrade { found } => write!(
                f,
                "the Connection header must list \"Upgrade\", it has {} (§4.2.1)",
                or_nothing(found)
            ),
            MissingKey => write!(f, "the request has no Sec-WebSocket-Key header (§4.1)"),
            InvalidKey { key, decoded_len: Some(n) } => write!(
                f,
                "Sec-WebSocket-Key {key:?} decodes to {n} bytes; it must be 16 random bytes in base64 (§4.1)"
            ),
            InvalidKey { key, decoded_len: None } => write!(
                f,
                "Sec-WebSocket-Key {key:?} is not base64; it must be 16 random bytes in base64 (§4.1)"
            ),
            UnsupportedVersion { found } => write!(
                f,
                "this server speaks WebSocket version 13; the request's Sec-WebSocket-Version has {} (§4.2.2)",
                or_nothing(found)
            ),
            InvalidTarget { target } => {
                write!(f, "the request-target {target:?} is not a path like /chat (§4.2.1)")
            }
            ReservedHeader { name } => write!(
                f,
                "the application tried to set {name:?} in the 101, a field the handshake itself writes"
            ),
            InvalidSubprotocol { value } => {
                write!(f, "Sec-WebSocket-Protocol element {value:?} is not an HTTP token (§4.1)")
            }
            InvalidExtensions { value } => write!(
                f,
                "Sec-WebSocket-Extensions offer {value:?} does not follow the grammar of §9.1"
            ),
            SubprotocolNotOffered { chosen } => write!(
                f,
                "the server chose subprotocol {chosen:?}, which the client did not offer (§4.2.2)"
            ),
            ExtensionNotOffered { chosen } => write!(
                f,
                "the server accepted extension {chosen:?}, whose name the client did not offer (§4.2.2)"
            ),
            InvalidAcceptedExtension { value } => write!(
                f,
                "the server accepted extension element {value:?}, which does not follow the grammar of §9.1"
            ),
            InvalidUrl { url, problem } => {
                write!(f, "{url:?} is not a WebSocket URL: {problem}")
            }
            TlsNotSupported => write!(
                f,
                "wss:// needs TLS, which this build leaves out: enable rfc6455's `rustls` feature \
                 (or run TLS yourself and hand the stream to WebSocket::client)"
            ),
            RandomUnavailable { reason } => write!(
                f,
                "no random Sec-WebSocket-Key could be made, the OS random generator failed: {reason}"
            ),
            Rejected(r) => {
                write!(f, "the WebSocket upgrade was refused with {} {}", r.status, r.reason)
            }
            ConnectionClosed => write!(
                f,
                "the peer closed the connection before the opening handshake was complete"
            ),
            ResponseUpgradeNotWebSocket { found } => write!(
                f,
                "the server's 101 must have \"Upgrade: websocket\", it has {} (§4.1)",
                or_nothing(found)
            ),
            ResponseConnectionNotUpgrade { found } => write!(
                f,
                "the server's 101 must have \"Connection: Upgrade\", it has {} (§4.1)",
                or_nothing(found)
            ),
            AcceptMismatch { expected, found } => write!(
                f,
                "the server's Sec-WebSocket-Accept should be {expected:?} for our key, it is {} (§4.1)",
                or_nothing(found)
            ),
            ResponseDuplicateHeader { name } => {
                write!(f, "the server's 101 has more than one {name} header (§11.3)")
            }
            UnofferedSubprotocol { found } => write!(
                f,
                "the server selected subprotocol {found:?}, which we did not offer (§4.1)"
            ),
            ResponseInvalidExtensions { value } => write!(
                f,
                "the server's Sec-WebSocket-Extensions element {value:?} does not follow the grammar of §9.1"
            ),
            UnofferedExtension { found } => write!(
                f,
                "the server accepted extension {found:?}, whose name we did not offer (§4.1)"
            ),
        }
    }
}

impl std::error::Error for HandshakeError {}
