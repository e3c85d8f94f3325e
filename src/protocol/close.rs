//! Close codes (§7.4) and the Close frame body (§5.5.1).

use bytes::{BufMut, Bytes, BytesMut};

use super::error::ProtocolError;

/// A close status code (§7.4). Any `u16` is representable; [`CloseCode::is_sendable`] says
/// whether an endpoint may put it in a Close frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: normal closure.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: going away.
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: protocol error.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: unsupported data.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: no status code was present (never sent on the wire).
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006: closed abnormally, without a Close frame (never sent on the wire).
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: invalid frame payload data (e.g. bad UTF-8 in a text message).
    pub const INVALID_DATA: CloseCode = CloseCode(1007);
    /// 1008: policy violation.
    pub const POLICY: CloseCode = CloseCode(1008);
    /// 1009: message too big.
    pub const TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: a client expected an extension the server did not negotiate.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: service restart (IANA registry).
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later (IANA registry).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: bad gateway (IANA registry).
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: TLS handshake failure (never sent on the wire).
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// May this code appear in a Close frame?
    ///
    /// §7.4.1 defines 1000–1003 and 1007–1011; the IANA registry adds 1012–1014. 1004 is
    /// reserved, and 1005, 1006 and 1015 "MUST NOT be set as a status code in a Close control
    /// frame by an endpoint". §7.4.2: 0–999 "are not used"; the rest of 1000–2999 is reserved
    /// for future RFCs; 3000–3999 (registered) and 4000–4999 (private) are for applications.
    pub fn is_sendable(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

/// The body of a Close frame (§5.5.1): a status code and a UTF-8 reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason (at most 123 bytes so that the frame stays within 125).
    pub reason: String,
}

impl CloseFrame {
    /// A close frame body with `code` and `reason`.
    pub fn new(code: CloseCode, reason: impl Into<String>) -> Self {
        CloseFrame { code, reason: reason.into() }
    }

    /// Parse a received Close payload. `Ok(None)` for an empty payload (no status code).
    ///
    /// §5.5.1: "If there is a body, the first two bytes of the body MUST be a 2-byte unsigned
    /// integer (in network byte order) representing a status code". A 1-byte body cannot hold
    /// one. The code must be one an endpoint may send (§7.4), and the reason, like all text,
    /// must be UTF-8 (§5.5.1: "the data ... MUST be UTF-8-encoded"; §8.1).
    pub fn parse(payload: &[u8]) -> Result<Option<CloseFrame>, ProtocolError> {
        let (code, reason) = match payload {
            [] => return Ok(None),
            [_] => return Err(ProtocolError::CloseFrameTooShort),
            [hi, lo, reason @ ..] => (CloseCode(u16::from_be_bytes([*hi, *lo])), reason),
        };
        if !code.is_sendable() {
            return Err(ProtocolError::InvalidCloseCode { code: code.0 });
        }
        let reason = std::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidCloseReason)?;
        Ok(Some(CloseFrame { code, reason: reason.to_owned() }))
    }

    /// The Close payload: the code in network byte order, then the reason.
    pub fn to_payload(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(2 + self.reason.len());
        out.put_u16(self.code.0);
        out.extend_from_slice(self.reason.as_bytes());
        out.freeze()
    }
}

/// Any code (sendable or not: see [`CloseCode::is_sendable`]) with a reason of at most 123
/// bytes, cut on a character boundary, so that the body fits a control frame (§5.5).
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for CloseFrame {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let code: CloseCode = u.arbitrary()?;
        let mut reason: String = u.arbitrary()?;
        let mut cut = reason.len().min(123);
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason.truncate(cut);
        Ok(CloseFrame { code, reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sendable_codes_follow_section_7_4() {
        for code in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014] {
            assert!(CloseCode(code).is_sendable(), "{code}");
        }
        for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
            assert!(!CloseCode(code).is_sendable(), "{code}");
        }
        assert!(CloseCode(3000).is_sendable() && CloseCode(4999).is_sendable());
    }

    #[test]
    fn parse_close_bodies() {
        assert_eq!(CloseFrame::parse(&[]), Ok(None));
        assert_eq!(CloseFrame::parse(&[3]), Err(ProtocolError::CloseFrameTooShort));
        assert_eq!(
            CloseFrame::parse(&[0x03, 0xE8, b'o', b'k']),
            Ok(Some(CloseFrame::new(CloseCode::NORMAL, "ok")))
        );
        assert_eq!(
            CloseFrame::parse(&[0x03, 0xED]),
            Err(ProtocolError::InvalidCloseCode { code: 1005 })
        );
        assert_eq!(CloseFrame::parse(&[0x03, 0xE8, 0xFF]), Err(ProtocolError::InvalidCloseReason));
    }
}
