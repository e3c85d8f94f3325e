//! The HTTP pieces both sides share: finding the end of a head without re-scanning, header
//! fields with case-insensitive lookup, comma-separated lists, and writing a response.
//!
//! `httparse` tokenises; nothing here judges a WebSocket rule.

use super::{HandshakeError, HttpSyntax, Limits};

/// The blank line that ends an HTTP head.
const END_OF_HEAD: &[u8] = b"\r\n\r\n";

/// Finds the end of an HTTP head in a buffer that grows between calls, looking at each byte
/// once (plus 3 bytes of overlap), so a head dribbled in one byte at a time costs linear time.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeadScanner {
    /// Bytes of the buffer already searched: no `\r\n\r\n` ends before this position.
    scanned: usize,
    /// Total bytes examined over the parser's life (for tests and fuzzers that check the
    /// cost stays linear; not compiled into ordinary builds).
    #[cfg(any(test, fuzzing))]
    examined: u64,
}

impl HeadScanner {
    /// Total bytes examined so far, overlap included.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn examined(&self) -> u64 {
        self.examined
    }

    /// Forget the scan position (the head was consumed).
    pub(crate) fn reset(&mut self) {
        self.scanned = 0;
    }

    /// `Ok(Some(len))`: the head is `buf[..len]`, blank line included. `Ok(None)`: no end yet.
    /// Errors as soon as `max_head_bytes` bytes have arrived without an end.
    pub(crate) fn find_end(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<usize>, HandshakeError> {
        // Never look past the budget: a head longer than it is refused whatever follows.
        let stop = buf.len().min(limits.max_head_bytes);
        // Back up 3 bytes: the blank line may straddle the old and the new bytes.
        let start = self.scanned.saturating_sub(END_OF_HEAD.len() - 1).min(stop);
        let window = buf.get(start..stop).unwrap_or_default();
        #[cfg(any(test, fuzzing))]
        {
            self.examined += window.len() as u64;
        }
        if let Some(pos) = window.windows(END_OF_HEAD.len()).position(|w| w == END_OF_HEAD) {
            return Ok(Some(start + pos + END_OF_HEAD.len()));
        }
        self.scanned = stop;
        if buf.len() >= limits.max_head_bytes {
            return Err(HandshakeError::HeadTooLarge { max: limits.max_head_bytes });
        }
        Ok(None)
    }
}

/// Room for httparse's header fields: the budget, but never more than a head of `head_len`
/// bytes can hold (each field takes at least 3 bytes, `a:\n`), so the allocation follows the
/// bytes that arrived rather than the configured maximum.
pub(crate) fn header_slots(limits: &Limits, head_len: usize) -> Vec<httparse::Header<'static>> {
    vec![httparse::EMPTY_HEADER; limits.max_headers.min(head_len / 2 + 1)]
}

/// Judges httparse's verdict on a head that ends in the blank line at `head_len`.
pub(crate) fn check_parsed(
    verdict: httparse::Result<usize>,
    head_len: usize,
    limits: &Limits,
) -> Result<(), HandshakeError> {
    match verdict {
        Ok(httparse::Status::Complete(n)) if n == head_len => Ok(()),
        // httparse also ends a head at a bare "\n\n": a head that is not one block ending in
        // CRLF CRLF is refused (RFC 2616 §2.2: "HTTP/1.1 defines the sequence CR LF as the
        // end-of-line marker for all protocol elements except the entity-body").
        Ok(httparse::Status::Complete(_)) => {
            Err(HandshakeError::MalformedHttp { problem: HttpSyntax::NewLine })
        }
        // The blank line came first, e.g. empty lines before the start line.
        Ok(httparse::Status::Partial) => {
            Err(HandshakeError::MalformedHttp { problem: HttpSyntax::Incomplete })
        }
        Err(e) => Err(syntax_error(e, limits)),
    }
}

/// Maps httparse's refusal to ours.
fn syntax_error(err: httparse::Error, limits: &Limits) -> HandshakeError {
    let problem = match err {
        httparse::Error::TooManyHeaders => {
            return HandshakeError::TooManyHeaders { max: limits.max_headers };
        }
        httparse::Error::HeaderName => HttpSyntax::HeaderName,
        httparse::Error::HeaderValue => HttpSyntax::HeaderValue,
        httparse::Error::NewLine => HttpSyntax::NewLine,
        httparse::Error::Status => HttpSyntax::Status,
        httparse::Error::Token => HttpSyntax::Token,
        httparse::Error::Version => HttpSyntax::Version,
    };
    HandshakeError::MalformedHttp { problem }
}

/// Header fields in the order received; names compare ASCII case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Vec<(String, Vec<u8>)>,
}

impl Headers {
    pub(crate) fn from_httparse(parsed: &[httparse::Header<'_>]) -> Self {
        Headers { fields: parsed.iter().map(|h| (h.name.to_owned(), h.value.to_vec())).collect() }
    }

    /// Appends a field (the dissector builds its display model of a head with it).
    pub(crate) fn push(&mut self, name: &str, value: &[u8]) {
        self.fields.push((name.to_owned(), value.to_vec()));
    }

    /// Keeps only the fields for which `keep(name, value)` is true, in order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&str, &[u8]) -> bool) {
        self.fields.retain(|(n, v)| keep(n, v));
    }

    /// The value of the first field named `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }

    /// The first value named `name` as text (`None` if absent or not UTF-8).
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of the fields named `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// How many fields are named `name`.
    pub fn count(&self, name: &str) -> usize {
        self.fields.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).count()
    }

    /// Whether a field named `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// All fields, in order, as (name as sent, value).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The elements of the comma-separated lists in every field named `name` (RFC 2616 §4.2:
    /// several fields of one name are one list), trimmed, empty elements skipped.
    pub fn list<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.get_all(name).flat_map(list_elements)
    }

    /// Whether the lists named `name` contain `token` (ASCII case-insensitive).
    pub fn list_contains(&self, name: &str, token: &str) -> bool {
        self.list(name).any(|e| e.eq_ignore_ascii_case(token.as_bytes()))
    }

    /// Whether the lists named `name` are non-empty and every element is `token` (ASCII
    /// case-insensitive).
    pub fn list_is_only(&self, name: &str, token: &str) -> bool {
        let mut elements = self.list(name).peekable();
        elements.peek().is_some() && elements.all(|e| e.eq_ignore_ascii_case(token.as_bytes()))
    }

    /// Every value named `name`, joined with ", " as text, for error messages.
    pub(crate) fn joined(&self, name: &str) -> Option<String> {
        let values: Vec<String> =
            self.get_all(name).map(|v| String::from_utf8_lossy(v).into_owned()).collect();
        if values.is_empty() { None } else { Some(values.join(", ")) }
    }
}

/// The elements of one comma-separated list (RFC 2616 §2.1 `#rule`), OWS trimmed, empty
/// elements skipped ("a, , b" is the list a, b).
pub(crate) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows).filter(|e| !e.is_empty())
}

/// Strip spaces and tabs at both ends.
pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// RFC 2616 §2.2: `token = 1*<any CHAR except CTLs or separators>`.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Appends `name: value\r\n`, replacing CR, LF and NUL in either with a space so that no
/// caller-supplied text can start a header of its own (header injection).
pub(crate) fn write_header(out: &mut Vec<u8>, name: &str, value: &str) {
    write_clean(out, name.as_bytes());
    out.extend_from_slice(b": ");
    write_clean(out, value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn write_clean(out: &mut Vec<u8>, text: &[u8]) {
    out.extend(text.iter().map(|&b| match b {
        b'\r' | b'\n' | 0 => b' ',
        b => b,
    }));
}

/// An HTTP response to send: a 101, or a rejection.
///
/// Build a rejection of your own with
/// `HttpResponse::new(403, "Forbidden").header("X-Why", "origin").body("not from here")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Header fields, in order.
    pub headers: Vec<(String, String)>,
    /// Body (a `Content-Length` is added when written; a 101 never has one).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with this status line and nothing else.
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        HttpResponse { status, reason: reason.into(), headers: Vec::new(), body: Vec::new() }
    }

    /// Adds a header field.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The first header named `name` (case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The response as bytes on the wire.
    ///
    /// A 101 is written without a body or `Content-Length` (RFC 7230 §3.3.2: "A server MUST
    /// NOT send a Content-Length header field in any response with a status code of 1xx"):
    /// the bytes after it are WebSocket frames. Any other status gets `Content-Length` (any
    /// given one is replaced) and `Connection: close` unless a `Connection` field was given,
    /// because after a refused handshake the server closes the connection. CR, LF and NUL in
    /// the reason or in header fields are written as spaces.
    pub fn to_bytes(&self) -> Vec<u8> {
        let switching = self.status == 101;
        let mut out = Vec::with_capacity(128 + self.body.len());
        out.extend_from_slice(format!("HTTP/1.1 {} ", self.status).as_bytes());
        write_clean(&mut out, self.reason.as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.headers {
            if !switching && name.eq_ignore_ascii_case("Content-Length") {
                continue;
            }
            write_header(&mut out, name, value);
        }
        if !switching {
            if self.header_value("Connection").is_none() {
                write_header(&mut out, "Connection", "close");
            }
            write_header(&mut out, "Content-Length", &self.body.len().to_string());
        }
        out.extend_from_slice(b"\r\n");
        if !switching {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_backs_up_across_calls() {
        let limits = Limits::default();
        let mut s = HeadScanner::default();
        let mut buf = Vec::new();
        let input = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nrest";
        let mut found = None;
        for &b in input.iter() {
            buf.push(b);
            if let Some(end) = s.find_end(&buf, &limits).unwrap() {
                found = Some(end);
                break;
            }
        }
        assert_eq!(found, Some(input.len() - 4));
        assert!(s.examined() <= 4 * input.len() as u64);
    }

    #[test]
    fn lists_trim_and_skip_empty() {
        let v: Vec<&[u8]> = list_elements(b" keep-alive ,, Upgrade\t").collect();
        assert_eq!(v, vec![&b"keep-alive"[..], &b"Upgrade"[..]]);
    }

    #[test]
    fn no_header_injection() {
        let r = HttpResponse::new(400, "Bad\r\nX: y").header("A", "b\r\nEvil: 1");
        let text = String::from_utf8(r.to_bytes()).unwrap();
        assert!(!text.contains("\r\nEvil"));
        assert!(!text.contains("\r\nX: y"));
    }
}
