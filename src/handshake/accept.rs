//! The key and its proof (§1.3, §4.1 step 7, §4.2.2 step 5.4).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

use super::HandshakeError;

/// §1.3: the GUID appended to `Sec-WebSocket-Key` before hashing.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
///
/// §4.2.2: "concatenating /key/ ... with the string "258EAFA5-E914-47DA-95CA-C5AB0DC85B11",
/// taking the SHA-1 hash of this concatenated value to obtain a 20-byte value and
/// base64-encoding ... this 20-byte hash." The key is used as sent (still base64), with
/// leading and trailing whitespace removed.
///
/// ```
/// # use rfc6455::handshake::accept_key;
/// assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key.trim_ascii());
    sha1.update(GUID.as_bytes());
    STANDARD.encode(sha1.finalize())
}

/// A fresh `Sec-WebSocket-Key`.
///
/// §4.1 step 7: "The value of this header field MUST be a nonce consisting of a randomly
/// selected 16-byte value that has been base64-encoded ... The nonce MUST be selected randomly
/// for each connection." The bytes come from the operating system's CSPRNG.
pub fn random_key() -> Result<String, HandshakeError> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce)
        .map_err(|e| HandshakeError::RandomUnavailable { reason: e.to_string() })?;
    Ok(STANDARD.encode(nonce))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fresh_and_16_bytes() {
        let a = random_key().unwrap();
        let b = random_key().unwrap();
        assert_ne!(a, b);
        assert_eq!(STANDARD.decode(&a).unwrap().len(), 16);
    }
}
