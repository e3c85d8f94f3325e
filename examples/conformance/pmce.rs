//! The suite's own permessage-deflate (RFC 7692), written against zlib (through flate2) and
//! not against rfc6455's: the suite must stay an independent check of the library.
//!
//! Two halves. Negotiation follows what Autobahn|Testsuite does (its cases 12 and 13 use
//! autobahn-python's `compress_deflate.py`, pinned at 0.10.9): the client's offers as
//! `PerMessageDeflateOffer`s, the fuzzing server's accept functions, the same header strings
//! in the same parameter order. The payload transformation is RFC 7692 §7.2.1 and §7.2.2:
//! raw DEFLATE, a sync flush whose trailing `00 00 ff ff` is removed by the sender and put
//! back by the receiver, and a context (LZ77 window) kept across messages unless the
//! sender's `*_no_context_takeover` was agreed.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The extension's name (§7).
pub const NAME: &str = "permessage-deflate";

/// §7.2.1: the tail that a sync flush leaves and the sender removes.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The largest message the suite inflates (a bound against a peer's deflate bomb).
const MAX_INFLATED: usize = 64 << 20;

/// One offer of a client (autobahn's `PerMessageDeflateOffer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offer {
    /// The client lets the server ask it for `client_no_context_takeover`.
    pub accept_no_context_takeover: bool,
    /// The client offers `client_max_window_bits` (the server may then limit its window).
    pub accept_max_window_bits: bool,
    /// The client asks for `server_no_context_takeover`.
    pub request_no_context_takeover: bool,
    /// The client asks for `server_max_window_bits=N` (0: not asked).
    pub request_max_window_bits: u8,
}

impl Offer {
    /// An offer as Autobahn's cases build them: both `accept_*` on (the constructor's
    /// defaults), and the two requests given.
    pub const fn new(request_no_context_takeover: bool, request_max_window_bits: u8) -> Offer {
        Offer {
            accept_no_context_takeover: true,
            accept_max_window_bits: true,
            request_no_context_takeover,
            request_max_window_bits,
        }
    }

    /// The offer as sent in `Sec-WebSocket-Extensions`, parameters in autobahn's order.
    pub fn header_value(&self) -> String {
        let mut s = String::from(NAME);
        if self.accept_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if self.accept_max_window_bits {
            s.push_str("; client_max_window_bits");
        }
        if self.request_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.request_max_window_bits != 0 {
            s.push_str(&format!("; server_max_window_bits={}", self.request_max_window_bits));
        }
        s
    }

    /// A client's offer as the fuzzing server reads it. Like autobahn, a server may ask for
    /// `client_no_context_takeover` whatever the offer says (RFC 7692 §7.1.1.2 allows it),
    /// and may limit the client's window only when the offer has `client_max_window_bits`
    /// (§7.1.2.2).
    fn parse(params: &[(String, Option<String>)]) -> Result<Offer, String> {
        let mut offer = Offer {
            accept_no_context_takeover: true,
            accept_max_window_bits: false,
            request_no_context_takeover: false,
            request_max_window_bits: 0,
        };
        for (name, value) in unique(params)? {
            match (name, value) {
                ("client_max_window_bits", None) => offer.accept_max_window_bits = true,
                ("client_max_window_bits", Some(v)) => {
                    window_bits(name, v)?;
                    offer.accept_max_window_bits = true;
                }
                ("client_no_context_takeover", None) => offer.accept_no_context_takeover = true,
                ("server_max_window_bits", Some(v)) => {
                    offer.request_max_window_bits = window_bits(name, v)?
                }
                ("server_no_context_takeover", None) => offer.request_no_context_takeover = true,
                (n, v) => return Err(format!("illegal parameter {}", show(n, v))),
            }
        }
        Ok(offer)
    }
}

/// What both ends agreed (RFC 7692 §7.1). A window of 0 means "not given" (15).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Agreed {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    pub server_max_window_bits: u8,
    pub client_max_window_bits: u8,
}

impl Agreed {
    /// The server's answer in `Sec-WebSocket-Extensions`, parameters in autobahn's order.
    pub fn response_value(&self) -> String {
        let mut s = String::from(NAME);
        if self.server_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.server_max_window_bits != 0 {
            s.push_str(&format!("; server_max_window_bits={}", self.server_max_window_bits));
        }
        if self.client_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if self.client_max_window_bits != 0 {
            s.push_str(&format!("; client_max_window_bits={}", self.client_max_window_bits));
        }
        s
    }

    /// The server's answer as the suite (as a client) reads it: autobahn's
    /// `PerMessageDeflateResponse.parse`, which any valid answer passes.
    fn parse_response(params: &[(String, Option<String>)]) -> Result<Agreed, String> {
        let mut a = Agreed::default();
        for (name, value) in unique(params)? {
            match (name, value) {
                ("client_max_window_bits", Some(v)) => {
                    a.client_max_window_bits = window_bits(name, v)?
                }
                ("client_no_context_takeover", None) => a.client_no_context_takeover = true,
                ("server_max_window_bits", Some(v)) => {
                    a.server_max_window_bits = window_bits(name, v)?
                }
                ("server_no_context_takeover", None) => a.server_no_context_takeover = true,
                (n, v) => return Err(format!("illegal parameter {}", show(n, v))),
            }
        }
        Ok(a)
    }
}

/// Server mode: how the suite, as Autobahn's fuzzing server, answers the client's offers
/// (the `accept*` functions of Autobahn's `case12_x_x.py`). The first offer that meets the
/// function's condition is accepted; none: the extension is declined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerAccept {
    /// `accept1` (and 12.x's `accept_deflate`): the first offer, asking nothing back.
    Plain,
    /// `accept2`: ask for `client_no_context_takeover`.
    NoContextTakeover,
    /// `accept3` (9), `accept4` (15): ask for `client_max_window_bits=N`, when offered.
    MaxWindowBits(u8),
    /// `accept5` (9), `accept6` (15): both.
    NoContextTakeoverMaxWindowBits(u8),
    /// `accept7`: `accept5`, else `accept2`, else `accept1`.
    Fallback,
}

impl ServerAccept {
    /// The agreed parameters for `offers`, or `None` (decline the extension).
    pub fn choose(self, offers: &[Offer]) -> Option<Agreed> {
        let agree = |o: &Offer, no_context: bool, bits: u8| Agreed {
            server_no_context_takeover: o.request_no_context_takeover,
            server_max_window_bits: o.request_max_window_bits,
            client_no_context_takeover: no_context,
            client_max_window_bits: bits,
        };
        match self {
            ServerAccept::Plain => offers.first().map(|o| agree(o, false, 0)),
            ServerAccept::NoContextTakeover => {
                offers.iter().find(|o| o.accept_no_context_takeover).map(|o| agree(o, true, 0))
            }
            ServerAccept::MaxWindowBits(bits) => {
                offers.iter().find(|o| o.accept_max_window_bits).map(|o| agree(o, false, bits))
            }
            ServerAccept::NoContextTakeoverMaxWindowBits(bits) => offers
                .iter()
                .find(|o| o.accept_no_context_takeover && o.accept_max_window_bits)
                .map(|o| agree(o, true, bits)),
            ServerAccept::Fallback => ServerAccept::NoContextTakeoverMaxWindowBits(9)
                .choose(offers)
                .or_else(|| ServerAccept::NoContextTakeover.choose(offers))
                .or_else(|| ServerAccept::Plain.choose(offers)),
        }
    }

    /// Autobahn's own summary of the function: (no context takeover, window bits) tried.
    pub fn describe(self) -> &'static str {
        match self {
            ServerAccept::Plain => "[(False, 0)]",
            ServerAccept::NoContextTakeover => "[(True, 0)]",
            ServerAccept::MaxWindowBits(9) => "[(False, 9)]",
            ServerAccept::MaxWindowBits(_) => "[(False, 15)]",
            ServerAccept::NoContextTakeoverMaxWindowBits(9) => "[(True, 9)]",
            ServerAccept::NoContextTakeoverMaxWindowBits(_) => "[(True, 15)]",
            ServerAccept::Fallback => "[(True, 9), (True, 0), (False, 0)]",
        }
    }
}

/// Server mode: the client's permessage-deflate offers in its `Sec-WebSocket-Extensions`
/// (other extensions are ignored). An invalid offer fails the handshake, as in autobahn.
pub fn parse_offers(header: &str) -> Result<Vec<Offer>, String> {
    parse_header(header)
        .into_iter()
        .filter(|(name, _)| name == NAME)
        .map(|(_, params)| Offer::parse(&params))
        .collect()
}

/// Client mode: the server's answer. `Ok(None)`: the server declined (no extension);
/// an error: the answer must fail the connection (an extension we did not offer, two
/// permessage-deflate answers, an invalid parameter).
pub fn parse_response(header: Option<&str>) -> Result<Option<Agreed>, String> {
    let mut agreed = None;
    for (name, params) in parse_header(header.unwrap_or("")) {
        if name != NAME {
            return Err(format!("the server answered with extension {name:?}, never offered"));
        }
        if agreed.is_some() {
            return Err("the server answered with permessage-deflate twice".into());
        }
        agreed = Some(Agreed::parse_response(&params)?);
    }
    Ok(agreed)
}

type Params = Vec<(String, Option<String>)>;

/// `Sec-WebSocket-Extensions` split as autobahn splits it: extensions at `,`, parameters at
/// `;`, a value after `=` with its surrounding quotes removed; names lower-cased.
fn parse_header(header: &str) -> Vec<(String, Params)> {
    header
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            let mut parts = e.split(';').map(str::trim);
            let name = parts.next().unwrap_or("").to_ascii_lowercase();
            let params = parts
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => {
                        let v = v.trim();
                        let v = v.strip_prefix('"').unwrap_or(v);
                        let v = v.strip_suffix('"').unwrap_or(v);
                        (k.trim().to_ascii_lowercase(), Some(v.to_string()))
                    }
                    None => (p.to_ascii_lowercase(), None),
                })
                .collect();
            (name, params)
        })
        .collect()
}

/// Each parameter at most once (RFC 7692 §7.1: more than one is a failure).
fn unique(params: &[(String, Option<String>)]) -> Result<Vec<(&str, Option<&str>)>, String> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for (name, value) in params {
        if seen.contains(&name.as_str()) {
            return Err(format!("parameter {name} given twice"));
        }
        seen.push(name);
        out.push((name.as_str(), value.as_deref()));
    }
    Ok(out)
}

/// A window size: a decimal 8..=15 (§7.1.2.1; autobahn 0.10.9 accepts 8 too).
fn window_bits(name: &str, v: &str) -> Result<u8, String> {
    match v.parse::<u8>() {
        Ok(n @ 8..=15) if !v.starts_with('0') => Ok(n),
        _ => Err(format!("illegal value {v:?} for {name}")),
    }
}

fn show(name: &str, value: Option<&str>) -> String {
    match value {
        Some(v) => format!("{name}={v}"),
        None => name.to_string(),
    }
}

/// zlib takes windows of 9..=15 bits for raw DEFLATE. An agreed 8 is used as 9: for
/// inflating, a larger window decodes any stream of a smaller one (the suite then cannot
/// catch a peer that exceeds 8 bits); for deflating, zlib's deflate never reaches back
/// further than the window minus 262 bytes (its MIN_LOOKAHEAD), 250 bytes with 9 bits, so
/// the stream is valid for a peer with an 8-bit window (what zlib itself and Node do).
fn zlib_bits(agreed: u8) -> u8 {
    match agreed {
        0 => 15,
        n => n.clamp(9, 15),
    }
}

/// One connection's compression state, for our role.
pub struct Pmce {
    send_bits: u8,
    send_reset: bool,
    receive_bits: u8,
    receive_reset: bool,
    deflate: Option<Compress>,
    inflate: Option<Decompress>,
}

impl Pmce {
    /// `we_are_client`: we compress with the client's parameters and inflate with the
    /// server's (and the other way round).
    pub fn new(agreed: Agreed, we_are_client: bool) -> Pmce {
        let (send_bits, send_reset, receive_bits, receive_reset) = if we_are_client {
            (
                agreed.client_max_window_bits,
                agreed.client_no_context_takeover,
                agreed.server_max_window_bits,
                agreed.server_no_context_takeover,
            )
        } else {
            (
                agreed.server_max_window_bits,
                agreed.server_no_context_takeover,
                agreed.client_max_window_bits,
                agreed.client_no_context_takeover,
            )
        };
        Pmce {
            send_bits: zlib_bits(send_bits),
            send_reset,
            receive_bits: zlib_bits(receive_bits),
            receive_reset,
            deflate: None,
            inflate: None,
        }
    }

    /// §7.2.1: the payload of one compressed message (autobahn's level: zlib's default 6,
    /// with zlib's default memory level 8).
    pub fn compress(&mut self, data: &[u8]) -> Vec<u8> {
        if self.send_reset {
            self.deflate = None;
        }
        let bits = self.send_bits;
        let c = self.deflate.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(6), false, bits)
        });
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        let start = c.total_in();
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(1024));
            }
            let done = (c.total_in() - start) as usize;
            let rest = data.get(done..).unwrap_or_default();
            // A sync flush is complete once it returns with output space left over.
            if c.compress_vec(rest, &mut out, FlushCompress::Sync).is_err() {
                break;
            }
            if (c.total_in() - start) as usize >= data.len() && out.len() < out.capacity() {
                break;
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        out
    }

    /// §7.2.2: the data of one compressed message, or why it does not inflate.
    pub fn decompress(&mut self, payload: &[u8]) -> Result<Vec<u8>, String> {
        if self.receive_reset {
            self.inflate = None;
        }
        let bits = self.receive_bits;
        let d = self.inflate.get_or_insert_with(|| Decompress::new_with_window_bits(false, bits));
        let mut input = Vec::with_capacity(payload.len() + TAIL.len());
        input.extend_from_slice(payload);
        input.extend_from_slice(&TAIL);
        let mut out = Vec::with_capacity(payload.len() * 4 + 64);
        let start = d.total_in();
        loop {
            if out.capacity() - out.len() < 64 {
                if out.len() >= MAX_INFLATED {
                    return Err(format!("inflates to more than {MAX_INFLATED} bytes"));
                }
                out.reserve(out.capacity().max(1024));
            }
            let done = (d.total_in() - start) as usize;
            let rest = input.get(done..).unwrap_or_default();
            match d.decompress_vec(rest, &mut out, FlushDecompress::Sync) {
                Err(e) => {
                    self.inflate = None;
                    return Err(format!("does not inflate: {e}"));
                }
                Ok(Status::StreamEnd) => {
                    // A final block (BFINAL=1): RFC 7692 §7.2.3.3 allows it; the next
                    // message starts a fresh stream.
                    self.inflate = None;
                    return Ok(out);
                }
                Ok(_) => {}
            }
            if (d.total_in() - start) as usize >= input.len() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_read_as_autobahn_writes_them() {
        let o = Offer::new(true, 9);
        assert_eq!(
            o.header_value(),
            "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
             server_no_context_takeover; server_max_window_bits=9"
        );
        assert_eq!(parse_offers(&o.header_value()), Ok(vec![o]));
        // websockets' default offer: no client_no_context_takeover, yet the server may ask.
        let ws = parse_offers("permessage-deflate; client_max_window_bits").unwrap();
        let a = ServerAccept::NoContextTakeoverMaxWindowBits(9).choose(&ws).unwrap();
        assert_eq!(
            a.response_value(),
            "permessage-deflate; client_no_context_takeover; client_max_window_bits=9"
        );
        assert_eq!(ServerAccept::MaxWindowBits(9).choose(&parse_offers(NAME).unwrap()), None);
        assert!(parse_offers("permessage-deflate; server_max_window_bits=16").is_err());
        assert!(parse_response(Some("x-other")).is_err());
        assert_eq!(parse_response(None), Ok(None));
    }

    #[test]
    fn round_trips_with_and_without_context_takeover() {
        let text: Vec<u8> = b"Habe nun, ach! Philosophie, Juristerei und Medizin, "
            .iter()
            .copied()
            .cycle()
            .take(5000)
            .collect();
        for (no_context, bits) in [(false, 0), (true, 0), (false, 9), (true, 8)] {
            let agreed = Agreed {
                server_no_context_takeover: no_context,
                client_no_context_takeover: no_context,
                server_max_window_bits: bits,
                client_max_window_bits: bits,
            };
            let (mut client, mut server) = (Pmce::new(agreed, true), Pmce::new(agreed, false));
            for n in [0, 1, 100, 5000] {
                let wire = client.compress(&text[..n]);
                assert_eq!(server.decompress(&wire).unwrap(), &text[..n]);
            }
        }
    }
}
