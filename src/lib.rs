//! rfc6455: RFC 6455, The WebSocket Protocol, from scratch. (crate map being written)
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod error;
pub mod frame;
pub mod handshake;
pub mod protocol;
pub mod socket;

pub use error::{Error, FrameError, HandshakeError, ProtocolError, SendError};
pub use protocol::{CloseCode, CloseFrame, Config, Connection, Message, Role, Utf8Bytes};
