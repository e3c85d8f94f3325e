//! The judge: is this frame header allowed, for this role, in this state?
//!
//! Every per-header rule of §5 is enforced here and only here, each beside the sentence of the
//! RFC that makes it a rule. The frame layer parses anything; the connection calls
//! [`check`] on each header before reading its payload, so a frame is refused before a byte
//! of a bad payload is buffered. [`violations`] asks the same rules again after lifting each
//! broken one, and lists every one broken (the dissector shows them all).

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
    /// The RSV bits the negotiated extensions define ([`RSV1`] = 0b100, which
    /// permessage-deflate defines, RFC 7692 §6; the connection passes 0 without it).
    pub allowed_rsv: u8,
}

/// RSV1 in [`CheckState::allowed_rsv`]: "Per-Message Compressed" (RFC 7692 §6).
pub const RSV1: u8 = 0b100;

/// How much of a fragmented message has arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragmentProgress {
    /// Payload bytes received so far.
    pub bytes: u64,
    /// Fragments received so far.
    pub fragments: usize,
}

/// Judge one received header: the first rule it breaks, in the order of the rules below.
/// See the module documentation.
#[inline]
pub fn check(
    header: &FrameHeader,
    state: &CheckState,
    config: &Config,
) -> Result<(), ProtocolError> {
    judge(header, state, config).map_err(|broken| broken.error)
}

/// Every rule `header` breaks, in the order [`check`] judges them: the first is the error
/// [`check`] returns, and each later one is what [`check`] reports once the rules before it
/// are lifted (the header, the state or a budget changed just enough for that rule to hold).
/// Empty when [`check`] accepts the header.
///
/// For explaining a frame (the dissector lists every broken rule); a connection only needs
/// [`check`].
pub fn violations(header: &FrameHeader, state: &CheckState, config: &Config) -> Vec<ProtocolError> {
    let (mut header, mut state, mut config) = (*header, *state, *config);
    let mut found: Vec<ProtocolError> = Vec::new();
    while let Err(Broken { error, lift }) = judge(&header, &state, &config) {
        // Each lift makes its rule hold and leaves the earlier ones alone, so a rule is never
        // reported twice; the guard only makes that a termination proof.
        if found.contains(&error) {
            break;
        }
        lift(&mut header, &mut state, &mut config);
        found.push(error);
    }
    found
}

/// A broken rule: the error for the peer, and its lift.
struct Broken {
    error: ProtocolError,
    lift: Lift,
}

/// How to lift a rule: change the header, the state or a budget just enough for the rule to
/// hold, so that [`violations`] can judge the rules after it. [`check`] drops it.
type Lift = fn(&mut FrameHeader, &mut CheckState, &mut Config);

/// The rule is broken: `error` for the peer, `lift` to judge past it.
fn broken(error: ProtocolError, lift: Lift) -> Result<(), Broken> {
    Err(Broken { error, lift })
}

/// The per-header rules, in order, each beside the sentence of the RFC that makes it a rule,
/// and each with its lift. A lift only changes what the rules after it read.
#[inline(always)]
fn judge(header: &FrameHeader, state: &CheckState, config: &Config) -> Result<(), Broken> {
    match (state.role, header.is_masked()) {
        // §5.1: "The server MUST close the connection upon receiving a frame that is not
        // masked."
        (Role::Server, false) => {
            // Lift: judge the rest as the other end would.
            return broken(ProtocolError::UnmaskedFrameFromClient, |_, s, _| s.role = Role::Client);
        }
        // §5.1: "A client MUST close a connection if it detects a masked frame."
        (Role::Client, true) => {
            return broken(ProtocolError::MaskedFrameFromServer, |_, s, _| s.role = Role::Server);
        }
        _ => {}
    }

    // §5.2: RSV1–3 "MUST be 0 unless an extension is negotiated that defines meanings for
    // non-zero values. If a nonzero value is received and none of the negotiated extensions
    // defines the meaning of such a nonzero value, the receiving endpoint MUST _Fail the
    // WebSocket Connection_."
    let rsv = header.rsv_bits();
    if rsv & !state.allowed_rsv != 0 {
        // Lift: as if the bits not allowed were clear (not as if an extension allowed them,
        // which would bring in that extension's own rules, e.g. RFC 7692 §6 for RSV1).
        return broken(ProtocolError::ReservedBitsSet { rsv }, |h, s, _| {
            let allowed = s.allowed_rsv;
            h.rsv1 &= allowed & RSV1 != 0;
            h.rsv2 &= allowed & 0b010 != 0;
            h.rsv3 &= allowed & 0b001 != 0;
        });
    }

    // RFC 7692 §6: "An endpoint MUST NOT set the "Per-Message Compressed" bit of control
    // frames and non-first fragments of a data message. An endpoint receiving such a frame
    // MUST _Fail the WebSocket Connection_." RSV1 is allowed only when permessage-deflate was
    // negotiated (the one extension here that defines it).
    if header.rsv1
        && state.allowed_rsv & RSV1 != 0
        && (header.opcode.is_control() || header.opcode == OpCode::Continuation)
    {
        let opcode = header.opcode.as_u4();
        // Lift: as if the bit were clear.
        return broken(ProtocolError::CompressedBitMisplaced { opcode }, |h, _, _| h.rsv1 = false);
    }

    // §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the
    // WebSocket Connection_."
    if let OpCode::Reserved(opcode) = header.opcode {
        // Lift: keep judging the rules of its class: a reserved control opcode as a control
        // frame, a reserved data opcode as a frame that changes no fragmentation state.
        return broken(ProtocolError::ReservedOpcode { opcode }, |h, s, _| {
            h.opcode = if h.opcode.is_control() {
                OpCode::Ping
            } else if s.fragmented.is_some() {
                OpCode::Continuation
            } else {
                OpCode::Binary
            };
        });
    }

    // §5.2: the 64-bit length is a 63-bit number: "(the most significant bit MUST be 0)".
    if header.payload_len >> 63 != 0 {
        // Lift: the largest length the rule allows, in the form it was sent in.
        return broken(ProtocolError::LengthTopBitSet, |h, _, _| {
            h.payload_len = u64::MAX >> 1;
            h.length_form = LengthForm::Extended64;
        });
    }

    // §5.2: "in all cases, the minimal number of bytes MUST be used to encode the length".
    // We hold the peer to it (Config::reject_non_minimal_lengths, on by default): a frame
    // then has exactly one encoding, which is what lets the dissector, fuzzers and tests
    // treat parse/encode as a bijection, and it refuses a cheap way to smuggle odd headers
    // past intermediaries.
    if config.reject_non_minimal_lengths
        && header.length_form != LengthForm::minimal_for(header.payload_len)
    {
        return broken(ProtocolError::NonMinimalLength { len: header.payload_len }, |h, _, _| {
            h.length_form = LengthForm::minimal_for(h.payload_len);
        });
    }

    if header.opcode.is_control() {
        // §5.5: "All control frames MUST have a payload length of 125 bytes or less and MUST
        // NOT be fragmented."
        if !header.fin {
            return broken(ProtocolError::FragmentedControlFrame, |h, _, _| h.fin = true);
        }
        if header.payload_len > 125 {
            return broken(
                ProtocolError::ControlFrameTooLong { len: header.payload_len },
                |h, _, _| {
                    h.payload_len = 125;
                    h.length_form = LengthForm::Short;
                },
            );
        }
    } else {
        match (header.opcode, state.fragmented.is_some()) {
            // §5.4: a fragmented message is "a single frame with the FIN bit clear and an
            // opcode other than 0, followed by zero or more frames with the FIN bit clear and
            // the opcode set to 0": a continuation needs a started message ...
            (OpCode::Continuation, false) => {
                // Lift: as if a message had begun with one empty fragment.
                return broken(ProtocolError::UnexpectedContinuation, |_, s, _| {
                    s.fragmented = Some(FragmentProgress { bytes: 0, fragments: 1 });
                });
            }
            // ... and "The fragments of one message MUST NOT be interleaved between the
            // fragments of another message".
            (OpCode::Text | OpCode::Binary, true) => {
                // Lift: as if the message in progress had ended.
                return broken(ProtocolError::ExpectedContinuation, |_, s, _| s.fragmented = None);
            }
            _ => {}
        }
        // Budgets. §10.4: "implementations will likely want to impose implementation-specific
        // limits on frame size and total message size after reassembly from multiple frames."
        // All three are judged on the header, before a byte of the payload is buffered. Each
        // is lifted by lifting the budget.
        if header.payload_len > config.max_frame_size as u64 {
            let error = ProtocolError::FrameTooLarge {
                len: header.payload_len,
                max: config.max_frame_size,
            };
            return broken(error, |_, _, c| c.max_frame_size = usize::MAX);
        }
        let so_far = state.fragmented.map_or(0, |f| f.bytes);
        let message_len = so_far.saturating_add(header.payload_len);
        if message_len > config.max_message_size as u64 {
            let error =
                ProtocolError::MessageTooLarge { len: message_len, max: config.max_message_size };
            return broken(error, |_, _, c| c.max_message_size = usize::MAX);
        }
        if let Some(progress) = state.fragmented
            && progress.fragments >= config.max_fragments
        {
            let error = ProtocolError::TooManyFragments { max: config.max_fragments };
            return broken(error, |_, _, c| c.max_fragments = usize::MAX);
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
    fn rsv1_is_reserved_or_compressed_never_both() {
        // Without permessage-deflate RSV1 on a Ping is a reserved bit, and only that; with
        // it, RFC 7692 §6 forbids it on a control frame.
        let config = Config::default();
        let ping = FrameHeader { rsv1: true, ..masked(true, OpCode::Ping, 0) };
        assert_eq!(
            violations(&ping, &server(), &config),
            [ProtocolError::ReservedBitsSet { rsv: 0b100 }]
        );
        let deflate = CheckState { allowed_rsv: RSV1, ..server() };
        assert_eq!(
            violations(&ping, &deflate, &config),
            [ProtocolError::CompressedBitMisplaced { opcode: 0x9 }]
        );
        let first = FrameHeader { rsv1: true, ..masked(false, OpCode::Text, 3) };
        assert_eq!(check(&first, &deflate, &config), Ok(()));
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

    #[test]
    fn violations_lists_every_broken_rule_in_order() {
        let config = Config::default();
        // Masked by a server, RSV2, reserved control opcode, FIN clear, 16-bit form for 200.
        let header = FrameHeader {
            rsv2: true,
            length_form: LengthForm::Extended16,
            ..masked(false, OpCode::Reserved(0xC), 200)
        };
        let client = CheckState { role: Role::Client, ..server() };
        assert_eq!(
            violations(&header, &client, &config),
            vec![
                ProtocolError::MaskedFrameFromServer,
                ProtocolError::ReservedBitsSet { rsv: 2 },
                ProtocolError::ReservedOpcode { opcode: 0xC },
                ProtocolError::FragmentedControlFrame,
                ProtocolError::ControlFrameTooLong { len: 200 },
            ]
        );
        let header = FrameHeader {
            length_form: LengthForm::Extended64,
            ..FrameHeader::new(true, OpCode::Reserved(0x3), None, 5)
        };
        let fragmented = CheckState {
            fragmented: Some(FragmentProgress { bytes: 1, fragments: 1 }),
            ..server()
        };
        assert_eq!(
            violations(&header, &fragmented, &config),
            vec![
                ProtocolError::UnmaskedFrameFromClient,
                ProtocolError::ReservedOpcode { opcode: 0x3 },
                ProtocolError::NonMinimalLength { len: 5 },
            ]
        );
        assert_eq!(violations(&masked(true, OpCode::Text, 5), &server(), &config), vec![]);
    }

    /// `check` and `violations` are one judge: the first violation is `check`'s error, for
    /// every opcode, flag and length form, in every state, under tight and loose budgets; and
    /// no rule's lift leaves it broken.
    #[test]
    fn check_is_the_first_violation() {
        let tight = Config {
            max_frame_size: 100,
            max_message_size: 150,
            max_fragments: 2,
            ..Config::default()
        };
        let lenient = Config { reject_non_minimal_lengths: false, ..Config::default() };
        let lengths = [0, 5, 125, 126, 150, 200, 65_535, 65_536, 1 << 40, 1 << 63, u64::MAX];
        let forms = [LengthForm::Short, LengthForm::Extended16, LengthForm::Extended64];
        let progress = [
            None,
            Some(FragmentProgress { bytes: 100, fragments: 1 }),
            Some(FragmentProgress { bytes: 0, fragments: 2 }),
        ];
        for b0 in 0..=255u8 {
            for key in [None, Some([1, 2, 3, 4])] {
                for payload_len in lengths {
                    for length_form in forms {
                        let header = FrameHeader {
                            fin: b0 & 0x80 != 0,
                            rsv1: b0 & 0x40 != 0,
                            rsv2: b0 & 0x20 != 0,
                            rsv3: b0 & 0x10 != 0,
                            opcode: OpCode::from_u4(b0),
                            masking_key: key,
                            payload_len,
                            length_form,
                        };
                        for role in [Role::Client, Role::Server] {
                            for fragmented in progress {
                                for allowed_rsv in [0, 0b100] {
                                    let state = CheckState { role, fragmented, allowed_rsv };
                                    for config in [Config::default(), tight, lenient] {
                                        let all = violations(&header, &state, &config);
                                        let first = all.first().cloned().map_or(Ok(()), Err);
                                        assert_eq!(
                                            check(&header, &state, &config),
                                            first,
                                            "{header:?} {state:?}"
                                        );
                                        // Every lift makes its rule hold: lifting each
                                        // broken rule in turn ends in an accepted header.
                                        let (mut h, mut s, mut c) = (header, state, config);
                                        let mut lifted = 0;
                                        while let Err(b) = judge(&h, &s, &c) {
                                            (b.lift)(&mut h, &mut s, &mut c);
                                            lifted += 1;
                                            assert!(lifted <= all.len(), "{all:?}");
                                        }
                                        assert_eq!(lifted, all.len());
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
