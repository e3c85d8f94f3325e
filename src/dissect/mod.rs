//! The dissector: frames and handshakes explained field by field, with the RFC's names.
//! (Being written.)
