//! Messages (§5.6, §6) and control frames (§5.5) as the application sees them.

use bytes::Bytes;

use super::close::CloseFrame;

/// UTF-8 text held in `Bytes`: validated once on arrival, then handed out without a copy.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Wrap `bytes` if they are valid UTF-8.
    pub fn try_from_bytes(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Utf8Bytes(bytes))
    }

    /// Wrap bytes that the caller has already validated as UTF-8.
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Utf8Bytes(bytes)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor either validates the bytes (`try_from_bytes`, `From<String>`,
        // `From<&'static str>`) or receives bytes the UTF-8 validator of `protocol::utf8`
        // accepted (`from_validated`); `Bytes` is immutable, so they stay valid. Re-checking
        // here would make every read of a text message O(n) a second time.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Give up the UTF-8 guarantee and take the bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl std::ops::Deref for Utf8Bytes {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Self {
        Utf8Bytes(Bytes::from(s))
    }
}

impl From<&'static str> for Utf8Bytes {
    fn from(s: &'static str) -> Self {
        Utf8Bytes(Bytes::from_static(s.as_bytes()))
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Any valid UTF-8 text (built from an arbitrary `String`).
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Utf8Bytes {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Utf8Bytes::from(<String as arbitrary::Arbitrary>::arbitrary(u)?))
    }

    fn size_hint(depth: usize) -> (usize, Option<usize>) {
        <String as arbitrary::Arbitrary>::size_hint(depth)
    }
}

/// Any message a conforming endpoint may send or receive: text is UTF-8, a Ping or Pong
/// payload is at most 125 bytes, a Close is an arbitrary [`CloseFrame`] (its code is not
/// necessarily sendable) or none.
#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Message {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let control_payload = |u: &mut arbitrary::Unstructured<'a>| {
            let len = u.int_in_range(0..=125usize)?;
            let len = len.min(u.len());
            Ok::<_, arbitrary::Error>(Bytes::copy_from_slice(u.bytes(len)?))
        };
        Ok(match u.int_in_range(0..=4u8)? {
            0 => Message::Text(u.arbitrary()?),
            1 => Message::Binary(Bytes::from(u.arbitrary::<Vec<u8>>()?)),
            2 => Message::Ping(control_payload(u)?),
            3 => Message::Pong(control_payload(u)?),
            _ => Message::Close(u.arbitrary()?),
        })
    }
}

/// A message or control frame, received or to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message (§5.6): always valid UTF-8.
    Text(Utf8Bytes),
    /// A binary message (§5.6).
    Binary(Bytes),
    /// A Ping (§5.5.2), at most 125 bytes. A received Ping is answered by the core itself.
    Ping(Bytes),
    /// A Pong (§5.5.3), at most 125 bytes.
    Pong(Bytes),
    /// A Close (§5.5.1): `None` when the frame had no status code (reported as 1005).
    Close(Option<CloseFrame>),
    /// Part of a large binary message, handed out as it arrives (only with
    /// [`Config::binary_parts_from`](crate::Config::binary_parts_from)): the parts of one
    /// message come in order, `last` on the final one. Sent, a part is one fragment of a
    /// binary message (§5.4): the first opens it, the one with `last` ends it.
    BinaryPart {
        /// The bytes of this part.
        payload: Bytes,
        /// This part ends the message.
        last: bool,
    },
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> Message {
        Message::Text(text.into())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Message {
        Message::Binary(data.into())
    }

    /// The payload bytes (for Close, none: see the variant's frame).
    pub fn payload(&self) -> &[u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b,
            Message::BinaryPart { payload, .. } => payload,
            Message::Close(_) => &[],
        }
    }

    /// True for Text, Binary and parts of a binary message.
    pub fn is_data(&self) -> bool {
        matches!(self, Message::Text(_) | Message::Binary(_) | Message::BinaryPart { .. })
    }
}
