//! The protocol core's errors: [`ProtocolError`], what the peer did that fails the connection
//! (each knows its close code, §7.4.1), and [`SendError`], what the application cannot send.

use std::fmt;
use std::time::Duration;

use super::close::CloseCode;
use super::message::Message;

/// Something the peer did that fails the WebSocket connection (§7.1.7).
///
/// [`ProtocolError::close_code`] gives the code sent in the Close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// §5.1: a server received an unmasked frame.
    UnmaskedFrameFromClient,
    /// §5.1: a client received a masked frame.
    MaskedFrameFromServer,
    /// §5.2: RSV bits set without an extension that defines them (`rsv` is RSV1·RSV2·RSV3).
    ReservedBitsSet {
        /// The three bits, RSV1 most significant.
        rsv: u8,
    },
    /// §5.2: an opcode reserved for future use.
    ReservedOpcode {
        /// The 4-bit opcode.
        opcode: u8,
    },
    /// §5.2: the 64-bit payload length had its most significant bit set.
    LengthTopBitSet,
    /// §5.2: the length was not encoded with the minimal number of bytes.
    NonMinimalLength {
        /// The declared length.
        len: u64,
    },
    /// §5.5: a control frame with FIN clear.
    FragmentedControlFrame,
    /// §5.5: a control frame with more than 125 bytes of payload.
    ControlFrameTooLong {
        /// The declared length.
        len: u64,
    },
    /// §5.4: a continuation frame with no fragmented message in progress.
    UnexpectedContinuation,
    /// §5.4: a new text or binary frame while a fragmented message is in progress.
    ExpectedContinuation,
    /// §8.1: a text message (or a close reason) that is not valid UTF-8.
    InvalidUtf8,
    /// §5.5.1: a Close frame with a 1-byte payload (a code needs 2 bytes).
    CloseFrameTooShort,
    /// §5.5.1: a close reason that is not valid UTF-8 (the body "MAY contain UTF-8-encoded
    /// data").
    InvalidCloseReason,
    /// §7.4: a close code an endpoint must not send.
    InvalidCloseCode {
        /// The code received.
        code: u16,
    },
    /// A frame larger than `Config::max_frame_size`.
    FrameTooLarge {
        /// Declared length.
        len: u64,
        /// The budget.
        max: usize,
    },
    /// A message larger than `Config::max_message_size`.
    MessageTooLarge {
        /// Bytes the message would have (at least).
        len: u64,
        /// The budget.
        max: usize,
    },
    /// A message made of more fragments than `Config::max_fragments`.
    TooManyFragments {
        /// The budget.
        max: usize,
    },
    /// RFC 7692 §6: RSV1 ("Per-Message Compressed") on a control frame or on a fragment
    /// that is not a message's first.
    CompressedBitMisplaced {
        /// The frame's opcode.
        opcode: u8,
    },
    /// RFC 7692 §7.2.2: a compressed message that does not inflate (not DEFLATE data, or
    /// data that needs a larger window than was negotiated).
    InvalidCompressedData,
    /// The peer sent nothing, not even a Pong, for `timeout` after our keepalive Ping
    /// (`Config::keepalive`; §5.5.2: a Ping may serve "as a means to verify that the remote
    /// endpoint is still responsive").
    KeepaliveTimeout {
        /// How long we waited after our Ping.
        timeout: Duration,
    },
}

impl ProtocolError {
    /// The section of RFC 6455 that makes this a rule (`"§5.2"` …); budgets are §10.4;
    /// the rules of permessage-deflate name RFC 7692.
    pub fn section(&self) -> &'static str {
        match self {
            ProtocolError::UnmaskedFrameFromClient | ProtocolError::MaskedFrameFromServer => "§5.1",
            ProtocolError::ReservedBitsSet { .. }
            | ProtocolError::ReservedOpcode { .. }
            | ProtocolError::LengthTopBitSet
            | ProtocolError::NonMinimalLength { .. } => "§5.2",
            ProtocolError::UnexpectedContinuation | ProtocolError::ExpectedContinuation => "§5.4",
            ProtocolError::FragmentedControlFrame | ProtocolError::ControlFrameTooLong { .. } => {
                "§5.5"
            }
            ProtocolError::CloseFrameTooShort | ProtocolError::InvalidCloseReason => "§5.5.1",
            ProtocolError::InvalidCloseCode { .. } => "§7.4",
            ProtocolError::InvalidUtf8 => "§8.1",
            ProtocolError::FrameTooLarge { .. }
            | ProtocolError::MessageTooLarge { .. }
            | ProtocolError::TooManyFragments { .. } => "§10.4",
            ProtocolError::KeepaliveTimeout { .. } => "§5.5.2",
            ProtocolError::CompressedBitMisplaced { .. } => "RFC 7692 §6",
            ProtocolError::InvalidCompressedData => "RFC 7692 §7.2.2",
        }
    }

    /// The close code the connection is failed with (§7.4.1).
    pub fn close_code(&self) -> CloseCode {
        match self {
            // 1007: "data within a message that was not consistent with the type of the
            // message"; Node's `ws` answers undecodable compressed data with 1007 too.
            ProtocolError::InvalidUtf8
            | ProtocolError::InvalidCloseReason
            | ProtocolError::InvalidCompressedData => CloseCode::INVALID_DATA,
            ProtocolError::FrameTooLarge { .. }
            | ProtocolError::MessageTooLarge { .. }
            | ProtocolError::TooManyFragments { .. } => CloseCode::TOO_BIG,
            // No code names silence. 1011 ("encountered an unexpected condition that
            // prevented it from fulfilling the request") is what Python's `websockets` sends
            // on a keepalive timeout too.
            ProtocolError::KeepaliveTimeout { .. } => CloseCode::INTERNAL_ERROR,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::UnmaskedFrameFromClient => {
                write!(f, "the client sent an unmasked frame (§5.1: clients must mask)")
            }
            ProtocolError::MaskedFrameFromServer => {
                write!(f, "the server sent a masked frame (§5.1: servers must not mask)")
            }
            ProtocolError::ReservedBitsSet { rsv } => write!(
                f,
                "the peer set reserved bits {rsv:03b} without a negotiated extension (§5.2)"
            ),
            ProtocolError::ReservedOpcode { opcode } => {
                write!(f, "the peer used reserved opcode {opcode:#x} (§5.2)")
            }
            ProtocolError::LengthTopBitSet => {
                write!(f, "the 64-bit payload length has its most significant bit set (§5.2)")
            }
            ProtocolError::NonMinimalLength { len } => write!(
                f,
                "the payload length {len} was not encoded in the minimal number of bytes (§5.2)"
            ),
            ProtocolError::FragmentedControlFrame => {
                write!(f, "the peer fragmented a control frame (§5.5)")
            }
            ProtocolError::ControlFrameTooLong { len } => write!(
                f,
                "the peer sent a control frame with {len} payload bytes; at most 125 are allowed (§5.5)"
            ),
            ProtocolError::UnexpectedContinuation => write!(
                f,
                "the peer sent a continuation frame with no fragmented message in progress (§5.4)"
            ),
            ProtocolError::ExpectedContinuation => write!(
                f,
                "the peer started a new message before finishing the fragmented one (§5.4)"
            ),
            ProtocolError::InvalidUtf8 => {
                write!(f, "the peer sent text that is not valid UTF-8 (§8.1)")
            }
            ProtocolError::CloseFrameTooShort => {
                write!(f, "the peer sent a Close frame with a 1-byte payload (§5.5.1)")
            }
            ProtocolError::InvalidCloseReason => {
                write!(f, "the peer sent a close reason that is not valid UTF-8 (§5.5.1)")
            }
            ProtocolError::InvalidCloseCode { code } => {
                write!(f, "the peer sent close code {code}, which may not be sent (§7.4)")
            }
            ProtocolError::FrameTooLarge { len, max } => {
                write!(f, "the peer sent a {len}-byte frame; the limit is {max}")
            }
            ProtocolError::MessageTooLarge { len, max } => {
                write!(f, "the peer sent a message of at least {len} bytes; the limit is {max}")
            }
            ProtocolError::TooManyFragments { max } => {
                write!(f, "the peer split a message into more than {max} fragments")
            }
            ProtocolError::KeepaliveTimeout { timeout } => write!(
                f,
                "the peer sent nothing for {} ms after our keepalive Ping",
                timeout.as_millis()
            ),
            ProtocolError::CompressedBitMisplaced { opcode } => write!(
                f,
                "the peer set RSV1 (compressed) on a frame with opcode {opcode:#x} that is not \
                 the first frame of a data message (RFC 7692 §6)"
            ),
            ProtocolError::InvalidCompressedData => {
                write!(f, "the peer sent a compressed message that does not inflate (RFC 7692)")
            }
        }
    }
}

impl std::error::Error for ProtocolError {}

/// Why the application cannot send (none of these are the peer's fault).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendError {
    /// A Close frame was already sent: §5.5.1 "the endpoint MUST NOT send any more data
    /// frames after sending a Close frame".
    AfterClose,
    /// Queuing the message would exceed `Config::max_write_buffer`; it was not queued and is
    /// handed back.
    WriteBufferFull(Message),
    /// Queuing the fragment would exceed `Config::max_write_buffer`; it was not queued, and
    /// its payload is handed back for the same `send_fragment` call once there is room.
    FragmentBufferFull(bytes::Bytes),
    /// A control frame payload over 125 bytes, or a close reason that does not fit.
    ControlPayloadTooLong {
        /// The payload length asked for.
        len: usize,
    },
    /// A fragment that does not continue the message being sent, or a new message while a
    /// fragmented one is unfinished (§5.4: fragments "MUST NOT be interleaved").
    FragmentOutOfOrder,
    /// Text fragments that are not UTF-8 (§5.6: text "MUST" be UTF-8).
    InvalidUtf8,
    /// A close code that §7.4 forbids in a Close frame (1005, 1006, 1015, < 1000 …).
    InvalidCloseCode {
        /// The code asked for.
        code: u16,
    },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::AfterClose => write!(f, "a Close frame was already sent"),
            SendError::WriteBufferFull(_) | SendError::FragmentBufferFull(_) => {
                write!(f, "the outgoing buffer is full")
            }
            SendError::ControlPayloadTooLong { len } => {
                write!(f, "control frame payload of {len} bytes; at most 125 are allowed")
            }
            SendError::FragmentOutOfOrder => {
                write!(f, "fragment out of order: a fragmented message is (or is not) in progress")
            }
            SendError::InvalidUtf8 => write!(f, "text fragments are not valid UTF-8"),
            SendError::InvalidCloseCode { code } => {
                write!(f, "close code {code} may not be sent in a Close frame (§7.4)")
            }
        }
    }
}

impl std::error::Error for SendError {}
