//! The deflate layer's error: [`DeflateNegotiationError`], why an offer was declined or a
//! response refused (RFC 7692 §5, §7).

use std::fmt;

use super::negotiate::PERMESSAGE_DEFLATE;

/// Why a permessage-deflate offer was declined (server side) or a response refused (client
/// side, which then fails the connection).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeflateNegotiationError {
    /// The element does not follow RFC 6455 §9.1's grammar (`name *( ";" param [ "="
    /// value ] )`, names and values tokens or quoted tokens).
    Malformed(String),
    /// The element is for another extension, not `permessage-deflate`.
    NotPermessageDeflate(String),
    /// A parameter RFC 7692 §7.1 does not define.
    UnknownParameter(String),
    /// A parameter given twice.
    DuplicateParameter(String),
    /// A parameter with a value it cannot have: a value on a parameter that has none, no
    /// value where one is required, or a window that is not `8` … `15`.
    InvalidValue {
        /// The parameter.
        param: &'static str,
        /// The value as received (unescaped); `None`: it had no value.
        value: Option<String>,
    },
    /// The response has a parameter our offer did not allow it to have.
    NotOffered(&'static str),
    /// The response leaves out a parameter it needed to accept our offer.
    MissingParameter(&'static str),
    /// The response sets a window larger than the one our offer asked for.
    WindowLargerThanOffered {
        /// The parameter (`server_max_window_bits`).
        param: &'static str,
        /// The value we offered.
        offered: u8,
        /// The value the server answered.
        answered: u8,
    },
    /// Server side: we decompress with a window smaller than 2^15, and the offer gives us
    /// no way to tell the client (it has no `client_max_window_bits`).
    ClientWindowNotLimitable {
        /// Our `decompress_window_bits`.
        wanted: u8,
    },
    /// The response accepts permessage-deflate more than once.
    AcceptedTwice,
}

impl fmt::Display for DeflateNegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use DeflateNegotiationError::*;
        match self {
            Malformed(element) => write!(
                f,
                "extension element {element:?} does not follow the grammar of RFC 6455 §9.1"
            ),
            NotPermessageDeflate(name) => {
                write!(f, "the element is for extension {name:?}, not {PERMESSAGE_DEFLATE:?}")
            }
            UnknownParameter(name) => write!(
                f,
                "{name:?} is not a permessage-deflate parameter (RFC 7692 §7.1 defines \
                 server_no_context_takeover, client_no_context_takeover, \
                 server_max_window_bits and client_max_window_bits; names are case-sensitive)"
            ),
            DuplicateParameter(name) => {
                write!(f, "parameter {name} appears more than once (RFC 7692 §7)")
            }
            InvalidValue { param, value: None } => {
                write!(
                    f,
                    "parameter {param} needs a value, a window size from 8 to 15 (RFC 7692 §7.1)"
                )
            }
            InvalidValue { param, value: Some(value) } => write!(
                f,
                "parameter {param} cannot have the value {value:?} (RFC 7692 §7.1: no value \
                 for *_no_context_takeover, 8 to 15 without leading zeros for *_max_window_bits)"
            ),
            NotOffered(param) => write!(
                f,
                "the response has {param}, which the offer did not allow (RFC 7692 §7.1.2.2)"
            ),
            MissingParameter(param) => write!(
                f,
                "the offer asked for {param}, and the response does not grant it (RFC 7692 §7.1)"
            ),
            WindowLargerThanOffered { param, offered, answered } => write!(
                f,
                "the response sets {param}={answered}, larger than the {offered} offered \
                 (RFC 7692 §7.1.2.1)"
            ),
            ClientWindowNotLimitable { wanted } => write!(
                f,
                "we decompress with windows of at most 2^{wanted} bytes, and the offer has no \
                 client_max_window_bits to ask the client for that (RFC 7692 §7.1.2.2)"
            ),
            AcceptedTwice => write!(
                f,
                "the response accepts permessage-deflate twice; both would use RSV1 (RFC 7692 §5)"
            ),
        }
    }
}

impl std::error::Error for DeflateNegotiationError {}
