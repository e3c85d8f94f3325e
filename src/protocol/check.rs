//! The judge: is this frame header allowed, for this role, in this state?
//!
//! Every per-header rule of §5 is enforced here and only here, each beside the sentence of the
//! RFC that makes it a rule. The frame layer parses anything; the connection calls
//! [`check`] on each header before reading its payload, so a frame is refused before a byte
//! of a bad payload is buffered.

use crate::frame::{FrameHeader, LengthForm, OpCode};

use super::config::Config;
use super::error::ProtocolError;

/// Which end of the connection we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The endpoint that sent the opening handshake request; it masks every frame.
    Client,
    /// The endpoint that answered it; it never masks.
    Server,
}

/// What [`check`] needs to know about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckState {
    /// Which end we are.
    pub role: Role,
    /// The fragmented message in progress, if one has started and not yet ended.
    pub fragmented: Option<FragmentProgress>,
    /// The RSV bits the negotiated extensions define (RSV1 = 0b100). No extension is
    /// implemented yet, so the connection passes 0.
    pub allowed_rsv: u8,
}

/// How much of a fragmented message has arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentProgress {
    /// Payload bytes received so far.
    pub bytes: u64,
    /// Fragments received so far.
    pub fragments: usize,
}

/// Judge one received header. See the module documentation.
pub fn check(
    header: &FrameHeader,
    state: &CheckState,
    config: &Config,
) -> Result<(), ProtocolError> {
    match (state.role, header.is_masked()) {
        // §5.1: "The server MUST close the connection upon receiving a frame that is not
        // masked."
        (Role::Server, false) => return Err(ProtocolError::UnmaskedFrameFromClient),
        // §5.1: "A client MUST close a connection if it detects a masked frame."
        (Role::Client, true) => return Err(ProtocolError::MaskedFrameFromServer),
        _ => {}
    }

    // §5.2: RSV1–3 "MUST be 0 unless an extension is negotiated that defines meanings for
    // non-zero values. If a nonzero value is received and none of the negotiated extensions
    // defines the meaning of such a nonzero value, the receiving endpoint MUST _Fail the
    // WebSocket Connection_."
    let rsv = header.rsv_bits();
    if rsv & !state.allowed_rsv != 0 {
        return Err(ProtocolError::ReservedBitsSet { rsv });
    }

    // §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the
    // WebSocket Connection_."
    if let OpCode::Reserved(opcode) = header.opcode {
        return Err(ProtocolError::ReservedOpcode { opcode });
    }

    // §5.2: the 64-bit length is a 63-bit number: "(the most significant bit MUST be 0)".
    if header.payload_len >> 63 != 0 {
        return Err(ProtocolError::LengthTopBitSet);
    }

    // §5.2: "in all cases, the minimal number of bytes MUST be used to encode the length".
    // We hold the peer to it (Config::reject_non_minimal_lengths, on by default): a frame
    // then has exactly one encoding, which is what lets the dissector, fuzzers and tests
    // treat parse/encode as a bijection, and it refuses a cheap way to smuggle odd headers
    // past intermediaries.
    if config.reject_non_minimal_lengths
        && header.length_form != LengthForm::minimal_for(header.payload_len)
    {
        return Err(ProtocolError::NonMinimalLength { len: header.payload_len });
    }

    if header.opcode.is_control() {
        // §5.5: "All control frames MUST have a payload length of 125 bytes or less and MUST
        // NOT be fragmented."
        if !header.fin {
            return Err(ProtocolError::FragmentedControlFrame);
        }
        if header.payload_len > 125 {
            return Err(ProtocolError::ControlFrameTooLong { len: header.payload_len });
        }
    } else {
        match (header.opcode, state.fragmented.is_some()) {
            // §5.4: a fragmented message is "a single frame with the FIN bit clear and an
            // opcode other than 0, followed by zero or more frames with the FIN bit clear and
            // the opcode set to 0": a continuation needs a started message ...
            (OpCode::Continuation, false) => return Err(ProtocolError::UnexpectedContinuation),
            // ... and "The fragments of one message MUST NOT be interleaved between the
            // fragments of another message".
            (OpCode::Text | OpCode::Binary, true) => {
                return Err(ProtocolError::ExpectedContinuation);
            }
            _ => {}
        }
        // Budgets. §10.4: "implementations will likely want to impose implementation-specific
        // limits on frame size and total message size after reassembly from multiple frames."
        // All three are judged on the header, before a byte of the payload is buffered.
        if header.payload_len > config.max_frame_size as u64 {
            return Err(ProtocolError::FrameTooLarge {
                len: header.payload_len,
                max: config.max_frame_size,
            });
        }
        let so_far = state.fragmented.map_or(0, |f| f.bytes);
        let message_len = so_far.saturating_add(header.payload_len);
        if message_len > config.max_message_size as u64 {
            return Err(ProtocolError::MessageTooLarge {
                len: message_len,
                max: config.max_message_size,
            });
        }
        if let Some(progress) = state.fragmented {
            if progress.fragments >= config.max_fragments {
                return Err(ProtocolError::TooManyFragments { max: config.max_fragments });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> CheckState {
        CheckState { role: Role::Server, fragmented: None, allowed_rsv: 0 }
    }

    fn masked(fin: bool, opcode: OpCode, len: u64) -> FrameHeader {
        FrameHeader::new(fin, opcode, Some([1, 2, 3, 4]), len)
    }

    #[test]
    fn each_rule_refuses_its_frame() {
        let config = Config::default();
        let ok = masked(true, OpCode::Text, 5);
        assert_eq!(check(&ok, &server(), &config), Ok(()));

        let unmasked = FrameHeader::new(true, OpCode::Text, None, 5);
        assert_eq!(
            check(&unmasked, &server(), &config),
            Err(ProtocolError::UnmaskedFrameFromClient)
        );
        let client = CheckState { role: Role::Client, ..server() };
        assert_eq!(check(&ok, &client, &config), Err(ProtocolError::MaskedFrameFromServer));

        let rsv = FrameHeader { rsv2: true, ..ok };
        assert_eq!(check(&rsv, &server(), &config), Err(ProtocolError::ReservedBitsSet { rsv: 2 }));

        let reserved = masked(true, OpCode::Reserved(0xB), 0);
        assert_eq!(
            check(&reserved, &server(), &config),
            Err(ProtocolError::ReservedOpcode { opcode: 0xB })
        );

        let top = masked(true, OpCode::Binary, 1 << 63);
        assert_eq!(check(&top, &server(), &config), Err(ProtocolError::LengthTopBitSet));

        let non_minimal = FrameHeader { length_form: LengthForm::Extended16, ..ok };
        assert_eq!(
            check(&non_minimal, &server(), &config),
            Err(ProtocolError::NonMinimalLength { len: 5 })
        );

        assert_eq!(
            check(&masked(false, OpCode::Ping, 0), &server(), &config),
            Err(ProtocolError::FragmentedControlFrame)
        );
        assert_eq!(
            check(&masked(true, OpCode::Pong, 126), &server(), &config),
            Err(ProtocolError::ControlFrameTooLong { len: 126 })
        );
        assert_eq!(
            check(&masked(true, OpCode::Continuation, 1), &server(), &config),
            Err(ProtocolError::UnexpectedContinuation)
        );
        let progress = FragmentProgress { bytes: 10, fragments: 1 };
        let fragmented = CheckState { fragmented: Some(progress), ..server() };
        assert_eq!(
            check(&masked(true, OpCode::Binary, 1), &fragmented, &config),
            Err(ProtocolError::ExpectedContinuation)
        );
        assert_eq!(check(&masked(true, OpCode::Ping, 1), &fragmented, &config), Ok(()));
        let big = masked(true, OpCode::Binary, config.max_frame_size as u64 + 1);
        assert!(matches!(
            check(&big, &server(), &config),
            Err(ProtocolError::FrameTooLarge { .. })
        ));
        let tight = Config { max_message_size: 12, max_fragments: 2, ..Config::default() };
        assert!(matches!(
            check(&masked(false, OpCode::Continuation, 3), &fragmented, &tight),
            Err(ProtocolError::MessageTooLarge { len: 13, max: 12 })
        ));
        let two = CheckState {
            fragmented: Some(FragmentProgress { bytes: 2, fragments: 2 }),
            ..server()
        };
        assert_eq!(
            check(&masked(false, OpCode::Continuation, 1), &two, &tight),
            Err(ProtocolError::TooManyFragments { max: 2 })
        );
    }
}
