//! The protocol core (§5.4–§5.8, §6, §7, §8), sans-IO.
//!
//! [`Connection`] takes the peer's bytes in and hands bytes for the peer out; it never
//! touches a socket and never reads a clock. [`check`] judges each frame header
//! ([`violations`] lists every rule one breaks); the connection does fragmentation,
//! incremental UTF-8 validation, ping/pong and the close handshake.

mod check;
mod close;
mod config;
mod connection;
mod error;
mod message;
mod output;
mod utf8;

pub use check::{CheckState, FragmentProgress, RSV1, Role, check, violations};
pub use close::{CloseCode, CloseFrame};
pub use config::{Config, Keepalive};
pub use connection::{Connection, ReceivedClose, State};
pub use error::{ProtocolError, SendError};
pub use message::{Message, Utf8Bytes};
pub use utf8::{InvalidUtf8, Utf8Validator};
