//! The grammar of `Sec-WebSocket-Extensions` elements (§9.1), shared by both sides: whether
//! an element is well formed, and its extension's name. What an extension's parameters mean
//! is that extension's business (permessage-deflate: [`crate::deflate`]); this layer knows
//! no extension by name.
//!
//! Extension names are compared exactly (case-sensitive): §9.1 defines them as tokens and
//! never calls them case-insensitive, as it does where it means it (§4.2.1 items 3 and 4).

use super::http::{is_token, trim_ows};

/// §9.1: `extension = extension-token *( ";" extension-param )`,
/// `extension-param = token [ "=" (token | quoted-string) ]`, where a quoted-string "after
/// quoted-string unescaping MUST conform to the 'token' ABNF."
pub(crate) fn is_extension(element: &[u8]) -> bool {
    let mut parts = element.split(|&b| b == b';').map(trim_ows);
    if !parts.next().is_some_and(is_token) {
        return false;
    }
    parts.all(|param| {
        let mut name_value = param.splitn(2, |&b| b == b'=');
        let name = trim_ows(name_value.next().unwrap_or_default());
        let value_ok = match name_value.next().map(trim_ows) {
            None => true,
            Some(v) => is_token(v) || is_quoted_token(v),
        };
        is_token(name) && value_ok
    })
}

/// A quoted-string whose unescaped content is a token.
fn is_quoted_token(v: &[u8]) -> bool {
    let Some(inner) = v.strip_prefix(b"\"").and_then(|v| v.strip_suffix(b"\"")) else {
        return false;
    };
    let mut unescaped = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'\\' => match bytes.next() {
                Some(&escaped) => unescaped.push(escaped),
                None => return false,
            },
            b'"' => return false,
            b => unescaped.push(b),
        }
    }
    is_token(&unescaped)
}

/// The extension-token of an element: the text before the first `;`, OWS trimmed.
pub(crate) fn extension_name(element: &str) -> &str {
    let name = element.split(';').next().unwrap_or_default();
    name.trim_matches([' ', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_grammar() {
        assert!(is_extension(b"permessage-deflate"));
        assert!(is_extension(b"mux; max-channels=4; flow-control"));
        assert!(is_extension(b"foo; bar=\"baz\""));
        assert!(is_extension(b"foo ; bar = baz"));
        assert!(!is_extension(b"foo; bar=\"b z\""));
        assert!(!is_extension(b"foo;"));
        assert!(!is_extension(b"; x"));
        assert!(!is_extension(b"foo bar"));
        assert!(!is_extension(b""));
    }

    #[test]
    fn names() {
        assert_eq!(
            extension_name("permessage-deflate; client_max_window_bits"),
            "permessage-deflate"
        );
        assert_eq!(extension_name(" foo\t;x"), "foo");
        assert_eq!(extension_name("foo"), "foo");
        assert_eq!(extension_name(""), "");
    }
}
