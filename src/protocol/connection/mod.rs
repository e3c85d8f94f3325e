//! [`Connection`]: the sans-IO WebSocket connection (§5–§8).
//!
//! ```text
//!  peer bytes ──► read_buf() / receive() ──► next_event() ──► Message
//!                                               │ (pong, close echo, failure close)
//!  send(Message) / close() ─────────────────────┴──► output_slices() / take_output() ──► peer
//! ```
//!
//! The connection owns its read buffer so that payloads can be split off it without a copy.
//! Replies the RFC obliges (a Pong for a Ping, the Close echo, the Close that fails the
//! connection) are queued by the connection itself. It never reads a clock: the driver
//! times the close handshake (`socket::Settings::close_timeout`).
//!
//! The state and the accessors live here; `receive.rs` holds the way in (decode, check,
//! reassembly, UTF-8, close, fail, end of stream), `send.rs` the way out (queueing, masking,
//! fragments, our Close, the output queue).

mod compression;
mod deadlines;
mod receive;
mod send;

use bytes::{Bytes, BytesMut};

use super::check::Role;
use super::close::{CloseCode, CloseFrame};
use super::config::Config;
use super::error::ProtocolError;
use super::output::Output;
use super::utf8::Utf8Validator;
use crate::frame::{FrameDecoder, OpCode};
use compression::Compression;
use deadlines::Timers;
use receive::Reassembly;
use send::MaskSource;

/// Where the connection is in its life (§7.1.3, §7.1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a Close and wait for the peer's (§7.1.3: the CLOSING state). Messages the
    /// peer sent before its Close are still delivered.
    CloseSent,
    /// Both Close frames have been sent (or queued) and received: the close handshake is
    /// complete. §5.5.1: the endpoint "MUST close the underlying TCP connection"; the
    /// server first (§7.1.1).
    Closed,
    /// We failed the connection (§7.1.7) because the peer broke the protocol; our Close,
    /// carrying the error's code, is queued. §7.1.7: "An endpoint MUST NOT continue to
    /// attempt to process data (including a responding Close frame) from the remote endpoint
    /// after being instructed to _Fail the WebSocket Connection_."
    Failed,
    /// The transport ended before the close handshake completed (close code 1006).
    Aborted,
}

/// The first Close frame the peer sent (§7.1.5, §7.1.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceivedClose {
    /// A Close with no body: _The WebSocket Connection Close Code_ is 1005 (§7.1.5).
    NoStatus,
    /// A Close with a status code and a (possibly empty) reason.
    Status(CloseFrame),
}

/// The sans-IO WebSocket connection. See the module documentation.
#[derive(Debug)]
pub struct Connection {
    role: Role,
    config: Config,
    state: State,
    read_buf: BytesMut,
    decoder: FrameDecoder,
    /// True once `check` has judged the header of the frame in progress.
    header_checked: bool,
    reassembly: Option<Reassembly>,
    /// Validates the text message in progress (single frame or fragmented).
    utf8: Utf8Validator,
    output: Output,
    /// The Pong owed for the most recent Ping not yet answered (§5.5.3: an endpoint "MAY
    /// elect to send a Pong frame for only the most recently processed Ping frame").
    pong_owed: Option<Bytes>,
    /// Our own outgoing fragmented message: its opcode while unfinished.
    sending_fragmented: Option<OpCode>,
    send_utf8: Utf8Validator,
    masks: MaskSource,
    /// The first Close received (§7.1.5, §7.1.6).
    close_received: Option<ReceivedClose>,
    close_sent: bool,
    failure: Option<ProtocolError>,
    /// The transport reached end of stream.
    eof: bool,
    /// The time as told by the caller, and the deadlines measured from it.
    timers: Timers,
    /// permessage-deflate, when negotiated (RFC 7692).
    compression: Option<Box<Compression>>,
}

impl Connection {
    /// A connection for `role` after a successful opening handshake.
    pub fn new(role: Role, config: Config) -> Self {
        Connection {
            role,
            config,
            state: State::Open,
            read_buf: BytesMut::new(),
            decoder: FrameDecoder::new(),
            header_checked: false,
            reassembly: None,
            utf8: Utf8Validator::new(),
            output: Output::default(),
            pong_owed: None,
            sending_fragmented: None,
            send_utf8: Utf8Validator::new(),
            masks: MaskSource::new(),
            close_received: None,
            close_sent: false,
            failure: None,
            eof: false,
            timers: Timers::default(),
            compression: None,
        }
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the connection is in its life.
    pub fn state(&self) -> State {
        self.state
    }

    /// True when no more frames will be read: the close handshake completed, we failed the
    /// connection, or the transport ended.
    pub fn is_terminated(&self) -> bool {
        matches!(self.state, State::Closed | State::Failed | State::Aborted)
    }

    /// The error the connection was failed with, if it was.
    pub fn failure(&self) -> Option<&ProtocolError> {
        self.failure.as_ref()
    }

    /// _The WebSocket Connection Close Code_ (§7.1.5): the code of the first Close received,
    /// 1005 if it had none, 1006 if the transport ended without one; `None` while open.
    pub fn close_code(&self) -> Option<CloseCode> {
        match &self.close_received {
            Some(ReceivedClose::Status(frame)) => Some(frame.code),
            Some(ReceivedClose::NoStatus) => Some(CloseCode::NO_STATUS),
            None if self.state == State::Aborted => Some(CloseCode::ABNORMAL),
            None => None,
        }
    }

    /// The first Close frame received, if any.
    pub fn close_received(&self) -> Option<&ReceivedClose> {
        self.close_received.as_ref()
    }
}
