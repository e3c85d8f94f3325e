//! How one frame is printed: its header bit by bit and field by field (§5.2), its Close
//! body and text, each broken rule with its section, and the verdict.

use std::fmt::Write as _;

use super::text::{close_code_meaning, hex_inline, printable_text};
use crate::frame::{FrameHeader, LengthForm, OpCode};
use crate::protocol::ProtocolError;
use crate::protocol::Role;

/// Payload bytes of text shown before abbreviating.
const TEXT_SHOW: usize = 256;

/// One broken rule: its section, what the peer did, and the close code it earns.
pub(super) fn violation_line(e: &ProtocolError, out: &mut String) {
    let code = e.close_code().0;
    let _ = writeln!(
        out,
        "  ✗ breaks {}: {e} → close {code} ({})",
        e.section(),
        close_code_meaning(code).0
    );
}

/// The verdict line: no rule broken, or how many and the close code the first one earns.
pub(super) fn verdict(violations: &[ProtocolError], receiver: Role, out: &mut String) {
    let receiver = match receiver {
        Role::Client => "client",
        Role::Server => "server",
    };
    match violations.first() {
        None => {
            let _ = writeln!(
                out,
                "  verdict: ok, no rule broken (judged as the {receiver} receives it)"
            );
        }
        Some(first) => {
            let n = violations.len();
            let rules = if n == 1 { "rule" } else { "rules" };
            let _ = writeln!(
                out,
                "  verdict: {n} {rules} broken; the {receiver} MUST _Fail the WebSocket Connection_ (§7.1.7), with close {} for the first",
                first.close_code().0
            );
        }
    }
}

/// The name §5.2 gives an opcode.
fn opcode_name(opcode: OpCode) -> &'static str {
    match opcode {
        OpCode::Continuation => "continuation",
        OpCode::Text => "text",
        OpCode::Binary => "binary",
        OpCode::Close => "close",
        OpCode::Ping => "ping",
        OpCode::Pong => "pong",
        OpCode::Reserved(bits) if bits & 0x8 != 0 => "reserved control",
        OpCode::Reserved(_) => "reserved non-control",
    }
}

/// The header bytes with their bit layout, one line per group.
pub(super) fn bit_lines(raw: &[u8], out: &mut String) {
    if let Some(&b0) = raw.first() {
        let _ = writeln!(
            out,
            "    {b0:02x} = {:04b} {:04b}: FIN={} RSV={:03b} opcode=0x{:x} ({})",
            b0 >> 4,
            b0 & 0x0F,
            b0 >> 7,
            (b0 >> 4) & 0b111,
            b0 & 0x0F,
            opcode_name(OpCode::from_u4(b0))
        );
    }
    let Some(&b1) = raw.get(1) else {
        return;
    };
    let form = LengthForm::from_len7(b1);
    let follows = match form {
        LengthForm::Short => "",
        LengthForm::Extended16 => " (a 16-bit extended payload length follows)",
        LengthForm::Extended64 => " (a 64-bit extended payload length follows)",
    };
    let _ = writeln!(
        out,
        "    {b1:02x} = {:04b} {:04b}: MASK={} payload len={}{follows}",
        b1 >> 4,
        b1 & 0x0F,
        b1 >> 7,
        b1 & 0x7F
    );
    // §5.2: the extended payload length, then the masking key, as far as `raw` reaches.
    let extra = form.extra_bytes();
    let rest = raw.get(2..).unwrap_or_default();
    let (len_bytes, key_bytes) = rest.split_at(extra.min(rest.len()));
    if !len_bytes.is_empty() {
        match form.extended_len(len_bytes) {
            Some(value) => {
                let _ = writeln!(
                    out,
                    "    {} = extended payload length {value}",
                    hex_inline(len_bytes)
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "    {} = extended payload length (incomplete: {} of {extra} bytes)",
                    hex_inline(len_bytes),
                    len_bytes.len()
                );
            }
        }
    }
    if key_bytes.len() == 4 {
        let _ = writeln!(out, "    {} = masking key", hex_inline(key_bytes));
    } else if !key_bytes.is_empty() {
        let _ = writeln!(
            out,
            "    {} = masking key (incomplete: {} of 4 bytes)",
            hex_inline(key_bytes),
            key_bytes.len()
        );
    }
}

/// The header fields by their §5.2 names; the length's form is judged by the rules the header
/// breaks (`violations`), not here.
///
/// `rsv1` is what RSV1 means on this frame when an extension gives it a meaning (RFC 7692
/// §6), empty when none does.
pub(super) fn field_lines(
    h: &FrameHeader,
    in_text: Option<bool>,
    rsv1: &str,
    violations: &[ProtocolError],
    out: &mut String,
) {
    let fin = if h.fin { "final fragment of its message" } else { "more fragments follow" };
    let _ = writeln!(out, "  FIN: {} ({fin})", u8::from(h.fin));
    if rsv1.is_empty() {
        let _ = writeln!(out, "  RSV1: {}", u8::from(h.rsv1));
    } else {
        let _ = writeln!(out, "  RSV1: {} ({rsv1})", u8::from(h.rsv1));
    }
    let _ = writeln!(out, "  RSV2: {}", u8::from(h.rsv2));
    let _ = writeln!(out, "  RSV3: {}", u8::from(h.rsv3));
    let context = match (h.opcode, in_text) {
        (OpCode::Continuation, Some(true)) => ", of a text message",
        (OpCode::Continuation, Some(false)) => ", of a binary message",
        _ => "",
    };
    let _ =
        writeln!(out, "  opcode: 0x{:x} ({}{context})", h.opcode.as_u4(), opcode_name(h.opcode));
    // The note names the rule the sender kept; a sender that broke it gets the violation's
    // own line below, and the note says which rule instead of claiming it was kept.
    let broke = |wanted: &ProtocolError| violations.iter().any(|v| v == wanted);
    let mask = match h.is_masked() {
        true if broke(&ProtocolError::MaskedFrameFromServer) => {
            "masked, though no frame from a server may be: §5.1"
        }
        true => "masked, as every frame from a client must be: §5.3",
        false if broke(&ProtocolError::UnmaskedFrameFromClient) => {
            "not masked, though every frame from a client must be: §5.1"
        }
        false => "not masked, as every frame from a server must be: §5.1",
    };
    let _ = writeln!(out, "  MASK: {} ({mask})", u8::from(h.is_masked()));
    let form = match h.length_form {
        LengthForm::Short => "7-bit form",
        LengthForm::Extended16 => "16-bit extended form",
        LengthForm::Extended64 => "64-bit extended form",
    };
    let non_minimal =
        violations.iter().any(|v| matches!(v, ProtocolError::NonMinimalLength { .. }));
    let judgement = if violations.contains(&ProtocolError::LengthTopBitSet) {
        "most significant bit set".to_owned()
    } else if non_minimal {
        let should = match LengthForm::minimal_for(h.payload_len) {
            LengthForm::Short => "the 7-bit form",
            LengthForm::Extended16 => "the 16-bit form",
            LengthForm::Extended64 => "the 64-bit form",
        };
        format!("not minimal: {should} would do")
    } else {
        "minimal".to_owned()
    };
    let _ = writeln!(out, "  payload length: {} ({form}, {judgement})", h.payload_len);
    match h.masking_key {
        Some(key) => {
            let _ = writeln!(out, "  masking key: {}", hex_inline(&key));
        }
        None => {
            let _ = writeln!(out, "  masking key: none");
        }
    }
}

/// The status code and reason of a Close body (§5.5.1, §7.4).
pub(super) fn close_lines(body: &[u8], out: &mut String) {
    match body {
        [] => {
            let _ = writeln!(
                out,
                "  close body: empty (no status code; the receiver reports 1005, §7.1.5)"
            );
        }
        [b] => {
            let _ = writeln!(out, "  close body: 1 byte ({b:02x}); a status code takes 2");
        }
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            let (meaning, where_) = close_code_meaning(code);
            let _ = writeln!(out, "  close code: {code} = {hi:02x} {lo:02x} ({meaning}, {where_})");
            match std::str::from_utf8(reason) {
                Ok(text) => {
                    let _ = writeln!(out, "  close reason: {text:?}");
                }
                Err(_) => {
                    let _ =
                        writeln!(out, "  close reason: not valid UTF-8: {}", hex_inline(reason));
                }
            }
        }
    }
}

/// The payload as text when it is valid UTF-8 (for text messages, and for other frames when
/// it reads as text), after `label`. `head` holds the first bytes (unmasked), `total` the
/// payload length.
pub(super) fn text_line(
    label: &str,
    head: &[u8],
    total: u64,
    text_message: bool,
    out: &mut String,
) {
    let shown = head.get(..TEXT_SHOW.min(head.len())).unwrap_or_default();
    let (valid, cut) = match std::str::from_utf8(shown) {
        Ok(s) => (s, false),
        // A character cut by our window (or by the fragment's end) is fine; anything else
        // is not text.
        Err(e) if e.error_len().is_none() => (
            std::str::from_utf8(shown.get(..e.valid_up_to()).unwrap_or_default()).unwrap_or(""),
            true,
        ),
        Err(_) => return,
    };
    if !text_message && !printable_text(valid) {
        return;
    }
    let more = total.saturating_sub(valid.len() as u64);
    if more == 0 && !cut {
        let _ = writeln!(out, "  {label}: {valid:?}");
    } else {
        let _ = writeln!(out, "  {label}: {valid:?} … ({more} more bytes)");
    }
}
