//! The opening handshake (§4) explained header by header, and judged by the crate's own
//! [`RequestParser`] and [`crate::handshake::ResponseParser`].
//!
//! The parsers stop at the first problem. To report every one, the dissector asks again with
//! the reported problem repaired (the header replaced by a good value), and so on: each
//! judgement is still the parser's, none is made here. The per-header notes only explain
//! what each field is for, with its section.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::BytesMut;

use super::text::escaped;
use crate::handshake::{ClientRequest, HandshakeError, Limits, RequestParser, accept_key};

/// The key used to stand in for a missing or invalid one while looking for more problems.
const STAND_IN_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// How an HTTP request or response starts (the methods of RFC 7231 §4, and the status line).
pub(crate) const HEAD_STARTS: &[&[u8]] = &[
    b"GET ",
    b"HEAD ",
    b"POST ",
    b"PUT ",
    b"DELETE ",
    b"CONNECT ",
    b"OPTIONS ",
    b"TRACE ",
    b"PATCH ",
    b"HTTP/",
];

/// Whether `bytes` starts like an HTTP head: `Some(true)` a request, `Some(false)` a
/// response, `None` neither.
pub(crate) fn head_kind(bytes: &[u8]) -> Option<bool> {
    let start = HEAD_STARTS.iter().find(|s| bytes.starts_with(s))?;
    Some(*start != b"HTTP/")
}

/// The length of the HTTP head at the front of `bytes` (through the blank line), if it ends.
pub fn head_len(bytes: &[u8]) -> Option<usize> {
    bytes.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Dissect an opening handshake: a client's request (`GET …`) or a server's response
/// (`HTTP/…`). A response is judged without knowing the request's key, so its
/// `Sec-WebSocket-Accept` is shown but not checked (see [`handshake_response`]).
///
/// Only the head is dissected; bytes after the blank line are ignored here ([`super::stream`]
/// dissects them as frames).
pub fn handshake(bytes: &[u8]) -> String {
    let mut out = String::new();
    if bytes.starts_with(b"HTTP/") {
        dissect_response(bytes, None, &mut out);
    } else {
        dissect_request(bytes, &mut out);
    }
    out
}

/// Dissect a server's opening handshake response; with the request's `Sec-WebSocket-Key`,
/// its `Sec-WebSocket-Accept` is checked too.
pub fn handshake_response(bytes: &[u8], key: Option<&str>) -> String {
    let mut out = String::new();
    let request = key.map(|k| RequestSummary { key: Some(k.to_owned()), protocols: None });
    dissect_response(bytes, request.as_ref(), &mut out);
    out
}

/// What a response is judged against: the request's key and offered subprotocols.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestSummary {
    pub(crate) key: Option<String>,
    /// `None` when the offer is unknown (any subprotocol is taken as offered).
    pub(crate) protocols: Option<Vec<String>>,
}

/// A head split into its lines, as sent (nothing judged).
#[derive(Debug, Clone)]
struct Head {
    start_line: Vec<u8>,
    fields: Vec<(String, Vec<u8>)>,
    /// Lines that are not `name: value`.
    odd_lines: Vec<Vec<u8>>,
    /// Bytes through the blank line, when it arrived.
    len: Option<usize>,
}

impl Head {
    fn split(bytes: &[u8]) -> Head {
        let len = head_len(bytes);
        let text = bytes.get(..len.unwrap_or(bytes.len())).unwrap_or_default();
        let mut lines = text.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let start_line = lines.next().unwrap_or_default().to_vec();
        let mut fields = Vec::new();
        let mut odd_lines = Vec::new();
        for line in lines {
            if line.is_empty() {
                continue;
            }
            match line.iter().position(|&b| b == b':') {
                Some(colon) => {
                    let name = String::from_utf8_lossy(line.get(..colon).unwrap_or_default());
                    let value = line.get(colon + 1..).unwrap_or_default().trim_ascii();
                    fields.push((name.into_owned(), value.to_vec()));
                }
                None => odd_lines.push(line.to_vec()),
            }
        }
        Head { start_line, fields, odd_lines, len }
    }

    fn count(&self, name: &str) -> usize {
        self.fields.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).count()
    }

    fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }

    fn replace(&mut self, name: &str, value: &str) {
        self.remove(name);
        self.fields.push((name.to_owned(), value.as_bytes().to_vec()));
    }

    fn remove(&mut self, name: &str) {
        self.fields.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    fn keep_first(&mut self, name: &str) {
        let mut seen = false;
        self.fields.retain(|(n, _)| {
            if !n.eq_ignore_ascii_case(name) {
                return true;
            }
            let keep = !seen;
            seen = true;
            keep
        });
    }

    /// The head rebuilt from the model (with repairs).
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.start_line.clone();
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.fields {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// What a problem is about: the start line, a field, a missing field, or the whole head.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Blame {
    StartLine,
    Field(String),
    Missing(&'static str),
    Head,
}

/// Split a request line into method, target and version.
fn request_line_parts(line: &[u8]) -> (String, String, String) {
    let text = String::from_utf8_lossy(line);
    let mut parts = text.splitn(3, ' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let version = parts.next().unwrap_or_default().to_owned();
    (method, target, version)
}

/// Run the server-side parser over `bytes`, then over repaired heads, collecting every
/// problem and what it blames. The first problem is the one a server answers.
fn request_problems(bytes: &[u8], head: &Head) -> (Vec<(HandshakeError, Blame)>, bool) {
    let mut problems: Vec<(HandshakeError, Blame)> = Vec::new();
    let mut judged = false;
    let mut model = head.clone();
    let mut input = bytes.get(..head.len.unwrap_or(bytes.len())).unwrap_or_default().to_vec();
    for _ in 0..16 {
        let mut buf = BytesMut::from(&input[..]);
        let err = match RequestParser::new(Limits::default()).parse(&mut buf) {
            Ok(_) => {
                judged = true;
                break;
            }
            Err(err) => err,
        };
        if problems.iter().any(|(seen, _)| *seen == err) {
            break;
        }
        let (method, target, version) = request_line_parts(&model.start_line);
        let line = |m: &str, t: &str, v: &str| format!("{m} {t} {v}").into_bytes();
        let (blame, repaired) = match &err {
            HandshakeError::MethodNotGet { .. } => {
                model.start_line = line("GET", &target, &version);
                (Blame::StartLine, true)
            }
            HandshakeError::HttpVersionTooOld => {
                model.start_line = line(&method, &target, "HTTP/1.1");
                (Blame::StartLine, true)
            }
            HandshakeError::InvalidTarget { .. } => {
                model.start_line = line(&method, "/", &version);
                (Blame::StartLine, true)
            }
            HandshakeError::MissingHost => {
                let blame = if model.count("Host") > 0 {
                    Blame::Field("host".into())
                } else {
                    Blame::Missing("Host")
                };
                model.replace("Host", "dissector.invalid");
                (blame, true)
            }
            HandshakeError::DuplicateHeader { name } => {
                model.keep_first(name);
                (Blame::Field(name.to_ascii_lowercase()), true)
            }
            HandshakeError::UpgradeNotWebSocket { .. } => {
                let blame = if model.count("Upgrade") > 0 {
                    Blame::Field("upgrade".into())
                } else {
                    Blame::Missing("Upgrade")
                };
                model.replace("Upgrade", "websocket");
                (blame, true)
            }
            HandshakeError::ConnectionNotUpgrade { .. } => {
                let blame = if model.count("Connection") > 0 {
                    Blame::Field("connection".into())
                } else {
                    Blame::Missing("Connection")
                };
                model.replace("Connection", "Upgrade");
                (blame, true)
            }
            HandshakeError::UnsupportedVersion { found } => {
                let blame = if found.is_some() {
                    Blame::Field("sec-websocket-version".into())
                } else {
                    Blame::Missing("Sec-WebSocket-Version")
                };
                model.replace("Sec-WebSocket-Version", "13");
                (blame, true)
            }
            HandshakeError::MissingKey => {
                model.replace("Sec-WebSocket-Key", STAND_IN_KEY);
                (Blame::Missing("Sec-WebSocket-Key"), true)
            }
            HandshakeError::InvalidKey { .. } => {
                model.replace("Sec-WebSocket-Key", STAND_IN_KEY);
                (Blame::Field("sec-websocket-key".into()), true)
            }
            HandshakeError::InvalidSubprotocol { .. } => {
                model.remove("Sec-WebSocket-Protocol");
                (Blame::Field("sec-websocket-protocol".into()), true)
            }
            HandshakeError::InvalidExtensions { .. } => {
                model.remove("Sec-WebSocket-Extensions");
                (Blame::Field("sec-websocket-extensions".into()), true)
            }
            // Rebuilding the head from its lines drops those that are not fields.
            HandshakeError::MalformedHttp { .. } => (Blame::Head, true),
            _ => (Blame::Head, false),
        };
        problems.push((err, blame));
        if !repaired {
            break;
        }
        input = model.to_bytes();
    }
    (problems, judged)
}

/// What a request header is for (§4.1, §4.2.1).
fn request_note(name: &str) -> &'static str {
    match name.to_ascii_lowercase().as_str() {
        "host" => "§4.2.1 item 2: the server's authority (host[:port]), exactly once",
        "upgrade" => "§4.2.1 item 3: must list \"websocket\" (ASCII case-insensitive)",
        "connection" => "§4.2.1 item 4: must include the token \"Upgrade\" (case-insensitive)",
        "sec-websocket-key" => {
            "§4.2.1 item 5: base64 of a random 16-byte nonce (§4.1 step 7), at most once (§11.3.1)"
        }
        "sec-websocket-version" => "§4.2.1 item 6: must be 13, at most once (§11.3.5)",
        "origin" => {
            "§4.2.1 item 7, §10.2: sent by browsers; a server may refuse an origin (e.g. 403)"
        }
        "sec-websocket-protocol" => {
            "§4.2.1 item 8: subprotocols offered, most preferred first, each a token (§4.1 step 10)"
        }
        "sec-websocket-extensions" => {
            "§4.2.1 item 9, §9.1: extensions offered (this crate negotiates none)"
        }
        _ => "not part of the WebSocket handshake (§4.2.1 item 10: other fields, e.g. cookies)",
    }
}

/// Fields the server-side parser judges (a ✓ means it found nothing wrong).
const JUDGED_IN_REQUEST: &[&str] = &[
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
];

/// Dissect a request head into `out`; returns what a response will be judged against.
pub(crate) fn dissect_request(bytes: &[u8], out: &mut String) -> RequestSummary {
    let head = Head::split(bytes);
    let Some(len) = head.len else {
        incomplete(bytes, "request", out);
        return RequestSummary::default();
    };
    let _ = writeln!(out, "HTTP request: the client's opening handshake (§4.1), {len}-byte head");
    let (problems, judged) = request_problems(bytes, &head);

    let (method, target, version) = request_line_parts(&head.start_line);
    let _ = writeln!(out, "  request line: {}", escaped(&head.start_line));
    let line_problems: Vec<&HandshakeError> =
        problems.iter().filter(|(_, b)| *b == Blame::StartLine).map(|(e, _)| e).collect();
    let _ = writeln!(
        out,
        "    method {method}, /resource name/ {target}, version {version}: §4.2.1 item 1 wants \"An HTTP/1.1 or higher GET request\" whose Request-URI is a /resource name/ (§3)"
    );
    mark(&line_problems, judged, out);

    let mut summary = RequestSummary::default();
    for (name, value) in &head.fields {
        let lower = name.to_ascii_lowercase();
        let _ = writeln!(out, "  {name}: {}", escaped(value));
        let _ = writeln!(out, "    {}", request_note(name));
        let blamed: Vec<&HandshakeError> = problems
            .iter()
            .filter(|(_, b)| *b == Blame::Field(lower.clone()))
            .map(|(e, _)| e)
            .collect();
        let judged_here = JUDGED_IN_REQUEST.contains(&lower.as_str());
        if judged_here && !judged && blamed.is_empty() {
            let _ = writeln!(out, "    · not judged: the head could not be read far enough");
        }
        mark(&blamed, judged_here && judged, out);
        if lower == "sec-websocket-key" {
            let key = value.trim_ascii();
            match STANDARD.decode(key) {
                Ok(nonce) => {
                    let _ = writeln!(
                        out,
                        "    decodes to {} bytes: {}",
                        nonce.len(),
                        super::text::hex_inline(&nonce)
                    );
                }
                Err(_) => {
                    let _ = writeln!(out, "    not valid base64");
                }
            }
            let accept = accept_key(key);
            let _ = writeln!(
                out,
                "    Sec-WebSocket-Accept = base64(SHA-1(key + \"{}\")) = {accept}",
                crate::handshake::GUID
            );
            summary.key = Some(String::from_utf8_lossy(key).into_owned());
        }
        if lower == "sec-websocket-protocol" {
            let offered = summary.protocols.get_or_insert_with(Vec::new);
            for p in value.split(|&b| b == b',').map(<[u8]>::trim_ascii).filter(|p| !p.is_empty()) {
                offered.push(String::from_utf8_lossy(p).into_owned());
            }
        }
    }
    if summary.protocols.is_none() {
        summary.protocols = Some(Vec::new());
    }
    for line in &head.odd_lines {
        let _ = writeln!(out, "  {}", escaped(line));
        let _ = writeln!(out, "    ✗ not a header field (no colon)");
    }
    for (err, blame) in &problems {
        if let Blame::Missing(name) = blame {
            let _ = writeln!(out, "  (missing) {name}");
            let _ = writeln!(out, "    {}", request_note(name));
            let _ = writeln!(out, "    ✗ {err}");
        }
    }
    for (err, blame) in &problems {
        if *blame == Blame::Head {
            let _ = writeln!(out, "  ✗ {err}");
        }
    }
    match problems.first() {
        None => {
            let accept = summary.key.as_deref().map(|k| accept_key(k.as_bytes()));
            let _ = writeln!(
                out,
                "verdict: a valid opening handshake; the server would answer 101 Switching Protocols with Sec-WebSocket-Accept: {}",
                accept.unwrap_or_default()
            );
        }
        Some((err, _)) => {
            let status = match err.response() {
                Some(r) => format!("{} {}", r.status, r.reason),
                None => "nothing (the connection is closed)".to_owned(),
            };
            let n = problems.len();
            let _ = writeln!(
                out,
                "verdict: invalid ({n} problem{}); the server would answer {status}: {err}",
                if n == 1 { "" } else { "s" }
            );
        }
    }
    summary
}

/// A ✓ or the problems of one line. `judged`: the parser looks at this line at all.
fn mark(problems: &[&HandshakeError], judged: bool, out: &mut String) {
    if problems.is_empty() {
        if judged {
            let _ = writeln!(out, "    ✓ valid");
        }
        return;
    }
    for err in problems {
        let _ = writeln!(out, "    ✗ {err}");
    }
}

fn incomplete(bytes: &[u8], what: &str, out: &mut String) {
    let _ = writeln!(
        out,
        "HTTP {what}: incomplete head, {} bytes and no blank line (CRLF CRLF) yet",
        bytes.len()
    );
    for line in bytes.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.is_empty() {
            let _ = writeln!(out, "  {}", escaped(line));
        }
    }
}

/// What a response header is for (§4.1, §4.2.2).
fn response_note(name: &str) -> &'static str {
    match name.to_ascii_lowercase().as_str() {
        "upgrade" => {
            "§4.2.2 step 5.2; the client checks it (§4.1 response step 2): must be \"websocket\""
        }
        "connection" => {
            "§4.2.2 step 5.3; the client checks it (§4.1 response step 3): must include \"Upgrade\""
        }
        "sec-websocket-accept" => {
            "§4.2.2 step 5.4, §4.1 response step 4: base64(SHA-1(the request's key + GUID)), once (§11.3.3)"
        }
        "sec-websocket-protocol" => {
            "§4.2.2 step 5.5, §4.1 response step 6: one subprotocol the client offered, once (§11.3.4)"
        }
        "sec-websocket-extensions" => {
            "§4.2.2 step 5.6, §4.1 response step 5: only extensions the client offered"
        }
        _ => "not part of the WebSocket handshake",
    }
}

const JUDGED_IN_RESPONSE: &[&str] = &[
    "upgrade",
    "connection",
    "sec-websocket-accept",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
];

/// Run the client-side parser over the response, then over repaired heads.
fn response_problems(
    bytes: &[u8],
    head: &Head,
    request: Option<&RequestSummary>,
) -> (Vec<(HandshakeError, Blame)>, bool) {
    let mut judged = false;
    let key = request.and_then(|r| r.key.clone());
    let key_known = key.is_some();
    let key = key.unwrap_or_else(|| STAND_IN_KEY.to_owned());
    let offered = request.and_then(|r| r.protocols.clone());
    let mut problems: Vec<(HandshakeError, Blame)> = Vec::new();
    let mut model = head.clone();
    let mut input = bytes.to_vec();
    for _ in 0..16 {
        let mut client = match ClientRequest::with_key("ws://dissector.invalid/", &key) {
            Ok(c) => c,
            Err(_) => break,
        };
        // An unknown offer: take whatever the server chose as offered.
        let protocols = offered.clone().unwrap_or_else(|| {
            model
                .get("Sec-WebSocket-Protocol")
                .map(|p| vec![String::from_utf8_lossy(p.trim_ascii()).into_owned()])
                .unwrap_or_default()
        });
        for p in protocols {
            client = client.subprotocol(p);
        }
        let mut parser = client.response_parser(Limits::default());
        let mut buf = BytesMut::from(&input[..]);
        let err = match parser.parse(&mut buf) {
            Ok(Some(_)) => {
                judged = true;
                break;
            }
            Ok(None) => match parser.parse_eof(&mut buf) {
                Ok(_) => break,
                Err(err) => err,
            },
            Err(err) => err,
        };
        if problems.iter().any(|(seen, _)| *seen == err) {
            break;
        }
        let field = |name: &str| Blame::Field(name.to_ascii_lowercase());
        let (blame, repaired) = match &err {
            HandshakeError::ResponseUpgradeNotWebSocket { found } => {
                model.replace("Upgrade", "websocket");
                (if found.is_some() { field("Upgrade") } else { Blame::Missing("Upgrade") }, true)
            }
            HandshakeError::ResponseConnectionNotUpgrade { found } => {
                model.replace("Connection", "Upgrade");
                let blame = if found.is_some() {
                    field("Connection")
                } else {
                    Blame::Missing("Connection")
                };
                (blame, true)
            }
            HandshakeError::ResponseDuplicateHeader { name } => {
                model.keep_first(name);
                (field(name), true)
            }
            HandshakeError::AcceptMismatch { expected, found } => {
                let blame = if found.is_some() {
                    field("Sec-WebSocket-Accept")
                } else {
                    Blame::Missing("Sec-WebSocket-Accept")
                };
                model.replace("Sec-WebSocket-Accept", expected);
                if !key_known && found.is_some() {
                    // Without the request's key a present Accept cannot be judged.
                    input = model.to_bytes();
                    continue;
                }
                (blame, true)
            }
            HandshakeError::UnexpectedExtensions { .. } => {
                model.remove("Sec-WebSocket-Extensions");
                (field("Sec-WebSocket-Extensions"), true)
            }
            HandshakeError::UnofferedSubprotocol { .. } => {
                model.remove("Sec-WebSocket-Protocol");
                (field("Sec-WebSocket-Protocol"), true)
            }
            HandshakeError::MalformedHttp { .. } => (Blame::Head, true),
            _ => (Blame::Head, false),
        };
        problems.push((err, blame));
        if !repaired {
            break;
        }
        input = model.to_bytes();
    }
    (problems, judged)
}

/// Dissect a response head into `out`, judged against `request` when known.
pub(crate) fn dissect_response(bytes: &[u8], request: Option<&RequestSummary>, out: &mut String) {
    let head = Head::split(bytes);
    let Some(len) = head.len else {
        incomplete(bytes, "response", out);
        return;
    };
    let _ =
        writeln!(out, "HTTP response: the server's opening handshake (§4.2.2), {len}-byte head");
    let status_text = String::from_utf8_lossy(&head.start_line).into_owned();
    let status: Option<u16> = status_text.split(' ').nth(1).and_then(|s| s.parse().ok());
    let _ = writeln!(out, "  status line: {}", escaped(&head.start_line));
    match status {
        Some(101) => {
            let _ = writeln!(
                out,
                "    101 Switching Protocols: the server accepts the upgrade (§4.2.2 step 5.1)"
            );
        }
        Some(code) => {
            let _ = writeln!(
                out,
                "    {code}: not 101, the upgrade was refused; the client handles it per HTTP (§4.1 response step 1)"
            );
        }
        None => {
            let _ = writeln!(out, "    ✗ no status code");
        }
    }
    let (problems, judged) = if status == Some(101) {
        response_problems(bytes.get(..len).unwrap_or_default(), &head, request)
    } else {
        (Vec::new(), false)
    };
    let key = request.and_then(|r| r.key.as_deref());
    for (name, value) in &head.fields {
        let lower = name.to_ascii_lowercase();
        let _ = writeln!(out, "  {name}: {}", escaped(value));
        let _ = writeln!(out, "    {}", response_note(name));
        if status != Some(101) {
            continue;
        }
        let blamed: Vec<&HandshakeError> = problems
            .iter()
            .filter(|(_, b)| *b == Blame::Field(lower.clone()))
            .map(|(e, _)| e)
            .collect();
        if lower == "sec-websocket-accept" && key.is_none() {
            let _ = writeln!(out, "    · not checked: the request's Sec-WebSocket-Key is unknown");
            continue;
        }
        let judged_here = JUDGED_IN_RESPONSE.contains(&lower.as_str());
        if judged_here && !judged && blamed.is_empty() {
            let _ = writeln!(out, "    · not judged: the head could not be read far enough");
        }
        mark(&blamed, judged_here && judged, out);
        if lower == "sec-websocket-accept" {
            if let Some(key) = key {
                let _ = writeln!(out, "    expected for key {key}: {}", accept_key(key.as_bytes()));
            }
        }
    }
    for line in &head.odd_lines {
        let _ = writeln!(out, "  {}", escaped(line));
        let _ = writeln!(out, "    ✗ not a header field (no colon)");
    }
    for (err, blame) in &problems {
        match blame {
            Blame::Missing(name) => {
                let _ = writeln!(out, "  (missing) {name}");
                let _ = writeln!(out, "    {}", response_note(name));
                let _ = writeln!(out, "    ✗ {err}");
            }
            Blame::Head | Blame::StartLine => {
                let _ = writeln!(out, "  ✗ {err}");
            }
            Blame::Field(_) => {}
        }
    }
    match (status, problems.first()) {
        (Some(101), None) => {
            let _ = writeln!(
                out,
                "verdict: a valid 101; the connection is open and frames follow (§4.1: \"the WebSocket Connection is said to be in the OPEN state\")"
            );
        }
        (Some(101), Some((err, _))) => {
            let n = problems.len();
            let _ = writeln!(
                out,
                "verdict: invalid ({n} problem{}); the client MUST _Fail the WebSocket Connection_: {err}",
                if n == 1 { "" } else { "s" }
            );
        }
        (Some(code), _) => {
            let _ = writeln!(
                out,
                "verdict: the server refused the upgrade with {code}; no WebSocket connection"
            );
        }
        (None, _) => {
            let _ = writeln!(out, "verdict: not an HTTP response the client can use");
        }
    }
}
