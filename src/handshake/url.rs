//! WebSocket URIs (§3): `ws://` and `wss://`.

use super::{HandshakeError, UrlProblem};

/// A parsed `ws://` or `wss://` URL (§3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    /// `wss://`: the connection runs over TLS (§4.1 step 5). Whether it can is the driver's
    /// business (its `rustls` feature): this layer only reads the URL.
    pub secure: bool,
    /// Host (IPv6 literals without brackets).
    pub host: String,
    /// Port (80 for `ws`, 443 for `wss` when absent).
    pub port: u16,
    /// Resource name: path and query, at least `/`.
    pub resource: String,
}

impl WsUrl {
    /// Parses `ws://host[:port][/path][?query]` and `wss://…`.
    ///
    /// §3: `ws-URI = "ws:" "//" host [ ":" port ] path [ "?" query ]`, and `wss-URI` the
    /// same with `"wss:"`. The scheme is matched case-insensitively.
    pub fn parse(url: &str) -> Result<WsUrl, HandshakeError> {
        let fail = |problem| HandshakeError::InvalidUrl { url: url.to_owned(), problem };
        // RFC 3986 §2: a URI is made of visible ASCII characters only.
        if !url.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(fail(UrlProblem::InvalidCharacter));
        }
        let (scheme, rest) =
            url.split_once("://").ok_or_else(|| fail(UrlProblem::MissingScheme))?;
        let secure = if scheme.eq_ignore_ascii_case("wss") {
            true
        } else if scheme.eq_ignore_ascii_case("ws") {
            false
        } else {
            return Err(fail(UrlProblem::UnsupportedScheme(scheme.to_owned())));
        };
        // §3: "Fragment identifiers are meaningless in the context of WebSocket URIs and MUST
        // NOT be used on these URIs."
        if rest.contains('#') {
            return Err(fail(UrlProblem::Fragment));
        }
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_and_query) = rest.split_at(authority_end);

        // §3: the resource name is "/" if the path component is empty, the path, "?" and the
        // query if it is non-empty.
        let resource = match path_and_query {
            "" => "/".to_owned(),
            pq if pq.starts_with('?') => {
                if pq.len() == 1 {
                    "/".to_owned()
                } else {
                    format!("/{pq}")
                }
            }
            pq => pq.strip_suffix('?').unwrap_or(pq).to_owned(),
        };

        if authority.contains('@') {
            return Err(fail(UrlProblem::UserInfo));
        }
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            // RFC 3986 §3.2.2: an IPv6 literal is enclosed in brackets.
            let (literal, after) =
                bracketed.split_once(']').ok_or_else(|| fail(UrlProblem::InvalidHost))?;
            let ok = literal.contains(':')
                && literal.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
            if !ok {
                return Err(fail(UrlProblem::InvalidHost));
            }
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| fail(UrlProblem::InvalidHost))?),
            };
            (literal, port)
        } else {
            let (host, port) = match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            // RFC 3986 §3.2.2: reg-name = *( unreserved / pct-encoded / sub-delims ).
            let ok =
                host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b));
            if !ok {
                return Err(fail(UrlProblem::InvalidHost));
            }
            (host, port)
        };
        if host.is_empty() {
            return Err(fail(UrlProblem::MissingHost));
        }
        // §3: "The port component is OPTIONAL; the default for "ws" is port 80, while the
        // default for "wss" is port 443." RFC 3986 §3.2.3: an empty port (`host:`) means the
        // default too.
        let port = match port {
            None | Some("") => default_port(secure),
            Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => match p.parse::<u16>() {
                Ok(n) if n != 0 => n,
                _ => return Err(fail(UrlProblem::InvalidPort)),
            },
            Some(_) => return Err(fail(UrlProblem::InvalidPort)),
        };
        Ok(WsUrl { secure, host: host.to_owned(), port, resource })
    }

    /// The `Host` header value: §4.1 step 4, "/host/ plus optionally ":" followed by /port/
    /// (when not using the default port)"; an IPv6 literal in brackets.
    pub fn host_header(&self) -> String {
        let host =
            if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        if self.port == default_port(self.secure) { host } else { format!("{host}:{}", self.port) }
    }

    /// The scheme, `ws` or `wss`.
    pub fn scheme(&self) -> &'static str {
        if self.secure { "wss" } else { "ws" }
    }
}

/// §3: 80 for `ws`, 443 for `wss`.
fn default_port(secure: bool) -> u16 {
    if secure { 443 } else { 80 }
}

impl std::str::FromStr for WsUrl {
    type Err = HandshakeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WsUrl::parse(s)
    }
}

impl std::fmt::Display for WsUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}{}", self.scheme(), self.host_header(), self.resource)
    }
}
