//! [`Settings`]: what the std driver needs to know about one connection: the protocol core's
//! [`Config`] (with the deadlines the core reports: close wait, keepalive), the opening
//! handshake's [`Limits`], and the timeouts only the driver has (the opening handshake).

use std::time::Duration;

use crate::deflate::DeflateConfig;
use crate::handshake::Limits;
use crate::protocol::Config;

/// The driver's settings for one connection. Every field has a documented default.
///
/// A protocol [`Config`] converts into `Settings` with the driver's defaults for the rest,
/// so every function that takes `impl Into<Settings>` also takes a plain `Config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The budgets and switches the sans-IO core enforces. Default: [`Config::default`].
    pub protocol: Config,
    /// Budgets for the opening handshake's HTTP head. Default: 16 KiB, 64 header fields.
    pub handshake_limits: Limits,
    /// How long the whole opening handshake may take, measured from its start (every
    /// constructor, on every stream that can time its reads). Default: 10 s.
    pub handshake_timeout: Duration,
    /// How long `connect` may wait for each address's TCP connection. Default: 10 s.
    pub connect_timeout: Duration,
    /// permessage-deflate (RFC 7692): `Some` to offer it (client) or accept an offer
    /// (server) on these terms, `None` to do neither. Default: `None`, since compression
    /// costs memory per connection (about 300 KiB at window 15, see [`DeflateConfig`]) and
    /// CPU, and compressing secrets next to attacker-chosen data leaks their length
    /// (CRIME/BREACH-style attacks): turn it on where messages are large and repetitive.
    pub deflate: Option<DeflateConfig>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            protocol: Config::default(),
            handshake_limits: Limits::default(),
            handshake_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            deflate: None,
        }
    }
}

impl From<Config> for Settings {
    fn from(protocol: Config) -> Self {
        Settings { protocol, ..Settings::default() }
    }
}
