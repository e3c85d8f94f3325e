//! A server's opening handshake response (§4.1, §4.2.2) dissected line by line, every problem
//! found by the client-side [`ResponseParser`](crate::handshake::ResponseParser), judged
//! against the request when it is known.

use std::fmt::Write as _;

use bytes::BytesMut;

use super::handshake::{Blame, Head, RequestSummary, STAND_IN_KEY, incomplete, mark};
use super::text::escaped;
use crate::handshake::{ClientRequest, HandshakeError, Limits, accept_key};

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
    let offered_extensions = request.and_then(|r| r.extensions.clone());
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
                .fields
                .get("Sec-WebSocket-Protocol")
                .map(|p| vec![String::from_utf8_lossy(p.trim_ascii()).into_owned()])
                .unwrap_or_default()
        });
        for p in protocols {
            client = client.subprotocol(p);
        }
        // The same for extensions: an unknown offer takes the server's as offered.
        let extensions = offered_extensions.clone().unwrap_or_else(|| {
            model
                .fields
                .list("Sec-WebSocket-Extensions")
                .map(|e| String::from_utf8_lossy(e).into_owned())
                .collect()
        });
        for e in extensions {
            client = client.extension(e);
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
            HandshakeError::UnofferedExtension { .. }
            | HandshakeError::ResponseInvalidExtensions { .. } => {
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
pub(super) fn dissect_response(bytes: &[u8], request: Option<&RequestSummary>, out: &mut String) {
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
    for (name, value) in head.fields.iter() {
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
        if lower == "sec-websocket-accept"
            && let Some(key) = key
        {
            let _ = writeln!(out, "    expected for key {key}: {}", accept_key(key.as_bytes()));
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
