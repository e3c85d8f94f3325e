//! Frames: the base framing protocol (§5.2) and client-to-server masking (§5.3).
//!
//! This layer can represent, parse and encode *any* frame, valid or not: it never judges
//! whether a frame is allowed for a role or a state. That judgement lives in
//! [`crate::protocol::check`]. Fuzzers and test suites use this layer to build the frames
//! that a conforming endpoint must refuse.

mod builder;
mod decoder;
mod error;
mod header;
mod mask;

pub use builder::RawFrame;
pub use decoder::{Frame, FrameDecoder, FramePart, encode_frame};
pub use error::FrameError;
pub use header::{FrameHeader, LengthForm, MAX_HEADER_LEN, OpCode};
pub use mask::{MaskImpl, SIMD_MIN_LEN, apply_mask, apply_mask_naive, extend_masked, mask_into};
