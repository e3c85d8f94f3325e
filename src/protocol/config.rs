//! Budgets and switches for one connection. Every field has a documented default.

use std::time::Duration;

use crate::handshake::Limits;

/// Configuration of a connection (sans-IO core and driver).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Largest frame payload accepted from the peer. Default: 16 MiB.
    /// A larger frame fails the connection with 1009 before its payload is buffered.
    pub max_frame_size: usize,
    /// Largest message (all fragments together) accepted from the peer. Default: 64 MiB.
    /// A larger message fails the connection with 1009 as soon as its size is known.
    pub max_message_size: usize,
    /// Most fragments one message may be split into. Default: 65 536. Fragments are joined
    /// into one buffer as they arrive, so memory stays within `max_message_size`; this bounds
    /// the per-frame work of a flood of tiny fragments.
    pub max_fragments: usize,
    /// Most bytes queued for the peer and not yet written. Default: 64 MiB. A message that
    /// would exceed it is refused with `SendError::WriteBufferFull` (and handed back).
    pub max_write_buffer: usize,
    /// How long to wait for the peer's Close after sending ours, and for the server to drop
    /// TCP after the close handshake (§7.1.1). Default: 5 s. The core only reports the
    /// deadline; the driver owns the clock.
    pub close_timeout: Duration,
    /// How long the opening handshake may take (driver). Default: 10 s.
    pub handshake_timeout: Duration,
    /// Budgets for the opening handshake's HTTP head. Default: 16 KiB, 64 header fields.
    pub handshake_limits: Limits,
    /// Reject payload lengths not encoded in the minimal number of bytes (§5.2: "the minimal
    /// number of bytes MUST be used to encode the length"). Default: true.
    pub reject_non_minimal_lengths: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_fragments: 65_536,
            max_write_buffer: 64 << 20,
            close_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(10),
            handshake_limits: Limits::default(),
            reject_non_minimal_lengths: true,
        }
    }
}
