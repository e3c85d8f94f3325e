//! Formatting shared by the dissectors: hex, printable text, close code names.

use std::fmt::Write as _;

/// Bytes of a long payload shown before the gap.
const HEX_HEAD: usize = 64;
/// Bytes of a long payload shown after the gap.
const HEX_TAIL: usize = 16;
/// Bytes per hex line.
const PER_LINE: usize = 16;

/// `81 85 37 fa`.
pub(crate) fn hex_inline(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A labelled hex dump of a payload of `total` bytes of which `head` are the first and `tail`
/// the last (possibly overlapping with `head` when the payload is short). Up to 80 bytes are
/// shown whole; longer payloads as the first 64 … the last 16, with a count.
pub(crate) fn hex_block(out: &mut String, label: &str, head: &[u8], tail: &[u8], total: u64) {
    let whole = total <= (HEX_HEAD + HEX_TAIL) as u64 && head.len() as u64 >= total;
    if whole && head.len() <= PER_LINE {
        let _ = writeln!(out, "  {label} ({}): {}", count(total, "byte"), hex_inline(head));
        return;
    }
    if whole {
        let _ = writeln!(out, "  {label} ({}):", count(total, "byte"));
        hex_lines(out, head, 0);
        return;
    }
    let _ =
        writeln!(out, "  {label} ({total} bytes; first {HEX_HEAD} … last {} shown):", tail.len());
    hex_lines(out, head.get(..HEX_HEAD.min(head.len())).unwrap_or_default(), 0);
    let skipped = total.saturating_sub((HEX_HEAD + tail.len()) as u64);
    let _ = writeln!(out, "    …     ({skipped} bytes not shown)");
    hex_lines(out, tail, total.saturating_sub(tail.len() as u64));
}

fn hex_lines(out: &mut String, bytes: &[u8], start: u64) {
    for (i, line) in bytes.chunks(PER_LINE).enumerate() {
        let at = start + (i * PER_LINE) as u64;
        let _ = writeln!(out, "    {at:04x}: {}", hex_inline(line));
    }
}

/// `1 byte`, `2 bytes`.
pub(crate) fn count(n: u64, unit: &str) -> String {
    if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") }
}

/// Text that reads as text: no control characters other than tab, CR and LF.
pub(crate) fn printable_text(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| !c.is_control() || matches!(c, '\t' | '\r' | '\n'))
}

/// Bytes shown as text: UTF-8 where it is, `\xNN` for the rest, control characters escaped.
pub(crate) fn escaped(bytes: &[u8]) -> String {
    let mut s = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                s.extend(c.escape_default());
            } else {
                s.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(s, "\\x{b:02x}");
        }
    }
    s
}

/// What a close status code means, and where that is said (§7.4.1, §7.4.2, IANA).
pub(crate) fn close_code_meaning(code: u16) -> (&'static str, &'static str) {
    match code {
        0..=999 => ("not used", "§7.4.2"),
        1000 => ("normal closure", "§7.4.1"),
        1001 => ("going away", "§7.4.1"),
        1002 => ("protocol error", "§7.4.1"),
        1003 => ("unsupported data", "§7.4.1"),
        1004 => ("reserved", "§7.4.1"),
        1005 => ("no status code present; MUST NOT be sent in a Close frame", "§7.4.1"),
        1006 => ("closed abnormally, without a Close frame; MUST NOT be sent", "§7.4.1"),
        1007 => ("invalid frame payload data", "§7.4.1"),
        1008 => ("policy violation", "§7.4.1"),
        1009 => ("message too big", "§7.4.1"),
        1010 => ("mandatory extension missing", "§7.4.1"),
        1011 => ("internal error", "§7.4.1"),
        1012 => ("service restart", "IANA registry"),
        1013 => ("try again later", "IANA registry"),
        1014 => ("bad gateway", "IANA registry"),
        1015 => ("TLS handshake failure; MUST NOT be sent", "§7.4.1"),
        1016..=2999 => ("reserved for future revisions of the protocol", "§7.4.2"),
        3000..=3999 => {
            ("registered with IANA for libraries, frameworks and applications", "§7.4.2")
        }
        4000..=4999 => ("private use by applications", "§7.4.2"),
        _ => ("not defined", "§7.4.2"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_payloads_are_abbreviated() {
        let data: Vec<u8> = (0..=255).collect();
        let mut out = String::new();
        hex_block(&mut out, "payload", &data, &data[240..], 256);
        assert!(out.contains("first 64 … last 16"));
        assert!(out.contains("(176 bytes not shown)"));
        assert!(out.contains("    00f0: f0 f1"));
        assert!(!out.contains("0040:"));
    }

    #[test]
    fn escapes() {
        assert_eq!(escaped(b"a\r\n\xffb"), "a\\r\\n\\xffb");
    }
}
