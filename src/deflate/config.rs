//! What an endpoint is willing to agree to ([`DeflateConfig`]) and what the two ends agreed
//! ([`DeflateParams`], in the RFC's own terms).

/// How this endpoint compresses and what it asks of its peer, in its own terms ("we
/// compress", "we decompress") whatever its role. Negotiation (RFC 7692 §7.1) turns it into
/// the parameters of an offer (client) or a response (server).
///
/// Memory per connection, measured (`tests/deflate_memory.rs`, zlib-rs): about 420 KiB once
/// a connection has compressed and inflated a message at window 15, 307 KiB at 12, 294 KiB at
/// 9, whatever the level or context takeover (zlib-rs's compressor keeps a 128 KiB hash table
/// and 112 KiB of buffers at every window; the decompressor is 46 KiB). Each is made on first
/// use, so a connection that never compresses (or never receives a compressed message)
/// holds neither; without the extension a connection holds about 2 KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateConfig {
    /// DEFLATE level, 0 (store) to 9 (smallest). Default 1: most of the ratio on text at a
    /// fraction of the CPU of the zlib default, 6.
    pub level: u8,
    /// Messages shorter than this are sent uncompressed (RSV1 clear; RFC 7692 §6 lets a
    /// sender choose per message). They never enter the compressor, so with context
    /// takeover a later message cannot refer back to them, and the peer's decompressor never
    /// sees them either: both windows stay the same. Default 32 bytes (a DEFLATE block and
    /// its Huffman tables cost more than they save below that).
    pub min_compress_len: usize,
    /// The largest LZ77 window we compress with, as a base-2 logarithm, 8 to 15. Default 15
    /// (32 KiB). zlib cannot build an 8-bit window: 8 is compressed with 9, whose matches
    /// never reach further than 512 - 262 = 250 bytes back (zlib keeps `MIN_LOOKAHEAD` = 262
    /// bytes of the window free), inside the 256 bytes the peer keeps.
    pub compress_window_bits: u8,
    /// The largest LZ77 window we accept from the peer, 8 to 15. Default 15. Below 15 a
    /// client offers `server_max_window_bits`; a server accepts only offers that let it ask
    /// for `client_max_window_bits`. Prefer 9 to 8: zlib inflates with at least a 512-byte
    /// window anyway, so 8 saves nothing here, and peers built on zlib that refuse to
    /// compress with 8 (Python's `websockets`) then fail or decline the connection.
    pub decompress_window_bits: u8,
    /// Keep our compressor's window from one message to the next (context takeover).
    /// Default true. False: a client offers `client_no_context_takeover`, a server answers
    /// `server_no_context_takeover`.
    pub compress_context_takeover: bool,
    /// Let the peer keep its window from one message to the next. Default true. False: a
    /// client offers `server_no_context_takeover`, a server answers
    /// `client_no_context_takeover`.
    pub decompress_context_takeover: bool,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            level: 1,
            min_compress_len: 32,
            compress_window_bits: 15,
            decompress_window_bits: 15,
            compress_context_takeover: true,
            decompress_context_takeover: true,
        }
    }
}

/// The parameters of an accepted permessage-deflate response (RFC 7692 §7.1), in the RFC's
/// terms: what the server and the client may each do when they compress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeflateParams {
    /// §7.1.1.1: the server resets its compressor after each message.
    pub server_no_context_takeover: bool,
    /// §7.1.1.2: the client resets its compressor after each message.
    pub client_no_context_takeover: bool,
    /// §7.1.2.1: the largest window the server compresses with (8 to 15); `None`: 15.
    pub server_max_window_bits: Option<u8>,
    /// §7.1.2.2: the largest window the client compresses with (8 to 15); `None`: 15.
    pub client_max_window_bits: Option<u8>,
}
