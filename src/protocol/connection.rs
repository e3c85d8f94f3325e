//! STUB
use super::{Config, Role};
/// Lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Open.
    Open,
}
/// The sans-IO connection.
#[derive(Debug)]
pub struct Connection {
    _c: Config,
    _r: Role,
}
