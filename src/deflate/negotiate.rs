//! Negotiating permessage-deflate (RFC 7692 §5, §7, §7.1): the client's offer, the server's
//! choice among offers and its response, the client's check of that response. Pure functions
//! over the text of extension elements; the handshake carries the elements, this file judges
//! what they say.
//!
//! Decisions the RFCs leave to us, each made once, here:
//!
//! - **Names are case-sensitive.** RFC 6455 never calls extension tokens or their parameter
//!   names case-insensitive (it says so explicitly where it wants it, §4.2.1 items 3 and 4;
//!   RFC 2616 makes only header *field names* case-insensitive), and RFC 7692 §7 registers
//!   the lower-case `permessage-deflate`. `Permessage-Deflate` is another extension to us (a
//!   server skips it, a client fails on it); `Server_No_Context_Takeover` is an unknown
//!   parameter. Python `websockets`, Chromium and `ws` compare exactly too.
//! - **Quoted values** (`server_max_window_bits="10"`) are the same value as the bare token:
//!   RFC 6455 §9.1 makes the quoted-string a spelling whose content "after quoted-string
//!   unescaping MUST conform to the 'token' ABNF"; RFC 7692's `1*DIGIT` rules judge the
//!   unescaped text. We never write quotes.
//! - **Window values** are the strings `8` … `15` exactly (RFC 7692 §7.1.2: "a decimal
//!   integer value without leading zeroes between 8 to 15, inclusive"); `08`, `+9`, `16`
//!   are invalid values.
//! - **Our own configuration** is read with its window sizes clamped to 8–15, so that no
//!   [`DeflateConfig`] can make us write an invalid offer or response.

use std::borrow::Cow;

use super::config::{DeflateConfig, DeflateParams};
use super::error::DeflateNegotiationError;

/// The registered extension name (RFC 7692 §7: 'The registered extension name for this
/// extension is "permessage-deflate".').
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// The largest LZ77 window, 2^15 = 32 KiB: what an absent `*_max_window_bits` means.
const MAX_WINDOW_BITS: u8 = 15;
/// The smallest window RFC 7692 §7.1.2 allows, 2^8 = 256 bytes.
const MIN_WINDOW_BITS: u8 = 8;

/// What a server made of a request's extension offers ([`DeflateConfig::negotiate_offers`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerNegotiation {
    /// The accepted offer, if any: the connection compresses.
    pub accepted: Option<DeflateAgreement>,
    /// The permessage-deflate offers declined before one was accepted (or all of them), in
    /// order, each with its reason. Offers after the accepted one are not examined.
    pub declined: Vec<DeclinedOffer>,
}

/// An accepted permessage-deflate offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeflateAgreement {
    /// The agreed parameters (exactly what `response` says).
    pub params: DeflateParams,
    /// The element to send in the 101's `Sec-WebSocket-Extensions`.
    pub response: String,
    /// Its offer's position among all the elements given (other extensions counted).
    pub position: usize,
}

/// A permessage-deflate offer the server declined (RFC 7692 §7: "A server MUST decline an
/// extension negotiation offer for this extension if ...").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclinedOffer {
    /// Its position among all the elements given (other extensions counted).
    pub position: usize,
    /// The offer as given.
    pub offer: String,
    /// Why it was declined.
    pub reason: DeflateNegotiationError,
}

/// `client_max_window_bits` in an offer: absent, without a value, or with one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientWindow {
    Absent,
    NoValue,
    Bits(u8),
}

/// The parameters of one permessage-deflate element, as written (offer or response).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Element {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    client_max_window_bits: ClientWindow,
}

/// Which way an element travels: a response's `client_max_window_bits` needs a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Offer,
    Response,
}

impl DeflateConfig {
    /// The extension element a client offers (`Sec-WebSocket-Extensions`), built from this
    /// configuration; the default is Chromium's offer, `permessage-deflate;
    /// client_max_window_bits`.
    pub fn client_offer(&self) -> String {
        render(&self.offer())
    }

    /// Judge the server's response `element` to [`DeflateConfig::client_offer`]; on success,
    /// the parameters in force. An error means the client fails the connection (RFC 7692
    /// §7: "A client MUST _Fail the WebSocket Connection_ if the peer server accepted an
    /// extension negotiation offer for this extension with an extension negotiation response
    /// meeting any of the following conditions").
    ///
    /// Where our offer carried a promise the response need not repeat, the parameters keep
    /// it: `client_no_context_takeover` offered stays set, and an offered
    /// `client_max_window_bits=N` caps the client's window at N (RFC 7692 §7.1.1.2,
    /// §7.1.2.2: the client "is not going to" exceed what it offered).
    pub fn check_response(&self, element: &str) -> Result<DeflateParams, DeflateNegotiationError> {
        check_against(&self.offer(), element)
    }

    /// [`DeflateConfig::check_response`] over all the elements of a 101's
    /// `Sec-WebSocket-Extensions`: `Ok(None)` if none is permessage-deflate (the server
    /// declined; the connection does not compress), an error if two are.
    pub fn check_response_extensions<'a>(
        &self,
        elements: impl IntoIterator<Item = &'a str>,
    ) -> Result<Option<DeflateParams>, DeflateNegotiationError> {
        let mut ours = elements.into_iter().filter(|e| is_permessage_deflate(e));
        let Some(first) = ours.next() else {
            return Ok(None);
        };
        // RFC 7692 §5: "A server MUST NOT accept a PMCE extension negotiation offer together
        // with another extension if the PMCE will conflict with the extension on their use
        // of the RSV1 bit. A client that received a response accepting a PMCE extension
        // negotiation offer together with such an extension MUST _Fail the WebSocket
        // Connection_." Two permessage-deflate elements both claim RSV1.
        if ours.next().is_some() {
            return Err(DeflateNegotiationError::AcceptedTwice);
        }
        self.check_response(first).map(Some)
    }

    /// A server's choice among a request's extension elements (`offers`, in the client's
    /// order of preference, as [`crate::handshake::Request::extensions`] gives them): the
    /// first acceptable permessage-deflate offer is accepted; elements for other extensions
    /// are skipped; each unacceptable permessage-deflate offer is declined with its reason
    /// and the next one is tried.
    pub fn negotiate_offers<'a>(
        &self,
        offers: impl IntoIterator<Item = &'a str>,
    ) -> ServerNegotiation {
        let mut outcome = ServerNegotiation::default();
        for (position, offer) in offers.into_iter().enumerate() {
            if !is_permessage_deflate(offer) {
                continue;
            }
            match self.answer(offer) {
                Ok(answer) => {
                    outcome.accepted = Some(DeflateAgreement {
                        params: answer.params(),
                        response: render(&answer),
                        position,
                    });
                    break;
                }
                Err(reason) => {
                    outcome.declined.push(DeclinedOffer {
                        position,
                        offer: offer.to_owned(),
                        reason,
                    });
                }
            }
        }
        outcome
    }

    /// The offer this configuration makes, in RFC terms.
    fn offer(&self) -> Element {
        let compress = clamp_bits(self.compress_window_bits);
        let decompress = clamp_bits(self.decompress_window_bits);
        Element {
            // §7.1.1.1: "By including this extension parameter in an extension negotiation
            // offer, a client prevents the peer server from using context takeover."
            server_no_context_takeover: !self.decompress_context_takeover,
            // §7.1.1.2: a hint that "the client is not going to use context takeover".
            client_no_context_takeover: !self.compress_context_takeover,
            // §7.1.2.1: "a client limits the LZ77 sliding window size that the server will
            // use to compress messages."
            server_max_window_bits: (decompress < MAX_WINDOW_BITS).then_some(decompress),
            // §7.1.2.2: always offered, so the server may limit our window (we can compress
            // with any window from 8 to 15); with a value when we compress with less.
            client_max_window_bits: if compress < MAX_WINDOW_BITS {
                ClientWindow::Bits(compress)
            } else {
                ClientWindow::NoValue
            },
        }
    }

    /// The response to one permessage-deflate offer, or why it is declined.
    fn answer(&self, offer: &str) -> Result<Element, DeflateNegotiationError> {
        // RFC 7692 §7: "A server MUST decline an extension negotiation offer for this
        // extension if any of the following conditions are met: The negotiation offer
        // contains an extension parameter not defined for use in an offer. The negotiation
        // offer contains an extension parameter with an invalid value. The negotiation offer
        // contains multiple extension parameters with the same name. The server doesn't
        // support the offered configuration." The first three are `parse`'s errors.
        let offered = parse(offer, Direction::Offer)?;
        let compress = clamp_bits(self.compress_window_bits);
        let decompress = clamp_bits(self.decompress_window_bits);

        // §7.1.2.2: "If a received extension negotiation offer doesn't have the
        // "client_max_window_bits" extension parameter, the corresponding extension
        // negotiation response to the offer MUST NOT include the "client_max_window_bits"
        // extension parameter." Then we cannot limit the client's window: decline the
        // offers we could not decompress (the fourth condition above).
        let client_max_window_bits = match offered.client_max_window_bits {
            ClientWindow::Absent if decompress < MAX_WINDOW_BITS => {
                return Err(DeflateNegotiationError::ClientWindowNotLimitable {
                    wanted: decompress,
                });
            }
            ClientWindow::Absent => ClientWindow::Absent,
            // §7.1.2.2: "If a received extension negotiation offer has the
            // "client_max_window_bits" extension parameter, the server MAY include the
            // "client_max_window_bits" extension parameter in the corresponding extension
            // negotiation response". In a response it always has a value, so with no
            // limit of ours (15) we leave it out.
            ClientWindow::NoValue if decompress < MAX_WINDOW_BITS => ClientWindow::Bits(decompress),
            ClientWindow::NoValue => ClientWindow::Absent,
            // §7.1.2.2: the server may "use this value ... by including the
            // "client_max_window_bits" extension parameter in the corresponding extension
            // negotiation response to the offer with a value equal to or smaller than the
            // received value." We always do, so both ends record the same window.
            ClientWindow::Bits(bits) => ClientWindow::Bits(bits.min(decompress)),
        };

        // §7.1.2.1: "A server accepts an extension negotiation offer with this parameter by
        // including the "server_max_window_bits" extension parameter in the extension
        // negotiation response to send back to the client with the same or smaller value as
        // the offer." And it "MAY include the "server_max_window_bits" extension parameter
        // in an extension negotiation response even if the extension negotiation offer being
        // accepted by the response didn't include" it: we do when we compress with less.
        // Every window from 8 to 15 is one we can compress with (8 with zlib's 9, see
        // `DeflateConfig::compress_window_bits`).
        let server_bits = offered.server_max_window_bits.unwrap_or(MAX_WINDOW_BITS).min(compress);
        let server_max_window_bits = (offered.server_max_window_bits.is_some()
            || server_bits < MAX_WINDOW_BITS)
            .then_some(server_bits);

        Ok(Element {
            // §7.1.1.1: "A server accepts an extension negotiation offer that includes the
            // "server_no_context_takeover" extension parameter by including the
            // "server_no_context_takeover" extension parameter in the corresponding extension
            // negotiation response", and "MAY include [it] ... even if the extension
            // negotiation offer ... didn't include" it.
            server_no_context_takeover: offered.server_no_context_takeover
                || !self.compress_context_takeover,
            // §7.1.1.2: "A server MAY include the "client_no_context_takeover" extension
            // parameter in an extension negotiation response." We echo the client's hint,
            // so both ends record it, and add it when we want it.
            client_no_context_takeover: offered.client_no_context_takeover
                || !self.decompress_context_takeover,
            server_max_window_bits,
            client_max_window_bits,
        })
    }
}

impl Element {
    /// The agreed parameters a response element states.
    fn params(&self) -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: self.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover,
            server_max_window_bits: self.server_max_window_bits,
            client_max_window_bits: match self.client_max_window_bits {
                ClientWindow::Bits(bits) => Some(bits),
                ClientWindow::Absent | ClientWindow::NoValue => None,
            },
        }
    }
}

/// Judge a response element against the offer it answers.
fn check_against(offer: &Element, element: &str) -> Result<DeflateParams, DeflateNegotiationError> {
    // The first three conditions of RFC 7692 §7's list for the client (a parameter "not
    // defined for use in a response", "an invalid value", "multiple extension parameters
    // with the same name") are `parse`'s errors; the rest is "The client does not support
    // the configuration that the response represents."
    let response = parse(element, Direction::Response)?;

    // §7.1.2.2: "If a received extension negotiation offer doesn't have the
    // "client_max_window_bits" extension parameter, the corresponding extension negotiation
    // response to the offer MUST NOT include the "client_max_window_bits" extension
    // parameter."
    if offer.client_max_window_bits == ClientWindow::Absent
        && response.client_max_window_bits != ClientWindow::Absent
    {
        return Err(DeflateNegotiationError::NotOffered(CLIENT_MAX_WINDOW_BITS));
    }

    // §7.1.2.1: "A server accepts an extension negotiation offer with this parameter by
    // including the "server_max_window_bits" extension parameter in the extension
    // negotiation response to send back to the client with the same or smaller value as the
    // offer." Without it, or larger, the server would compress with a window we did not
    // agree to keep.
    if let Some(offered) = offer.server_max_window_bits {
        match response.server_max_window_bits {
            None => return Err(DeflateNegotiationError::MissingParameter(SERVER_MAX_WINDOW_BITS)),
            Some(answered) if answered > offered => {
                return Err(DeflateNegotiationError::WindowLargerThanOffered {
                    param: SERVER_MAX_WINDOW_BITS,
                    offered,
                    answered,
                });
            }
            Some(_) => {}
        }
    }

    // §7.1.1.1: "A server accepts an extension negotiation offer that includes the
    // "server_no_context_takeover" extension parameter by including the
    // "server_no_context_takeover" extension parameter in the corresponding extension
    // negotiation response". Without it the server keeps its window, which we asked not to.
    if offer.server_no_context_takeover && !response.server_no_context_takeover {
        return Err(DeflateNegotiationError::MissingParameter(SERVER_NO_CONTEXT_TAKEOVER));
    }

    let mut params = response.params();
    // §7.1.1.2: with "client_no_context_takeover" in the offer, "the client is not going to
    // use context takeover" whatever the response says (and "A client MUST support the
    // "client_no_context_takeover" extension parameter in an extension negotiation
    // response").
    params.client_no_context_takeover |= offer.client_no_context_takeover;
    // §7.1.2.2: with a value in the offer, "even if the server doesn't include the
    // "client_max_window_bits" extension parameter in the corresponding extension
    // negotiation response with a value greater than the one in the extension negotiation
    // offer or if the server doesn't include the extension parameter at all, the client is
    // not going to use an LZ77 sliding window size greater than the size specified". Any
    // smaller window the server asks for is one we can compress with.
    if let ClientWindow::Bits(offered) = offer.client_max_window_bits {
        let answered = params.client_max_window_bits.unwrap_or(MAX_WINDOW_BITS);
        params.client_max_window_bits = Some(answered.min(offered));
    }
    Ok(params)
}

/// Parse one permessage-deflate element into its parameters, refusing what RFC 7692 §7
/// lists: unknown parameters, invalid values, duplicates (and what is not §9.1 grammar).
fn parse(element: &str, direction: Direction) -> Result<Element, DeflateNegotiationError> {
    let mut parts = element.split(';').map(trim_ows);
    let name = parts.next().unwrap_or_default();
    if !is_token(name) {
        return Err(DeflateNegotiationError::Malformed(element.to_owned()));
    }
    if name != PERMESSAGE_DEFLATE {
        return Err(DeflateNegotiationError::NotPermessageDeflate(name.to_owned()));
    }
    let mut parsed = Element {
        server_no_context_takeover: false,
        client_no_context_takeover: false,
        server_max_window_bits: None,
        client_max_window_bits: ClientWindow::Absent,
    };
    let mut seen: [bool; 4] = [false; 4];
    for part in parts {
        let (param, value) = split_param(part)
            .ok_or_else(|| DeflateNegotiationError::Malformed(element.to_owned()))?;
        let (slot, known) = match param {
            SERVER_NO_CONTEXT_TAKEOVER => (0, SERVER_NO_CONTEXT_TAKEOVER),
            CLIENT_NO_CONTEXT_TAKEOVER => (1, CLIENT_NO_CONTEXT_TAKEOVER),
            SERVER_MAX_WINDOW_BITS => (2, SERVER_MAX_WINDOW_BITS),
            CLIENT_MAX_WINDOW_BITS => (3, CLIENT_MAX_WINDOW_BITS),
            // §7: "an extension parameter not defined for use in an offer" / "in a
            // response" (the four are defined for both).
            other => return Err(DeflateNegotiationError::UnknownParameter(other.to_owned())),
        };
        // §7: "multiple extension parameters with the same name".
        if let Some(seen) = seen.get_mut(slot) {
            if *seen {
                return Err(DeflateNegotiationError::DuplicateParameter(known.to_owned()));
            }
            *seen = true;
        }
        let invalid = || DeflateNegotiationError::InvalidValue {
            param: known,
            value: value.as_ref().map(|v| v.to_string()),
        };
        match known {
            // §7.1.1.1, §7.1.1.2: "This extension parameter has no value." (offer) and "...
            // in an extension negotiation response has no value."
            SERVER_NO_CONTEXT_TAKEOVER | CLIENT_NO_CONTEXT_TAKEOVER => {
                if value.is_some() {
                    return Err(invalid());
                }
                if known == SERVER_NO_CONTEXT_TAKEOVER {
                    parsed.server_no_context_takeover = true;
                } else {
                    parsed.client_no_context_takeover = true;
                }
            }
            // §7.1.2.1: "This parameter has a decimal integer value without leading zeroes
            // between 8 to 15, inclusive" (offer and response alike).
            SERVER_MAX_WINDOW_BITS => {
                let bits = value.as_deref().and_then(window_bits).ok_or_else(invalid)?;
                parsed.server_max_window_bits = Some(bits);
            }
            // §7.1.2.2: in an offer it "has no value or a decimal integer value without
            // leading zeroes between 8 to 15 inclusive"; in a response it "has a decimal
            // integer value without leading zeroes between 8 to 15 inclusive".
            _ => {
                parsed.client_max_window_bits = match value.as_deref() {
                    None if direction == Direction::Offer => ClientWindow::NoValue,
                    None => return Err(invalid()),
                    Some(v) => ClientWindow::Bits(window_bits(v).ok_or_else(invalid)?),
                };
            }
        }
    }
    Ok(parsed)
}

/// `name [ "=" value ]` of one parameter; the value unquoted (RFC 6455 §9.1:
/// `extension-param = token [ "=" (token | quoted-string) ]`, and a quoted value "after
/// quoted-string unescaping MUST conform to the 'token' ABNF"). `None`: not that grammar.
fn split_param(part: &str) -> Option<(&str, Option<Cow<'_, str>>)> {
    let (name, value) = match part.split_once('=') {
        None => (part, None),
        Some((name, value)) => (trim_ows(name), Some(trim_ows(value))),
    };
    if !is_token(name) {
        return None;
    }
    let value = match value {
        None => None,
        Some(v) if is_token(v) => Some(Cow::Borrowed(v)),
        Some(v) => Some(Cow::Owned(unquote(v).filter(|u| is_token(u))?)),
    };
    Some((name, value))
}

/// The content of a quoted-string (RFC 2616 §2.2: `<"> *(qdtext | quoted-pair) <">`,
/// `quoted-pair = "\" CHAR`); `None` if `v` is not exactly one.
fn unquote(v: &str) -> Option<String> {
    let inner = v.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// RFC 7692 §7.1.2: `8` … `15`, "a decimal integer value without leading zeroes".
fn window_bits(v: &str) -> Option<u8> {
    let bits: u8 = match v.as_bytes() {
        [d @ b'8'..=b'9'] => d - b'0',
        [b'1', d @ b'0'..=b'5'] => 10 + (d - b'0'),
        _ => return None,
    };
    Some(bits)
}

/// The extension name of an element (before the first `;`, OWS trimmed).
fn element_name(element: &str) -> &str {
    trim_ows(element.split(';').next().unwrap_or_default())
}

/// This extension element (an offer or a response) names permessage-deflate.
pub fn is_permessage_deflate(element: &str) -> bool {
    element_name(element) == PERMESSAGE_DEFLATE
}

/// Write an element: the name, then the parameters in RFC 7692 §7.1's order.
fn render(element: &Element) -> String {
    let mut out = String::from(PERMESSAGE_DEFLATE);
    if element.server_no_context_takeover {
        out.push_str("; ");
        out.push_str(SERVER_NO_CONTEXT_TAKEOVER);
    }
    if element.client_no_context_takeover {
        out.push_str("; ");
        out.push_str(CLIENT_NO_CONTEXT_TAKEOVER);
    }
    if let Some(bits) = element.server_max_window_bits {
        out.push_str(&format!("; {SERVER_MAX_WINDOW_BITS}={bits}"));
    }
    match element.client_max_window_bits {
        ClientWindow::Absent => {}
        ClientWindow::NoValue => {
            out.push_str("; ");
            out.push_str(CLIENT_MAX_WINDOW_BITS);
        }
        ClientWindow::Bits(bits) => out.push_str(&format!("; {CLIENT_MAX_WINDOW_BITS}={bits}")),
    }
    out
}

/// A configured window size, read as 8 to 15.
fn clamp_bits(bits: u8) -> u8 {
    bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS)
}

/// Strip spaces and tabs at both ends (RFC 2616's "implied *LWS" around `;` and `=`).
fn trim_ows(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// RFC 2616 §2.2: `token = 1*<any CHAR except CTLs or separators>`.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeflateNegotiationError as E;

    fn cfg(compress: u8, decompress: u8, compress_ct: bool, decompress_ct: bool) -> DeflateConfig {
        DeflateConfig {
            compress_window_bits: compress,
            decompress_window_bits: decompress,
            compress_context_takeover: compress_ct,
            decompress_context_takeover: decompress_ct,
            ..DeflateConfig::default()
        }
    }

    fn params(snct: bool, cnct: bool, smwb: Option<u8>, cmwb: Option<u8>) -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: snct,
            client_no_context_takeover: cnct,
            server_max_window_bits: smwb,
            client_max_window_bits: cmwb,
        }
    }

    /// The one reason the single offer `offer` is declined with.
    fn declined(config: &DeflateConfig, offer: &str) -> DeflateNegotiationError {
        let outcome = config.negotiate_offers([offer]);
        assert_eq!(outcome.accepted, None, "{offer}");
        assert_eq!(outcome.declined.len(), 1, "{offer}");
        outcome.declined[0].reason.clone()
    }

    fn accepted(config: &DeflateConfig, offer: &str) -> DeflateAgreement {
        let outcome = config.negotiate_offers([offer]);
        assert!(outcome.declined.is_empty(), "{offer}: {:?}", outcome.declined);
        outcome.accepted.expect(offer)
    }

    // ---- the client's offer ----

    #[test]
    fn offers_follow_the_configuration() {
        assert_eq!(
            DeflateConfig::default().client_offer(),
            "permessage-deflate; client_max_window_bits"
        );
        assert_eq!(
            cfg(10, 15, true, true).client_offer(),
            "permessage-deflate; client_max_window_bits=10"
        );
        assert_eq!(
            cfg(15, 9, true, true).client_offer(),
            "permessage-deflate; server_max_window_bits=9; client_max_window_bits"
        );
        assert_eq!(
            cfg(15, 15, false, false).client_offer(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             client_max_window_bits"
        );
        // Out-of-range settings are read as the nearest bound: never an invalid offer.
        assert_eq!(
            cfg(3, 200, true, true).client_offer(),
            "permessage-deflate; client_max_window_bits=8"
        );
    }

    // ---- parsing ----

    #[test]
    fn grammar_of_6455_9_1() {
        let c = DeflateConfig::default();
        for bad in [
            "",
            ";",
            "permessage-deflate;",
            "permessage-deflate; ; client_max_window_bits",
            "permessage-deflate client_max_window_bits",
            "permessage-deflate; server_max_window_bits=",
            "permessage-deflate; server_max_window_bits=\"10",
            "permessage-deflate; server_max_window_bits=\"1 0\"",
            "permessage-deflate; server_max_window_bits=\"10\"x",
            "permessage-deflate; =10",
            "permessage-deflate; a=b=c",
            "perméssage-deflate",
        ] {
            assert!(
                matches!(c.check_response(bad), Err(E::Malformed(_))),
                "{bad:?}: {:?}",
                c.check_response(bad)
            );
        }
    }

    #[test]
    fn whitespace_around_separators_is_allowed() {
        let c = DeflateConfig::default();
        assert_eq!(
            c.check_response(
                " permessage-deflate ;\tserver_max_window_bits = 10 ; client_no_context_takeover "
            ),
            Ok(params(false, true, Some(10), None))
        );
    }

    #[test]
    fn quoted_values_are_the_token_they_quote() {
        let c = DeflateConfig::default();
        assert_eq!(
            c.check_response("permessage-deflate; server_max_window_bits=\"10\""),
            Ok(params(false, false, Some(10), None))
        );
        // A quoted-pair unescapes to its character: "1\0" is 10.
        assert_eq!(
            c.check_response("permessage-deflate; client_max_window_bits=\"1\\0\""),
            Ok(params(false, false, None, Some(10)))
        );
        // Quotes around a no-value parameter's value still make a value.
        assert_eq!(
            c.check_response("permessage-deflate; server_no_context_takeover=\"\""),
            Err(E::Malformed("permessage-deflate; server_no_context_takeover=\"\"".into()))
        );
        assert_eq!(
            c.check_response("permessage-deflate; server_no_context_takeover=\"x\""),
            Err(E::InvalidValue { param: SERVER_NO_CONTEXT_TAKEOVER, value: Some("x".into()) })
        );
    }

    #[test]
    fn window_values_are_8_to_15_without_leading_zeros() {
        for (v, ok) in [
            ("8", Some(8)),
            ("9", Some(9)),
            ("10", Some(10)),
            ("15", Some(15)),
            ("7", None),
            ("16", None),
            ("08", None),
            ("010", None),
            ("+9", None),
            ("1e1", None),
            ("255", None),
            ("99999999999999999999", None),
        ] {
            assert_eq!(window_bits(v), ok, "{v}");
        }
    }

    #[test]
    fn names_are_case_sensitive() {
        let c = DeflateConfig::default();
        assert_eq!(
            c.check_response("Permessage-Deflate"),
            Err(E::NotPermessageDeflate("Permessage-Deflate".into()))
        );
        assert_eq!(
            c.check_response("permessage-deflate; Server_No_Context_Takeover"),
            Err(E::UnknownParameter("Server_No_Context_Takeover".into()))
        );
        // A server skips an offer for another extension, without declining it.
        let outcome = c.negotiate_offers(["PERMESSAGE-DEFLATE", "x-webkit-deflate-frame"]);
        assert_eq!(outcome, ServerNegotiation::default());
    }

    // ---- the client's check of the response (RFC 7692 §7, §7.1) ----

    #[test]
    fn response_unknown_parameter_fails() {
        let c = DeflateConfig::default();
        assert_eq!(
            c.check_response("permessage-deflate; max_window_bits=10"),
            Err(E::UnknownParameter("max_window_bits".into()))
        );
    }

    #[test]
    fn response_duplicate_parameter_fails() {
        let c = DeflateConfig::default();
        for (element, name) in [
            (
                "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                SERVER_NO_CONTEXT_TAKEOVER,
            ),
            (
                "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
                CLIENT_NO_CONTEXT_TAKEOVER,
            ),
            (
                "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
                SERVER_MAX_WINDOW_BITS,
            ),
            (
                "permessage-deflate; client_max_window_bits=10; client_max_window_bits=9",
                CLIENT_MAX_WINDOW_BITS,
            ),
        ] {
            assert_eq!(c.check_response(element), Err(E::DuplicateParameter(name.into())));
        }
    }

    #[test]
    fn response_invalid_values_fail() {
        let c = DeflateConfig::default();
        let invalid =
            |param, value: Option<&str>| E::InvalidValue { param, value: value.map(Into::into) };
        for (element, err) in [
            (
                "permessage-deflate; server_no_context_takeover=1",
                invalid(SERVER_NO_CONTEXT_TAKEOVER, Some("1")),
            ),
            (
                "permessage-deflate; client_no_context_takeover=true",
                invalid(CLIENT_NO_CONTEXT_TAKEOVER, Some("true")),
            ),
            ("permessage-deflate; server_max_window_bits", invalid(SERVER_MAX_WINDOW_BITS, None)),
            (
                "permessage-deflate; server_max_window_bits=7",
                invalid(SERVER_MAX_WINDOW_BITS, Some("7")),
            ),
            (
                "permessage-deflate; server_max_window_bits=16",
                invalid(SERVER_MAX_WINDOW_BITS, Some("16")),
            ),
            (
                "permessage-deflate; server_max_window_bits=010",
                invalid(SERVER_MAX_WINDOW_BITS, Some("010")),
            ),
            // §7.1.2.2: in a response client_max_window_bits always has a value.
            ("permessage-deflate; client_max_window_bits", invalid(CLIENT_MAX_WINDOW_BITS, None)),
            (
                "permessage-deflate; client_max_window_bits=0",
                invalid(CLIENT_MAX_WINDOW_BITS, Some("0")),
            ),
        ] {
            assert_eq!(c.check_response(element), Err(err), "{element}");
        }
    }

    #[test]
    fn response_client_window_without_an_offer_fails() {
        // Our own offers always carry client_max_window_bits; an offer without it is built
        // by hand to show the rule.
        let offer = Element {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: ClientWindow::Absent,
        };
        assert_eq!(
            check_against(&offer, "permessage-deflate; client_max_window_bits=12"),
            Err(E::NotOffered(CLIENT_MAX_WINDOW_BITS))
        );
        assert_eq!(check_against(&offer, "permessage-deflate"), Ok(DeflateParams::default()));
    }

    #[test]
    fn response_server_window_must_answer_our_limit() {
        let c = cfg(15, 10, true, true);
        assert_eq!(
            c.check_response("permessage-deflate; server_max_window_bits=11"),
            Err(E::WindowLargerThanOffered {
                param: SERVER_MAX_WINDOW_BITS,
                offered: 10,
                answered: 11
            })
        );
        assert_eq!(
            c.check_response("permessage-deflate"),
            Err(E::MissingParameter(SERVER_MAX_WINDOW_BITS))
        );
        assert_eq!(
            c.check_response("permessage-deflate; server_max_window_bits=10"),
            Ok(params(false, false, Some(10), None))
        );
        assert_eq!(
            c.check_response("permessage-deflate; server_max_window_bits=8"),
            Ok(params(false, false, Some(8), None))
        );
        // Without a limit of ours the server may still choose a smaller window (§7.1.2.1 MAY).
        assert_eq!(
            DeflateConfig::default().check_response("permessage-deflate; server_max_window_bits=9"),
            Ok(params(false, false, Some(9), None))
        );
    }

    #[test]
    fn response_must_grant_server_no_context_takeover_we_asked_for() {
        let c = cfg(15, 15, true, false);
        assert_eq!(
            c.check_response("permessage-deflate"),
            Err(E::MissingParameter(SERVER_NO_CONTEXT_TAKEOVER))
        );
        assert_eq!(
            c.check_response("permessage-deflate; server_no_context_takeover"),
            Ok(params(true, false, None, None))
        );
        // The server may reset its window unasked (§7.1.1.1 MAY).
        assert_eq!(
            DeflateConfig::default()
                .check_response("permessage-deflate; server_no_context_takeover"),
            Ok(params(true, false, None, None))
        );
    }

    #[test]
    fn our_offered_promises_hold_without_the_response_repeating_them() {
        // client_no_context_takeover offered: we reset whatever the response says.
        assert_eq!(
            cfg(15, 15, false, true).check_response("permessage-deflate"),
            Ok(params(false, true, None, None))
        );
        // client_max_window_bits=10 offered: the server may lower it, not raise it.
        let c = cfg(10, 15, true, true);
        assert_eq!(
            c.check_response("permessage-deflate"),
            Ok(params(false, false, None, Some(10)))
        );
        assert_eq!(
            c.check_response("permessage-deflate; client_max_window_bits=9"),
            Ok(params(false, false, None, Some(9)))
        );
        assert_eq!(
            c.check_response("permessage-deflate; client_max_window_bits=12"),
            Ok(params(false, false, None, Some(10)))
        );
        // Offered without a value: the server's value, 8 included (zlib compresses it with 9).
        assert_eq!(
            DeflateConfig::default().check_response("permessage-deflate; client_max_window_bits=8"),
            Ok(params(false, false, None, Some(8)))
        );
    }

    #[test]
    fn response_for_another_extension_is_refused() {
        assert_eq!(
            DeflateConfig::default().check_response("x-webkit-deflate-frame"),
            Err(E::NotPermessageDeflate("x-webkit-deflate-frame".into()))
        );
    }

    #[test]
    fn permessage_deflate_accepted_twice_fails() {
        let c = DeflateConfig::default();
        assert_eq!(
            c.check_response_extensions(["permessage-deflate", "foo", "permessage-deflate"]),
            Err(E::AcceptedTwice)
        );
        assert_eq!(c.check_response_extensions(["foo"]), Ok(None));
        assert_eq!(c.check_response_extensions([]), Ok(None));
        assert_eq!(
            c.check_response_extensions([
                "foo; a=1",
                "permessage-deflate; server_no_context_takeover"
            ]),
            Ok(Some(params(true, false, None, None)))
        );
    }

    // ---- the server's choice (RFC 7692 §5, §7) ----

    #[test]
    fn server_declines_unknown_duplicate_and_invalid() {
        let c = DeflateConfig::default();
        assert_eq!(declined(&c, "permessage-deflate; foo"), E::UnknownParameter("foo".into()));
        assert_eq!(
            declined(&c, "permessage-deflate; client_max_window_bits; client_max_window_bits=10"),
            E::DuplicateParameter(CLIENT_MAX_WINDOW_BITS.into())
        );
        assert_eq!(
            declined(&c, "permessage-deflate; server_max_window_bits"),
            E::InvalidValue { param: SERVER_MAX_WINDOW_BITS, value: None }
        );
        assert_eq!(
            declined(&c, "permessage-deflate; client_max_window_bits=16"),
            E::InvalidValue { param: CLIENT_MAX_WINDOW_BITS, value: Some("16".into()) }
        );
        assert_eq!(
            declined(&c, "permessage-deflate; x=\"a b\""),
            E::Malformed("permessage-deflate; x=\"a b\"".into())
        );
    }

    #[test]
    fn server_walks_offers_in_order_and_stops_at_the_first_acceptable() {
        let c = DeflateConfig::default();
        let outcome = c.negotiate_offers([
            "foo",
            "permessage-deflate; bogus",
            "permessage-deflate; server_max_window_bits=10",
            "permessage-deflate",
            "permessage-deflate; bogus-after",
        ]);
        let accepted = outcome.accepted.unwrap();
        assert_eq!(accepted.position, 2);
        assert_eq!(accepted.response, "permessage-deflate; server_max_window_bits=10");
        assert_eq!(accepted.params, params(false, false, Some(10), None));
        assert_eq!(
            outcome.declined,
            [DeclinedOffer {
                position: 1,
                offer: "permessage-deflate; bogus".into(),
                reason: E::UnknownParameter("bogus".into()),
            }]
        );
    }

    #[test]
    fn server_no_context_takeover_is_granted_when_offered_or_wanted() {
        let c = DeflateConfig::default();
        let a = accepted(&c, "permessage-deflate; server_no_context_takeover");
        assert_eq!(a.response, "permessage-deflate; server_no_context_takeover");
        let a = accepted(&cfg(15, 15, false, true), "permessage-deflate");
        assert_eq!(a.response, "permessage-deflate; server_no_context_takeover");
        assert_eq!(a.params, params(true, false, None, None));
    }

    #[test]
    fn client_no_context_takeover_is_echoed_or_asked() {
        let a =
            accepted(&DeflateConfig::default(), "permessage-deflate; client_no_context_takeover");
        assert_eq!(a.response, "permessage-deflate; client_no_context_takeover");
        let a = accepted(&cfg(15, 15, true, false), "permessage-deflate");
        assert_eq!(a.response, "permessage-deflate; client_no_context_takeover");
    }

    #[test]
    fn server_window_is_at_most_the_offer_and_ours() {
        let ours = cfg(12, 15, true, true);
        assert_eq!(
            accepted(&ours, "permessage-deflate; server_max_window_bits=10").response,
            "permessage-deflate; server_max_window_bits=10"
        );
        assert_eq!(
            accepted(&ours, "permessage-deflate; server_max_window_bits=14").response,
            "permessage-deflate; server_max_window_bits=12"
        );
        // Not offered: we may still state our smaller window (§7.1.2.1 MAY).
        assert_eq!(
            accepted(&ours, "permessage-deflate").response,
            "permessage-deflate; server_max_window_bits=12"
        );
        // Offered at 15 with nothing smaller of ours: echoed, since accepting it means
        // including it (§7.1.2.1).
        assert_eq!(
            accepted(&DeflateConfig::default(), "permessage-deflate; server_max_window_bits=15")
                .response,
            "permessage-deflate; server_max_window_bits=15"
        );
        // 8 is a window we can compress with.
        assert_eq!(
            accepted(&DeflateConfig::default(), "permessage-deflate; server_max_window_bits=8")
                .params,
            params(false, false, Some(8), None)
        );
    }

    #[test]
    fn client_window_is_answered_only_when_offered() {
        // We want no limit: a valueless offer is not answered (a response needs a value).
        let d = DeflateConfig::default();
        assert_eq!(
            accepted(&d, "permessage-deflate; client_max_window_bits").response,
            "permessage-deflate"
        );
        // A value is echoed, so both ends record it.
        assert_eq!(
            accepted(&d, "permessage-deflate; client_max_window_bits=11").response,
            "permessage-deflate; client_max_window_bits=11"
        );
        // We want 10: the valueless offer gets 10, a larger value 10, a smaller one stays.
        let ours = cfg(15, 10, true, true);
        assert_eq!(
            accepted(&ours, "permessage-deflate; client_max_window_bits").response,
            "permessage-deflate; client_max_window_bits=10"
        );
        assert_eq!(
            accepted(&ours, "permessage-deflate; client_max_window_bits=13").response,
            "permessage-deflate; client_max_window_bits=10"
        );
        assert_eq!(
            accepted(&ours, "permessage-deflate; client_max_window_bits=9").params,
            params(false, false, None, Some(9))
        );
        // No client_max_window_bits offered: we cannot ask for 10 (MUST NOT answer it).
        assert_eq!(
            declined(&ours, "permessage-deflate"),
            E::ClientWindowNotLimitable { wanted: 10 }
        );
        let outcome = ours
            .negotiate_offers(["permessage-deflate", "permessage-deflate; client_max_window_bits"]);
        assert_eq!(outcome.declined.len(), 1);
        assert_eq!(outcome.accepted.unwrap().position, 1);
    }

    // ---- golden: what real peers offer ----

    /// Chromium, Firefox, Python `websockets` (client default) and Node `ws` (client
    /// default) all offer `permessage-deflate; client_max_window_bits`.
    #[test]
    fn browsers_and_common_clients() {
        let offer = "permessage-deflate; client_max_window_bits";
        assert_eq!(DeflateConfig::default().client_offer(), offer);
        let a = accepted(&DeflateConfig::default(), offer);
        assert_eq!(a.response, "permessage-deflate");
        assert_eq!(a.params, DeflateParams::default());
        let a = accepted(&cfg(11, 12, false, true), offer);
        assert_eq!(
            a.response,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=11; \
             client_max_window_bits=12"
        );
    }

    /// The answers those clients expect to read, as their servers send them.
    #[test]
    fn answers_real_servers_send() {
        let d = DeflateConfig::default();
        // Python websockets' server default, ws's server with serverNoContextTakeover.
        for (element, expected) in [
            ("permessage-deflate", params(false, false, None, None)),
            (
                "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
                params(false, false, Some(12), Some(12)),
            ),
            (
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
                params(true, true, None, None),
            ),
        ] {
            assert_eq!(d.check_response(element), Ok(expected), "{element}");
        }
    }

    /// Any two configurations agree, through their own offer and answer, on the same
    /// parameters, and those parameters respect both.
    mod props {
        use proptest::prelude::*;

        use super::super::*;

        fn config() -> impl Strategy<Value = DeflateConfig> {
            (0u8..=20, 0u8..=20, any::<bool>(), any::<bool>()).prop_map(|(c, d, cct, dct)| {
                DeflateConfig {
                    compress_window_bits: c,
                    decompress_window_bits: d,
                    compress_context_takeover: cct,
                    decompress_context_takeover: dct,
                    ..DeflateConfig::default()
                }
            })
        }

        /// Elements made of the pieces a negotiation is made of, well-formed or not.
        fn element() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                Just("permessage-deflate".to_owned()),
                Just("server_no_context_takeover".to_owned()),
                Just("client_no_context_takeover".to_owned()),
                Just("server_max_window_bits".to_owned()),
                Just("client_max_window_bits".to_owned()),
                Just(";".to_owned()),
                Just("=".to_owned()),
                Just("\"".to_owned()),
                Just("\\".to_owned()),
                Just(" ".to_owned()),
                "[0-9]{1,3}",
                "\\PC{0,4}",
            ];
            prop::collection::vec(piece, 0..12).prop_map(|p| p.concat())
        }

        proptest! {
            #[test]
            fn both_ends_agree(client in config(), server in config()) {
                let offer = client.client_offer();
                let outcome = server.negotiate_offers([offer.as_str()]);
                // Our client always offers client_max_window_bits, so our server never
                // declines it.
                prop_assert!(outcome.declined.is_empty(), "{:?}", outcome.declined);
                let agreed = outcome.accepted.expect("accepted");
                let checked = client.check_response(&agreed.response);
                prop_assert_eq!(checked, Ok(agreed.params), "{} -> {}", offer, agreed.response);
                let p = agreed.params;
                let bits = |b: Option<u8>| b.unwrap_or(15);
                let clamp = |b: u8| b.clamp(8, 15);
                // The client compresses within its own window and the server's decompressor.
                prop_assert!(bits(p.client_max_window_bits) <= clamp(client.compress_window_bits));
                prop_assert!(bits(p.client_max_window_bits) <= clamp(server.decompress_window_bits));
                // The server compresses within its own window and the client's decompressor.
                prop_assert!(bits(p.server_max_window_bits) <= clamp(server.compress_window_bits));
                prop_assert!(bits(p.server_max_window_bits) <= clamp(client.decompress_window_bits));
                // Context takeover only where both ends allow it.
                if !client.compress_context_takeover || !server.decompress_context_takeover {
                    prop_assert!(p.client_no_context_takeover);
                }
                if !server.compress_context_takeover || !client.decompress_context_takeover {
                    prop_assert!(p.server_no_context_takeover);
                }
                // What the server answers, it answers in the grammar it accepts itself.
                prop_assert_eq!(super::super::parse(&agreed.response, Direction::Response)
                    .map(|e| e.params()), Ok(agreed.params));
            }

            #[test]
            fn no_input_panics(a in element(), b in element(), junk in "\\PC{0,40}", c in config()) {
                let _ = c.check_response(&a);
                let _ = c.check_response(&junk);
                let _ = c.check_response_extensions([a.as_str(), b.as_str()]);
                let outcome = c.negotiate_offers([a.as_str(), junk.as_str(), b.as_str()]);
                // An accepted offer is answered with a response our client side can read.
                if let Some(agreed) = outcome.accepted {
                    prop_assert!(super::super::parse(&agreed.response, Direction::Response).is_ok());
                }
                for d in &outcome.declined {
                    prop_assert!(!d.reason.to_string().is_empty());
                }
            }
        }
    }
}
