//! A client's opening handshake request (§4.1, §4.2.1) dissected line by line, every problem
//! found by the server-side [`RequestParser`] with the head repaired after each.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::BytesMut;

use super::handshake::{Blame, Head, RequestSummary, STAND_IN_KEY, incomplete, mark};
use super::text::{escaped, hex_inline};
use crate::handshake::{GUID, HandshakeError, Limits, RequestParser, accept_key};

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
                let blame = if model.fields.count("Host") > 0 {
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
                let blame = if model.fields.count("Upgrade") > 0 {
                    Blame::Field("upgrade".into())
                } else {
                    Blame::Missing("Upgrade")
                };
                model.replace("Upgrade", "websocket");
                (blame, true)
            }
            HandshakeError::ConnectionNotUpgrade { .. } => {
                let blame = if model.fields.count("Connection") > 0 {
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
            "§4.2.1 item 9, §9.1: extensions offered, most preferred first, each `name; param=value`"
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
pub(super) fn dissect_request(bytes: &[u8], out: &mut String) -> RequestSummary {
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
    for (name, value) in head.fields.iter() {
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
                        hex_inline(&nonce)
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
                GUID
            );
            summary.key = Some(String::from_utf8_lossy(key).into_owned());
        }
        if lower == "sec-websocket-protocol" {
            let offered = summary.protocols.get_or_insert_with(Vec::new);
            for p in value.split(|&b| b == b',').map(<[u8]>::trim_ascii).filter(|p| !p.is_empty()) {
                offered.push(String::from_utf8_lossy(p).into_owned());
            }
        }
        if lower == "sec-websocket-extensions" {
            let offered = summary.extensions.get_or_insert_with(Vec::new);
            for e in value.split(|&b| b == b',').map(<[u8]>::trim_ascii).filter(|e| !e.is_empty()) {
                offered.push(String::from_utf8_lossy(e).into_owned());
            }
        }
    }
    if summary.protocols.is_none() {
        summary.protocols = Some(Vec::new());
    }
    if summary.extensions.is_none() {
        summary.extensions = Some(Vec::new());
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
