//! [`Config`]: the budgets and switches the sans-IO core enforces, each with its default.
//!
//! Only what [`super::Connection`] itself enforces lives here. The opening handshake's budgets
//! are [`crate::handshake::Limits`]; timeouts belong to whoever owns the clock (the std
//! driver's `socket::Settings`, or your own event loop).

/// Budgets and switches of one connection's protocol core.
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
            reject_non_minimal_lengths: true,
        }
    }
}
