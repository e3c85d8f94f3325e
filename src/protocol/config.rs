//! [`Config`]: the budgets and switches the sans-IO core enforces, each with its default.
//!
//! Only what [`super::Connection`] itself enforces lives here. The opening handshake's budgets
//! are [`crate::handshake::Limits`]; the driver's own timeouts (the opening handshake, the
//! TCP connect) are in `socket::Settings`. The timeouts below are deadlines the core reports
//! ([`super::Connection::next_deadline`]); the caller owns the clock.

use std::time::Duration;

/// Budgets and switches of one connection's protocol core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Largest frame payload accepted from the peer. Default: 16 MiB.
    /// A larger frame fails the connection with 1009 before its payload is buffered.
    pub max_frame_size: usize,
    /// Largest message (all fragments together) accepted from the peer. Default: 64 MiB.
    /// A larger message fails the connection with 1009 as soon as its size is known.
    pub max_message_size: usize,
    /// Most fragments one message may be split into. Default: 16 777 216 (2^24), so that a
    /// message of `max_message_size` fits in any framing whose fragments average 4 bytes or
    /// more (real fragmenters use hundreds). Fragments are joined into one buffer as they
    /// arrive, so memory stays within `max_message_size` whatever this is; it bounds the
    /// per-frame work of a flood of empty fragments (at most 2^24 frames, about 100 MB of
    /// masked headers, per message).
    pub max_fragments: usize,
    /// Most bytes queued for the peer and not yet written. Default: 64 MiB. A message that
    /// would exceed it is refused with `SendError::WriteBufferFull` (and handed back).
    pub max_write_buffer: usize,
    /// Reject payload lengths not encoded in the minimal number of bytes (§5.2: "the minimal
    /// number of bytes MUST be used to encode the length"). Default: true.
    pub reject_non_minimal_lengths: bool,
    /// How long to wait for the peer's Close after sending ours; then the connection is given
    /// up (close code 1006). A driver also bounds by it the client's wait for the server to
    /// close TCP after the close handshake (§7.1.1). Default: 5 s.
    pub close_timeout: Duration,
    /// Ping a silent peer, and fail it when even that gets no answer. Default: off.
    pub keepalive: Option<Keepalive>,
    /// Hand out large binary messages in parts as their bytes arrive instead of whole: a
    /// Binary message whose first frame declares at least this many payload bytes comes as
    /// [`Message::BinaryPart`](super::Message::BinaryPart)s of at least this many bytes each
    /// (but the part that ends a frame; the final part is `last`), so that a proxy or an echo
    /// passes it on before it has all arrived, and nothing holds it whole. The budgets still
    /// apply (`max_frame_size`, `max_message_size`, `max_fragments`). Text always comes
    /// whole, and so does a compressed message (permessage-deflate, RFC 7692 §6: its frames
    /// are one DEFLATE stream, inflated whole). Default: off.
    pub binary_parts_from: Option<usize>,
}

/// Keepalive: when the peer has sent nothing for `interval`, send a Ping; when it then sends
/// nothing at all (not even the Pong) for `timeout`, fail the connection with 1011.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Silence after which a Ping is sent.
    pub interval: Duration,
    /// How long after that Ping the peer may stay silent before it is failed.
    pub timeout: Duration,
}

impl Keepalive {
    /// A Ping after `period` of silence, and the peer failed after another `period`.
    pub fn every(period: Duration) -> Self {
        Keepalive { interval: period, timeout: period }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_fragments: 1 << 24,
            max_write_buffer: 64 << 20,
            reject_non_minimal_lengths: true,
            close_timeout: Duration::from_secs(5),
            keepalive: None,
            binary_parts_from: None,
        }
    }
}
