//! Handshake errors. STUB: being written.

/// Why an opening handshake failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// Placeholder.
    Todo,
}

impl HandshakeError {
    /// The HTTP response a server sends for this failure, if it is a server-side failure.
    pub fn response(&self) -> Option<super::HttpResponse> {
        None
    }
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "handshake failed")
    }
}

impl std::error::Error for HandshakeError {}
