//! [`FrameError`]: the frame layer's only refusal, a payload over the decoder's budget (§5.2).

use std::fmt;

/// The frame layer's only refusal: a header declares more payload than the decoder's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The header declares `declared` payload bytes; the decoder accepts at most `max`.
    PayloadTooLong {
        /// Declared payload length.
        declared: u64,
        /// The decoder's budget.
        max: u64,
    },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::PayloadTooLong { declared, max } => {
                write!(f, "frame declares {declared} payload bytes, more than the limit of {max}")
            }
        }
    }
}

impl std::error::Error for FrameError {}
