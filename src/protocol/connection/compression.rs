//! permessage-deflate (RFC 7692) on one connection: which messages we compress, and the
//! compressed message being received, inflated frame by frame within `max_message_size`.
//!
//! The compressor and the decompressor are made on first use, so a connection that never
//! sends (or never receives) a compressed message holds neither: zlib's state is most of a
//! compressed connection's memory (see [`DeflateConfig`]).

use bytes::Bytes;

use super::Connection;
use crate::deflate::{
    Compressor, Decompressor, DeflateConfig, DeflateParams, InflateError, Inflated,
};
use crate::protocol::check::Role;
use crate::protocol::error::ProtocolError;

/// The negotiated extension, from our side: what we compress with, what the peer does.
#[derive(Debug)]
pub(super) struct Compression {
    params: DeflateParams,
    level: u8,
    min_compress_len: usize,
    /// Our window and reset rule, then the peer's (RFC 7692 §7.1: each role has its own).
    ours: (u8, bool),
    theirs: (u8, bool),
    compressor: Option<Box<Compressor>>,
    decompressor: Option<Box<Decompressor>>,
    /// The compressed message being received, inflated so far.
    inflated: Inflated,
}

impl Compression {
    fn new(role: Role, params: DeflateParams, config: &DeflateConfig) -> Self {
        let server =
            (params.server_max_window_bits.unwrap_or(15), params.server_no_context_takeover);
        let client =
            (params.client_max_window_bits.unwrap_or(15), params.client_no_context_takeover);
        let (ours, theirs) = match role {
            Role::Server => (server, client),
            Role::Client => (client, server),
        };
        // Our own wishes can only make us stricter than what was agreed.
        let ours = (
            ours.0.min(config.compress_window_bits.max(8)),
            ours.1 || !config.compress_context_takeover,
        );
        Compression {
            params,
            level: config.level,
            min_compress_len: config.min_compress_len,
            ours,
            theirs,
            compressor: None,
            decompressor: None,
            inflated: Inflated::default(),
        }
    }

    /// The message we send next, compressed (RFC 7692 §7.2.1), or `None` to send it as it
    /// is (shorter than `DeflateConfig::min_compress_len`).
    pub(super) fn compress(&mut self, payload: &[u8]) -> Option<Bytes> {
        if payload.len() < self.min_compress_len {
            return None;
        }
        let (bits, reset) = self.ours;
        let level = self.level;
        let compressor =
            self.compressor.get_or_insert_with(|| Box::new(Compressor::new(level, bits, reset)));
        let mut out = Vec::new();
        compressor.compress(payload, &mut out);
        Some(Bytes::from(out))
    }

    /// Inflate one frame's payload of the compressed message being received; returns the
    /// bytes it inflated to, in pieces (for the UTF-8 check of a text message).
    pub(super) fn inflate(
        &mut self,
        compressed: &[u8],
        max: usize,
    ) -> Result<impl Iterator<Item = &[u8]>, ProtocolError> {
        let start = self.inflated.len();
        made(&mut self.decompressor, self.theirs)
            .inflate(compressed, &mut self.inflated, max)
            .map_err(inflate_error)?;
        Ok(self.inflated.since(start))
    }

    /// The compressed message's last frame was inflated: the bytes the tail inflated to
    /// (§7.2.2), then [`Compression::take_message`].
    pub(super) fn finish(
        &mut self,
        max: usize,
    ) -> Result<impl Iterator<Item = &[u8]>, ProtocolError> {
        let start = self.inflated.len();
        made(&mut self.decompressor, self.theirs)
            .finish(&mut self.inflated, max)
            .map_err(inflate_error)?;
        Ok(self.inflated.since(start))
    }

    /// The inflated message, handed out without a copy.
    pub(super) fn take_message(&mut self) -> Bytes {
        std::mem::take(&mut self.inflated).into_bytes()
    }

    /// Drop the message in progress (the connection failed, closed or ended).
    pub(super) fn abandon(&mut self) {
        self.inflated = Inflated::default();
        if let Some(decompressor) = &mut self.decompressor {
            decompressor.abandon();
        }
    }
}

/// The decompressor, made on the first compressed message received, for the peer's window
/// and reset rule.
fn made(slot: &mut Option<Box<Decompressor>>, (bits, reset): (u8, bool)) -> &mut Decompressor {
    slot.get_or_insert_with(|| Box::new(Decompressor::new(bits, reset)))
}

fn inflate_error(error: InflateError) -> ProtocolError {
    match error {
        InflateError::TooLarge { max } => {
            ProtocolError::MessageTooLarge { len: max as u64 + 1, max }
        }
        InflateError::Corrupt => ProtocolError::InvalidCompressedData,
    }
}

impl Connection {
    /// Use permessage-deflate (RFC 7692) as negotiated in the opening handshake: `params`
    /// agreed by both ends, `config` our own level, threshold and (stricter) wishes. Call it
    /// before any frame is sent or received. From then on RSV1 marks a compressed message
    /// (§6), data messages of at least `config.min_compress_len` bytes are sent compressed,
    /// and compressed messages are inflated within `Config::max_message_size`.
    pub fn use_permessage_deflate(&mut self, params: DeflateParams, config: &DeflateConfig) {
        self.compression = Some(Box::new(Compression::new(self.role, params, config)));
    }

    /// Drop the compressed message in progress, if any.
    pub(super) fn abandon_compressed(&mut self) {
        if let Some(compression) = &mut self.compression {
            compression.abandon();
        }
    }

    /// The permessage-deflate parameters in use, if it was negotiated.
    pub fn permessage_deflate(&self) -> Option<&DeflateParams> {
        self.compression.as_ref().map(|c| &c.params)
    }
}
