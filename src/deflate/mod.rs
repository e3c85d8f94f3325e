//! permessage-deflate (RFC 7692): compressed data messages, negotiated in the opening
//! handshake, sans-IO.
//!
//! RFC 7692 is not in RFC 6455; it is the one extension every browser offers. It gives RSV1
//! a meaning ("Per-Message Compressed", §6) and defines four parameters the two ends agree on
//! in `Sec-WebSocket-Extensions` (§7.1). A compressed message is its payload run through
//! DEFLATE (RFC 1951) with the last four octets `00 00 ff ff` removed (§7.2.1).
//!
//! | RFC 7692 | what | file |
//! |---|---|---|
//! | §5, §7, §7.1 | offers, responses, the agreed parameters | `negotiate.rs` ([`DeflateConfig::client_offer`], [`DeflateConfig::check_response`], [`DeflateConfig::negotiate_offers`]) |
//! | §5, §7 | why an offer is declined or a response refused | `error.rs` ([`DeflateNegotiationError`]) |
//! | — | what this endpoint is willing to agree to | `config.rs` ([`DeflateConfig`]) |
//! | §7.1 | the agreed parameters | `config.rs` ([`DeflateParams`]) |
//! | §7.2.1, §7.2.2 | compress and decompress one message, bounded | `codec.rs` |
//!
//! The protocol core ([`crate::Connection`]) uses this module; the rules on RSV1 (§6) are
//! judged with the others in [`crate::protocol::check`]. This module uses no other layer.

mod codec;
mod config;
mod error;
mod negotiate;

pub use codec::{Compressor, Decompressor, INFLATE_STEP, InflateError, Inflated, TAIL};
pub use config::{DeflateConfig, DeflateParams};
pub use error::DeflateNegotiationError;
pub use negotiate::{
    DeclinedOffer, DeflateAgreement, PERMESSAGE_DEFLATE, ServerNegotiation, is_permessage_deflate,
};
