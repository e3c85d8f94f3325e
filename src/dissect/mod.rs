//! The dissector: handshakes and frames explained field by field, with the RFC's names, and
//! every rule they break flagged with its section (§4, §5).
//!
//! Nothing is judged here: frames are judged by [`crate::protocol::violations`] (the header
//! rules of [`crate::protocol::check`], every one listed), [`crate::protocol::CloseFrame::parse`]
//! (Close bodies) and [`crate::protocol::Utf8Validator`] (text); handshakes by the crate's
//! [`crate::handshake::RequestParser`] and [`crate::handshake::ResponseParser`]. Those stop at
//! the first problem; the dissector repairs the reported problem and asks again, so that it
//! can list every one. Everything here is a pure function of the bytes: no IO, no clock.
//!
//! | function | input |
//! |---|---|
//! | [`frames`] | a byte stream of frames sent by one endpoint |
//! | [`frames_with`] | the same, on a connection that negotiated permessage-deflate ([`Deflate`]) |
//! | [`handshake`], [`handshake_response`] | an opening handshake request or response head |
//! | [`stream`], [`stream_with`] | anything one endpoint sent: a handshake head, then frames |
//! | [`FrameDissector`] | frames fed in pieces |
//! | [`LiveDissector`] | one direction of a live connection fed in pieces: a head, then frames |
//!
//! The wiretap `examples/tap/` (a TCP proxy that forwards bytes untouched and prints both
//! directions) is built on [`LiveDissector`]: `cargo run --example tap -- --help`.
//!
//! The output is plain, deterministic text (no colours, no clock), stable enough to be checked
//! into documentation:
//!
//! ```
//! use rfc6455::dissect;
//!
//! // §5.7: "A single-frame masked text message"
//! let bytes = dissect::parse_hex("81 85 37 fa 21 3d 7f 9f 4d 51 58").unwrap();
//! let text = dissect::frames(&bytes, None);
//! assert!(text.contains("81 = 1000 0001: FIN=1 RSV=000 opcode=0x1 (text)"));
//! assert!(text.contains("masking key: 37 fa 21 3d"));
//! assert!(text.contains("payload: \"Hello\""));
//! ```
//!
//! Limits: payloads are shown as their first 64 and last 16 bytes (text up to 256 bytes);
//! only the first 1024 bytes of a payload are kept, so a Close body longer than that is not
//! decoded (it already breaks §5.5).
//!
//! Extensions: the dissector knows permessage-deflate (RFC 7692) when it is told it was
//! negotiated ([`Deflate`], [`FrameDissector::with_deflate`]): RSV1 then marks a compressed
//! message and is judged by RFC 7692 §6 (never on a control frame or a continuation), and,
//! given the agreed parameters, each compressed message is inflated by the crate's own
//! [`crate::deflate::Decompressor`] (its window kept from one message to the next, as the
//! sender's context takeover requires) within a budget, then shown like any payload. Told
//! nothing, every RSV bit is reserved and flagged (§5.2). The handshake's
//! `Sec-WebSocket-Extensions` is not read for this: say what was agreed.
//!
//! ```
//! use rfc6455::dissect::{self, Deflate};
//!
//! // RFC 7692 §7.2.3.1: "Hello", compressed, in one unmasked frame.
//! let bytes = dissect::parse_hex("c1 07 f2 48 cd c9 c9 07 00").unwrap();
//! let text = dissect::frames_with(&bytes, None, Deflate::Inflate(Default::default()));
//! assert!(text.contains("RSV1: 1 (compressed (permessage-deflate), RFC 7692 §6)"));
//! assert!(text.contains("inflated payload: \"Hello\""));
//! ```

mod deflate;
mod frame_lines;
mod frames;
mod handshake;
mod live;
mod request;
mod response;
mod text;

use std::fmt::Write as _;

pub use deflate::Deflate;
pub use frames::{FrameDissector, KEEP, frames, frames_with};
pub use handshake::{RequestSummary, handshake, handshake_response, head_len};
pub use live::LiveDissector;

use crate::protocol::Role;

/// Dissect everything one endpoint sent: opening handshake head(s), then frames.
///
/// A stream starting with `GET ` (or another HTTP method) is a client's (its request, then
/// its frames); one starting with `HTTP/` is a server's (its response, then its frames). A
/// request followed directly by a response (two directions pasted together) is dissected as
/// both, the response judged against the request's key. `sender` overrides who sent the frames; without a head and
/// without `sender`, it is inferred from the first frame's MASK bit.
pub fn stream(bytes: &[u8], sender: Option<Role>) -> String {
    stream_with(bytes, sender, Deflate::Off)
}

/// [`stream`] on a connection that negotiated permessage-deflate as `deflate` says.
pub fn stream_with(bytes: &[u8], sender: Option<Role>, deflate: Deflate) -> String {
    let mut out = String::new();
    let mut rest = bytes;
    let mut offset = 0u64;
    let mut head_sender = None;
    let mut request = None;
    while let Some(is_request) = handshake::head_kind(rest) {
        if is_request {
            request = Some(request::dissect_request(rest, &mut out));
            head_sender = Some(Role::Client);
        } else {
            response::dissect_response(rest, request.as_ref(), &mut out);
            head_sender = Some(Role::Server);
        }
        let Some(len) = head_len(rest) else {
            return out;
        };
        rest = rest.get(len..).unwrap_or_default();
        offset += len as u64;
        if !rest.is_empty() && handshake::head_kind(rest).is_none() {
            let _ = writeln!(out, "{} bytes follow the head: frames", rest.len());
        }
        out.push('\n');
    }
    if rest.is_empty() && offset > 0 {
        return out;
    }
    let mut dissector =
        FrameDissector::new(sender.or(head_sender)).with_offset(offset).with_deflate(deflate);
    dissector.feed(rest, &mut out);
    dissector.finish(&mut out);
    out
}

/// Parse hex as people paste it: `81 85 37 fa`, `0x81 0x85`, `8185`, `81:85`, `\x81\x85`,
/// commas and brackets ignored. Errors name the offending piece.
///
/// ```
/// assert_eq!(rfc6455::dissect::parse_hex("0x81, 0x05 48656c6c6f").unwrap().len(), 7);
/// assert!(rfc6455::dissect::parse_hex("8").is_err());
/// ```
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let separators = |c: char| c.is_whitespace() || matches!(c, ',' | ':' | '[' | ']' | ';');
    for token in text.split(separators).filter(|t| !t.is_empty()) {
        let mut rest = token;
        while !rest.is_empty() {
            rest = rest
                .strip_prefix("0x")
                .or_else(|| rest.strip_prefix("0X"))
                .or_else(|| rest.strip_prefix("\\x"))
                .unwrap_or(rest);
            // One run of hex digits, up to the next prefix.
            let end = rest.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(rest.len());
            let end = match rest.get(1..).and_then(|r| r.find("\\x")) {
                Some(i) => end.min(i + 1),
                None => end,
            };
            let digits = rest.get(..end).unwrap_or_default();
            if digits.is_empty() {
                return Err(format!("{token:?} is not hex"));
            }
            if digits.len() % 2 != 0 {
                return Err(format!("{token:?} has an odd number of hex digits"));
            }
            for pair in digits.as_bytes().chunks(2) {
                let pair = std::str::from_utf8(pair).unwrap_or_default();
                let byte =
                    u8::from_str_radix(pair, 16).map_err(|_| format!("{pair:?} is not hex"))?;
                bytes.push(byte);
            }
            rest = rest.get(end..).unwrap_or_default();
        }
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_forms() {
        let want = vec![0x81, 0x85, 0x37];
        for text in [
            "81 85 37",
            "0x81 0x85 0x37",
            "818537",
            "81:85:37",
            "\\x81\\x85\\x37",
            "[0x81, 0x85, 0x37]",
        ] {
            assert_eq!(parse_hex(text).as_ref(), Ok(&want), "{text}");
        }
        assert!(parse_hex("81 8").is_err());
        assert!(parse_hex("zz").is_err());
        assert!(parse_hex("0x").is_err());
    }
}
