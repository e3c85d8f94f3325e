//! [`Settings`]: what the std driver needs to know about one connection: the protocol core's
//! [`Config`], the opening handshake's [`Limits`], and the timeouts the driver times.

use std::time::Duration;

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
    /// How long the opening handshake may take (`connect_with`, `accept_tcp`). Default: 10 s.
    pub handshake_timeout: Duration,
    /// How long to wait for the peer's Close after sending ours, and for the server to drop
    /// TCP after the close handshake (§7.1.1). Default: 5 s. The core only reports that it
    /// waits ([`crate::State::CloseSent`]); the driver owns the clock.
    pub close_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            protocol: Config::default(),
            handshake_limits: Limits::default(),
            handshake_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(5),
        }
    }
}

impl From<Config> for Settings {
    fn from(protocol: Config) -> Self {
        Settings { protocol, ..Settings::default() }
    }
}
